import { useState } from "react";
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { TrendBasis, TrendItem, TrendPeriod } from "../api/types";
import { int, pct } from "../format";
import { useApi } from "../useApi";
import { Panel } from "./Panel";
import { scopeKey, type ViewProps } from "./props";

/** Engagement over time: daily/weekly/monthly, by publish day or activity day. */
/** A period the range cuts is drawn as a hollow point: its total is of fewer days. */
function partialDot(props: { cx?: number; cy?: number; index?: number; payload?: TrendItem }) {
  const { cx, cy, index, payload } = props;
  if (!payload?.partial || cx === undefined || cy === undefined) return <g key={`dot-${index}`} />;
  return (
    <circle key={`dot-${index}`} cx={cx} cy={cy} r={4} fill="#fff" stroke="#6366f1" strokeDasharray="2 2" />
  );
}

export function Trends({ client, scope, version, onUnauthorized }: ViewProps) {
  const [period, setPeriod] = useState<TrendPeriod>("daily");
  const [basis, setBasis] = useState<TrendBasis>("publish");
  const [result, reload] = useApi(
    scopeKey(scope, version, period, basis),
    () => client.trends(scope, period, basis),
    onUnauthorized,
  );
  const controls = (
    <div className="inline">
      <select name="trend-period" aria-label="Period" value={period} onChange={(e) => setPeriod(e.target.value as TrendPeriod)}>
        <option value="daily">Daily</option>
        <option value="weekly">Weekly</option>
        <option value="monthly">Monthly</option>
      </select>
      <select name="trend-basis" aria-label="Basis" value={basis} onChange={(e) => setBasis(e.target.value as TrendBasis)}>
        <option value="publish">By publish day</option>
        <option value="activity">By activity day</option>
      </select>
    </div>
  );
  return (
    <Panel
      title="Engagement trends"
      testId="trends"
      result={result}
      onRetry={reload}
      actions={controls}
      isEmpty={(d) => d.trends.every((t) => t.posts === 0 && t.engagement === 0)}
    >
      {(data) => {
        const total = data.trends.reduce((a, t) => a + t.engagement, 0);
        const impressions = data.trends.reduce((a, t) => a + (t.impressions ?? 0), 0);
        return (
          <>
            <p className="muted" data-testid="trends-caption">
              {basis === "publish"
                ? "Metrics of the posts published in each period."
                : "What all posts gained during each period."}{" "}
              <span data-testid="trends-count">{data.trends.length}</span> periods ·{" "}
              <span data-testid="trends-total-engagement">{int(total)}</span> engagements ·{" "}
              <span data-testid="trends-total-impressions">{int(impressions)}</span> impressions
              {data.trends.some((t) => t.partial) && " · hollow points: periods the range cuts (partial)"}
            </p>
            <div className="chart" data-testid="trends-chart">
              <ResponsiveContainer width="100%" height={300}>
                <LineChart data={data.trends} margin={{ top: 8, right: 8, bottom: 8, left: 0 }}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="period_start" minTickGap={24} />
                  <YAxis yAxisId="count" width={56} />
                  <YAxis yAxisId="rate" orientation="right" unit="%" width={48} />
                  <Tooltip />
                  <Legend />
                  <Line yAxisId="count" type="monotone" dataKey="engagement" name="Engagement" stroke="#6366f1" dot={partialDot} isAnimationActive={false} />
                  <Line yAxisId="rate" type="monotone" dataKey="engagement_rate" name="Engagement rate (%)" stroke="#f59e0b" dot={false} isAnimationActive={false} />
                </LineChart>
              </ResponsiveContainer>
            </div>
            <details>
              <summary>The numbers</summary>
              <div className="table-wrap">
                <table data-testid="trends-table">
                  <thead>
                    <tr>
                      <th>Period</th>
                      <th>Posts</th>
                      <th>Impressions</th>
                      <th>Engagement</th>
                      <th>Engagement rate</th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.trends.map((t) => (
                      <tr key={t.period_start} data-partial={t.partial ? "true" : undefined}>
                        <td>
                          {t.period_start === t.period_end ? t.period_start : `${t.period_start} – ${t.period_end}`}
                          {t.partial && <span className="muted"> · partial ({t.days} {t.days === 1 ? "day" : "days"})</span>}
                          {t.estimated && <span className="muted"> · estimated</span>}
                        </td>
                        <td>{int(t.posts)}</td>
                        <td>{int(t.impressions)}</td>
                        <td>{int(t.engagement)}</td>
                        <td>{pct(t.engagement_rate)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </details>
          </>
        );
      }}
    </Panel>
  );
}
