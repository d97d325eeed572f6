import { useState } from "react";
import { asApiError } from "../../api/http";
import { businessName, type Member } from "../../api/workspace";
import { zonedDateTime } from "../../format";
import { may, mayAssign, ROLES, roleLabel, type Role } from "../../roles";
import type { Loadable } from "../../useApi";
import { Notice, type NoticeState } from "../Notice";
import { Panel } from "../Panel";
import type { TeamProps } from "./common";

interface Props extends TeamProps {
  members: Loadable<Member[]>;
  onRetry: () => void;
  /** A member changed (the lists and the audit log load again). */
  onChanged: (self: boolean) => void;
  /** The user left the business. */
  onLeft: () => void;
}

/** The members, their roles; change role, remove and leave for those allowed (web/roles.ts). */
export function Members({ workspace, business, me, members, onRetry, onChanged, onLeft, onUnauthorized }: Props) {
  const id = business.business_id;
  const role = business.role;
  const [busy, setBusy] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [notice, setNotice] = useState<NoticeState | null>(null);

  async function act(key: string, action: () => Promise<unknown>, done: string, after: () => void) {
    setBusy(key);
    setNotice(null);
    try {
      await action();
      setNotice({ kind: "ok", text: done });
      after();
    } catch (err) {
      const error = asApiError(err);
      if (error.unauthorized) return onUnauthorized();
      setNotice({ kind: "error", text: error.message });
    } finally {
      setBusy(null);
      setConfirming(null);
    }
  }

  const who = (m: Member) => m.name || m.email || m.user_id;
  const self = (m: Member) => m.user_id === me.user_id;

  function changeRole(m: Member, next: Role) {
    void act(`role:${m.user_id}`, () => workspace.changeRole(id, m.user_id, next),
      `${who(m)} is now ${roleLabel(next).toLowerCase()}.`, () => onChanged(self(m)));
  }

  function remove(m: Member) {
    void act(`remove:${m.user_id}`, () => workspace.removeMember(id, m.user_id),
      `${who(m)} was removed from ${businessName(business)}; their access ended at once.`, () => onChanged(false));
  }

  function leave() {
    void act("leave", () => workspace.leave(id), `You left ${businessName(business)}.`, onLeft);
  }

  function roleCell(m: Member) {
    // Both the member's role and the new one must be the actor's to give (admins never touch owners).
    const choices = ROLES.filter((r) => mayAssign(role, r));
    if (!mayAssign(role, m.role) || choices.length < 2) return <span data-testid="member-role">{roleLabel(m.role)}</span>;
    return (
      <select
        name="member-role"
        data-testid="member-role-select"
        aria-label={`Role of ${who(m)}`}
        value={m.role}
        disabled={busy !== null}
        onChange={(e) => changeRole(m, e.target.value as Role)}
      >
        {choices.map((r) => (
          <option key={r} value={r}>
            {roleLabel(r)}
          </option>
        ))}
      </select>
    );
  }

  function actions(m: Member) {
    const key = m.user_id;
    const mine = self(m);
    if (!mine && !mayAssign(role, m.role)) return null;
    if (confirming === key)
      return (
        <div className="confirm" role="group" data-testid={mine ? "leave-confirm" : "remove-confirm"}>
          <p>
            {mine
              ? `Leave ${businessName(business)}? You lose access to it until someone invites you again.`
              : `Remove ${who(m)} from ${businessName(business)}? They lose access at once, and their API tokens for it are revoked.`}
          </p>
          <button type="button" className="danger" data-testid={mine ? "confirm-leave" : "confirm-remove"} disabled={busy !== null}
            onClick={() => (mine ? leave() : remove(m))}>
            {mine ? "Yes, leave" : "Yes, remove"}
          </button>
          <button type="button" className="secondary" disabled={busy !== null} onClick={() => setConfirming(null)}>
            Cancel
          </button>
        </div>
      );
    return (
      <button type="button" className="secondary" data-testid={mine ? "leave" : "remove-member"} disabled={busy !== null}
        onClick={() => setConfirming(key)}>
        {mine ? "Leave" : "Remove"}
      </button>
    );
  }

  return (
    <>
      <Notice notice={notice} testId="members-notice" onDismiss={() => setNotice(null)} />
      <Panel title="Members" testId="members" result={members} onRetry={onRetry}>
        {(list) => (
          <div className="table-wrap fit-table-wrap">
            <table className="fit-table" data-testid="members-table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Email</th>
                  <th scope="col">Role</th>
                  <th scope="col">Joined ({business.timezone})</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {list.map((m) => (
                  <tr key={m.user_id} data-testid="member-row" data-user-id={m.user_id} data-email={m.email ?? ""} data-role={m.role}>
                    <td data-label="Name" data-testid="member-name">
                      {m.name || "—"}
                      {self(m) && <span className="muted"> (you)</span>}
                    </td>
                    <td data-label="Email" data-testid="member-email">{m.email ?? "—"}</td>
                    <td data-label="Role">{roleCell(m)}</td>
                    <td data-label={`Joined (${business.timezone})`}>{zonedDateTime(m.joined_at, business.timezone)}</td>
                    <td className="row-actions">{actions(m)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {!may(role, "manage_members") && (
              <p className="muted">Only the business's admins and owners invite people and change roles.</p>
            )}
          </div>
        )}
      </Panel>
    </>
  );
}
