import { useEffect, useState } from "react";
import { ApiError, type PulseClient, type Scope } from "../api/client";
import type { ExportFormat, Overview } from "../api/types";
import { zonedDateTime } from "../format";
import { businessWindow } from "./businessWindow";

interface Props {
  client: PulseClient;
  scope: Scope;
  /** The business's today (from its calendar). */
  today: string;
  onUnauthorized: () => void;
  /** Called once fresh numbers are in, so the views load again. */
  onRefreshed: () => void;
  /** What the user's role allows (web/roles.ts): a control it does not allow is not shown. */
  canRefresh: boolean;
  canExport: boolean;
}

const POLL_MS = 2000;
const REFRESH_TIMEOUT_MS = 60_000;
/** How long an outcome stays before it goes: a success briefly, anything else longer. */
const OK_SHOWN_MS = 8000;
const NOTE_SHOWN_MS = 20_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Tone = "progress" | "ok" | "note" | "error";
interface Status {
  text: string;
  tone: Tone;
  /** While refreshing: seconds waited so far (of REFRESH_TIMEOUT_MS). */
  seconds?: number;
}

/**
 * Asks for the overview of `watch` every POLL_MS until its data_as_of passes `since`
 * (query-api's clock: when the refresh was asked for) and returns that answer; null
 * once REFRESH_TIMEOUT_MS have gone by without.
 */
async function freshSince(client: PulseClient, watch: Scope, since: string, onTick: (seconds: number) => void): Promise<Overview | null> {
  const started = Date.now();
  for (;;) {
    onTick(Math.round((Date.now() - started) / 1000));
    await sleep(POLL_MS);
    const answer = await client.overview(watch);
    if (answer.data_as_of && Date.parse(answer.data_as_of) > Date.parse(since)) return answer;
    if (Date.now() - started >= REFRESH_TIMEOUT_MS) return null;
  }
}

/** Refresh (POST /refresh, then wait for data_as_of to pass it) and CSV/JSON downloads. */
export function Actions({ client, scope, today, onUnauthorized, onRefreshed, canRefresh, canExport }: Props) {
  const [status, setStatus] = useState<Status | null>(null);
  const [busy, setBusy] = useState<"refresh" | ExportFormat | null>(null);

  // An outcome is told, then goes; progress stays until it ends.
  useEffect(() => {
    if (!status || status.tone === "progress") return;
    const timer = setTimeout(() => setStatus(null), status.tone === "ok" ? OK_SHOWN_MS : NOTE_SHOWN_MS);
    return () => clearTimeout(timer);
  }, [status]);

  function fail(err: unknown) {
    if (err instanceof ApiError && err.unauthorized) return onUnauthorized();
    setStatus({ text: err instanceof Error ? err.message : String(err), tone: "error" });
  }

  async function refresh() {
    setBusy("refresh");
    setStatus({ text: "Refreshing from the platforms…", tone: "progress", seconds: 0 });
    // Watch the business's last 90 days, all platforms: its newest observation moves
    // there even when the range on screen has no posts.
    const watch = businessWindow(scope.businessId, today);
    try {
      const { requested_at } = await client.refresh(scope.businessId);
      const fresh = await freshSince(client, watch, requested_at, (seconds) =>
        setStatus({ text: `Refreshing from the platforms… ${seconds} s`, tone: "progress", seconds }),
      );
      if (fresh?.data_as_of) {
        const asOf = zonedDateTime(fresh.data_as_of, fresh.period.timezone);
        setStatus({ text: `Fresh numbers in (data as of ${asOf}, ${fresh.period.timezone}).`, tone: "ok" });
      } else {
        const waited = Math.round(REFRESH_TIMEOUT_MS / 1000);
        setStatus({ text: `No newer numbers yet after ${waited} s: the platforms may be slow. The page shows the latest it has; try again later.`, tone: "note" });
      }
      onRefreshed();
    } catch (err) {
      fail(err);
    } finally {
      setBusy(null);
    }
  }

  async function download(format: ExportFormat) {
    setBusy(format);
    setStatus({ text: `Preparing the ${format.toUpperCase()} export…`, tone: "progress" });
    try {
      const { blob, filename } = await client.exportFile(scope, format);
      const url = URL.createObjectURL(blob);
      const a = document.createElement("a");
      a.href = url;
      a.download = filename;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      setStatus({ text: `Downloaded ${filename}.`, tone: "ok" });
    } catch (err) {
      fail(err);
    } finally {
      setBusy(null);
    }
  }

  return (
    <div className="actions">
      {canRefresh && (
        <button type="button" data-testid="refresh" disabled={busy !== null} onClick={refresh}>
          {busy === "refresh" ? "Refreshing…" : "Refresh"}
        </button>
      )}
      {canExport && (
        <>
          <button type="button" data-testid="export-csv" disabled={busy !== null} onClick={() => download("csv")}>
            Export CSV
          </button>
          <button type="button" data-testid="export-json" disabled={busy !== null} onClick={() => download("json")}>
            Export JSON
          </button>
        </>
      )}
      {status && (
        <span className={`status ${status.tone}`} role="status" data-testid="action-status" data-tone={status.tone}>
          {status.text}
          {status.seconds !== undefined && (
            <progress className="refresh-progress" max={REFRESH_TIMEOUT_MS / 1000} value={status.seconds} aria-label="Waiting for fresh numbers" />
          )}
        </span>
      )}
    </div>
  );
}
