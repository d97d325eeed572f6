import { useState } from "react";
import { businessName, type Member } from "../../api/workspace";
import { may, ROLE_HINTS, roleLabel } from "../../roles";
import { useApi } from "../../useApi";
import { Audit } from "./Audit";
import { Invites } from "./Invites";
import { Members } from "./Members";
import { Tokens } from "./Tokens";
import type { TeamProps } from "./common";

interface Props extends TeamProps {
  /** The user's own membership changed (their role, or they left): /workspace/me again. */
  onMembershipChanged: () => void;
}

/**
 * The business's people: members and their roles, invitations, personal API tokens and
 * the audit log. Each part shows only what the user's role allows (web/roles.ts).
 */
export function Team(props: Props) {
  const { workspace, business, onUnauthorized, onMembershipChanged } = props;
  const id = business.business_id;
  const role = business.role;
  // A new one at every visit and every change, so the lists and the audit log load again:
  // the team changes under other people's hands, and answers are cached by key
  // (useApi), so a key must never come back (a counter from 0 would, at the next visit).
  const [version, setVersion] = useState(() => Date.now());
  const changed = () => setVersion((v) => Math.max(v + 1, Date.now()));
  const [members, reloadMembers] = useApi(`${id}|${version}`, () => workspace.members(id), onUnauthorized);
  const people: Member[] = members.state === "ready" ? members.data : [];

  return (
    <div className="team" data-testid="team">
      <p className="muted" data-testid="team-role">
        You are {roleLabel(role).toLowerCase()} of <strong>{businessName(business)}</strong>: {ROLE_HINTS[role]}.
      </p>
      <Members
        {...props}
        members={members}
        onRetry={reloadMembers}
        onChanged={(self) => {
          changed();
          if (self) onMembershipChanged();
        }}
        onLeft={onMembershipChanged}
      />
      {may(role, "manage_members") && <Invites {...props} members={people} version={version} onChanged={changed} />}
      {may(role, "create_token") && <Tokens {...props} members={people} version={version} onChanged={changed} />}
      {may(role, "read_audit") && <Audit {...props} members={people} version={version} />}
    </div>
  );
}
