import type { Member } from "../../api/workspace";
import { zonedDateTime } from "../../format";
import { usePagedApi } from "../../useApi";
import { personName, type TeamProps } from "./common";

interface Props extends TeamProps {
  members: Member[];
  version: number;
}

const PAGE = 50;

/** What an action code means, in words (the code itself is shown too). */
const ACTIONS: Record<string, string> = {
  "business.created": "created the business",
  "member.added": "added a member",
  "member.role_changed": "changed a member's role",
  "member.removed": "removed a member",
  "member.left": "left",
  "invite.created": "invited someone",
  "invite.revoked": "withdrew an invitation",
  "invite.accepted": "accepted an invitation",
  "token.created": "created an API token",
  "token.revoked": "revoked an API token",
  "account.connected": "connected an account",
  "account.disconnected": "disconnected an account",
};

function detailsText(details: Record<string, unknown> | null): string {
  if (!details) return "";
  return Object.entries(details)
    .map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(", ");
}

/** The business's audit log (owners and admins), newest first, older pages on request. */
export function Audit({ workspace, business, me, members, version, onUnauthorized }: Props) {
  const id = business.business_id;
  const { pages, older, reload } = usePagedApi(
    `${id}|${version}`,
    (before) => workspace.audit(id, before, PAGE),
    (page) => page.next_before,
    onUnauthorized,
  );
  const entries = pages.state === "ready" ? pages.data.flatMap((p) => p.entries) : [];

  return (
    <section className="panel" data-testid="audit" data-state={pages.state}>
      <header className="panel-head">
        <h2>Audit log</h2>
        <button type="button" className="secondary" data-testid="audit-reload" onClick={reload}>
          Reload
        </button>
      </header>
      <p className="muted">Changes of members, roles, invitations, API tokens and connected accounts. Times in {business.timezone}.</p>
      {pages.state === "loading" && (
        <p className="state loading" role="status">
          Loading…
        </p>
      )}
      {pages.state === "error" && (
        <div className="state error" role="alert">
          <p>{pages.error.message}</p>
          <button type="button" onClick={reload}>
            Try again
          </button>
        </div>
      )}
      {pages.state === "ready" && entries.length === 0 && <p className="muted">Nothing recorded yet.</p>}
      {entries.length > 0 && (
        <div className="table-wrap fit-table-wrap">
          <table className="fit-table" data-testid="audit-table">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">What</th>
                <th scope="col">Subject</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr key={e.id} data-testid="audit-row" data-entry-id={e.id} data-action={e.action}>
                  <td data-label="When">{zonedDateTime(e.at, business.timezone)}</td>
                  <td data-label="Who">{personName(e.actor, members, me)}</td>
                  <td data-label="What">
                    {ACTIONS[e.action] ?? e.action} <code className="muted">{e.action}</code>
                  </td>
                  <td data-label="Subject" data-testid="audit-subject">{e.subject ?? "—"}</td>
                  <td className="muted" data-label="Details">{detailsText(e.details)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {pages.state === "ready" && older && (
        <button type="button" className="secondary" data-testid="audit-older" onClick={older}>
          Older entries
        </button>
      )}
    </section>
  );
}
