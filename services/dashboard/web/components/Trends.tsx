import { useState } from "react";
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { TrendBasis, TrendItem, TrendPeriod, TrendsAnswer } from "../api/types";
import { rangeLabel } from "../dates";
import { int, pct, platformName } from "../format";
import { platformColor } from "../platforms";
import { useApi } from "../useApi";
import { Panel } from "./Panel";
import { scopeKey, type ViewProps } from "./props";

/** The metrics a manager follows over time: the trend item's field, its name and unit. */
export const TREND_METRICS = [
  { id: "impressions", label: "Impressions", unit: "count" },
  { id: "reach", label: "Reach", unit: "accounts" },
  { id: "engagement", label: "Engagements", unit: "likes + comments + shares" },
  { id: "engagement_rate", label: "Engagement rate", unit: "%" },
  { id: "clicks", label: "Clicks", unit: "count" },
  { id: "followers", label: "Followers", unit: "at the period's end" },
] as const;

export type TrendMetric = (typeof TREND_METRICS)[number]["id"];

const TOTAL_COLOR = "#4338ca";
const COMPARED_COLOR = "#6b7280";

function valueOf(item: TrendItem | undefined, metric: TrendMetric): number | null {
  return item === undefined ? null : (item[metric] ?? null);
}

/** A metric's value as the page writes it. */
export function metricText(metric: TrendMetric, n: number | null | undefined): string {
  return metric === "engagement_rate" ? pct(n) : int(n);
}

/** What the chart draws: per bucket, the total (or each platform's) and the compared values. */
function chartRows(data: TrendsAnswer, metric: TrendMetric, split: boolean): Record<string, unknown>[] {
  return data.trends.map((t, i) => {
    const row: Record<string, unknown> = {
      label: t.period_start,
      partial: t.partial,
      total: valueOf(t, metric),
      compared: valueOf(data.compared_trends?.[i], metric),
    };
    if (split)
      for (const p of data.by_platform) {
        row[p.platform] = valueOf(p.trends[i], metric);
        row[`${p.platform}:compared`] = valueOf(p.compared_trends?.[i], metric);
      }
    return row;
  });
}

/** A bucket the range cuts is drawn as a hollow point: its total is of fewer days. */
function partialDot(color: string) {
  return function Dot(props: { cx?: number; cy?: number; index?: number; payload?: { partial?: boolean } }) {
    const { cx, cy, index, payload } = props;
    if (!payload?.partial || cx === undefined || cy === undefined) return <g key={`dot-${index}`} />;
    return <circle key={`dot-${index}`} cx={cx} cy={cy} r={5} fill="#fff" stroke={color} strokeWidth={2} />;
  };
}

function sum(items: TrendItem[] | null | undefined, metric: TrendMetric): number | null {
  const values = (items ?? []).map((t) => valueOf(t, metric)).filter((v): v is number => v !== null);
  return values.length ? values.reduce((a, v) => a + v, 0) : null;
}

/** The metric over the range, as its total (the last value for followers, none for a rate). */
function overall(items: TrendItem[] | null | undefined, metric: TrendMetric): string {
  if (metric === "engagement_rate") return "—";
  if (metric === "followers") return int(valueOf(items?.[items.length - 1], metric));
  return int(sum(items, metric));
}

/**
 * A metric over time, per bucket of the toolbar's range, beside the compared period (dashed);
 * optionally one line per platform in its own colour. Partial buckets: hollow points.
 */
export function Trends({ client, scope, version, onUnauthorized }: ViewProps) {
  const [period, setPeriod] = useState<TrendPeriod>("daily");
  const [basis, setBasis] = useState<TrendBasis>("publish");
  const [metric, setMetric] = useState<TrendMetric>("engagement");
  const [split, setSplit] = useState(false);
  const compare = scope.compare ?? "previous";
  const [result, reload] = useApi(
    scopeKey(scope, version, period, basis, compare),
    () => client.trends(scope, period, basis, compare),
    onUnauthorized,
  );
  const chosen = TREND_METRICS.find((m) => m.id === metric) ?? TREND_METRICS[0];
  const controls = (
    <div className="inline trend-controls">
      <label>
        Metric
        <select name="trend-metric" value={metric} onChange={(e) => setMetric(e.target.value as TrendMetric)}>
          {TREND_METRICS.map((m) => (
            <option key={m.id} value={m.id}>
              {m.label}
            </option>
          ))}
        </select>
      </label>
      <select name="trend-period" aria-label="Period" value={period} onChange={(e) => setPeriod(e.target.value as TrendPeriod)}>
        <option value="daily">Daily</option>
        <option value="weekly">Weekly</option>
        <option value="monthly">Monthly</option>
      </select>
      <select name="trend-basis" aria-label="Basis" value={basis} onChange={(e) => setBasis(e.target.value as TrendBasis)}>
        <option value="publish">By publish day</option>
        <option value="activity">By activity day</option>
      </select>
      <label className="check">
        <input type="checkbox" name="trend-split" checked={split} onChange={(e) => setSplit(e.target.checked)} />
        Split by platform
      </label>
    </div>
  );
  return (
    <Panel
      title="Trends"
      testId="trends"
      result={result}
      onRetry={reload}
      actions={controls}
      isEmpty={(d) => d.trends.every((t) => t.posts === 0 && t.engagement === 0) && !d.trends.some((t) => t.followers)}
    >
      {(data) => {
        const total = data.trends.reduce((a, t) => a + (t.engagement ?? 0), 0);
        const impressions = data.trends.reduce((a, t) => a + (t.impressions ?? 0), 0);
        const rows = chartRows(data, metric, split);
        const cp = data.compared_period;
        const partial = data.trends.some((t) => t.partial);
        const rate = metric === "engagement_rate";
        const yLabel = rate ? "Engagement rate (%)" : `${chosen.label} (${chosen.unit})`;
        return (
          <>
            <p className="muted" data-testid="trends-caption">
              {basis === "publish"
                ? "Metrics of the posts published in each period."
                : "What all posts gained during each period."}{" "}
              <span data-testid="trends-count">{data.trends.length}</span> periods ·{" "}
              <span data-testid="trends-total-engagement">{int(total)}</span> engagements ·{" "}
              <span data-testid="trends-total-impressions">{int(impressions)}</span> impressions
            </p>
            <p className="trend-metric-summary" data-testid="trends-metric" data-metric={metric}>
              {chosen.label}: <strong data-testid="trends-metric-total">{overall(data.trends, metric)}</strong>
              {cp && (
                <>
                  {" "}
                  <span className="muted">
                    vs <span data-testid="trends-compared-total">{overall(data.compared_trends, metric)}</span> in{" "}
                    {rangeLabel(cp.start_date, cp.end_date)} (dashed)
                  </span>
                </>
              )}
            </p>
            <div className="chart" data-testid="trends-chart" data-split={split ? "true" : "false"}>
              <ResponsiveContainer width="100%" height={320}>
                <LineChart
                  data={rows}
                  margin={{ top: 8, right: 16, bottom: 24, left: 16 }}
                  accessibilityLayer={false}
                >
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis
                    dataKey="label"
                    minTickGap={24}
                    label={{ value: `${period === "daily" ? "Day" : period === "weekly" ? "Week from" : "Month from"} (${data.period.timezone})`, position: "insideBottom", offset: -16 }}
                  />
                  <YAxis
                    width={72}
                    unit={rate ? "%" : undefined}
                    tickFormatter={(v: number) => (rate ? String(v) : int(v))}
                    label={{ value: yLabel, angle: -90, position: "insideLeft", offset: -8, style: { textAnchor: "middle" } }}
                  />
                  <Tooltip formatter={(v) => metricText(metric, typeof v === "number" ? v : null)} />
                  <Legend verticalAlign="top" />
                  {split ? (
                    data.by_platform.flatMap((p) => [
                      <Line key={p.platform} className="trend-current" type="monotone" dataKey={p.platform} name={platformName(p.platform)} stroke={platformColor(p.platform)} strokeWidth={2} dot={partialDot(platformColor(p.platform))} isAnimationActive={false} connectNulls />,
                      <Line key={`${p.platform}:compared`} className="trend-compared" type="monotone" dataKey={`${p.platform}:compared`} name={`${platformName(p.platform)}, compared`} stroke={platformColor(p.platform)} strokeOpacity={0.6} strokeDasharray="6 4" dot={false} legendType="none" isAnimationActive={false} connectNulls />,
                    ])
                  ) : (
                    <Line className="trend-current" type="monotone" dataKey="total" name={chosen.label} stroke={TOTAL_COLOR} strokeWidth={2} dot={partialDot(TOTAL_COLOR)} isAnimationActive={false} connectNulls />
                  )}
                  {!split && cp && (
                    <Line className="trend-compared" type="monotone" dataKey="compared" name={`${rangeLabel(cp.start_date, cp.end_date)} (compared)`} stroke={COMPARED_COLOR} strokeDasharray="6 4" dot={false} isAnimationActive={false} connectNulls />
                  )}
                </LineChart>
              </ResponsiveContainer>
            </div>
            <p className="muted trend-legend-note" data-testid="trends-legend-note">
              Dashed: the compared period{split ? ", each platform in its colour" : ""}.
              {partial && (
                <span data-testid="trends-partial-note">
                  {" "}
                  Hollow points: periods the range cuts (partial, fewer days), not comparable with whole ones.
                </span>
              )}
            </p>
            <details>
              <summary>The numbers</summary>
              <div className="table-wrap fit-table-wrap">
                <table className="fit-table" data-testid="trends-table">
                  <thead>
                    <tr>
                      <th scope="col">Period</th>
                      <th scope="col">Posts</th>
                      <th scope="col">{chosen.label}</th>
                      {cp && <th scope="col">Compared</th>}
                      <th scope="col">Impressions</th>
                      <th scope="col">Engagements</th>
                      <th scope="col">Engagement rate</th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.trends.map((t, i) => (
                      <tr key={t.period_start} data-partial={t.partial ? "true" : undefined}>
                        <td data-label="Period">
                          {t.period_start === t.period_end ? t.period_start : `${t.period_start} – ${t.period_end}`}
                          {t.partial && <span className="muted"> · partial ({t.days} {t.days === 1 ? "day" : "days"})</span>}
                          {t.estimated && <span className="muted"> · estimated</span>}
                        </td>
                        <td data-label="Posts">{int(t.posts)}</td>
                        <td data-label={chosen.label} data-col="metric">{metricText(metric, valueOf(t, metric))}</td>
                        {cp && <td data-label="Compared" data-col="compared">{metricText(metric, valueOf(data.compared_trends?.[i], metric))}</td>}
                        <td data-label="Impressions">{int(t.impressions)}</td>
                        <td data-label="Engagements">{int(t.engagement)}</td>
                        <td data-label="Engagement rate">{pct(t.engagement_rate)}</td>
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
