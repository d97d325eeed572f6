import type { BestTimesAnswer as Answer, Recommendation as Window, Slot as Cell } from "../api/types";
import { rangeLabel } from "../dates";
import { DAYS, DAYS_SHORT, dec, hourLabel, pct } from "../format";
import { useApi } from "../useApi";
import { scaleOf, shadeOf, type Scale } from "./heatScale";
import { Panel } from "./Panel";
import { scopeKey, type ViewProps } from "./props";

/** The 7 × 24 cells, from the API's slots. */
function grid(slots: Cell[]): (Cell | null)[][] {
  const cells: (Cell | null)[][] = DAYS.map(() => Array.from({ length: 24 }, () => null));
  for (const slot of slots) cells[slot.day][slot.hour] = slot;
  return cells;
}

function windowHours(w: Window): string {
  return `${hourLabel(w.start_hour)}–${hourLabel(w.end_hour + 1)}`;
}

function confidenceWord(score: number): string {
  if (score >= 70) return "high";
  if (score >= 40) return "medium";
  return "low";
}

/** A cell's score as printed in it: one decimal, so it fits (the e2e formats the API's alike). */
function cellValue(score: number): string {
  return dec(score, 1);
}

function cellLabel(d: number, h: number, c: Cell | null, rec: boolean): string {
  if (c === null) return `${DAYS[d]} ${hourLabel(h)}: no estimate`;
  const raw = c.avg_engagement_rate;
  const posts = `${c.posts} ${c.posts === 1 ? "post" : "posts"}`;
  return (
    `${DAYS[d]} ${hourLabel(h)}: score ${pct(c.score)} from ${posts}` +
    (raw === null ? " (estimated from the day and hour)" : `, their mean ${pct(raw)}`) +
    (rec ? ", in a recommended window" : "")
  );
}

/**
 * The scale's key: five shades from the lowest score to the highest, the average in the
 * middle, each printed with its score in the same colours as the cells; then what the
 * outline and the framed, italic cells mean.
 */
function Legend({ answer, scale }: { answer: Answer; scale: Scale }) {
  const scores = answer.by_slot.map((c) => c.score);
  const low = Math.min(...scores);
  const high = Math.max(...scores);
  const baseline = answer.baseline_score;
  const steps = [low, (low + baseline) / 2, baseline, (baseline + high) / 2, high];
  const names = ["lowest", "", "average", "", "highest"];
  return (
    <figure className="heat-legend" data-testid="heatmap-legend" data-min={low} data-max={high} data-baseline={baseline}>
      <figcaption>Score: the estimated engagement rate (%) of a post published then</figcaption>
      <ol className="heat-scale">
        {steps.map((score, i) => (
          <li key={i}>
            <span className="heat-swatch" style={shadeOf(score, scale)} data-testid={names[i] ? `legend-${names[i]}` : undefined}>
              {cellValue(score)}
            </span>
            <span className="heat-step-name">{names[i]}</span>
          </li>
        ))}
      </ol>
      <ul className="heat-keys">
        <li>
          <span className="heat-swatch recommended" aria-hidden="true" /> recommended window ({answer.min_window_posts}+ posts)
        </li>
        <li>
          <span className="heat-swatch estimated" aria-hidden="true" /> framed, in italics: no posts yet, estimated from its day and hour
        </li>
      </ul>
    </figure>
  );
}

function Heatmap({ answer }: { answer: Answer }) {
  const cells = grid(answer.by_slot);
  const scale = scaleOf(answer.baseline_score, answer.by_slot.map((c) => c.score));
  const recommended = new Set(
    answer.recommendations.flatMap((w) =>
      Array.from({ length: w.end_hour - w.start_hour + 1 }, (_, i) => `${w.day}:${w.start_hour + i}`),
    ),
  );
  return (
    <>
      {answer.by_slot.length > 0 && <Legend answer={answer} scale={scale} />}
      <div className="heatmap-wrap" tabIndex={0} role="region" aria-label="Scores by day and hour (scrolls sideways)">
        <table className="heatmap" data-testid="heatmap">
          <caption className="visually-hidden">
            Score of each day and hour, {answer.period.timezone} time; the recommendations rank by the same score
          </caption>
          <thead>
            <tr>
              <th />
              {Array.from({ length: 24 }, (_, h) => (
                <th key={h} scope="col" abbr={hourLabel(h)}>
                  {h}
                </th>
              ))}
              <th scope="col">Day score</th>
            </tr>
          </thead>
          <tbody>
            {cells.map((row, d) => (
              <tr key={d}>
                <th scope="row" abbr={DAYS[d]}>
                  {DAYS_SHORT[d]}
                </th>
                {row.map((c, h) => {
                  const rec = recommended.has(`${d}:${h}`);
                  const label = cellLabel(d, h, c, rec);
                  const kind = c === null ? "" : c.posts > 0 ? "" : "estimated";
                  return (
                    <td
                      key={h}
                      className={`cell ${kind} ${rec ? "recommended" : ""}`}
                      data-day={d}
                      data-hour={h}
                      data-posts={c?.posts ?? 0}
                      data-score={c?.score ?? ""}
                      style={c === null ? undefined : shadeOf(c.score, scale)}
                      aria-label={label}
                      title={label}
                    >
                      {c === null ? "" : cellValue(c.score)}
                    </td>
                  );
                })}
                <td className="score" data-testid={`day-score-${d}`}>
                  {dec(answer.by_day[d]?.score ?? null)}
                </td>
              </tr>
            ))}
            <tr>
              <th scope="row">Hour score</th>
              {answer.by_hour.map((h) => (
                <td key={h.hour} className="score vertical" data-testid={`hour-score-${h.hour}`}>
                  {dec(h.score, 1)}
                </td>
              ))}
              <td />
            </tr>
          </tbody>
        </table>
      </div>
      <p className="muted">
        Each cell's score pools its day, its hour and the hours beside it, shrunk toward the average (
        {pct(answer.baseline_score)}); the recommendations rank by the same score.
      </p>
    </>
  );
}

function Recommendations({ answer }: { answer: Answer }) {
  if (answer.recommendations.length === 0) {
    return (
      <p className="muted" data-testid="recommendations-none">
        {answer.message}
      </p>
    );
  }
  return (
    <ol className="recs" data-testid="recommendations">
      {answer.recommendations.map((w) => (
        <li key={`${w.day}:${w.start_hour}`} data-day={w.day} data-hour={w.hour}>
          {DAYS[w.day]} {windowHours(w)} — score {pct(w.score)} ({w.posts} {w.posts === 1 ? "post" : "posts"}, best at{" "}
          {hourLabel(w.hour)})
        </li>
      ))}
    </ol>
  );
}

/** The summary cards and the heatmap of one answer. */
export function BestTimesBody({ answer }: { answer: Answer }) {
  const best = answer.recommendations[0];
  return (
    <>
      <div className="best-summary">
        <div className="card" data-testid="best-slot">
          <div className="card-label">Best time</div>
          <div className="card-value" data-testid="best-slot-value">
            {best === undefined ? "—" : `${DAYS[best.day]} ${windowHours(best)}`}
          </div>
          <div className="muted">
            {best !== undefined
              ? `${answer.period.timezone} time`
              : answer.posts_needed > 0
                ? `Not enough posts yet (${answer.posts_needed} more needed)`
                : "No window does better than average yet"}
          </div>
        </div>
        <div className="card" data-testid="confidence">
          <div className="card-label">Confidence</div>
          <div className="card-value">
            <span data-testid="confidence-value">{answer.confidence_score}</span>/100
          </div>
          <div className="meter" aria-hidden="true">
            <div style={{ width: `${answer.confidence_score}%` }} />
          </div>
          <div className="muted">
            {confidenceWord(answer.confidence_score)} · from {answer.posts_considered} posts
          </div>
        </div>
        <div className="card">
          <div className="card-label">Recommendations</div>
          <Recommendations answer={answer} />
        </div>
      </div>
      <Heatmap answer={answer} />
    </>
  );
}

/** When to post, with how sure the estimate is: from the posts of the toolbar's range. */
export function BestTimes({ client, scope, version, onUnauthorized }: ViewProps) {
  const [result, reload] = useApi(
    scopeKey(scope, version, "best-times"),
    async () => ({ answer: await client.bestTimes(scope) }),
    onUnauthorized,
  );
  return (
    <Panel
      title="Best posting times"
      testId="best-times"
      result={result}
      onRetry={reload}
      isEmpty={(d) => d.answer.posts_considered === 0}
      emptyHint="No posts with impressions in this date range; choose a longer range above."
      actions={
        <span className="muted" data-testid="best-times-range">
          From the posts of {rangeLabel(scope.startDate, scope.endDate)}
        </span>
      }
    >
      {({ answer }) => <BestTimesBody answer={answer} />}
    </Panel>
  );
}
