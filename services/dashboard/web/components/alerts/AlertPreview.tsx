import { useState, type FormEvent } from "react";
import { asApiError, type ApiError } from "../../api/http";
import { SENSITIVITIES, type AlertPreview as Preview, type Sensitivity } from "../../api/reporter";
import { dayLabel, rangeLabel } from "../../dates";
import { platformColor, PlatformIcon } from "../../platforms";
import { alertHref, SENSITIVITY_HINTS, type AlertsProps } from "./common";

interface Props extends AlertsProps {
  /** The business's saved sensitivity (null until known): where the choice starts. */
  saved: Sensitivity | null;
}

const DAYS = 90;

type State = { state: "idle" } | { state: "loading" } | { state: "ready"; preview: Preview } | { state: "error"; error: ApiError };

/**
 * "What would have fired in the last 90 days with this sensitivity": asked for on request
 * (it reads 90 days and their baselines, and each member has a few an hour).
 */
export function AlertPreview({ reporter, business, saved, onUnauthorized }: Props) {
  const id = business.business_id;
  const [chosen, setChosen] = useState<Sensitivity | null>(null);
  const [result, setResult] = useState<State>({ state: "idle" });
  const sensitivity = chosen ?? saved ?? "medium";

  async function run(e: FormEvent) {
    e.preventDefault();
    setResult({ state: "loading" });
    try {
      setResult({ state: "ready", preview: await reporter.alertPreview(id, sensitivity, DAYS) });
    } catch (err) {
      const error = asApiError(err);
      if (error.unauthorized) return onUnauthorized();
      setResult({ state: "error", error });
    }
  }

  return (
    <section className="panel" data-testid="alert-preview" data-state={result.state} aria-busy={result.state === "loading"}>
      <header className="panel-head">
        <h2>Preview over the last {DAYS} days</h2>
      </header>
      <p className="muted">What would have fired over the last {DAYS} complete days at a sensitivity: try one before choosing it.</p>
      <form className="inline preview-form" onSubmit={run} data-testid="alert-preview-form">
        <label>
          Sensitivity
          <select name="preview-sensitivity" value={sensitivity} onChange={(e) => setChosen(e.target.value as Sensitivity)}>
            {SENSITIVITIES.map((s) => (
              <option key={s} value={s}>
                {SENSITIVITY_HINTS[s].label}
                {s === saved ? " (the business's)" : ""}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" data-testid="run-alert-preview" disabled={result.state === "loading"}>
          {result.state === "loading" ? "Looking back…" : "Show what would have fired"}
        </button>
      </form>
      <p className="hint">{SENSITIVITY_HINTS[sensitivity].hint}</p>
      {result.state === "loading" && (
        <p className="state loading" role="status">
          Looking back over {DAYS} days… this can take a few seconds.
        </p>
      )}
      {result.state === "error" && (
        <div className="state error" role="alert">
          <p>{result.error.message}</p>
        </div>
      )}
      {result.state === "ready" && <PreviewResult preview={result.preview} />}
    </section>
  );
}

function PreviewResult({ preview }: { preview: Preview }) {
  const n = preview.alerts.length;
  const level = SENSITIVITY_HINTS[preview.sensitivity].label.toLowerCase();
  return (
    <div data-testid="alert-preview-result" data-count={n} data-sensitivity={preview.sensitivity}>
      <p role="status" data-testid="alert-preview-count">
        <strong>
          {n === 0 ? "No alert" : `${n.toLocaleString("en-US")} alert${n === 1 ? "" : "s"}`}
        </strong>{" "}
        would have fired at {level} sensitivity over {rangeLabel(preview.first_day, preview.last_day)}.
      </p>
      {n > 0 && (
        <ol className="alert-list compact" data-testid="alert-preview-list">
          {preview.alerts.map((a) => {
            const href = alertHref(a.link);
            return (
              <li key={`${a.day}|${a.platform}|${a.metric}`} className="alert-item" style={{ borderLeftColor: platformColor(a.platform) }} data-testid="preview-alert">
                <div className="alert-head">
                  <PlatformIcon platform={a.platform} size={20} />
                  <p className="alert-sentence">{a.sentence}</p>
                </div>
                <p className="alert-meta muted">
                  {dayLabel(a.day)}
                  {href && (
                    <>
                      {" · "}
                      <a href={href}>
                        Open in Trends<span className="visually-hidden">: {a.title}</span>
                      </a>
                    </>
                  )}
                </p>
              </li>
            );
          })}
        </ol>
      )}
    </div>
  );
}
