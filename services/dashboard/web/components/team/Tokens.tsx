import { useState, type FormEvent } from "react";
import { asApiError } from "../../api/http";
import type { ApiToken, CreatedToken, Member } from "../../api/workspace";
import { zonedDateTime } from "../../format";
import { may } from "../../roles";
import { useApi } from "../../useApi";
import { Notice, type NoticeState } from "../Notice";
import { Panel } from "../Panel";
import { ShownOnce } from "../ShownOnce";
import { personName, type TeamProps } from "./common";

interface Props extends TeamProps {
  members: Member[];
  version: number;
  onChanged: () => void;
}

const EXPIRIES: { days: number | null; label: string }[] = [
  { days: 7, label: "7 days" },
  { days: 30, label: "30 days" },
  { days: 90, label: "90 days" },
  { days: 365, label: "1 year" },
  { days: null, label: "Never" },
];

/** The token just created, shown this once with a copy button. */
function NewToken({ created, onDone }: { created: CreatedToken; onDone: () => void }) {
  return (
    <ShownOnce secret={created.token} noun="token" testId="new-token" copyTestId="copy-token" onDone={onDone}>
      <strong>{created.name}</strong>: copy this token now. Pulse keeps only a fingerprint of it and will not show it
      again; whoever holds it can read this business's numbers until it is revoked or expires.
    </ShownOnce>
  );
}

/** Personal API tokens: read-only, for this business; create (shown once), list, revoke. */
export function Tokens({ workspace, business, me, members, version, onChanged, onUnauthorized }: Props) {
  const id = business.business_id;
  const everyone = may(business.role, "manage_tokens");
  const [name, setName] = useState("");
  const [days, setDays] = useState<string>("90");
  const [busy, setBusy] = useState<string | null>(null);
  const [created, setCreated] = useState<CreatedToken | null>(null);
  const [notice, setNotice] = useState<NoticeState | null>(null);
  const [tokens, reload] = useApi(`${id}|${version}`, () => workspace.tokens(id), onUnauthorized);

  async function run(key: string, action: () => Promise<void>) {
    setBusy(key);
    setNotice(null);
    try {
      await action();
      onChanged();
    } catch (err) {
      const error = asApiError(err);
      if (error.unauthorized) return onUnauthorized();
      setNotice({ kind: "error", text: error.message });
    } finally {
      setBusy(null);
    }
  }

  function create(e: FormEvent) {
    e.preventDefault();
    if (!name.trim()) return setNotice({ kind: "error", text: "Name the token after what will use it (a script, a report…)." });
    setCreated(null);
    void run("create", async () => {
      setCreated(await workspace.createToken(id, name.trim(), days === "never" ? null : Number(days)));
      setName("");
    });
  }

  function revoke(t: ApiToken) {
    void run(`revoke:${t.id}`, async () => {
      await workspace.revokeToken(id, t.id);
      setNotice({ kind: "ok", text: `The token ${t.name} (${t.prefix}…) was revoked; it no longer works.` });
    });
  }

  return (
    <>
      <Notice notice={notice} testId="tokens-notice" onDismiss={() => setNotice(null)} />
      {created && <NewToken created={created} onDone={() => setCreated(null)} />}
      <Panel title="Personal API tokens" testId="tokens" result={tokens} onRetry={reload}>
        {(list) => (
          <>
            <p className="muted">
              For scripts and other programs: a token reads this business's numbers (and exports them) with your access,
              never changes anything, and stops working when revoked, when it expires or when you leave the business.
            </p>
            <form className="inline" onSubmit={create} data-testid="token-form">
              <label>
                Name
                <input name="token-name" maxLength={100} autoComplete="off" value={name} onChange={(e) => setName(e.target.value)} />
              </label>
              <label>
                Expires after
                <select name="token-expiry" value={days} onChange={(e) => setDays(e.target.value)}>
                  {EXPIRIES.map((x) => (
                    <option key={x.label} value={x.days === null ? "never" : String(x.days)}>
                      {x.label}
                    </option>
                  ))}
                </select>
              </label>
              <button type="submit" data-testid="create-token" disabled={busy !== null}>
                {busy === "create" ? "Creating…" : "Create token"}
              </button>
            </form>
            {list.length === 0 ? (
              <p className="muted" data-testid="tokens-none">
                No token yet.
              </p>
            ) : (
              <div className="table-wrap fit-table-wrap">
                <table className="fit-table" data-testid="tokens-table">
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">Token</th>
                      {everyone && <th scope="col">Member</th>}
                      <th scope="col">Created</th>
                      <th scope="col">Expires</th>
                      <th scope="col">Last used ({business.timezone})</th>
                      <th scope="col">
                        <span className="visually-hidden">Actions</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {list.map((t) => (
                      <tr key={t.id} data-testid="token-row" data-token-id={String(t.id)} data-prefix={t.prefix}>
                        <td data-label="Name" data-testid="token-name">{t.name}</td>
                        <td data-label="Token">
                          <code data-testid="token-prefix">{t.prefix}…</code>
                        </td>
                        {everyone && <td data-label="Member">{personName(t.user_id, members, me)}</td>}
                        <td data-label="Created">{zonedDateTime(t.created_at, business.timezone)}</td>
                        <td data-label="Expires">{t.expires_at ? zonedDateTime(t.expires_at, business.timezone) : "Never"}</td>
                        <td data-label={`Last used (${business.timezone})`} data-testid="token-last-used">{t.last_used_at ? zonedDateTime(t.last_used_at, business.timezone) : "Never"}</td>
                        <td className="row-actions">
                          {(t.user_id === me.user_id || everyone) && (
                            <button type="button" className="secondary" data-testid="revoke-token" disabled={busy !== null} onClick={() => revoke(t)}>
                              Revoke
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
