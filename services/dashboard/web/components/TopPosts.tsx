import { useState } from "react";
import type { TopPostMetric } from "../api/types";
import { hrefOf } from "../route";
import { dateTime, int, pct, platformName } from "../format";
import { useApi } from "../useApi";
import { Panel } from "./Panel";
import { scopeKey, type ViewProps } from "./props";

const METRICS: { id: TopPostMetric; label: string }[] = [
  { id: "engagement_rate", label: "Engagement rate" },
  { id: "total_engagement", label: "Engagement" },
  { id: "likes_count", label: "Likes" },
  { id: "impressions", label: "Impressions" },
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
      emptyHint="Only posts with impressions are ranked; pick a longer range or another platform."
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
                <th>Published</th>
                <th>{sortButton("likes_count", "Likes")}</th>
                <th>{sortButton("impressions", "Impressions")}</th>
                <th>{sortButton("total_engagement", "Engagement")}</th>
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
                  <td>{dateTime(p.published_at)}</td>
                  <td data-col="likes">{int(p.likes)}</td>
                  <td data-col="impressions">{int(p.impressions)}</td>
                  <td data-col="engagement">{int((p.likes ?? 0) + (p.comments ?? 0) + (p.shares ?? 0))}</td>
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
