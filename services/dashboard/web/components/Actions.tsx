import { useState } from "react";
import { ApiError, type PulseClient, type Scope } from "../api/client";
import type { ExportFormat } from "../api/types";
import { presetRange } from "../dates";
import { zonedDateTime } from "../format";

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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Refresh (POST /refresh, then wait for data_as_of to move) and CSV/JSON downloads. */
export function Actions({ client, scope, today, onUnauthorized, onRefreshed, canRefresh, canExport }: Props) {
  const [status, setStatus] = useState<string | null>(null);
  const [busy, setBusy] = useState<"refresh" | ExportFormat | null>(null);

  function fail(err: unknown) {
    if (err instanceof ApiError && err.unauthorized) return onUnauthorized();
    setStatus(err instanceof Error ? err.message : String(err));
  }

  async function refresh() {
    setBusy("refresh");
    // Watch the business's last 90 days, all platforms: its newest observation moves
    // there even when the range on screen has no posts.
    const { start, end } = presetRange("last90", today);
    const watch: Scope = { ...scope, platform: "all", startDate: start, endDate: end };
    try {
      const before = (await client.overview(watch)).data_as_of;
      await client.refresh(scope.businessId);
      const started = Date.now();
      for (;;) {
        const seconds = Math.round((Date.now() - started) / 1000);
        setStatus(`Refreshing from the platforms… ${seconds}s`);
        await sleep(POLL_MS);
        const answer = await client.overview(watch);
        const now = answer.data_as_of;
        if (now !== before) {
          const asOf = zonedDateTime(now, answer.period.timezone);
          setStatus(`Fresh numbers in (data as of ${asOf}, ${answer.period.timezone}).`);
          onRefreshed();
          break;
        }
        if (Date.now() - started > REFRESH_TIMEOUT_MS) {
          setStatus("No newer numbers yet: the platforms may be slow. The page shows the latest it has; try again later.");
          onRefreshed();
          break;
        }
      }
    } catch (err) {
      fail(err);
    } finally {
      setBusy(null);
    }
  }

  async function download(format: ExportFormat) {
    setBusy(format);
    setStatus(`Preparing the ${format.toUpperCase()} export…`);
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
      setStatus(`Downloaded ${filename}.`);
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
        <span className="status" role="status" data-testid="action-status">
          {status}
        </span>
      )}
    </div>
  );
}
