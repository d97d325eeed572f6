import { useState } from "react";
import type { BestTimesAnswer, Slot } from "../api/types";
import { DAYS, DAYS_SHORT, dec, hourLabel, pct } from "../format";
import { useApi } from "../useApi";
import { Panel } from "./Panel";
import { scopeKey, type ViewProps } from "./props";

/** The 7 × 24 cells, from the API's slots (a slot without posts is an empty cell). */
function grid(slots: Slot[]): (Slot | null)[][] {
  const cells: (Slot | null)[][] = DAYS.map(() => Array.from({ length: 24 }, () => null));
  for (const slot of slots) cells[slot.day][slot.hour] = slot;
  return cells;
}

function confidenceWord(score: number): string {
  if (score >= 70) return "high";
  if (score >= 40) return "medium";
  return "low";
}

function Heatmap({ answer }: { answer: BestTimesAnswer }) {
  const cells = grid(answer.by_slot);
  const max = Math.max(0.01, ...answer.by_slot.map((c) => c.avg_engagement_rate));
  const recommended = new Set(answer.recommendations.map((r) => `${r.day}:${r.hour}`));
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
                const mean = c === null ? null : c.avg_engagement_rate;
                const alpha = mean === null ? 0 : 0.12 + 0.88 * (mean / max);
                const rec = recommended.has(`${d}:${h}`);
                return (
                  <td
                    key={h}
                    className={`cell ${rec ? "recommended" : ""}`}
                    data-day={d}
                    data-hour={h}
                    data-posts={c?.posts ?? 0}
                    style={{ background: mean === null ? undefined : `rgba(99, 102, 241, ${alpha.toFixed(2)})` }}
                    title={`${DAYS[d]} ${hourLabel(h)}: ${c?.posts ?? 0} posts${c === null ? "" : `, mean engagement rate ${dec(c.avg_engagement_rate)}%, score ${dec(c.score)}`}${rec ? " (recommended)" : ""}`}
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
        Darker = higher mean engagement rate of the posts published in that hour; outlined cells are the
        recommendations. Scores are the API's estimates (means shrunk toward the overall mean).
      </p>
    </div>
  );
}

/** When to post, with how sure the estimate is. */
export function BestTimes({ client, scope, version, onUnauthorized }: ViewProps) {
  const [days, setDays] = useState(30);
  const [result, reload] = useApi(
    scopeKey(scope, version, days),
    async () => ({ answer: await client.bestTimes(scope, days) }),
    onUnauthorized,
  );
  return (
    <Panel
      title="Best posting times"
      testId="best-times"
      result={result}
      onRetry={reload}
      isEmpty={(d) => d.answer.posts_considered === 0}
      emptyHint="No posts with impressions in this window; choose a longer window."
      actions={
        <label className="inline">
          Window
          <select name="best-days" value={days} onChange={(e) => setDays(Number(e.target.value))}>
            <option value={7}>Last 7 days</option>
            <option value={30}>Last 30 days</option>
            <option value={90}>Last 90 days</option>
          </select>
        </label>
      }
    >
      {({ answer }) => (
        <>
          <div className="best-summary">
            <div className="card" data-testid="best-slot">
              <div className="card-label">Best time</div>
              <div className="card-value" data-testid="best-slot-value">
                {answer.best_day === null ? "—" : DAYS[answer.best_day]}
                {answer.best_hour === null ? "" : ` ${hourLabel(answer.best_hour)}`}
              </div>
              <div className="muted">{answer.period.timezone} time</div>
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
              <ol className="recs" data-testid="recommendations">
                {answer.recommendations.map((r) => (
                  <li key={`${r.day}:${r.hour}`}>
                    {DAYS[r.day]} {hourLabel(r.hour)} — score {pct(r.score)} ({r.posts} {r.posts === 1 ? "post" : "posts"})
                  </li>
                ))}
              </ol>
            </div>
          </div>
          <Heatmap answer={answer} />
        </>
      )}
    </Panel>
  );
}
