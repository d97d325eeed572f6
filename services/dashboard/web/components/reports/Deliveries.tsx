import { useEffect } from "react";
import type { Delivery } from "../../api/reporter";
import { rangeLabel } from "../../dates";
import { zonedDateTime } from "../../format";
import { useApi } from "../../useApi";
import { Panel } from "../Panel";
import { STATUS_LABELS, type ReportsProps } from "./common";

interface Props extends ReportsProps {
  version: number;
}

/** While a delivery is pending, the log is asked for again this often. */
const POLL_MS = 5000;

/** Why a delivery was skipped or failed (a note on a sent one), in the reporter's words. */
function reasonOf(d: Delivery): string {
  if (d.reason) return d.reason;
  if (d.status === "pending") return d.attempts > 0 ? "Retrying" : "Waiting to be sent";
  return d.status === "sent" ? "Accepted by the mail server" : "—";
}

/** The deliveries' log, newest first: each report sent, skipped, failed or pending, and why. */
export function Deliveries({ reporter, business, timezone, version, onUnauthorized }: Props) {
  const id = business.business_id;
  const [deliveries, reload] = useApi(`${id}|deliveries|${version}`, () => reporter.deliveries(id), onUnauthorized);
  const pending = deliveries.state === "ready" && deliveries.data.deliveries.some((d) => d.status === "pending");
  useEffect(() => {
    if (!pending) return;
    const timer = window.setInterval(reload, POLL_MS);
    return () => window.clearInterval(timer);
  }, [pending, reload]);

  return (
    <Panel title="Deliveries" testId="deliveries" result={deliveries} onRetry={reload}>
      {({ deliveries: list }) =>
        list.length === 0 ? (
          <p className="muted" data-testid="deliveries-none">
            No report sent yet: each one sent, skipped or failed is listed here.
          </p>
        ) : (
          <div className="table-wrap fit-table-wrap">
            <table className="fit-table" data-testid="deliveries-table">
              <thead>
                <tr>
                  <th scope="col">Period</th>
                  <th scope="col">Status</th>
                  <th scope="col">Reason</th>
                  <th scope="col" className="num">Attempts</th>
                  <th scope="col">Next attempt</th>
                  <th scope="col">Finished ({timezone})</th>
                </tr>
              </thead>
              <tbody>
                {list.map((d) => (
                  <tr key={d.id} data-testid="delivery-row" data-delivery-key={d.delivery_key} data-status={d.status} data-schedule-id={d.schedule_id}>
                    <td data-label="Period" data-testid="delivery-period">
                      {rangeLabel(d.period.start, d.period.end)}
                      <span className="cell-note">
                        schedule #{d.schedule_id}
                        {d.send_now ? ", sent on request" : ""}
                      </span>
                    </td>
                    <td data-label="Status" data-testid="delivery-status">
                      <span className={`badge delivery-${d.status}`}>{STATUS_LABELS[d.status]}</span>
                    </td>
                    <td data-label="Reason" data-testid="delivery-reason">{reasonOf(d)}</td>
                    <td data-label="Attempts" className="num">{d.attempts}</td>
                    <td data-label="Next attempt">{d.next_attempt_at ? zonedDateTime(d.next_attempt_at, timezone) : "—"}</td>
                    <td data-label={`Finished (${timezone})`} data-testid="delivery-finished">
                      {d.finished_at ? zonedDateTime(d.finished_at, timezone) : "Not yet"}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )
      }
    </Panel>
  );
}
