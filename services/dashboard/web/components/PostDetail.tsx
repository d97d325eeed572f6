import { CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { MetricSnapshot, PostDetail as Post } from "../api/types";
import { pct, zonedDateTime } from "../format";
import { hrefOf } from "../route";
import { metricLabel, metricsFor, metricText, PlatformIcon, platformColor, platformInfo, reports, type MetricKey } from "../platforms";
import { useApi } from "../useApi";
import { Panel } from "./Panel";
import type { ViewProps } from "./props";

/** What a history chart can draw: a count, or the two sums the API gives per snapshot. */
type Series = MetricKey | "engagement" | "engagement_rate";

const PREVIEW_CHARS = 70;

/** "LinkedIn: We shipped the new …" (or the date when the post has no text). */
export function postTitle(post: Post): string {
  const name = platformInfo(post.platform)?.name ?? post.platform;
  const text = post.content_preview.trim();
  if (!text) return `${name} ${post.content_type} post, ${zonedDateTime(post.published_at, post.timezone)}`;
  return `${name}: ${text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS - 1).trimEnd()}…` : text}`;
}

function seriesLabel(platform: string, s: Series): string {
  if (s === "engagement") return "Engagement";
  if (s === "engagement_rate") return "Engagement rate";
  return metricLabel(platform, s);
}

function seriesText(s: Series, v: number | null): string {
  return s === "engagement_rate" ? pct(v) : metricText(s === "engagement" ? "likes" : s, v);
}

/** A rate card: "—" without impressions, "not reported" when what it divides was not. */
function RateCard({ label, value, missing, testId }: { label: string; value: number | null; missing: boolean; testId?: string }) {
  return (
    <div className="card">
      <div className="card-label">{label}</div>
      <div className="card-value" data-testid={testId}>
        {value !== null ? pct(value) : missing ? "not reported" : "—"}
      </div>
    </div>
  );
}

/** One metric's line over the post's snapshots; its name and first-to-last values as its label. */
function HistoryChart({ post, series, points }: { post: Post; series: Series; points: (MetricSnapshot & { t: number })[] }) {
  const label = seriesLabel(post.platform, series);
  const reported = points.filter((p) => p[series] !== null);
  const first = reported[0]?.[series] ?? null;
  const last = reported[reported.length - 1]?.[series] ?? null;
  const summary = `${label}: ${seriesText(series, first)} to ${seriesText(series, last)} over ${reported.length} snapshots`;
  const when = (t: number) => zonedDateTime(new Date(t).toISOString(), post.timezone);
  return (
    <figure className="history-figure" data-metric={series}>
      <figcaption>
        {label} <strong>{seriesText(series, last)}</strong>
      </figcaption>
      <div role="img" aria-label={summary}>
        <ResponsiveContainer width="100%" height={140}>
          <LineChart data={points} margin={{ top: 6, right: 8, bottom: 0, left: 0 }} accessibilityLayer={false}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="t" type="number" scale="time" domain={["dataMin", "dataMax"]} tickFormatter={when} minTickGap={60} tick={{ fontSize: 11 }} />
            <YAxis width={52} domain={["auto", "auto"]} tick={{ fontSize: 11 }} allowDecimals={series === "engagement_rate"} />
            <Tooltip labelFormatter={(t) => when(Number(t))} formatter={(v) => seriesText(series, Number(v))} />
            <Line
              dataKey={series}
              name={label}
              stroke={platformColor(post.platform)}
              strokeWidth={2}
              dot={points.length < 40}
              connectNulls
              isAnimationActive={false}
            />
          </LineChart>
        </ResponsiveContainer>
      </div>
    </figure>
  );
}

/** One post: what it is, its rates, the metrics its platform reports and how each grew. */
export function PostDetail({ client, version, onUnauthorized, postId }: ViewProps & { postId: number }) {
  const [result, reload] = useApi(`${postId}|${version}`, () => client.post(postId), onUnauthorized);
  // Named by the post once it is known (its answer: "LinkedIn: We shipped …"), never by its id.
  const title = result.state === "ready" ? postTitle(result.data) : "Post";
  return (
    <Panel title={title} testId="post-detail" result={result} onRetry={reload}>
      {(post) => {
        const name = platformInfo(post.platform)?.name ?? post.platform;
        const metrics = metricsFor(post.platform, post);
        const history = post.history.map((h) => ({ ...h, t: Date.parse(h.observed_at) }));
        const charted: Series[] = (["engagement", "engagement_rate", ...metrics] as Series[]).filter(
          (s) => s !== "video_watch_time_s" && history.some((h) => h[s] !== null),
        );
        return (
          <>
            <p>
              <a href={hrefOf({ view: "top-posts" })}>← Back to top posts</a>
            </p>
            <div className="post-head">
              <PlatformIcon platform={post.platform} size={28} />
              <div>
                <p className="post-preview" data-testid="post-preview">
                  {post.content_preview}
                </p>
                <p className="muted">
                  {post.content_type} · published {zonedDateTime(post.published_at, post.timezone)} · numbers as of{" "}
                  {zonedDateTime(post.fetched_at, post.timezone)} ({post.timezone})
                  {post.platform_post_url && (
                    <>
                      {" · "}
                      <a href={post.platform_post_url} target="_blank" rel="noopener noreferrer" data-testid="post-link">
                        View on {name}
                        <span className="visually-hidden"> (opens in a new tab)</span>
                      </a>
                    </>
                  )}
                </p>
              </div>
            </div>
            <div className="cards">
              <RateCard label="Engagement rate" value={post.engagement_rate} missing={false} testId="post-engagement-rate" />
              {reports(post.platform, "clicks") && (
                <RateCard label="Click-through rate" value={post.click_through_rate} missing={post.clicks === null} testId="post-ctr" />
              )}
              {reports(post.platform, "shares") && (
                <RateCard label="Virality" value={post.virality} missing={post.shares === null} />
              )}
              {post.video_completion !== null && (
                <RateCard label="Video completion" value={post.video_completion} missing={false} />
              )}
            </div>
            <div className="table-wrap">
              <table data-testid="post-metrics" className="post-metric-table">
                <caption className="visually-hidden">The post's latest numbers on {name}</caption>
                <tbody>
                  {metrics.map((m) => (
                    <tr key={m} data-metric={m}>
                      <th scope="row">{metricLabel(post.platform, m)}</th>
                      <td>{metricText(m, post[m])}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <h3>
              How it grew (<span data-testid="history-count">{post.history.length}</span>{" "}
              {post.history.length === 1 ? "snapshot" : "snapshots"}, {post.timezone})
            </h3>
            {post.history.length === 1 && (
              // One point draws no line: say so, rather than leave a lone dot unexplained.
              <p className="muted" data-testid="history-single">
                One snapshot so far: the lines appear once the ingest services have polled this post again.
              </p>
            )}
            {post.history.length === 0 ? (
              <p className="state empty">No snapshots yet: the ingest services have not polled this post. Refresh to ask them now.</p>
            ) : (
              <div className="history-grid chart" data-testid="history-chart">
                {charted.map((s) => (
                  <HistoryChart key={s} post={post} series={s} points={history} />
                ))}
              </div>
            )}
          </>
        );
      }}
    </Panel>
  );
}
