// Response models of query-api, written by hand from its OpenAPI schema
// (services/query-api/src/pulse_query_api/schemas.py). Names are DESIGN.md's contract.

export type Platform = "linkedin" | "twitter" | "facebook" | "instagram";
export type PlatformFilter = "all" | Platform;
export type TrendPeriod = "daily" | "weekly" | "monthly";
export type TrendBasis = "publish" | "activity";
/** What a period is compared against: the one of the same length before it, or a year before. */
export type Compare = "previous" | "year";
export type TopPostMetric =
  | "likes" | "comments" | "shares" | "reactions" | "retweets" | "quote_tweets" | "saves"
  | "clicks" | "reach" | "impressions" | "video_views" | "engagement" | "engagement_rate"
  | "click_through_rate";
export type ExportFormat = "csv" | "json";

export interface PostMetrics {
  likes: number | null;
  comments: number | null;
  shares: number | null;
  reactions: number | null;
  retweets: number | null;
  quote_tweets: number | null;
  impressions: number | null;
  reach: number | null;
  clicks: number | null;
  video_views: number | null;
  video_watch_time_s: number | null;
  saves: number | null;
}

export interface PostIdentity {
  post_id: number;
  business_id: number;
  platform: string;
  platform_post_id: string;
  platform_post_url: string | null;
  published_at: string;
  content_type: string;
  content_preview: string;
  /** The post's preview image on the platform, where discovery found one. */
  thumbnail_url?: string | null;
  /** When the post was found gone from the platform (its numbers kept). */
  removed_at?: string | null;
}

export interface MetricSnapshot extends PostMetrics {
  observed_at: string;
  source: string;
  engagement: number;
  engagement_rate: number | null; // null without impressions
}

export interface TopPost extends PostMetrics, PostIdentity {
  engagement: number | null; // null when none of likes, comments, shares is reported
  engagement_rate: number | null; // null without impressions
  click_through_rate: number | null; // null without impressions or reported clicks
  fetched_at: string | null;
}

export interface PostDetail extends PostMetrics, PostIdentity {
  timezone: string;
  engagement: number;
  engagement_rate: number | null; // null without impressions
  click_through_rate: number | null; // null without impressions or reported clicks
  virality: number | null; // null without impressions or reported shares
  video_completion: number | null;
  fetched_at: string | null;
  history: MetricSnapshot[];
}

/** A total's coverage: the posts that reported it, the platforms it adds up, and those
 * with posts in the period that do not report it. */
export interface Coverage {
  posts: number;
  platforms: string[];
  not_reported_by: string[];
}

/** A period's totals and rates; null: no post of the period reported it (not zero). */
export interface Summary {
  total_posts: number;
  total_likes: number | null;
  total_comments: number | null;
  total_shares: number | null;
  total_impressions: number | null;
  total_reach: number | null;
  total_clicks: number | null;
  /** likes + comments + shares; null when none of the three was reported. */
  total_engagement: number | null;
  /** Mean of the per-post rates (posts with impressions). */
  avg_engagement_rate: number | null;
  /** The weighted rate: total engagement ÷ total impressions × 100. */
  engagement_rate: number | null;
  avg_impressions: number | null;
  avg_reach: number | null;
  click_through_rate: number | null;
  avg_click_through_rate: number | null;
  /** Followers gained over the period by the accounts observed in it; null when none was. */
  follower_growth: number | null;
  /** Followers at the period's end: each account's latest count by then, summed; null when none has one. */
  followers: number | null;
  /** follower_growth relative to those accounts' followers at the period's start; null when 0 or unknown. */
  follower_growth_pct: number | null;
  coverage: Record<string, Coverage>;
}

export interface PlatformSummary extends Summary {
  platform: string;
  share_of_posts: number;
  share_of_engagement: number;
}

/** A bucket of a trend, clipped to the range (`partial` when the range cuts it). */
export interface TrendItem {
  period_start: string;
  period_end: string;
  days: number;
  partial: boolean;
  posts: number;
  likes: number | null;
  comments: number | null;
  shares: number | null;
  impressions: number | null;
  reach: number | null;
  clicks: number | null;
  engagement: number;
  engagement_rate: number | null;
  follower_growth: number | null;
  /** At the bucket's end: each account's latest count by then (carried over days without one). */
  followers: number | null;
  follower_growth_pct: number | null;
  /** Activity trends: the bucket holds gains made before Pulse first saw a post. */
  estimated?: boolean;
}

export interface DaySlot {
  day: number;
  posts: number;
  avg_engagement_rate: number | null;
  score: number;
}

export interface HourSlot {
  hour: number;
  posts: number;
  avg_engagement_rate: number | null;
  score: number;
}

/** A recommended window: `start_hour`..`end_hour` (included) of one day, `hour` its best. */
export interface Recommendation {
  day: number;
  hour: number;
  start_hour: number;
  end_hour: number;
  posts: number;
  score: number;
  label: string;
}

/** One of the 168 (day, hour) cells of the heatmap; no raw mean without posts. */
export interface Slot {
  day: number;
  hour: number;
  posts: number;
  avg_engagement_rate: number | null;
  score: number;
}

export interface BestTimes {
  by_day: DaySlot[];
  by_hour: HourSlot[];
  by_slot: Slot[];
  recommendations: Recommendation[];
  best_day: number | null;
  best_hour: number | null;
  confidence_score: number;
  posts_considered: number;
  baseline_score: number;
  min_window_posts: number;
  posts_needed: number;
  message: string;
}

/** The business's calendar: its time zone and its local date now (every range starts here). */
export interface Calendar {
  business_id: number;
  timezone: string;
  today: string;
}

export interface Period {
  start_date: string;
  end_date: string;
  timezone: string;
}

interface Freshness {
  data_as_of: string | null;
  stale_posts: number;
}

export interface Overview extends Freshness {
  period: Period;
  platform: string;
  summary: Summary;
  /** What `previous_summary` and `change_pct` compare against; `previous_period` its days. */
  compare: Compare;
  previous_period: Period;
  previous_summary: Summary;
  change_pct: Record<string, number | null>;
  by_platform: PlatformSummary[];
  trends: TrendItem[];
  top_posts: TopPost[];
  best_times: BestTimes;
}

export interface TopPostsAnswer extends Freshness {
  period: Period;
  platform: string;
  metric: string;
  top_posts: TopPost[];
}

export interface BestTimesAnswer extends BestTimes, Freshness {
  period: Period;
  platform: string;
}

export interface ContentType {
  content_type: string;
  posts: number;
  avg_likes: number | null;
  avg_comments: number | null;
  avg_shares: number | null;
  avg_impressions: number | null;
  avg_clicks: number | null;
  avg_engagement_rate: number | null;
  engagement_rate: number | null;
}

export interface ContentPerformanceAnswer extends Freshness {
  period: Period;
  platform: string;
  content_types: ContentType[];
}

export interface TrendsAnswer extends Freshness {
  period: Period;
  platform: string;
  period_type: string;
  basis: string;
  trends: TrendItem[];
  by_platform: PlatformTrends[];
  /** With `compare` asked: the compared period and its series, item i beside trends[i]. */
  compare?: Compare | null;
  compared_period?: Period | null;
  compared_trends?: TrendItem[] | null;
}

export interface PlatformTrends {
  platform: string;
  trends: TrendItem[];
  compared_trends?: TrendItem[] | null;
}

export interface Insight {
  text: string;
  numbers: Record<string, number | string | null>;
}

export interface PlatformComparisonAnswer extends Freshness {
  period: Period;
  platforms: PlatformSummary[];
  best: string | null;
  worst: string | null;
  insights: Insight[];
}

export interface RefreshAnswer {
  request_id: string;
  business_id: number;
  platforms: string[];
  requested_at: string;
}

/** One connected account of the business, and how its sync goes (GET /accounts). */
export type AccountStatus = "syncing" | "active" | "needs_reconnection" | "disconnected";

export interface Account {
  platform: Platform;
  account_id: string;
  display_name: string;
  status: AccountStatus;
  /** Why it needs reconnection, or was disconnected. */
  status_reason: string | null;
  posts_found: number;
  /** Of its posts, those polled at least once. */
  posts_with_numbers: number;
  last_synced_at: string | null;
  connected_at: string;
}

export interface AccountsAnswer {
  business_id: number;
  timezone: string;
  accounts: Account[];
}

/** The ingest services that connect accounts: each its platforms' OAuth. */
export type ConnectService = "linkedin" | "twitter" | "meta";

export interface AuthorizeAnswer {
  authorization_url: string;
}

export interface DisconnectAnswer {
  disconnected: boolean;
}
