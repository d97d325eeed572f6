import { useState } from "react";
import { asApiError } from "../../api/http";
import type { Alert } from "../../api/reporter";
import { dayLabel } from "../../dates";
import { zonedDateTime } from "../../format";
import { platformColor, platformInfo, PlatformIcon } from "../../platforms";
import { usePagedApi } from "../../useApi";
import { Notice, type NoticeState } from "../Notice";
import { alertHref, linkText, type AlertsProps } from "./common";

interface Props extends AlertsProps {
  /** Some alerts were marked read: the tab's count is asked again. */
  onAlertsChanged: () => void;
}

const PAGE = 50;

/** One alert: its platform, title, sentence and day, read or not, its link and Mark read. */
function AlertItem({ alert: a, timezone, busy, onRead }: { alert: Alert; timezone: string; busy: boolean; onRead: () => void }) {
  const href = alertHref(a.link);
  const platform = platformInfo(a.platform)?.name ?? a.platform;
  return (
    <li
      className={`alert-item${a.read ? "" : " unread"}`}
      style={{ borderLeftColor: platformColor(a.platform) }}
      data-testid="alert-item"
      data-alert-id={a.id}
      data-read={String(a.read)}
      data-kind={a.kind}
    >
      <div className="alert-head">
        <PlatformIcon platform={a.platform} size={22} />
        <h3 className="alert-title">
          {!a.read && <span className="badge unread-badge">New</span>} {a.title}
        </h3>
      </div>
      <p className="alert-sentence" data-testid="alert-sentence">{a.sentence}</p>
      <p className="alert-meta muted">
        {dayLabel(a.day)} · {platform} · noticed {zonedDateTime(a.created_at, timezone)}
      </p>
      <div className="inline alert-actions">
        {href && (
          <a href={href} data-testid="alert-link">
            {linkText(a)}
          </a>
        )}
        {!a.read && (
          <button type="button" className="secondary" data-testid="mark-read" disabled={busy} aria-label={`Mark read: ${a.title}`} onClick={onRead}>
            Mark read
          </button>
        )}
      </div>
    </li>
  );
}

/** The business's alerts, newest first, older pages on request; marked read one by one or all at once. */
export function AlertList({ reporter, business, timezone, onAlertsChanged, onUnauthorized }: Props) {
  const id = business.business_id;
  const { pages, older, reload, update } = usePagedApi(
    String(id),
    (before) => reporter.alerts(id, before, PAGE),
    (page) => page.next_before,
    onUnauthorized,
  );
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState<NoticeState | null>(null);
  const alerts = pages.state === "ready" ? pages.data.flatMap((p) => p.alerts) : [];
  const unread = pages.state === "ready" ? (pages.data[0]?.unread ?? 0) : 0;

  async function mark(action: () => Promise<string | null>) {
    setBusy(true);
    setNotice(null);
    try {
      const text = await action();
      if (text) setNotice({ kind: "ok", text });
      onAlertsChanged();
    } catch (err) {
      const e = asApiError(err);
      if (e.unauthorized) return onUnauthorized();
      setNotice({ kind: "error", text: e.message });
    } finally {
      setBusy(false);
    }
  }

  function markRead(a: Alert) {
    void mark(async () => {
      await reporter.markRead(id, a.id);
      update((page) => ({
        ...page,
        alerts: page.alerts.map((x) => (x.id === a.id ? { ...x, read: true } : x)),
        unread: Math.max(0, page.unread - 1),
      }));
      return null;
    });
  }

  function markAllRead() {
    void mark(async () => {
      const { marked } = await reporter.markAllRead(id);
      update((page) => ({ ...page, alerts: page.alerts.map((x) => ({ ...x, read: true })), unread: 0 }));
      return `${marked.toLocaleString("en-US")} alert${marked === 1 ? "" : "s"} marked read.`;
    });
  }

  const anyUnread = unread > 0 || alerts.some((a) => !a.read);
  return (
    <section className="panel" data-testid="alerts" data-state={pages.state} aria-busy={pages.state === "loading"}>
      <header className="panel-head">
        <h2>Alerts</h2>
        <div className="inline">
          {anyUnread && (
            <button type="button" className="secondary" data-testid="mark-all-read" disabled={busy} onClick={markAllRead}>
              Mark all read
            </button>
          )}
          <button type="button" className="secondary" data-testid="alerts-reload" onClick={reload}>
            Reload
          </button>
        </div>
      </header>
      <p className="muted">
        Each morning Pulse compares every platform's engagements, impressions, engagement rate and followers of the day
        before with the same weekday of the last six to eight weeks, and tells you here when one is far from its usual,
        or when an account needs reconnecting.
      </p>
      <Notice notice={notice} testId="alerts-notice" onDismiss={() => setNotice(null)} />
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
      {pages.state === "ready" && alerts.length === 0 && (
        <p className="state empty" data-testid="alerts-none">
          No alert yet: nothing has been far from its usual. The preview below shows what would have fired over the last
          90 days.
        </p>
      )}
      {alerts.length > 0 && (
        <ol className="alert-list" data-testid="alert-list">
          {alerts.map((a) => (
            <AlertItem key={a.id} alert={a} timezone={timezone} busy={busy} onRead={() => markRead(a)} />
          ))}
        </ol>
      )}
      {pages.state === "ready" && older && (
        <button type="button" className="secondary" data-testid="alerts-older" onClick={older}>
          Load older
        </button>
      )}
    </section>
  );
}
