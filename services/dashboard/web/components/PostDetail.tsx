import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { PostDetail as Post } from "../api/types";
import { dec, int, pct, platformName, zonedDateTime } from "../format";
import { useApi } from "../useApi";
import { Panel } from "./Panel";
import type { ViewProps } from "./props";

const METRIC_ROWS: { key: keyof Post; label: string }[] = [
  { key: "impressions", label: "Impressions" },
  { key: "reach", label: "Reach" },
  { key: "likes", label: "Likes" },
  { key: "comments", label: "Comments" },
  { key: "shares", label: "Shares" },
  { key: "reactions", label: "Reactions" },
  { key: "retweets", label: "Retweets" },
  { key: "quote_tweets", label: "Quote tweets" },
  { key: "clicks", label: "Clicks" },
  { key: "saves", label: "Saves" },
  { key: "video_views", label: "Video views" },
];

function value(post: Post, key: keyof Post): string {
  const v = post[key];
  return typeof v === "number" ? int(v) : "not reported";
}

/** One post: its latest numbers, its rates and how they grew. */
export function PostDetail({ client, version, onUnauthorized, postId }: ViewProps & { postId: number }) {
  const [result, reload] = useApi(`${postId}|${version}`, () => client.post(postId), onUnauthorized);
  return (
    <Panel title={`Post ${postId}`} testId="post-detail" result={result} onRetry={reload}>
      {(post) => {
        const history = post.history.map((h) => ({ ...h, t: Date.parse(h.observed_at) }));
        return (
          <>
            <p>
              <a href="#/top-posts">← Back to top posts</a>
            </p>
            <div className="post-head">
              <p className="post-preview" data-testid="post-preview">
                {post.content_preview}
              </p>
              <p className="muted">
                {platformName(post.platform)} · {post.content_type} · published {zonedDateTime(post.published_at, post.timezone)} ·
                numbers as of {zonedDateTime(post.fetched_at, post.timezone)} ({post.timezone})
                {post.platform_post_url && (
                  <>
                    {" · "}
                    <a href={post.platform_post_url} target="_blank" rel="noreferrer">
                      open on {platformName(post.platform)}
                    </a>
                  </>
                )}
              </p>
            </div>
            <div className="cards">
              <div className="card">
                <div className="card-label">Engagement rate</div>
                <div className="card-value" data-testid="post-engagement-rate">
                  {pct(post.engagement_rate)}
                </div>
              </div>
              <div className="card">
                <div className="card-label">Click-through rate</div>
                <div className="card-value">{pct(post.click_through_rate)}</div>
              </div>
              <div className="card">
                <div className="card-label">Virality</div>
                <div className="card-value">{pct(post.virality)}</div>
              </div>
              <div className="card">
                <div className="card-label">Video completion</div>
                <div className="card-value">{post.video_completion === null ? "—" : pct(post.video_completion)}</div>
              </div>
            </div>
            <h3>
              Metric history (<span data-testid="history-count">{post.history.length}</span>{" "}
              {post.history.length === 1 ? "snapshot" : "snapshots"})
            </h3>
            {post.history.length === 1 && (
              // One point draws no line: say so, rather than leave a lone dot unexplained.
              <p className="muted" data-testid="history-single">
                One snapshot so far: the line appears once the ingest services have polled this post again.
              </p>
            )}
            {post.history.length === 0 ? (
              <p className="state empty">No snapshots yet: the ingest services have not polled this post. Refresh to ask them now.</p>
            ) : (
              <div className="chart" data-testid="history-chart">
                <ResponsiveContainer width="100%" height={280}>
                  <LineChart data={history} margin={{ top: 8, right: 8, bottom: 8, left: 0 }}>
                    <CartesianGrid strokeDasharray="3 3" />
                    <XAxis
                      dataKey="t"
                      type="number"
                      scale="time"
                      domain={["dataMin", "dataMax"]}
                      tickFormatter={(t: number) => zonedDateTime(new Date(t).toISOString(), post.timezone)}
                      minTickGap={40}
                    />
                    <YAxis yAxisId="imp" width={56} domain={["auto", "auto"]} />
                    <YAxis yAxisId="eng" orientation="right" width={48} domain={["auto", "auto"]} />
                    <Tooltip labelFormatter={(t) => zonedDateTime(new Date(Number(t)).toISOString(), post.timezone)} />
                    <Legend />
                    <Line yAxisId="imp" dataKey="impressions" name="Impressions" stroke="#6366f1" dot={history.length < 40} isAnimationActive={false} />
                    <Line yAxisId="eng" dataKey="engagement" name="Engagement" stroke="#f59e0b" dot={history.length < 40} isAnimationActive={false} />
                  </LineChart>
                </ResponsiveContainer>
              </div>
            )}
            <div className="table-wrap">
              <table data-testid="post-metrics">
                <tbody>
                  {METRIC_ROWS.map((m) => (
                    <tr key={m.key} data-metric={m.key}>
                      <th scope="row">{m.label}</th>
                      <td>{value(post, m.key)}</td>
                    </tr>
                  ))}
                  <tr data-metric="video_watch_time_s">
                    <th scope="row">Video watch time</th>
                    <td>{post.video_watch_time_s === null ? "not reported" : `${dec(post.video_watch_time_s, 0)} s`}</td>
                  </tr>
                </tbody>
              </table>
            </div>
          </>
        );
      }}
    </Panel>
  );
}
