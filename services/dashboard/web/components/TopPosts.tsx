import { useState } from "react";
import type { TopPostMetric } from "../api/types";
import { hrefOf } from "../route";
import { int, pct, platformName, zonedDateTime } from "../format";
import { useApi } from "../useApi";
import { Panel } from "./Panel";
import { scopeKey, type ViewProps } from "./props";

const METRICS: { id: TopPostMetric; label: string }[] = [
  { id: "engagement_rate", label: "Engagement rate" },
  { id: "engagement", label: "Engagement" },
  { id: "likes", label: "Likes" },
  { id: "comments", label: "Comments" },
  { id: "shares", label: "Shares" },
  { id: "reactions", label: "Reactions" },
  { id: "retweets", label: "Retweets" },
  { id: "quote_tweets", label: "Quote tweets" },
  { id: "saves", label: "Saves" },
  { id: "clicks", label: "Clicks" },
  { id: "reach", label: "Reach" },
  { id: "impressions", label: "Impressions" },
  { id: "video_views", label: "Video views" },
  { id: "click_through_rate", label: "Click-through rate" },
];

/** The period's best posts; the column headers choose what they are ranked by. */
export function TopPosts({ client, scope, version, onUnauthorized }: ViewProps) {
  const [metric, setMetric] = useState<TopPostMetric>("engagement_rate");
  const [result, reload] = useApi(
    scopeKey(scope, version, metric),
    () => client.topPosts(scope, metric),
    onUnauthorized,
  );
  const sortButton = (id: TopPostMetric, label: string) => (
    <button
      type="button"
      className={`sort ${metric === id ? "active" : ""}`}
      aria-pressed={metric === id}
      data-testid={`sort-${id}`}
      onClick={() => setMetric(id)}
    >
      {label}
      {metric === id ? " ▼" : ""}
    </button>
  );
  return (
    <Panel
      title="Top posts"
      testId="top-posts"
      result={result}
      onRetry={reload}
      isEmpty={(d) => d.top_posts.length === 0}
      emptyHint="No post to rank here (a rate ranks only the posts that have it); pick a longer range, another platform or a count."
      actions={
        <label className="inline">
          Rank by
          <select name="metric" value={metric} onChange={(e) => setMetric(e.target.value as TopPostMetric)}>
            {METRICS.map((m) => (
              <option key={m.id} value={m.id}>
                {m.label}
              </option>
            ))}
          </select>
        </label>
      }
    >
      {(data) => (
        <div className="table-wrap">
          <table data-testid="top-posts-table">
            <thead>
              <tr>
                <th>#</th>
                <th>Post</th>
                <th>Platform</th>
                <th>Published ({data.period.timezone})</th>
                <th>{sortButton("likes", "Likes")}</th>
                <th>{sortButton("impressions", "Impressions")}</th>
                <th>{sortButton("engagement", "Engagement")}</th>
                <th>{sortButton("engagement_rate", "Eng. rate")}</th>
              </tr>
            </thead>
            <tbody>
              {data.top_posts.map((p, i) => (
                <tr key={p.post_id} data-post-id={p.post_id}>
                  <td>{i + 1}</td>
                  <td className="preview">
                    <a href={hrefOf({ view: "post", postId: p.post_id })}>{p.content_preview || `Post ${p.post_id}`}</a>
                    <div className="muted">{p.content_type}</div>
                  </td>
                  <td>{platformName(p.platform)}</td>
                  <td>{zonedDateTime(p.published_at, data.period.timezone)}</td>
                  <td data-col="likes">{int(p.likes)}</td>
                  <td data-col="impressions">{int(p.impressions)}</td>
                  <td data-col="engagement">{int(p.engagement)}</td>
                  <td data-col="engagement_rate">{pct(p.engagement_rate)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Panel>
  );
}
