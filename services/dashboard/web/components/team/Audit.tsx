import { useEffect, useState } from "react";
import { asApiError, type ApiError } from "../../api/http";
import type { AuditEntry, Member } from "../../api/workspace";
import { zonedDateTime } from "../../format";
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
  const [entries, setEntries] = useState<AuditEntry[]>([]);
  const [next, setNext] = useState<number | null>(null);
  const [state, setState] = useState<"loading" | "ready" | "error">("loading");
  const [error, setError] = useState<ApiError | null>(null);
  // What to load: the newest page (before: null) or the one before the last shown; `ask`
  // counts the requests, so asking again for the same page loads it again.
  const [cursor, setCursor] = useState<{ before: number | null; ask: number }>({ before: null, ask: 0 });
  const newest = () => setCursor((c) => ({ before: null, ask: c.ask + 1 }));

  useEffect(() => {
    let current = true;
    const { before } = cursor;
    if (before === null) setState("loading");
    workspace.audit(id, before, PAGE).then(
      (page) => {
        if (!current) return;
        setEntries((shown) => (before === null ? page.entries : [...shown, ...page.entries]));
        setNext(page.next_before ?? null);
        setState("ready");
      },
      (err: unknown) => {
        if (!current) return;
        const e = asApiError(err);
        if (e.unauthorized) return onUnauthorized();
        setError(e);
        setState("error");
      },
    );
    return () => {
      current = false;
    };
  }, [workspace, id, version, cursor]);

  // Another business or a change (version): from the newest page again.
  useEffect(() => setCursor((c) => (c.before === null ? c : { before: null, ask: c.ask + 1 })), [id, version]);

  return (
    <section className="panel" data-testid="audit" data-state={state}>
      <header className="panel-head">
        <h2>Audit log</h2>
        <button type="button" className="secondary" data-testid="audit-reload" onClick={newest}>
          Reload
        </button>
      </header>
      <p className="muted">Changes of members, roles, invitations, API tokens and connected accounts. Times in {business.timezone}.</p>
      {state === "loading" && (
        <p className="state loading" role="status">
          Loading…
        </p>
      )}
      {state === "error" && error && (
        <div className="state error" role="alert">
          <p>{error.message}</p>
          <button type="button" onClick={newest}>
            Try again
          </button>
        </div>
      )}
      {state === "ready" && entries.length === 0 && <p className="muted">Nothing recorded yet.</p>}
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
                <tr key={e.id} data-testid="audit-row" data-action={e.action}>
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
      {state === "ready" && next !== null && (
        <button type="button" className="secondary" data-testid="audit-older" onClick={() => setCursor((c) => ({ before: next, ask: c.ask + 1 }))}>
          Older entries
        </button>
      )}
    </section>
  );
}
