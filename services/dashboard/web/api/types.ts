// The API's types under the names the components use: aliases over the types generated
// from query-api's OpenAPI document (web/api/generated/, `npm run gen:types`; test_api_types.py
// fails the build when they drift from the app). Only the connect routes' answers, served by
// the ingest services, are written here by hand.
import type { components, operations } from "./generated/query-api";

type Schemas = components["schemas"];
/** The query parameters of a query-api operation (its operationId). */
type Query<Operation extends keyof operations> = NonNullable<
  operations[Operation]["parameters"]["query"]
>;
/** One query parameter of a query-api operation, without its default's `undefined`. */
type Param<Operation extends keyof operations, Name extends keyof Query<Operation>> = NonNullable<
  Query<Operation>[Name]
>;

export type PlatformFilter = Param<"overview_api_v1_analytics_overview_get", "platform">;
export type Platform = Exclude<PlatformFilter, "all">;
export type TrendPeriod = Param<"trends_api_v1_analytics_trends_get", "period">;
export type TrendBasis = Param<"trends_api_v1_analytics_trends_get", "basis">;
/** What a period is compared against: the one of the same length before it, or a year before. */
export type Compare = Schemas["OverviewOut"]["compare"];
export type TopPostMetric = Param<"top_posts_api_v1_analytics_top_posts_get", "metric">;
export type ExportFormat = Param<"export_api_v1_analytics_export_get", "format">;

export type MetricSnapshot = Schemas["MetricSnapshotOut"];
/** A post's own numbers: a snapshot without when, whence and what is worked out from them. */
export type PostMetrics = Omit<
  MetricSnapshot,
  "observed_at" | "source" | "engagement" | "engagement_rate"
>;
export type TopPost = Schemas["TopPostOut"];
export type PostDetail = Schemas["PostDetailOut"];

export type Coverage = Schemas["CoverageOut"];
export type Summary = Schemas["SummaryOut"];
export type PlatformSummary = Schemas["PlatformSummaryOut"];
export type TrendItem = Schemas["TrendItemOut"];
export type PlatformTrends = Schemas["PlatformTrendsOut"];

export type DaySlot = Schemas["DaySlotOut"];
export type HourSlot = Schemas["HourSlotOut"];
export type Recommendation = Schemas["RecommendationOut"];
export type Slot = Schemas["SlotOut"];
export type BestTimes = Schemas["BestTimesOut"];

export type Calendar = Schemas["CalendarOut"];
export type Period = Schemas["PeriodOut"];
export type Overview = Schemas["OverviewOut"];
export type TopPostsAnswer = Schemas["TopPostsOut"];
export type BestTimesAnswer = Schemas["BestTimesAnswerOut"];
export type ContentType = Schemas["ContentTypeOut"];
export type ContentPerformanceAnswer = Schemas["ContentPerformanceOut"];
export type TrendsAnswer = Schemas["TrendsOut"];
export type Insight = Schemas["InsightOut"];
export type PlatformComparisonAnswer = Schemas["PlatformComparisonOut"];
export type RefreshAnswer = Schemas["RefreshOut"];

/** One connected account of the business, and how its sync goes (GET /accounts). */
export type Account = Schemas["AccountOut"];
export type AccountStatus = Account["status"];
export type AccountsAnswer = Schemas["AccountsOut"];

// The connect routes belong to the ingest services, whose documents are not generated here.
/** The ingest services that connect accounts: each its platforms' OAuth. */
export type ConnectService = "linkedin" | "twitter" | "meta";

export interface AuthorizeAnswer {
  authorization_url: string;
}

export interface DisconnectAnswer {
  disconnected: boolean;
}
