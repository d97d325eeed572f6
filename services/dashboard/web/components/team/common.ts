import type { SessionUser } from "../../api/auth";
import type { Business, Member, WorkspaceClient } from "../../api/workspace";

/** What each part of the Team view gets. */
export interface TeamProps {
  workspace: WorkspaceClient;
  business: Business;
  me: SessionUser;
  onUnauthorized: () => void;
}

/** A person as the Team view names them: name and email, or their id when neither is known. */
export function personName(userId: string | null, members: Member[], me: SessionUser): string {
  if (userId === null) return "—";
  if (userId === "operator") return "an operator";
  const m = members.find((x) => x.user_id === userId);
  const who = m?.name || m?.email || (userId === me.user_id ? me.name || me.email : null);
  const you = userId === me.user_id ? " (you)" : "";
  return `${who ?? userId}${you}`;
}
