// The typed client of query-api and of the ingest services' connect routes. The
// dashboard's server proxies /api/ to query-api and /connect/<service>/ to the ingest
// services with the session's token, so the browser calls one origin and holds no token.
import { Http } from "./http";
import type {
  AccountsAnswer,
  Compare,
  AuthorizeAnswer,
  BestTimesAnswer,
  Calendar,
  ConnectService,
  ContentPerformanceAnswer,
  DisconnectAnswer,
  ExportFormat,
  Platform,
  Overview,
  PlatformComparisonAnswer,
  PlatformFilter,
  PostDetail,
  RefreshAnswer,
  TopPostMetric,
  TopPostsAnswer,
  TrendBasis,
  TrendPeriod,
  TrendsAnswer,
} from "./types";

const BASE = "/api/v1/analytics";

/** What every aggregate endpoint is asked about. */
export interface Scope {
  businessId: number;
  startDate: string;
  endDate: string;
  platform: PlatformFilter;
  /** What overview's previous values and trends' compared series compare against. */
  compare?: Compare;
}

function query(params: Record<string, string | number>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) q.set(k, String(v));
  return q.toString();
}

function scopeParams(s: Scope): Record<string, string | number> {
  return {
    business_id: s.businessId,
    start_date: s.startDate,
    end_date: s.endDate,
    platform: s.platform,
  };
}

export { ApiError } from "./http";

export class PulseClient {
  private readonly http: Http;
  constructor(http: Http) {
    this.http = http.withNotFoundHint("Check the business, or ask one of its owners for access.");
  }

  private request(path: string, init: RequestInit = {}): Promise<Response> {
    return this.http.send(`${BASE}${path}`, init);
  }

  private async json<T>(path: string, init?: RequestInit): Promise<T> {
    const res = await this.request(path, init);
    return (await res.json()) as T;
  }

  /** The business's time zone and today's date there: the presets count their days from it. */
  calendar(businessId: number): Promise<Calendar> {
    return this.json(`/calendar?${query({ business_id: businessId })}`);
  }

  /** The period's summary beside the compared one (`s.compare`; "previous", query-api's default, is not sent). */
  overview(s: Scope): Promise<Overview> {
    const compare: Record<string, string> = s.compare && s.compare !== "previous" ? { compare: s.compare } : {};
    return this.json(`/overview?${query({ ...scopeParams(s), ...compare })}`);
  }

  /** With `compare`, the answer holds the compared period's series too (`compared_trends`). */
  trends(s: Scope, period: TrendPeriod, basis: TrendBasis, compare?: Compare): Promise<TrendsAnswer> {
    return this.json(`/trends?${query({ ...scopeParams(s), period, basis, ...(compare ? { compare } : {}) })}`);
  }

  platformComparison(s: Scope): Promise<PlatformComparisonAnswer> {
    return this.json(`/platform-comparison?${query(scopeParams(s))}`);
  }

  contentPerformance(s: Scope): Promise<ContentPerformanceAnswer> {
    return this.json(`/content-performance?${query(scopeParams(s))}`);
  }

  topPosts(s: Scope, metric: TopPostMetric, limit = 20): Promise<TopPostsAnswer> {
    return this.json(`/top-posts?${query({ ...scopeParams(s), metric, limit })}`);
  }

  /** Best times over the range's posts (the toolbar's range). */
  bestTimes(s: Scope): Promise<BestTimesAnswer> {
    return this.json(`/best-times?${query(scopeParams(s))}`);
  }

  post(postId: number): Promise<PostDetail> {
    return this.json(`/posts/${postId}`);
  }

  refresh(businessId: number): Promise<RefreshAnswer> {
    return this.postJson(`${BASE}/refresh`, { business_id: businessId });
  }

  /** The business's connected accounts, their status and sync progress. */
  accounts(businessId: number): Promise<AccountsAnswer> {
    return this.json(`/accounts?${query({ business_id: businessId })}`);
  }

  private postJson<T>(url: string, body: unknown): Promise<T> {
    return this.http.sendJson<T>("POST", url, body);
  }

  /**
   * Starts connecting accounts through an ingest service: the platform's consent URL.
   * After consent the browser comes back to `returnTo` with `connected=` or
   * `connect_error=` in its query.
   */
  authorizeConnect(service: ConnectService, businessId: number, returnTo: string): Promise<AuthorizeAnswer> {
    return this.postJson(`/connect/${service}/authorize`, { business_id: businessId, return_to: returnTo });
  }

  /** Disconnects an account: its tokens deleted, polling stopped, its numbers kept. */
  disconnect(service: ConnectService, businessId: number, platform: Platform, accountId: string): Promise<DisconnectAnswer> {
    return this.postJson(`/connect/${service}/disconnect`, {
      business_id: businessId,
      platform,
      account_id: accountId,
    });
  }

  /** The export as a file: its bytes and the name query-api gives it. */
  async exportFile(s: Scope, format: ExportFormat): Promise<{ blob: Blob; filename: string }> {
    const res = await this.request(`/export?${query({ ...scopeParams(s), format })}`);
    const disposition = res.headers.get("Content-Disposition") ?? "";
    const match = /filename="([^"]+)"/.exec(disposition);
    const filename = match?.[1] ?? `analytics_${s.businessId}.${format}`;
    return { blob: await res.blob(), filename };
  }
}
