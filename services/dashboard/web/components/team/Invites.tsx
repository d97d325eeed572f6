import { useState, type FormEvent } from "react";
import { asApiError } from "../../api/http";
import type { Invite, Member } from "../../api/workspace";
import { zonedDateTime } from "../../format";
import { may, mayAssign, ROLE_HINTS, ROLES, roleLabel, type Role } from "../../roles";
import { useApi } from "../../useApi";
import { Notice, type NoticeState } from "../Notice";
import { Panel } from "../Panel";
import { personName, type TeamProps } from "./common";

interface Props extends TeamProps {
  members: Member[];
  version: number;
  onChanged: () => void;
}

/** Invite by email with a role (sent by mail, single use, with an expiry); the pending ones, revocable. */
export function Invites({ workspace, business, me, members, version, onChanged, onUnauthorized }: Props) {
  const id = business.business_id;
  const role = business.role;
  const roles = ROLES.filter((r) => mayAssign(role, r));
  const [email, setEmail] = useState("");
  const [invitedRole, setInvitedRole] = useState<Role>("viewer");
  const [busy, setBusy] = useState<string | null>(null);
  const [notice, setNotice] = useState<NoticeState | null>(null);
  const [pending, reload] = useApi(`${id}|${version}`, () => workspace.invites(id), onUnauthorized);

  async function run(key: string, action: () => Promise<string>) {
    setBusy(key);
    setNotice(null);
    try {
      setNotice({ kind: "ok", text: await action() });
      onChanged();
    } catch (err) {
      const error = asApiError(err);
      if (error.unauthorized) return onUnauthorized();
      setNotice({ kind: "error", text: error.message });
    } finally {
      setBusy(null);
    }
  }

  function send(e: FormEvent) {
    e.preventDefault();
    const address = email.trim();
    if (!address) return setNotice({ kind: "error", text: "Enter the email address to invite." });
    void run("invite", async () => {
      const invite = await workspace.invite(id, address, invitedRole);
      setEmail("");
      const until = zonedDateTime(invite.expires_at, business.timezone);
      return `Invitation sent to ${invite.email} as ${roleLabel(invite.role).toLowerCase()}; its link works once, until ${until} (${business.timezone}).`;
    });
  }

  function revoke(invite: Invite) {
    void run(`revoke:${invite.id}`, async () => {
      await workspace.revokeInvite(id, invite.id);
      return `The invitation to ${invite.email} was withdrawn; its link no longer works.`;
    });
  }

  return (
    <>
      <Notice notice={notice} testId="invites-notice" onDismiss={() => setNotice(null)} />
      <Panel title="Invitations" testId="invites" result={pending} onRetry={reload}>
        {(list) => (
          <>
            <form className="inline invite-form" onSubmit={send} data-testid="invite-form">
              <label>
                Email
                <input name="invite-email" type="email" autoComplete="off" value={email} onChange={(e) => setEmail(e.target.value)} />
              </label>
              <label>
                Role
                <select name="invite-role" value={invitedRole} onChange={(e) => setInvitedRole(e.target.value as Role)}>
                  {roles.map((r) => (
                    <option key={r} value={r}>
                      {roleLabel(r)}
                    </option>
                  ))}
                </select>
              </label>
              <button type="submit" data-testid="send-invite" disabled={busy !== null}>
                {busy === "invite" ? "Sending…" : "Invite"}
              </button>
            </form>
            <p className="hint">
              {roleLabel(invitedRole)}: {ROLE_HINTS[invitedRole]}. The invitation goes by email; its link works once.
            </p>
            {list.length === 0 ? (
              <p className="muted" data-testid="invites-none">
                No invitation waiting.
              </p>
            ) : (
              <div className="table-wrap fit-table-wrap">
                <table className="fit-table" data-testid="invites-table">
                  <thead>
                    <tr>
                      <th scope="col">Email</th>
                      <th scope="col">Role</th>
                      <th scope="col">Invited by</th>
                      <th scope="col">Expires ({business.timezone})</th>
                      <th scope="col">
                        <span className="visually-hidden">Actions</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {list.map((inv) => (
                      <tr key={inv.id} data-testid="invite-row" data-email={inv.email} data-role={inv.role}>
                        <td data-label="Email">{inv.email}</td>
                        <td data-label="Role">{roleLabel(inv.role)}</td>
                        <td data-label="Invited by">{personName(inv.invited_by, members, me)}</td>
                        <td data-label={`Expires (${business.timezone})`}>{zonedDateTime(inv.expires_at, business.timezone)}</td>
                        <td className="row-actions">
                          {(inv.role !== "owner" || may(role, "manage_owners")) && (
                            <button type="button" className="secondary" data-testid="revoke-invite" disabled={busy !== null} onClick={() => revoke(inv)}>
                              Withdraw
                            </button>
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </>
        )}
      </Panel>
    </>
  );
}
