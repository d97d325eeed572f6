// Every call of the page goes to its own origin with the session cookie (never a bearer
// token): the dashboard's server holds the session and forwards each call with the
// user's Pulse token. A state-changing call carries the session's CSRF token.

/** One complaint of a 422: the input it names ("recipients.1"; null for none) and its message. */
export interface FieldProblem {
  field: string | null;
  message: string;
}

export class ApiError extends Error {
  readonly status: number;
  /** The server's own words ({"detail": ...}), when it said any. */
  readonly detail: string | null;
  /** The input a 422 named (its last `loc` part), when it named one. */
  readonly field: string | null;
  /** Each complaint of a 422, for a form to show beside the input it names. */
  readonly problems: FieldProblem[];
  constructor(status: number, message: string, detail: string | null = null, field: string | null = null, problems: FieldProblem[] = []) {
    super(message);
    this.status = status;
    this.detail = detail;
    this.field = field;
    this.problems = problems;
  }
  get unauthorized(): boolean {
    return this.status === 401;
  }
}

/** Any rejection as an ApiError (a thrown ApiError as it is). */
export function asApiError(err: unknown): ApiError {
  return err instanceof ApiError ? err : new ApiError(0, err instanceof Error ? err.message : String(err));
}

interface Detail {
  text: string | null;
  field: string | null;
  problems: FieldProblem[];
}

/** A validation error's input: its `loc` without the leading body/query/path/header. */
function fieldOf(loc: unknown): string | null {
  if (!Array.isArray(loc)) return null;
  const parts = loc.filter((p, i) => !(i === 0 && (p === "body" || p === "query" || p === "path" || p === "header")));
  return parts.length ? parts.map(String).join(".") : null;
}

/** Pydantic's prefix of a validator's own message ("Value error, not an email address"). */
const messageOf = (msg: string): string => msg.replace(/^Value error, /, "");

/** The readable part of a FastAPI error body ({"detail": "..."} or a validation list). */
export function detailOf(body: unknown): Detail {
  if (typeof body !== "object" || body === null || !("detail" in body)) return { text: null, field: null, problems: [] };
  const detail: unknown = body.detail;
  if (typeof detail === "string") return { text: detail, field: null, problems: [] };
  if (!Array.isArray(detail)) return { text: null, field: null, problems: [] };
  const problems = detail.map((d: unknown): FieldProblem => {
    if (typeof d !== "object" || d === null) return { field: null, message: String(d) };
    const field = "loc" in d ? fieldOf(d.loc) : null;
    return { field, message: "msg" in d ? messageOf(String(d.msg)) : JSON.stringify(d) };
  });
  const text = problems.map((p) => (p.field ? `${p.field}: ${p.message}` : p.message)).join("; ");
  return { text, field: problems.find((p) => p.field !== null)?.field ?? null, problems };
}

/** Ends a phrase with a full stop unless it has its own. */
const sentence = (s: string): string => (/[.!?)]$/.test(s.trim()) ? s.trim() : `${s.trim()}.`);

/** What a failed call means for the user, in words, from its status and the server's detail. */
export function explain(status: number, detail: string | null, notFoundHint = ""): string {
  switch (true) {
    case status === 0:
      return "Cannot reach the dashboard server. Check your connection and retry.";
    case status === 401:
      return "Your session has ended. Sign in again.";
    case status === 403:
      return sentence(detail ?? "Your role in this business does not allow this");
    case status === 404:
      return `${sentence(detail ?? "Not found")}${notFoundHint ? ` ${notFoundHint}` : ""}`;
    case status === 413:
      return "That is more than the server accepts. Shorten it and try again.";
    case status === 422:
      return `The request was refused: ${sentence(detail ?? "a parameter is invalid")}`;
    case status === 429:
      return "Too many requests in a short time. Wait a minute, then try again.";
    case status === 503:
      return `The service is unavailable right now (${detail ?? "try again"}). Try again in a minute.`;
    case status >= 500:
      return `${sentence(detail ?? "A service behind the dashboard failed to answer")} Try again; if it persists, tell an operator.`;
    default:
      return sentence(detail ?? `Request failed (HTTP ${status})`);
  }
}

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

/** Same-origin calls with the session cookie; an answer other than 2xx is an ApiError. */
export class Http {
  private readonly csrfToken: string | null;
  private readonly notFoundHint: string;
  constructor(csrfToken: string | null, notFoundHint = "") {
    this.csrfToken = csrfToken;
    this.notFoundHint = notFoundHint;
  }

  /** The same session, with another hint for a 404. */
  withNotFoundHint(hint: string): Http {
    return new Http(this.csrfToken, hint);
  }

  async send(url: string, init: RequestInit = {}): Promise<Response> {
    const method = (init.method ?? "GET").toUpperCase();
    const headers = new Headers(init.headers);
    if (!SAFE.has(method) && this.csrfToken) headers.set("X-CSRF-Token", this.csrfToken);
    let res: Response;
    try {
      res = await fetch(url, { ...init, method, headers, credentials: "same-origin" });
    } catch {
      throw new ApiError(0, explain(0, null));
    }
    if (!res.ok) {
      let body: unknown = null;
      try {
        body = await res.json();
      } catch {
        body = null;
      }
      const { text, field, problems } = detailOf(body);
      throw new ApiError(res.status, explain(res.status, text, this.notFoundHint), text, field, problems);
    }
    return res;
  }

  async json<T>(url: string, init?: RequestInit): Promise<T> {
    const res = await this.send(url, init);
    return (await res.json()) as T;
  }

  /** A JSON body sent with `method`; the JSON answer (none for a 204). */
  async sendJson<T>(method: string, url: string, body?: unknown): Promise<T> {
    const res = await this.send(url, {
      method,
      headers: { Accept: "application/json", ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }
}
