import { useCallback, useEffect, useState } from "react";
import type { PulseClient } from "../api/client";
import { asApiError, type ApiError } from "../api/http";
import type { Account, AccountsAnswer, Calendar } from "../api/types";
import { SERVICES, serviceOf, STATUS_LABELS, type Service } from "../connect";
import { int, platformName, zonedDateTime } from "../format";
import { isPlatform } from "../platforms";
import { CONNECTIONS_PATH } from "../route";
import type { Loadable } from "../useApi";
import { Panel } from "./Panel";

interface Props {
  client: PulseClient;
  /** The business and its time zone: "last synced" is its clock's. */
  calendar: Calendar;
  /** The user's role allows connecting and disconnecting (admins and owners): else no such button. */
  canManage: boolean;
  onUnauthorized: () => void;
}

/** While an account syncs, its progress is asked for again this often. */
const POLL_MS = 5000;

type Notice = { kind: "ok" | "error"; text: string };

const keyOf = (a: Account) => `${a.platform}:${a.account_id}`;

/** The account's name on the platform; its id when the platform gave none. */
export const nameOf = (a: Account): string => a.display_name.trim() || a.account_id;

/** Of the posts found, the share with numbers, as a whole percentage (0 when none found). */
export function progressOf(a: Account): number {
  if (a.posts_found <= 0) return 0;
  return Math.min(100, Math.floor((a.posts_with_numbers / a.posts_found) * 100));
}

/** What went wrong starting a connection, in words. */
function connectProblem(err: ApiError, service: Service, businessId: number, returnTo: string): string {
  if (err.status === 404 && /business \d+ not found/i.test(err.detail ?? ""))
    return `Only a member of business #${businessId} may connect its accounts; ask one of them, or an operator.`;
  if (err.status === 403) return `Only the business's admins and owners may connect accounts. ${err.message}`;
  if (err.status === 404) return `Connecting ${service.label} accounts is not set up on this Pulse installation.`;
  if (err.status === 422 && /return_to/.test(err.detail ?? ""))
    return `${service.label} connections may not return to this dashboard's address (${returnTo}). Tell an operator: it is not in PULSE_OAUTH_RETURN_URLS.`;
  if (err.status === 429) return "Too many attempts in a short time. Wait a minute, then try again.";
  if (err.status === 0 || err.status >= 500)
    return `The ${service.label} connection service is unreachable right now. Try again in a minute.`;
  return err.message;
}

function disconnectProblem(err: ApiError, account: Account): string {
  if (err.status === 404) return `${nameOf(account)} is not connected any more (or not yours to manage). The list is up to date now.`;
  if (err.status === 429) return "Too many attempts in a short time. Wait a minute, then try again.";
  if (err.status === 0 || err.status >= 500)
    return `Could not disconnect ${nameOf(account)}: the ${platformName(account.platform)} connection service is unreachable. Try again in a minute.`;
  return err.message;
}

/**
 * The business's accounts on each platform: status, last synced (the business's clock),
 * posts found and posts with numbers (a progress figure while syncing, asked for again
 * until no account syncs), and Connect, Reconnect and Disconnect.
 */
export function Connections({ client, calendar, canManage, onUnauthorized }: Props) {
  const businessId = calendar.business_id;
  const [result, setResult] = useState<Loadable<AccountsAnswer>>({ state: "loading" });
  const [generation, setGeneration] = useState(0);
  const [busy, setBusy] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [notice, setNotice] = useState<Notice | null>(null);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);

  // Loads the list (again on reload); while an account syncs, again every POLL_MS. An
  // answer for a business no longer shown is dropped.
  useEffect(() => {
    let current = true;
    let polling = false;
    let timer: number | undefined;
    setResult((shown) => (shown.state === "error" ? { state: "loading" } : shown));
    async function load() {
      try {
        const data = await client.accounts(businessId);
        if (!current) return;
        setResult({ state: "ready", data });
        polling = data.accounts.some((a) => a.status === "syncing");
        if (polling) timer = window.setTimeout(load, POLL_MS);
      } catch (err) {
        if (!current) return;
        const error = asApiError(err);
        if (error.unauthorized) return onUnauthorized();
        // While polling, the list on screen stays and the next look may work; otherwise
        // the error takes its place (Try again asks anew).
        if (polling) timer = window.setTimeout(load, POLL_MS * 2);
        else setResult({ state: "error", error });
      }
    }
    void load();
    return () => {
      current = false;
      window.clearTimeout(timer);
    };
    // onUnauthorized is stable (App's useCallback); the client changes only with the token.
  }, [client, businessId, generation]);

  // Back from a platform's page through the browser's Back button (a page kept in memory):
  // the Connect button must not stay busy.
  useEffect(() => {
    const onShow = (e: PageTransitionEvent) => e.persisted && setBusy(null);
    window.addEventListener("pageshow", onShow);
    return () => window.removeEventListener("pageshow", onShow);
  }, []);

  // The previous business's list, for a render after a switch, is not this one's.
  const shown: Loadable<AccountsAnswer> =
    result.state === "ready" && result.data.business_id !== businessId ? { state: "loading" } : result;

  async function connect(service: Service, what: string) {
    setBusy(what);
    setNotice(null);
    setConfirming(null);
    const returnTo = `${window.location.origin}${CONNECTIONS_PATH}`;
    let consent: URL | null = null;
    try {
      const { authorization_url } = await client.authorizeConnect(service.id, businessId, returnTo);
      try {
        consent = new URL(authorization_url);
      } catch {
        consent = null; // said below
      }
    } catch (err) {
      setBusy(null);
      const error = asApiError(err);
      if (error.unauthorized) return onUnauthorized();
      return setNotice({ kind: "error", text: connectProblem(error, service, businessId, returnTo) });
    }
    if (!consent || (consent.protocol !== "https:" && consent.protocol !== "http:")) {
      setBusy(null);
      return setNotice({ kind: "error", text: `The ${service.label} service answered no usable consent address. Tell an operator.` });
    }
    // Off to the platform's consent page; the browser comes back to /connections.
    window.location.assign(consent.href);
  }

  async function disconnect(account: Account) {
    const service = serviceOf(account.platform);
    if (!service || !isPlatform(account.platform)) return;
    setBusy(`disconnect:${keyOf(account)}`);
    setNotice(null);
    try {
      await client.disconnect(service.id, businessId, account.platform, account.account_id);
      setNotice({
        kind: "ok",
        text: `Disconnected ${nameOf(account)} (${platformName(account.platform)}). Pulse stopped polling it and deleted its tokens; its numbers stay.`,
      });
    } catch (err) {
      const error = asApiError(err);
      if (error.unauthorized) return onUnauthorized();
      setNotice({ kind: "error", text: disconnectProblem(error, account) });
    } finally {
      setBusy(null);
      setConfirming(null);
      reload();
    }
  }

  function row(a: Account) {
    const key = keyOf(a);
    const service = serviceOf(a.platform);
    const syncing = a.status === "syncing";
    const progress = progressOf(a);
    return (
      <tr key={key} data-testid="account-row" data-platform={a.platform} data-account-id={a.account_id} data-status={a.status}>
        <td data-col="account" data-label="Account">
          <span className="account-name" data-testid="account-name">
            {nameOf(a)}
          </span>
          {a.display_name.trim() && <span className="muted account-id">{a.account_id}</span>}
        </td>
        <td data-col="status" data-label="Status">
          <span className={`badge status-${a.status}`} data-testid="account-status">
            {STATUS_LABELS[a.status] ?? a.status}
          </span>
          {a.status_reason && (
            <span className="reason" data-testid="account-reason">
              {a.status_reason}
            </span>
          )}
        </td>
        <td data-col="last-synced" data-label={`Last synced (${calendar.timezone})`} data-testid="account-last-synced">
          {a.last_synced_at ? zonedDateTime(a.last_synced_at, calendar.timezone) : "Not yet"}
        </td>
        <td data-col="posts-found" data-label="Posts found" data-testid="account-posts-found">
          {int(a.posts_found)}
        </td>
        <td data-col="posts-with-numbers" data-label="Posts with numbers">
          <span data-testid="account-posts-with-numbers">{int(a.posts_with_numbers)}</span>
          {syncing && (
            <span className="progress" title={`${int(a.posts_with_numbers)} of ${int(a.posts_found)} posts have numbers`}>
              <progress max={100} value={progress} aria-label="Share of the posts found that have numbers" />
              <span data-testid="account-progress">{a.posts_found > 0 ? `${progress}%` : "finding posts…"}</span>
            </span>
          )}
        </td>
        <td data-col="actions" className="row-actions">
          {canManage && a.status === "needs_reconnection" && service && (
            <button type="button" data-testid="reconnect" disabled={busy !== null} onClick={() => connect(service, `reconnect:${key}`)}>
              {busy === `reconnect:${key}` ? "Opening…" : "Reconnect"}
            </button>
          )}
          {canManage && a.status !== "disconnected" && confirming !== key && (
            <button type="button" className="secondary" data-testid="disconnect" disabled={busy !== null} onClick={() => setConfirming(key)}>
              Disconnect
            </button>
          )}
          {canManage && confirming === key && (
            <div className="confirm" role="group" aria-label={`Disconnect ${nameOf(a)}?`} data-testid="disconnect-confirm">
              <p>
                Disconnect <strong>{nameOf(a)}</strong>? Pulse stops polling it and deletes its tokens; its numbers stay.
              </p>
              <button type="button" className="danger" data-testid="confirm-disconnect" disabled={busy !== null} onClick={() => disconnect(a)}>
                {busy === `disconnect:${key}` ? "Disconnecting…" : "Yes, disconnect"}
              </button>
              <button type="button" className="secondary" data-testid="cancel-disconnect" disabled={busy !== null} onClick={() => setConfirming(null)}>
                Cancel
              </button>
            </div>
          )}
        </td>
      </tr>
    );
  }

  /** A platform's accounts; its name as a heading when its service has more than one. */
  function platformTable(platform: string, accounts: Account[], named: boolean) {
    const mine = accounts.filter((a) => a.platform === platform);
    return (
      <div key={platform} className="platform-accounts" data-testid={`accounts-${platform}`}>
        {named && <h4>{platformName(platform)}</h4>}
        {mine.length === 0 ? (
          <p className="muted" data-testid={`accounts-${platform}-none`}>
            No {platformName(platform)} account connected.
          </p>
        ) : (
          <div className="table-wrap">
            <table className="accounts">
              <thead>
                <tr>
                  <th scope="col" className="col-account">Account</th>
                  <th scope="col" className="col-status">Status</th>
                  <th scope="col" className="col-synced">
                    Last synced <span className="muted">({calendar.timezone})</span>
                  </th>
                  <th scope="col" className="col-number">Posts found</th>
                  <th scope="col" className="col-number">Posts with numbers</th>
                  <th scope="col" className="col-actions">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>{mine.map(row)}</tbody>
            </table>
          </div>
        )}
      </div>
    );
  }

  // Accounts of a platform the page does not know (a future one) still show, at the end.
  const known = new Set<string>(SERVICES.flatMap((s) => s.platforms));

  return (
    <>
      {notice && (
        <div
          className={`notice ${notice.kind}`}
          role={notice.kind === "error" ? "alert" : "status"}
          data-testid="connections-notice"
        >
          <p>{notice.text}</p>
          <button type="button" className="link" onClick={() => setNotice(null)}>
            Dismiss
          </button>
        </div>
      )}
      <Panel
        title="Connected accounts"
        testId="connections"
        result={shown}
        onRetry={reload}
        actions={
          <button type="button" className="secondary" data-testid="connections-reload" onClick={reload}>
            Reload
          </button>
        }
      >
        {(data) => {
          const others = [...new Set(data.accounts.map((a) => a.platform).filter((p) => !known.has(p)))];
          return (
            <>
              <p className="muted">
                Pulse reads each connected account's posts and their numbers. A new account syncs first (its past
                posts are found, then polled), then stays active: new posts are found every hour.
              </p>
              {!canManage && (
                <p className="muted" data-testid="connections-read-only">
                  Only the business's admins and owners connect and disconnect accounts.
                </p>
              )}
              {SERVICES.map((service) => (
                <section key={service.id} className="service" data-testid={`service-${service.id}`}>
                  <header className="service-head">
                    <h3>{service.label}</h3>
                    {canManage && (
                      <button
                        type="button"
                        data-testid={`connect-${service.id}`}
                        disabled={busy !== null}
                        onClick={() => connect(service, `connect:${service.id}`)}
                      >
                        {busy === `connect:${service.id}` ? "Opening…" : service.connectLabel}
                      </button>
                    )}
                  </header>
                  {service.platforms.map((p) => platformTable(p, data.accounts, service.platforms.length > 1))}
                </section>
              ))}
              {others.length > 0 && (
                <section className="service" data-testid="service-other">
                  <h3>Other platforms</h3>
                  {others.map((p) => platformTable(p, data.accounts, true))}
                </section>
              )}
            </>
          );
        }}
      </Panel>
    </>
  );
}
