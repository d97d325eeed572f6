import { useState } from "react";
import type { TopPost, TopPostMetric } from "../api/types";
import { hrefOf, readViewParam, writeViewParam } from "../route";
import { pct, zonedDateTime } from "../format";
import {
  METRIC_LABELS, metricLabel, metricsFor, metricText, PlatformIcon, platformInfo, reports,
  thumbnailSrc, type MetricKey,
} from "../platforms";
import { useApi } from "../useApi";
import { Panel } from "./Panel";
import { scopeKey, type ViewProps } from "./props";

type Rate = "engagement_rate" | "click_through_rate";

const RATE_LABELS: Record<Rate, string> = { engagement_rate: "Engagement rate", click_through_rate: "Click-through rate" };

/** What the API ranks by (queries.TopPostMetric), in the menu's order. */
const RANKINGS: TopPostMetric[] = [
  "engagement_rate", "engagement", "impressions", "reach", "likes", "comments", "shares",
  "reactions", "retweets", "quote_tweets", "saves", "clicks", "click_through_rate", "video_views",
];

/** How many posts: the API gives 1-100 (rankings.py's `limit`). */
const LIMITS = [10, 20, 50, 100];
const DEFAULT_LIMIT = 20;

function linkedMetric(text: string | null): TopPostMetric {
  return RANKINGS.find((m) => m === text) ?? "engagement_rate";
}

function linkedLimit(text: string | null): number {
  return LIMITS.find((n) => String(n) === text) ?? DEFAULT_LIMIT;
}

function rankLabel(metric: TopPostMetric, platform: string): string {
  if (metric === "engagement") return "Engagement";
  if (metric === "engagement_rate" || metric === "click_through_rate") return RATE_LABELS[metric];
  return platform === "all" ? METRIC_LABELS[metric] : metricLabel(platform, metric);
}

/** The rankings that mean something for the filtered platform (no Retweets on Instagram). */
function rankingsFor(platform: string): TopPostMetric[] {
  if (platform === "all") return RANKINGS;
  return RANKINGS.filter((m) => {
    if (m === "engagement" || m === "engagement_rate") return true;
    if (m === "click_through_rate") return reports(platform, "clicks");
    return reports(platform, m);
  });
}

/** A rate: "—" without impressions, "not reported" when the clicks under it were not. */
function rateText(post: TopPost, rate: Rate): string {
  const value = post[rate];
  if (value !== null) return pct(value);
  return rate === "click_through_rate" && post.clicks === null ? "not reported" : "—";
}

function valueText(post: TopPost, metric: TopPostMetric): string {
  if (metric === "engagement_rate" || metric === "click_through_rate") return rateText(post, metric);
  if (metric === "engagement") return post.engagement === null ? "not reported" : metricText("likes", post.engagement);
  return metricText(metric, post[metric]);
}

/** The post's image where the page may load it, else its platform's icon and kind. */
function Thumbnail({ post }: { post: TopPost }) {
  const src = thumbnailSrc(post.thumbnail_url);
  const [failed, setFailed] = useState(false);
  if (src && !failed)
    return (
      <img className="post-thumb" src={src} alt="" loading="lazy" referrerPolicy="no-referrer" onError={() => setFailed(true)} />
    );
  return (
    <div className="post-thumb placeholder" aria-hidden="true">
      <PlatformIcon platform={post.platform} size={28} decorative />
      <span>{post.content_type}</span>
    </div>
  );
}

function PostCard({ post, rank, metric, timezone }: { post: TopPost; rank: number; metric: TopPostMetric; timezone: string }) {
  const name = platformInfo(post.platform)?.name ?? post.platform;
  const counts: MetricKey[] = metricsFor(post.platform, post);
  const rates: Rate[] = reports(post.platform, "clicks") ? ["engagement_rate", "click_through_rate"] : ["engagement_rate"];
  const cell = (key: string, label: string, text: string) => (
    <div key={key} data-col={key} className={key === metric ? "ranked" : undefined}>
      <dt>{label}</dt>
      <dd>{text}</dd>
    </div>
  );
  return (
    <li className="post-card" data-post-id={post.post_id} data-platform={post.platform}>
      <Thumbnail post={post} />
      <div className="post-card-body">
        <div className="post-card-meta">
          <span className="post-rank">#{rank}</span>
          <PlatformIcon platform={post.platform} size={20} />
          <span className="muted">
            {post.content_type} · {zonedDateTime(post.published_at, timezone)}
          </span>
        </div>
        <a className="post-card-title" href={hrefOf({ view: "post", postId: post.post_id })}>
          {post.content_preview || `A ${post.content_type} post on ${name}`}
        </a>
        <p className="post-ranked" data-testid="ranked-value">
          <span>{rankLabel(metric, post.platform)}</span> <strong>{valueText(post, metric)}</strong>
        </p>
        <dl className="post-metrics-grid">
          {rates.map((r) => cell(r, RATE_LABELS[r], rateText(post, r)))}
          {cell("engagement", "Engagement", valueText(post, "engagement"))}
          {counts.map((k) => cell(k, metricLabel(post.platform, k), metricText(k, post[k])))}
        </dl>
        {post.platform_post_url && (
          <a className="post-link" data-testid="post-link" href={post.platform_post_url} target="_blank" rel="noopener noreferrer">
            View on {name}
            <span className="visually-hidden"> (opens in a new tab)</span>
          </a>
        )}
      </div>
    </li>
  );
}

/** The period's best posts as cards, ranked by any metric the API ranks by. */
export function TopPosts({ client, scope, version, onUnauthorized }: ViewProps) {
  // The ranking and the size in the address too (?sort=…&show=…): a reload or a link keeps them.
  const [chosen, setChosen] = useState<TopPostMetric>(() => linkedMetric(readViewParam("sort")));
  const [limit, setLimitState] = useState(() => linkedLimit(readViewParam("show")));
  const setMetric = (m: TopPostMetric) => {
    setChosen(m);
    writeViewParam("sort", m);
  };
  const setLimit = (n: number) => {
    setLimitState(n);
    writeViewParam("show", String(n));
  };
  const choices = rankingsFor(scope.platform);
  // A ranking the newly filtered platform does not report falls back to the rate.
  const metric = choices.includes(chosen) ? chosen : "engagement_rate";
  const [result, reload] = useApi(
    scopeKey(scope, version, metric, limit),
    () => client.topPosts(scope, metric, limit),
    onUnauthorized,
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
        <div className="inline post-controls">
          <label className="inline">
            Rank by
            <select name="metric" value={metric} onChange={(e) => setMetric(e.target.value as TopPostMetric)}>
              {choices.map((m) => (
                <option key={m} value={m}>
                  {rankLabel(m, scope.platform)}
                </option>
              ))}
            </select>
          </label>
          <label className="inline">
            Show
            <select name="limit" value={limit} onChange={(e) => setLimit(Number(e.target.value))}>
              {LIMITS.map((n) => (
                <option key={n} value={n}>
                  {n} posts
                </option>
              ))}
            </select>
          </label>
        </div>
      }
    >
      {(data) => {
        // The answer's own ranking: while a newly chosen one loads, the last answer stays.
        const ranked = data.metric as TopPostMetric;
        return (
          <>
            <p className="muted" data-testid="top-posts-caption">
              {data.top_posts.length} {data.top_posts.length === 1 ? "post" : "posts"}, best first by{" "}
              {rankLabel(ranked, scope.platform).toLowerCase()}; published times in {data.period.timezone}.
              {data.top_posts.length === limit && limit < LIMITS[LIMITS.length - 1] && " Show more with the menu above."}
            </p>
            <ol className="post-cards" data-testid="top-posts-list">
              {data.top_posts.map((p, i) => (
                <PostCard key={p.post_id} post={p} rank={i + 1} metric={ranked} timezone={data.period.timezone} />
              ))}
            </ol>
          </>
        );
      }}
    </Panel>
  );
}
