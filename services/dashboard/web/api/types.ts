// Response models of query-api, written by hand from its OpenAPI schema
// (services/query-api/src/pulse_query_api/schemas.py). Names are DESIGN.md's contract.

export type Platform = "linkedin" | "twitter" | "facebook" | "instagram";
export type PlatformFilter = "all" | Platform;
export type TrendPeriod = "daily" | "weekly" | "monthly";
export type TrendBasis = "publish" | "activity";
export type TopPostMetric = "engagement_rate" | "likes_count" | "impressions" | "total_engagement";
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
}

export interface MetricSnapshot extends PostMetrics {
  observed_at: string;
  source: string;
  engagement: number;
  engagement_rate: number;
}

export interface TopPost extends PostMetrics, PostIdentity {
  engagement_rate: number;
  click_through_rate: number;
  fetched_at: string | null;
}

export interface PostDetail extends PostMetrics, PostIdentity {
  engagement: number;
  engagement_rate: number;
  click_through_rate: number;
  virality: number;
  video_completion: number | null;
  fetched_at: string | null;
  history: MetricSnapshot[];
}

export interface Summary {
  total_posts: number;
  total_likes: number;
  total_comments: number;
  total_shares: number;
  total_impressions: number;
  total_reach: number;
  total_clicks: number;
  total_engagement: number;
  avg_engagement_rate: number;
  engagement_rate: number;
  avg_impressions: number;
  follower_growth: number | null;
}

export interface PlatformSummary extends Summary {
  platform: string;
  share_of_posts: number;
  share_of_engagement: number;
}

export interface TrendItem {
  period_start: string;
  posts: number;
  likes: number;
  comments: number;
  shares: number;
  impressions: number;
  engagement: number;
  engagement_rate: number;
}

export interface DaySlot {
  day: number;
  posts: number;
  avg_engagement_rate: number;
  score: number;
}

export interface HourSlot {
  hour: number;
  posts: number;
  avg_engagement_rate: number;
  score: number;
}

export interface Recommendation {
  day: number;
  hour: number;
  posts: number;
  score: number;
}

/** One (day, hour) with posts: a cell of the heatmap. */
export interface Slot {
  day: number;
  hour: number;
  posts: number;
  avg_engagement_rate: number;
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
  avg_likes: number;
  avg_comments: number;
  avg_shares: number;
  avg_impressions: number;
  avg_clicks: number;
  avg_engagement_rate: number;
  engagement_rate: number;
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
