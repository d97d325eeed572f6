// The typed client of query-api and of the ingest services' connect routes. The
// dashboard's server proxies /api/ to query-api and /connect/<service>/ to the ingest
// services, so the browser calls one origin.
import type {
  AccountsAnswer,
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
}

export class ApiError extends Error {
  readonly status: number;
  /** The server's own words ({"detail": ...}), when it said any. */
  readonly detail: string | null;
  constructor(status: number, message: string, detail: string | null = null) {
    super(message);
    this.status = status;
    this.detail = detail;
  }
  get unauthorized(): boolean {
    return this.status === 401;
  }
}

/** The readable part of a FastAPI error body ({"detail": "..."} or a validation list). */
function detailOf(body: unknown): string | null {
  if (typeof body !== "object" || body === null || !("detail" in body)) return null;
  const detail: unknown = body.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail
      .map((d: unknown) =>
        typeof d === "object" && d !== null && "msg" in d ? String(d.msg) : String(d),
      )
      .join("; ");
  }
  return null;
}

function explain(status: number, detail: string | null): string {
  if (status === 401) return "Your sign-in token is missing, invalid or expired. Sign in again.";
  if (status === 404) return `${detail ?? "Not found"}. Check the business id, or ask for access.`;
  if (status === 422) return `The request was refused: ${detail ?? "a parameter is invalid"}.`;
  if (status === 503) return `The service is unavailable right now (${detail ?? "try again"}). Try again in a minute.`;
  if (status >= 500) return "Query API failed to answer. Try again; if it persists, tell an operator.";
  return detail ?? `Request failed (HTTP ${status}).`;
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

export class PulseClient {
  private readonly token: string;
  constructor(token: string) {
    this.token = token;
  }

  private request(path: string, init: RequestInit = {}): Promise<Response> {
    return this.send(`${BASE}${path}`, init);
  }

  /** A call to this origin with the token; an answer other than 2xx is an ApiError. */
  private async send(url: string, init: RequestInit = {}): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(url, {
        ...init,
        headers: { ...(init.headers ?? {}), Authorization: `Bearer ${this.token}` },
      });
    } catch {
      throw new ApiError(0, "Cannot reach the dashboard server. Check your connection and retry.");
    }
    if (!res.ok) {
      let body: unknown = null;
      try {
        body = await res.json();
      } catch {
        body = null;
      }
      const detail = detailOf(body);
      throw new ApiError(res.status, explain(res.status, detail), detail);
    }
    return res;
  }

  private async json<T>(path: string, init?: RequestInit): Promise<T> {
    const res = await this.request(path, init);
    return (await res.json()) as T;
  }

  /** The business's time zone and today's date there: the presets count their days from it. */
  calendar(businessId: number): Promise<Calendar> {
    return this.json(`/calendar?${query({ business_id: businessId })}`);
  }

  overview(s: Scope): Promise<Overview> {
    return this.json(`/overview?${query(scopeParams(s))}`);
  }

  trends(s: Scope, period: TrendPeriod, basis: TrendBasis): Promise<TrendsAnswer> {
    return this.json(`/trends?${query({ ...scopeParams(s), period, basis })}`);
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

  /** Best times over the last `days` local days (the API's own window, not the range). */
  bestTimes(s: Scope, days: number): Promise<BestTimesAnswer> {
    return this.json(
      `/best-times?${query({ business_id: s.businessId, platform: s.platform, days })}`,
    );
  }

  post(postId: number): Promise<PostDetail> {
    return this.json(`/posts/${postId}`);
  }

  refresh(businessId: number): Promise<RefreshAnswer> {
    return this.json(`/refresh`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ business_id: businessId }),
    });
  }

  /** The business's connected accounts, their status and sync progress. */
  accounts(businessId: number): Promise<AccountsAnswer> {
    return this.json(`/accounts?${query({ business_id: businessId })}`);
  }

  private async postJson<T>(url: string, body: unknown): Promise<T> {
    const res = await this.send(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    });
    return (await res.json()) as T;
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
