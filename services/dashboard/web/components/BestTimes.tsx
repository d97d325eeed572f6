import type { BestTimesAnswer as Answer, Recommendation as Window, Slot as Cell } from "../api/types";
import { rangeLabel } from "../dates";
import { DAYS, DAYS_SHORT, dec, hourLabel, pct } from "../format";
import { useApi } from "../useApi";
import { Panel } from "./Panel";
import { scopeKey, type ViewProps } from "./props";

/** The 7 × 24 cells, from the API's slots. */
function grid(slots: Cell[]): (Cell | null)[][] {
  const cells: (Cell | null)[][] = DAYS.map(() => Array.from({ length: 24 }, () => null));
  for (const slot of slots) cells[slot.day][slot.hour] = slot;
  return cells;
}

/**
 * Shade by the model's score, the one the recommendations rank by: the average mid-tone,
 * darker above it, paler below. The scale spans the largest gap from the average, and at
 * least a quarter of the average, so that scores barely apart look barely apart.
 */
function shade(score: number, baseline: number, span: number, posts: number): number {
  const alpha = Math.min(0.9, Math.max(0.06, 0.4 + 0.5 * ((score - baseline) / span)));
  // A cell without posts is the model's guess from its day and hour: drawn fainter.
  return posts > 0 ? alpha : alpha * 0.4;
}

function windowHours(w: Window): string {
  return `${hourLabel(w.start_hour)}–${hourLabel(w.end_hour + 1)}`;
}

function confidenceWord(score: number): string {
  if (score >= 70) return "high";
  if (score >= 40) return "medium";
  return "low";
}

function Heatmap({ answer }: { answer: Answer }) {
  const cells = grid(answer.by_slot);
  const baseline = answer.baseline_score;
  const gaps = answer.by_slot.map((c) => Math.abs(c.score - baseline));
  const span = Math.max(0.01, 0.25 * baseline, ...gaps);
  const recommended = new Set(
    answer.recommendations.flatMap((w) =>
      Array.from({ length: w.end_hour - w.start_hour + 1 }, (_, i) => `${w.day}:${w.start_hour + i}`),
    ),
  );
  return (
    <div className="heatmap-wrap">
      <table className="heatmap" data-testid="heatmap">
        <thead>
          <tr>
            <th />
            {Array.from({ length: 24 }, (_, h) => (
              <th key={h} scope="col">
                {h}
              </th>
            ))}
            <th scope="col">Day score</th>
          </tr>
        </thead>
        <tbody>
          {cells.map((row, d) => (
            <tr key={d}>
              <th scope="row">{DAYS_SHORT[d]}</th>
              {row.map((c, h) => {
                const posts = c?.posts ?? 0;
                const rec = recommended.has(`${d}:${h}`);
                const raw = c?.avg_engagement_rate ?? null;
                const title =
                  c === null
                    ? `${DAYS[d]} ${hourLabel(h)}: no estimate`
                    : `${DAYS[d]} ${hourLabel(h)}: score ${dec(c.score)}% from ${posts} ${posts === 1 ? "post" : "posts"}` +
                      (raw === null ? " (estimated from the day and hour)" : `, their mean ${dec(raw)}%`) +
                      (rec ? " (recommended window)" : "");
                return (
                  <td
                    key={h}
                    className={`cell ${rec ? "recommended" : ""}`}
                    data-day={d}
                    data-hour={h}
                    data-posts={posts}
                    data-score={c?.score ?? ""}
                    style={{
                      background:
                        c === null ? undefined : `rgba(99, 102, 241, ${shade(c.score, baseline, span, posts).toFixed(2)})`,
                    }}
                    title={title}
                  />
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
      <p className="muted">
        Darker = higher score: the estimated engagement rate of a post published then, pooled from its day, its hour
        and the hours beside it and shrunk toward the average ({pct(answer.baseline_score)}, mid-tone); the
        recommendations rank by the same score. Faint cells have no posts yet. Outlined: the recommended windows, each
        with at least {answer.min_window_posts} posts.
      </p>
    </div>
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
