// End-to-end: the built dashboard on the stack's own dashboard server (`make up`: the one
// address Keycloak sends a sign-in back to and the ingest services send a consent back to),
// the real query-api with demo data, the real workspace service, Keycloak and Mailpit,
// driven in headless Chromium. Every check compares what the page shows with the very
// answer the page received from query-api for that question (kept as it passed to the
// page): the demo keeps polling, so a second call a moment later may differ. Finding
// the answer also proves the page asked for the right scope (business, dates, platform ...).
//
// People sign in on Keycloak's own login page (demo@pulse.local, the owner of the demo
// business; colleague@pulse.local, invited by mail as a viewer). The browser never holds a
// bearer token: the checks that ask query-api directly use a personal API token made in
// the Team view and exchanged for a short-lived token, as a script would.
//
// The browser's time zone and clock put its day ahead of the business's whatever the hour,
// so a page that took "today" from the browser instead of query-api's /calendar fails.
//
// Connecting accounts is driven for real: X denied on the demo business (nothing
// changes), LinkedIn allowed on a business made for this run alone by onboarding (the
// simulator is asked to simulate it too: an organization with past posts and its
// administrator), whose account is disconnected again at the end. Nothing answers in
// place of a service.
//
// Environment (run-e2e.sh sets it): DASHBOARD_URL (the stack's dashboard), QUERY_API_URL,
// BUSINESS_ID (the demo user's business), PULSE_KEYCLOAK_DEMO_PASSWORD,
// PULSE_KEYCLOAK_COLLEAGUE_PASSWORD, PULSE_MAILPIT_UI_PASSWORD, MAILPIT_URL, WORKSPACE_URL
// (the workspace service, for a token exchange the dashboard does not relay), SIM_URL (the
// platform simulator's control API), CHROMIUM (default /usr/bin/chromium), SCREENSHOTS (a
// directory).
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import {
  chromium,
  type APIResponse,
  type Browser,
  type BrowserContext,
  type Page,
  type Request,
  type Route,
} from "playwright-core";

const DASHBOARD = required("DASHBOARD_URL");
const ORIGIN = new URL(DASHBOARD).origin;
const QUERY_API = process.env.QUERY_API_URL ?? "http://127.0.0.1:8000";
const WORKSPACE = (process.env.WORKSPACE_URL ?? "http://127.0.0.1:8400").replace(/\/$/, "");
const MAILPIT = (process.env.MAILPIT_URL ?? "http://127.0.0.1:8025").replace(/\/$/, "");
const MAILPIT_PASSWORD = required("PULSE_MAILPIT_UI_PASSWORD");
const BUSINESS = Number(process.env.BUSINESS_ID ?? "1");
const SHOTS = process.env.SCREENSHOTS ?? "screenshots";
interface Person {
  email: string;
  password: string;
}
const DEMO: Person = { email: "demo@pulse.local", password: required("PULSE_KEYCLOAK_DEMO_PASSWORD") };
const COLLEAGUE: Person = { email: "colleague@pulse.local", password: required("PULSE_KEYCLOAK_COLLEAGUE_PASSWORD") };
// The dashboard server's session cookie (httpOnly: the page cannot read it); the second
// name when a local setting lets it go without Secure (PULSE_SESSION_COOKIE_SECURE=false).
const SESSION_COOKIES = ["__Host-pulse_session", "pulse_session"];
// A business that exists only for this run (made by onboarding below): connecting an
// account to it changes no one's data.
let FRESH = 0;
const SIM = (process.env.SIM_URL ?? "http://127.0.0.1:8200").replace(/\/$/, "");
// How long a wait for the page (or an answer) may last: only a guard against a hang, long
// enough for a loaded machine.
const WAIT_MS = 60_000;
// The page gives up waiting for a refresh after 60 s (web/components/Actions.tsx).
const PAGE_REFRESH_TIMEOUT_MS = 60_000;
// The page keeps an answer this long before asking again when a view is shown again
// (STALE_MS in web/useApi.ts: query-api's own cache time).
const PAGE_ANSWERS_FRESH_MS = 60_000;
// From Allow to the account's past posts and followers on the page: the platform is
// listed, every post polled and aggregated meanwhile. Only a guard against a hang.
const CONNECT_WAIT_MS = 120_000;
const API_PATH = "/api/v1/analytics";
// UTC+14, the earliest time zone, and a clock a day ahead: the browser's day is then at
// least a day past the business's, wherever the business is.
const BROWSER_TIMEZONE = "Pacific/Kiritimati";
const BROWSER_AHEAD_MS = 86_400_000;

function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

// ---- the numbers as the page prints them (web/format.ts) -----------------------------
const int = (n: number | null): string => (n === null ? "—" : Math.round(n).toLocaleString("en-US"));
const pct = (n: number | null): string =>
  n === null ? "—" : `${n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}%`;

/** A post's count as the top-posts cards and post detail print it (web/platforms.ts's metricText). */
const count = (n: number | null): string => (n === null ? "not reported" : Math.round(n).toLocaleString("en-US"));

/**
 * The post metrics each platform reports (each ingest service's normalise.py), written here
 * on its own so the page's table (web/platforms.ts) is checked, not copied; any other metric
 * on a post of the platform is one the page must not show.
 */
const REPORTED: Record<string, string[]> = {
  linkedin: ["impressions", "reach", "likes", "comments", "shares", "clicks"],
  twitter: ["impressions", "likes", "comments", "shares", "retweets", "quote_tweets", "clicks", "video_views", "saves"],
  facebook: ["impressions", "reach", "likes", "comments", "shares", "clicks", "video_views", "video_watch_time_s"],
  instagram: ["impressions", "reach", "likes", "comments", "shares", "saves", "video_watch_time_s"],
};

const PLATFORM_NAMES: Record<string, string> = { linkedin: "LinkedIn", twitter: "X", facebook: "Facebook", instagram: "Instagram" };
const PLATFORM_COLORS: Record<string, string> = { linkedin: "#0a66c2", twitter: "#111827", facebook: "#1877f2", instagram: "#c13584" };

/** The top-posts card of the i-th post (0-based), and one metric's value on it. */
const card = (i: number): string => `[data-testid="top-posts-list"] > li:nth-child(${i + 1})`;
const cardValue = (i: number, col: string): string => `${card(i)} [data-col="${col}"] dd`;
const POST_CARDS = '[data-testid="top-posts-list"] > li';

const MONTHS_SHORT = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** A moment on the business's clock, as web/format.ts's zonedDateTime writes it. */
function zoned(iso: string, timeZone: string): string {
  const found: Record<string, string> = {};
  const options: Intl.DateTimeFormatOptions = {
    timeZone, year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", hourCycle: "h23",
  };
  for (const p of new Intl.DateTimeFormat("en-US", options).formatToParts(new Date(iso))) found[p.type] = p.value;
  const two = (v: string | undefined) => (v ?? "").padStart(2, "0");
  return `${Number(found.day)} ${MONTHS_SHORT[Number(found.month) - 1]} ${found.year}, ${two(found.hour)}:${two(found.minute)}`;
}

/** A day (YYYY-MM-DD) n days later, as web/dates.ts counts. */
function addDays(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

// ---- query-api's answers -------------------------------------------------------------
interface Scope {
  start: string;
  end: string;
  platform: string;
}
type Params = Record<string, string | number>;
type Json = Record<string, unknown>;
interface Calendar {
  business_id: number;
  timezone: string;
  today: string;
}
interface Coverage {
  not_reported_by: string[];
}
interface Summary {
  total_posts: number;
  total_impressions: number | null;
  total_reach: number | null;
  total_engagement: number | null;
  engagement_rate: number | null;
  followers: number | null;
  follower_growth: number | null;
  follower_growth_pct: number | null;
  coverage: Record<string, Coverage>;
}
interface OverviewDay {
  posts: number;
  impressions: number | null;
  reach: number | null;
  engagement: number | null;
  engagement_rate: number | null;
  followers: number | null;
  follower_growth: number | null;
}
interface Overview {
  compare?: "previous" | "year";
  summary: Summary;
  previous_summary: Summary;
  change_pct: Record<string, number | null>;
  trends: OverviewDay[];
  data_as_of: string | null;
}
interface PlatformRow {
  platform: string;
  engagement_rate: number;
  follower_growth: number | null;
}
interface Comparison {
  platforms: PlatformRow[];
  insights: { text: string }[];
}
interface Content {
  content_types: { content_type: string; posts: number; engagement_rate: number }[];
}
interface TrendPoint {
  engagement: number;
  impressions: number;
  partial: boolean;
}
interface Trends {
  trends: TrendPoint[];
  compared_period: { start_date: string; end_date: string } | null;
  compared_trends: TrendPoint[] | null;
}
interface TopPost {
  post_id: number;
  platform: string;
  platform_post_id: string;
  platform_post_url: string | null;
  published_at: string;
  impressions: number | null;
  likes: number | null;
  comments: number | null;
  engagement_rate: number | null;
}
interface BestTimes {
  confidence_score: number;
  posts_considered: number;
  best_day: number | null;
  best_hour: number | null;
  by_slot: { day: number; hour: number; posts: number; score: number }[];
  baseline_score: number;
  period: { start_date: string; end_date: string };
}
interface PostDetail extends Record<string, unknown> {
  platform: string;
  content_preview: string;
  platform_post_url: string | null;
  engagement_rate: number | null;
  click_through_rate: number | null;
  clicks: number | null;
  impressions: number | null;
  history: unknown[];
}

interface Account {
  platform: string;
  account_id: string;
  display_name: string;
  status: "syncing" | "active" | "needs_reconnection" | "disconnected";
  status_reason: string | null;
  posts_found: number;
  posts_with_numbers: number;
  last_synced_at: string | null;
  connected_at: string;
}
interface Accounts {
  business_id: number;
  accounts: Account[];
}
const STATUS_LABELS: Record<Account["status"], string> = {
  syncing: "Syncing",
  active: "Active",
  needs_reconnection: "Needs reconnection",
  disconnected: "Disconnected",
};

/** The row of an account on the Connections page. */
function accountRow(a: { platform: string; account_id: string }): string {
  const quoted = (v: string) => `"${v.replace(/["\\]/g, "\\$&")}"`;
  return `[data-testid="account-row"][data-platform=${quoted(a.platform)}][data-account-id=${quoted(a.account_id)}]`;
}

/** The account's name as the page shows it: its id when the platform gave none. */
const nameOf = (a: Account): string => a.display_name.trim() || a.account_id;

/** The progress figure of a syncing account, as the page writes it. */
function progressOf(a: Account): string {
  if (a.posts_found <= 0) return "finding posts…";
  return `${Math.min(100, Math.floor((a.posts_with_numbers / a.posts_found) * 100))}%`;
}

/**
 * A personal API token of one business, exchanged for a short-lived Pulse token (again
 * when it is due), as a script outside the browser would: at the dashboard's
 * /workspace/token, or the workspace service's own /v1/token when the dashboard does not
 * relay it.
 */
class Reader {
  private access: { token: string; until: number } | null = null;
  constructor(readonly business: number, readonly apiToken: string) {}

  async bearer(): Promise<string> {
    if (this.access && Date.now() < this.access.until) return this.access.token;
    const { access_token, expires_in } = await exchange(this.apiToken);
    this.access = { token: access_token, until: Date.now() + Math.max(5, expires_in - 30) * 1000 };
    return access_token;
  }
}

/** POST {"api_token"} for a Pulse token; an error names the answer. */
async function exchange(apiToken: string): Promise<{ access_token: string; expires_in: number }> {
  const ask = (url: string) =>
    fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ api_token: apiToken }) });
  let res = await ask(`${ORIGIN}/workspace/token`);
  if (res.status === 404 || res.status === 405) res = await ask(`${WORKSPACE}/v1/token`);
  if (!res.ok) throw new Error(`token exchange: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as { access_token: string; expires_in: number };
}

/** The readers of the businesses this run has a token for. */
const readers = new Map<number, Reader>();

/** query-api asked directly: what the page has not asked yet, or the same question at the same moment. */
async function api<T>(path: string, params: Params = {}, business = BUSINESS): Promise<T> {
  const reader = readers.get(business);
  if (!reader) throw new Error(`no API token for business ${business} yet (the Team view's token test makes it)`);
  const q = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]));
  const res = await fetch(`${QUERY_API}${API_PATH}${path}?${q}`, {
    headers: { Authorization: `Bearer ${await reader.bearer()}` },
  });
  if (!res.ok) throw new Error(`query-api ${path}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** A question to query-api: its path under /api/v1/analytics and its query, in one order. */
function questionKey(path: string, params: Iterable<[string, string]>): string {
  const sorted = [...params].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${path}?${new URLSearchParams(sorted)}`;
}

const keyOf = (path: string, params: Params): string =>
  questionKey(path, Object.entries(params).map(([k, v]) => [k, String(v)]));

interface Answer {
  status: number;
  body: string;
}

/**
 * The answers the page received, by question, taken on their way to the page: a listener
 * cannot always read them afterwards (Chromium keeps no copy of a body the page reads as a
 * blob, as it does the exports). A question asked again replaces the earlier answer, as in
 * the page (useApi drops an answer whose question was replaced): the latest is on screen.
 */
class Answers {
  private readonly asked = new Map<string, Promise<Answer>>();
  private readonly every = new Map<string, Promise<Answer>[]>();

  static async record(page: Page): Promise<Answers> {
    const answers = new Answers();
    await page.route(`**${API_PATH}/**`, async (route) => {
      const url = new URL(route.request().url());
      const fetched = route.fetch();
      const answer = fetched.then(async (response) => ({ status: response.status(), body: await response.text() }));
      answer.catch(() => undefined); // read later, or never
      const key = questionKey(url.pathname.slice(API_PATH.length), url.searchParams);
      answers.asked.set(key, answer);
      answers.every.set(key, [...(answers.every.get(key) ?? []), answer]);
      // The page may have moved on (a reload) before its answer came.
      await route.fulfill({ response: await fetched }).catch(() => route.abort().catch(() => undefined));
    });
    return answers;
  }

  /** The questions asked so far. */
  questions(): string[] {
    return [...this.asked.keys()];
  }

  /** The latest answer to the question, once the page has asked it. */
  async latest(path: string, params: Params = {}): Promise<Answer> {
    const key = keyOf(path, params);
    await until(`the page to ask ${key}`, async () => this.asked.has(key));
    const answer = this.asked.get(key);
    if (!answer) throw new Error(`${key} was never asked`);
    return answer;
  }

  /** The latest answer's body, refusing an error. */
  async text(path: string, params: Params = {}): Promise<string> {
    const { status, body } = await this.latest(path, params);
    if (status !== 200) throw new Error(`the page's ${keyOf(path, params)}: HTTP ${status} ${body}`);
    return body;
  }

  async json<T>(path: string, params: Params = {}): Promise<T> {
    return JSON.parse(await this.text(path, params)) as T;
  }

  /** Every answer to the question so far (errors left out), oldest first. */
  async all<T>(path: string, params: Params = {}): Promise<T[]> {
    const answers = await Promise.all(this.every.get(keyOf(path, params)) ?? []);
    return answers.filter((a) => a.status === 200).map((a) => JSON.parse(a.body) as T);
  }
}

/**
 * Every Content-Security-Policy violation in the dashboard's page, from both sides: the
 * `securitypolicyviolation` events the document fires (reported through an exposed
 * function) and the "Refused to ..." console messages Chromium logs. The page is meant to
 * work under its policy with none. (The identity provider's pages are its own business.)
 */
class Violations {
  readonly seen: string[] = [];

  static async watch(context: BrowserContext, page: Page): Promise<Violations> {
    const violations = new Violations();
    await context.exposeFunction("__pulseCspViolation", (v: string) => violations.seen.push(`event: ${v}`));
    await context.addInitScript((origin: string) => {
      if (window.location.origin !== origin) return;
      document.addEventListener("securitypolicyviolation", (e) => {
        const report = (window as unknown as { __pulseCspViolation: (v: string) => void }).__pulseCspViolation;
        void report(`${e.effectiveDirective} refused ${e.blockedURI || "(inline)"} at ${e.sourceFile}:${e.lineNumber}`);
      });
    }, ORIGIN);
    page.on("console", (msg) => {
      if (page.url().startsWith(ORIGIN) && /Content.Security.Policy/i.test(msg.text())) violations.seen.push(`console: ${msg.text()}`);
    });
    return violations;
  }
}

const scoped = (s: Scope, business = BUSINESS): Params => ({
  business_id: business,
  start_date: s.start,
  end_date: s.end,
  platform: s.platform,
});

// ---- a tiny harness ------------------------------------------------------------------
const results: { name: string; ok: boolean; error?: string; skipped?: string }[] = [];

/** Thrown by a test that cannot run against this stack: reported as skipped, with why. */
class Skipped extends Error {}

function assertEqual<T>(actual: T, expected: T, what: string): void {
  if (actual !== expected) throw new Error(`${what}: page shows ${JSON.stringify(actual)}, API says ${JSON.stringify(expected)}`);
}

async function until(what: string, check: () => Promise<boolean>, waitMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + waitMs;
  let last: unknown = null;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? ` (${String(last)})` : ""}`);
}

async function text(page: Page, selector: string): Promise<string> {
  return (await page.locator(selector).first().innerText()).trim();
}

/** Waits until the element's text equals what the API says. */
async function shows(page: Page, selector: string, expected: string): Promise<void> {
  let seen = "";
  try {
    await until(`${selector} = ${expected}`, async () => (seen = await text(page, selector)) === expected);
  } catch {
    throw new Error(`${selector}: page shows ${JSON.stringify(seen)}, API says ${JSON.stringify(expected)}`);
  }
}

/**
 * Waits until every element shows what the page's latest answer to the question says (read
 * again on each look: a question the page asks again is compared with its new answer), and
 * returns that answer.
 */
async function showsAnswer<T>(
  page: Page,
  answers: Answers,
  [path, params]: [string, Params],
  expected: (answer: T) => [selector: string, text: string][],
): Promise<T> {
  let answer = await answers.json<T>(path, params);
  let wrong = "";
  try {
    await until(`the page to show its ${path} answer`, async () => {
      answer = await answers.json<T>(path, params);
      wrong = "";
      for (const [selector, want] of expected(answer)) {
        const seen = await text(page, selector);
        if (seen !== want) wrong ||= `${selector}: page shows ${JSON.stringify(seen)}, API says ${JSON.stringify(want)}`;
      }
      return wrong === "";
    });
  } catch (err) {
    throw new Error(wrong || String(err));
  }
  return answer;
}

async function ready(page: Page, testId: string): Promise<void> {
  await page.locator(`[data-testid="${testId}"][data-state="ready"]`).waitFor({ timeout: WAIT_MS });
}

/** The toolbar's range (its days as the range picker resolved them) and platform. */
async function pageScope(page: Page): Promise<Scope> {
  const range = page.getByTestId("range");
  return {
    start: (await range.getAttribute("data-start")) ?? "",
    end: (await range.getAttribute("data-end")) ?? "",
    platform: await page.locator('select[name="platform"]').inputValue(),
  };
}

/** The compare-to choice of the toolbar. */
async function pageCompare(page: Page): Promise<string> {
  return page.locator('select[name="compare"]').inputValue();
}

/** The filters in the page's address (its query string). */
function urlFilters(page: Page): Record<string, string> {
  return Object.fromEntries(new URL(page.url()).searchParams);
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

// axe-core's own source, evaluated in the page through the DevTools protocol (the page's
// policy allows no inline script, and an evaluation from the driver is not one).
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core"), "utf8");
const AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"];

/** axe-core on the page as it is now (WCAG 2.0/2.1/2.2 A and AA): fails on any serious or critical violation. */
async function accessible(page: Page, view: string): Promise<void> {
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(AXE_SOURCE);
  const found = await page.evaluate(async (tags) => {
    const axe = (window as unknown as { axe: { run: (c: Document, o: object) => Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[] }> } }).axe;
    const r = await axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact ?? "", help: v.help, targets: v.nodes.map((n) => JSON.stringify(n.target)) }));
  }, AXE_TAGS);
  const width = page.viewportSize()?.width ?? 0;
  for (const v of found) console.log(`      axe ${view} @${width}px: ${v.impact} ${v.id} (${v.help}): ${v.targets.slice(0, 6).join(", ")}${v.targets.length > 6 ? ` and ${v.targets.length - 6} more` : ""}`);
  const bad = found.filter((v) => v.impact === "serious" || v.impact === "critical");
  if (bad.length)
    throw new Error(`axe on ${view} at ${width}px: ${bad.map((v) => `${v.impact} ${v.id} (${v.help}) on ${v.targets.slice(0, 4).join(", ")}${v.targets.length > 4 ? ` +${v.targets.length - 4}` : ""}`).join("; ")}`);
}

async function test(name: string, page: Page, body: () => Promise<void>): Promise<void> {
  const started = Date.now();
  try {
    await body();
    results.push({ name, ok: true });
    console.log(`ok    ${name} (${Date.now() - started} ms)`);
  } catch (err) {
    if (err instanceof Skipped) {
      results.push({ name, ok: true, skipped: err.message });
      console.log(`SKIP  ${name}: ${err.message}`);
      return;
    }
    const error = err instanceof Error ? err.message : String(err);
    results.push({ name, ok: false, error });
    console.log(`FAIL  ${name}: ${error}`);
    await page.screenshot({ path: join(SHOTS, `failed-${name.replace(/\W+/g, "-")}.png`), fullPage: true }).catch(() => undefined);
  }
}

/** A score as the heatmap prints it in a cell (one decimal, en-US). */
function cellScore(n: number): string {
  return n.toLocaleString("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
}

/** WCAG contrast of two computed colours ("rgb(r, g, b)"). */
function contrastRatio(a: string, b: string): number {
  const lum = (c: string) => {
    const [r, g, bl] = (c.match(/[\d.]+/g) ?? []).slice(0, 3).map(Number).map((v) => {
      const x = v / 255;
      return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [x, y] = [lum(a), lum(b)];
  return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
}

/**
 * The heatmap without a mouse: a legend naming the API's lowest, average and highest
 * score; every cell printing the API's score of its day and hour, in text at 4.5:1 or
 * more on its shade, and named for screen readers.
 */
async function heatmapReadable(page: Page, b: BestTimes): Promise<void> {
  if (b.by_slot.length === 0) throw new Error("/best-times has no slots to check");
  const legend = page.getByTestId("heatmap-legend");
  const scores = b.by_slot.map((c) => c.score);
  assertEqual(await legend.getByTestId("legend-lowest").innerText(), cellScore(Math.min(...scores)), "the legend's lowest score");
  assertEqual(await legend.getByTestId("legend-average").innerText(), cellScore(b.baseline_score), "the legend's average score");
  assertEqual(await legend.getByTestId("legend-highest").innerText(), cellScore(Math.max(...scores)), "the legend's highest score");
  const cells = await page.locator('[data-testid="heatmap"] td.cell').evaluateAll((tds) =>
    tds.map((td) => {
      const style = getComputedStyle(td);
      return {
        key: `${td.getAttribute("data-day")}:${td.getAttribute("data-hour")}`,
        text: (td.textContent ?? "").trim(),
        label: td.getAttribute("aria-label") ?? "",
        color: style.color,
        background: style.backgroundColor,
      };
    }),
  );
  const shown = new Map(cells.map((c) => [c.key, c]));
  const wrong: string[] = [];
  for (const slot of b.by_slot) {
    const cell = shown.get(`${slot.day}:${slot.hour}`);
    if (!cell) {
      wrong.push(`${slot.day}:${slot.hour} missing`);
      continue;
    }
    if (cell.text !== cellScore(slot.score)) wrong.push(`${cell.key} prints ${cell.text}, API score ${slot.score}`);
    if (!cell.label.includes("score")) wrong.push(`${cell.key} has no aria-label`);
    const ratio = contrastRatio(cell.color, cell.background);
    if (ratio < 4.5) wrong.push(`${cell.key} text ${cell.color} on ${cell.background}: ${ratio.toFixed(2)}:1`);
  }
  if (wrong.length) throw new Error(`heatmap cells: ${wrong.slice(0, 8).join("; ")}${wrong.length > 8 ? ` (+${wrong.length - 8} more)` : ""}`);
}

// ---- signing in, the session, mail ---------------------------------------------------
/**
 * On the identity provider's own login page (Keycloak's form, another origin than the
 * dashboard's): the person's address and password, then back on the dashboard.
 */
async function signInOnProvider(page: Page, person: Person): Promise<void> {
  await page.locator("#username").waitFor({ timeout: WAIT_MS });
  const provider = new URL(page.url());
  if (provider.origin === ORIGIN) throw new Error(`the login form is on the dashboard's own origin (${page.url()})`);
  await page.locator("#username").fill(person.email);
  await page.locator("#password").fill(person.password);
  await page.locator("#kc-login").click();
  await until(`${person.email} back on the dashboard`, async () => {
    const said = await page.locator(".kc-feedback-text, #input-error").allInnerTexts().catch(() => []);
    if (said.length && new URL(page.url()).origin !== ORIGIN) throw new Error(`the login page says: ${said.join(" ")}`);
    return new URL(page.url()).origin === ORIGIN;
  });
}

/** The page on `business`, chosen in the business switcher (the businesses of /workspace/me). */
async function enterBusiness(page: Page, business: number): Promise<void> {
  const select = page.locator('select[name="business"]');
  await select.waitFor({ timeout: WAIT_MS });
  const offered = await select.locator("option").evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
  if (!offered.includes(String(business)))
    throw new Error(`the signed-in user is not a member of business ${business} (the switcher offers ${offered.join(", ") || "none"})`);
  if ((await select.inputValue()) !== String(business)) await select.selectOption(String(business));
}

/** The signed-in session's CSRF token (GET /auth/session with the browser's cookie). */
async function csrfToken(context: BrowserContext): Promise<string> {
  const res = await context.request.get(`${ORIGIN}/auth/session`);
  if (res.status() !== 200) throw new Error(`/auth/session: HTTP ${res.status()} ${await res.text()}`);
  return ((await res.json()) as { csrf_token: string }).csrf_token;
}

/** A call to the dashboard with the browser's session (its cookie), as the page makes it. */
async function session(context: BrowserContext, method: string, path: string, body?: unknown): Promise<APIResponse> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = await csrfToken(context);
  if (body !== undefined) headers["Content-Type"] = "application/json";
  return context.request.fetch(`${ORIGIN}${path}`, {
    method, headers, data: body === undefined ? undefined : JSON.stringify(body), failOnStatusCode: false,
  });
}

async function sessionJson<T>(context: BrowserContext, method: string, path: string, body?: unknown): Promise<T> {
  const res = await session(context, method, path, body);
  if (!res.ok()) throw new Error(`${method} ${path}: HTTP ${res.status()} ${await res.text()}`);
  return (await res.json()) as T;
}

interface MailSummary {
  ID: string;
  Subject: string;
  Created: string;
  To: { Address: string }[] | null;
}

async function mailpit<T>(path: string, init: RequestInit = {}): Promise<T> {
  const auth = Buffer.from(`pulse:${MAILPIT_PASSWORD}`).toString("base64");
  const res = await fetch(`${MAILPIT}${path}`, { ...init, headers: { ...(init.headers ?? {}), Authorization: `Basic ${auth}` } });
  if (!res.ok) throw new Error(`Mailpit ${path}: HTTP ${res.status} ${await res.text()}`);
  const text = await res.text();
  // Mailpit answers a DELETE with a plain "ok".
  try {
    return (text ? JSON.parse(text) : null) as T;
  } catch {
    return text as T;
  }
}

/** The ids of the messages to `to` in Mailpit's inbox now. */
async function mailsTo(to: string): Promise<Set<string>> {
  const { messages } = await mailpit<{ messages: MailSummary[] }>("/api/v1/messages?limit=200");
  return new Set(messages.filter((m) => (m.To ?? []).some((t) => t.Address.toLowerCase() === to)).map((m) => m.ID));
}

/**
 * The invitation mailed to `to` since `before` (the ids there were): its subject, text and
 * the invite link in it. The message is deleted afterwards (the inbox is `make up`'s).
 */
async function invitationMail(to: string, before: Set<string>): Promise<{ subject: string; text: string; link: string }> {
  let found: MailSummary | undefined;
  await until(`the invitation mail to ${to} in Mailpit`, async () => {
    const { messages } = await mailpit<{ messages: MailSummary[] }>("/api/v1/messages?limit=200");
    found = messages.find((m) => !before.has(m.ID) && (m.To ?? []).some((t) => t.Address.toLowerCase() === to));
    return found !== undefined;
  });
  if (!found) throw new Error("no invitation mail");
  const full = await mailpit<{ Text: string; HTML: string }>(`/api/v1/message/${found.ID}`);
  await mailpit("/api/v1/messages", { method: "DELETE", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ IDs: [found.ID] }) });
  const link = /https?:\/\/[^\s"'<>]+\/invite#[A-Za-z0-9_-]+/.exec(`${full.Text}\n${full.HTML}`)?.[0];
  if (!link) throw new Error(`no /invite#<secret> link in the mail: ${full.Text.slice(0, 500)}`);
  return { subject: found.Subject, text: full.Text, link };
}

interface Member {
  user_id: string;
  email: string | null;
  role: string;
}
interface Invite {
  id: number | string;
  email: string;
}

/** The colleague out of `business` and their pending invitations withdrawn (a run that stopped half-way). */
async function withoutColleague(context: BrowserContext, business: number): Promise<void> {
  const base = `/workspace/businesses/${business}`;
  for (const m of await sessionJson<Member[]>(context, "GET", `${base}/members`))
    if (m.email?.toLowerCase() === COLLEAGUE.email) await session(context, "DELETE", `${base}/members/${encodeURIComponent(m.user_id)}`);
  for (const i of await sessionJson<Invite[]>(context, "GET", `${base}/invites`))
    if (i.email.toLowerCase() === COLLEAGUE.email) await session(context, "DELETE", `${base}/invites/${i.id}`);
}

/** The team view, loaded anew (a tab away and back). */
async function teamAgain(page: Page): Promise<void> {
  await page.getByTestId("tab-overview").click();
  await page.getByTestId("tab-team").click();
  await ready(page, "members");
}

// ---- the reporter, relayed at /reporter/ (services/reporter's schemas.py) -------------
const REPORTER = `/reporter/v1/businesses/${BUSINESS}`;
interface ReportSchedule {
  id: number;
  kind: "weekly" | "monthly";
  recipients: string[];
  include_csv: boolean;
  paused: boolean;
}
interface SendNowAnswer {
  delivery_key: string;
  period: { start: string; end: string };
}
interface AlertSettingsAnswer {
  sensitivity: string;
  email_recipients: string[];
  webhook: { url_hint: string; signed: boolean } | null;
  updated_at: string | null;
}
interface AuditAnswer {
  entries: { id: number; action: string }[];
  next_before: number | null;
}
interface AlertsAnswer {
  alerts: { id: number; read: boolean; title: string }[];
  next_before: number | null;
  unread: number;
}

// A 1×1 PNG: a logo the reporter takes (and the e2e removes again).
const TINY_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

/** The Reports view, its panels loaded. */
async function openReports(page: Page): Promise<void> {
  await page.getByTestId("tab-reports").click();
  await ready(page, "schedules");
  await ready(page, "deliveries");
  await ready(page, "branding");
}

/** The Alerts view, its list and settings loaded. */
async function openAlerts(page: Page): Promise<void> {
  await page.getByTestId("tab-alerts").click();
  await ready(page, "alerts");
  await ready(page, "alert-settings");
}

/** Where Tab stops from the top of the page (at most `max`), each as "tag name-or-text". */
async function tabStops(page: Page, max = 150): Promise<string[]> {
  // A click on the brand (no control) moves where Tab starts from to the top of the page.
  await page.locator(".brand-name").click();
  const stops: string[] = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    const stop = await page.evaluate(() => {
      const e = document.activeElement;
      if (!e || e === document.body) return "";
      const named = e.getAttribute("name") ?? e.getAttribute("data-testid") ?? (e.textContent ?? "").trim().slice(0, 24);
      return `${e.tagName.toLowerCase()} ${JSON.stringify(named)}`;
    });
    if (!stop) break;
    stops.push(stop);
  }
  return stops;
}

/** Nothing wider than the screen, axe content, and a screenshot: the view at a phone's width. */
async function onPhone(page: Page, view: string, open: () => Promise<void>): Promise<void> {
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    await open();
    const [scrollWidth, innerWidth] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    if (scrollWidth > innerWidth + 1) throw new Error(`${view} at 390px is ${scrollWidth}px wide`);
    await accessible(page, view);
    await shot(page, `${view}-phone`);
  } finally {
    await page.setViewportSize({ width: 1280, height: 900 });
  }
}

// ---- the checks ----------------------------------------------------------------------
// The summary cards as web/components/SummaryCards.tsx writes them, from /overview: each
// card's value (of `summary`), previous value (of `previous_summary`), change (change_pct)
// and its sparkline's label (the daily trend).
const signed = (n: number | null): string => {
  const r = n === null ? null : Math.round(n);
  return r === null ? "—" : r > 0 ? `+${int(r)}` : r < 0 ? `−${int(-r)}` : "0";
};
const changeText = (n: number | null | undefined): string =>
  n === null || n === undefined
    ? "no previous data"
    : `${n > 0 ? "+" : n < 0 ? "−" : "±"}${Math.abs(n).toLocaleString("en-US", { maximumFractionDigits: 2 })}%`;
const postTotal = (s: Summary, n: number | null): string => (s.total_posts === 0 ? "—" : n === null ? "not reported" : int(n));
interface CardSpec {
  id: string;
  label: string;
  changeOf: keyof Summary;
  text: (s: Summary) => string;
  daily: (t: OverviewDay) => number | null;
  dayText: (n: number | null) => string;
}
const CARDS: CardSpec[] = [
  { id: "posts", label: "Posts", changeOf: "total_posts", text: (s) => int(s.total_posts), daily: (t) => t.posts, dayText: int },
  { id: "impressions", label: "Impressions", changeOf: "total_impressions", text: (s) => postTotal(s, s.total_impressions), daily: (t) => t.impressions, dayText: int },
  { id: "reach", label: "Reach", changeOf: "total_reach", text: (s) => postTotal(s, s.total_reach), daily: (t) => t.reach, dayText: int },
  { id: "engagements", label: "Engagements", changeOf: "total_engagement", text: (s) => postTotal(s, s.total_engagement), daily: (t) => t.engagement, dayText: int },
  {
    id: "engagement-rate",
    label: "Engagement rate",
    changeOf: "engagement_rate",
    text: (s) => (s.total_posts === 0 || s.total_impressions === 0 ? "—" : s.engagement_rate === null ? "not reported" : pct(s.engagement_rate)),
    daily: (t) => (t.impressions ? t.engagement_rate : null),
    dayText: pct,
  },
  { id: "followers", label: "Followers", changeOf: "followers", text: (s) => int(s.followers), daily: (t) => t.followers, dayText: int },
  { id: "follower-growth", label: "Follower growth", changeOf: "follower_growth", text: (s) => signed(s.follower_growth), daily: (t) => t.follower_growth, dayText: signed },
];

function sparkLabel(card: CardSpec, values: (number | null)[]): string {
  const known = values.filter((v): v is number => v !== null);
  const what = `${card.label} per day`;
  if (known.length === 0) return `${what}: no daily values in this period`;
  const f = card.dayText;
  return `${what}, ${values.length} days: ${f(known[0])} first, ${f(known[known.length - 1])} last, lowest ${f(Math.min(...known))}, highest ${f(Math.max(...known))}`;
}

async function checkCards(page: Page, answers: Answers, s: Scope, business = BUSINESS): Promise<Overview> {
  const o = await showsAnswer<Overview>(page, answers, ["/overview", scoped(s, business)], (o) =>
    CARDS.flatMap((c): [string, string][] => [
      [`[data-testid="card-${c.id}-value"]`, c.text(o.summary)],
      [`[data-testid="card-${c.id}-previous"]`, c.text(o.previous_summary)],
      [
        `[data-testid="card-${c.id}-change"]`,
        `${changeText(o.change_pct[c.changeOf])} ${o.compare === "year" ? "vs same period last year" : "vs previous period"}`,
      ],
    ]),
  );
  // The same answer's daily trend, as each sparkline says it to a screen reader; none a tab stop.
  for (const c of CARDS) {
    const line = page.locator(`[data-testid="card-${c.id}-sparkline"]`);
    assertEqual(await line.getAttribute("aria-label"), sparkLabel(c, o.trends.map(c.daily)), `the ${c.id} sparkline's label`);
    assertEqual(await line.getAttribute("tabindex"), null, `the ${c.id} sparkline's tabindex`);
  }
  return o;
}

function checkContentRows(page: Page, answers: Answers, s: Scope): Promise<Content> {
  return showsAnswer<Content>(page, answers, ["/content-performance", scoped(s)], (c) =>
    c.content_types.flatMap((t): [string, string][] => {
      const row = `[data-testid="content-table"] tr[data-content-type="${t.content_type}"]`;
      return [
        [`${row} [data-testid="content-posts"]`, int(t.posts)],
        [`${row} [data-testid="content-rate"]`, pct(t.engagement_rate)],
      ];
    }),
  );
}

/** The browser's own date, where its (emulated) time zone and clock put it. */
function browserDay(page: Page): Promise<string> {
  return page.evaluate(() => {
    const now = new Date();
    const two = (n: number) => String(n).padStart(2, "0");
    return `${now.getFullYear()}-${two(now.getMonth() + 1)}-${two(now.getDate())}`;
  });
}

// ---- connecting accounts for real, on the stack's dashboard ----------------------------
/** The simulator's person who administers nothing (services/platform-sim). */
const SIM_NOBODY = "sim-user-none";
/** How far back ingest lists an account's posts when it is connected (PULSE_BACKFILL_DAYS' default). */
const BACKFILL_DAYS = 90;

interface SimUser {
  user_id: string;
  business_ids: number[];
  accounts: { platform: string; account_id: string; name: string }[];
}
interface SimPost {
  platform: string;
  post_id: string;
  account_id: string;
  published_at: string;
  deleted_at: string | null;
}
type SimAccount = SimUser["accounts"][number];

/** The platform simulator's control API (read only here). */
async function sim<T>(path: string): Promise<T> {
  const res = await fetch(`${SIM}${path}`);
  if (!res.ok) throw new Error(`simulator ${path}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** The cells of an account's row, as the page writes them from its /accounts answer. */
function accountCells(acc: Account, timeZone: string): [string, string][] {
  const row = accountRow(acc);
  return [
    [`${row} [data-testid="account-name"]`, nameOf(acc)],
    [`${row} [data-testid="account-status"]`, STATUS_LABELS[acc.status]],
    [`${row} [data-testid="account-last-synced"]`, acc.last_synced_at ? zoned(acc.last_synced_at, timeZone) : "Not yet"],
    [`${row} [data-testid="account-posts-found"]`, int(acc.posts_found)],
    [`${row} [data-testid="account-posts-with-numbers"]`, int(acc.posts_with_numbers)],
    ...(acc.status_reason ? [[`${row} [data-testid="account-reason"]`, acc.status_reason] as [string, string]] : []),
    ...(acc.status === "syncing" ? [[`${row} [data-testid="account-progress"]`, progressOf(acc)] as [string, string]] : []),
  ];
}

/** The business's local day (YYYY-MM-DD) of an instant. */
function localDay(iso: string, timeZone: string): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(iso));
}

/** A call of the page's that changes something: the session's cookie and CSRF token, never a bearer token. */
function checkSessionCall(request: Request, what: string): void {
  const headers = request.headers();
  assertEqual(headers["authorization"], undefined, `an Authorization header on ${what}`);
  if (!headers["x-csrf-token"]) throw new Error(`${what} was sent without X-CSRF-Token`);
}

/** What the page posted to /connect/<service>/authorize: this business, back to its own /connections, with the session. */
function checkAuthorize(request: Request, business: number, origin: string): void {
  checkSessionCall(request, "authorize");
  assertEqual(request.postData(), JSON.stringify({ business_id: business, return_to: `${origin}/connections` }), "the authorize body");
}

interface StackPage {
  page: Page;
  answers: Answers;
}

/**
 * The demo user signed in on the dashboard in a browser of its own (the real clock), at
 * /connections of `business`; `body` uses it. On a failure a screenshot of it is kept;
 * policy violations on the dashboard's pages fail the test; the browser is closed afterwards.
 */
async function onStackDashboard(
  browser: Browser, business: number, name: string, body: (s: StackPage) => Promise<void>,
): Promise<void> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  // The real time, running; a check may move it on (showAgain).
  await context.clock.install();
  const page = await context.newPage();
  const refused: string[] = [];
  page.on("console", (msg) => {
    if (page.url().startsWith(ORIGIN) && /Content.Security.Policy/i.test(msg.text())) refused.push(`${page.url()}: ${msg.text()}`);
  });
  try {
    const answers = await Answers.record(page);
    await page.goto(`${ORIGIN}/connections`);
    await page.getByTestId("sign-in").click();
    await signInOnProvider(page, DEMO);
    await enterBusiness(page, business);
    await answers.latest("/accounts", { business_id: business });
    await ready(page, "connections");
    await body({ page, answers });
    if (refused.length) throw new Error(`policy violations:\n${refused.join("\n")}`);
  } catch (err) {
    await shot(page, `failed-${name}`).catch(() => undefined);
    throw refused.length && !(err instanceof Skipped) ? new Error(`${String(err)}\npolicy violations:\n${refused.join("\n")}`) : err;
  } finally {
    await context.close();
  }
}

/** Connect on the stack's Connections page: what the page posted, then the platform's consent page. */
async function toConsent(page: Page, service: string, business: number): Promise<URL> {
  const stack = ORIGIN;
  const asked = page.waitForRequest((r) => new URL(r.url()).pathname === `/connect/${service}/authorize`, { timeout: WAIT_MS });
  await page.getByTestId(`connect-${service}`).click();
  checkAuthorize(await asked, business, stack);
  let notice = "";
  await until("the platform's consent page", async () => {
    notice = await page.getByTestId("connections-notice").innerText({ timeout: 100 }).catch(() => "");
    if (notice) throw new Error(`the page says: ${notice}`);
    return new URL(page.url()).origin !== stack;
  }).catch((err: unknown) => {
    throw new Error(`${String(err)} (the stack's dashboard and ingest-${service} must run this code, with PULSE_OAUTH_* set)`);
  });
  const consent = new URL(page.url());
  assertEqual(consent.searchParams.get("redirect_uri")?.endsWith("/connect/callback"), true, "the consent's redirect_uri is ingest's callback");
  await page.locator("#allow").waitFor({ timeout: WAIT_MS });
  return consent;
}

/** Back on the stack's /connections: the outcome told in a banner, its query taken off the URL; the banner's words. */
async function outcome(page: Page, expected: string): Promise<string> {
  const stack = ORIGIN;
  const banner = page.getByTestId("connect-outcome");
  await banner.waitFor({ timeout: WAIT_MS });
  const back = new URL(page.url());
  assertEqual(`${back.origin}${back.pathname}${back.search}`, `${stack}/connections`, "the page the consent came back to, its query read");
  assertEqual(await banner.getAttribute("data-outcome"), expected, "the outcome told");
  await ready(page, "connections");
  return banner.innerText();
}

/**
 * Connect LinkedIn, signed in on the consent page as `admin`, Allow, and on ingest's
 * choice page (several organizations) only `org`; back with "connected". When Allow was
 * clicked (ms).
 */
async function connectLinkedIn(page: Page, admin: SimUser, org: SimAccount): Promise<number> {
  const stack = ORIGIN;
  const consent = await toConsent(page, "linkedin", FRESH);
  console.log(`      consent page: ${consent.origin}${consent.pathname}, signed in as ${admin.user_id}`);
  await page.locator("select#user").selectOption(admin.user_id);
  await shot(page, "consent-linkedin");
  const allowedAt = Date.now();
  await page.locator("#allow").click();
  const choice = page.locator('form[action="choose"]');
  await until("the dashboard, or ingest's page to choose organizations", async () =>
    new URL(page.url()).origin === stack || (await choice.count()) > 0,
  );
  if (new URL(page.url()).origin !== stack) {
    await shot(page, "choice-linkedin");
    const want = `linkedin:${org.account_id}`;
    const offered = await choice.locator('input[name="account"]').evaluateAll((boxes) => boxes.map((b) => (b as HTMLInputElement).value));
    console.log(`      choice page: ${offered.join(", ")}`);
    if (!offered.includes(want)) throw new Error(`the choice page offers ${offered.join(", ")}, not ${want}`);
    for (const value of offered) await choice.locator(`input[name="account"][value="${value}"]`).setChecked(value === want);
    await choice.locator('button[type="submit"]').click();
  }
  const said = await outcome(page, "connected");
  if (!said.includes("Connected 1 account on LinkedIn")) throw new Error(`the banner says: ${said}`);
  return allowedAt;
}

/**
 * The account's row, from syncing to active with every post it found polled (the page asks
 * again every 5 s while an account syncs; afterwards Reload, as a person would): the row is
 * the page's latest /accounts answer, GET /accounts says the same, and the posts found are
 * the platform's posts of the backfill window. The account as the page got it last.
 */
async function syncsToActive(s: StackPage, org: SimAccount, history: SimPost[], allowedAt: number): Promise<Account> {
  const { page, answers } = s;
  const q = { business_id: FRESH };
  const mine = (a: Accounts) => a.accounts.find((x) => x.platform === "linkedin" && x.account_id === org.account_id);
  const row = page.locator(accountRow({ platform: "linkedin", account_id: org.account_id }));
  await row.waitFor({ timeout: WAIT_MS });
  await shot(page, "connections-linkedin-connected");
  let shotSyncing = false;
  let reloaded = Date.now();
  let last: Account | undefined;
  await until("the account active, every post it found polled", async () => {
    if (!shotSyncing && (await row.getAttribute("data-status")) === "syncing") {
      shotSyncing = true;
      await shot(page, "connections-linkedin-syncing");
    }
    last = mine(await answers.json<Accounts>("/accounts", q));
    if (last?.status === "active" && last.posts_found > 0 && last.posts_with_numbers === last.posts_found) return true;
    if (last?.status !== "syncing" && Date.now() - reloaded > 5000) {
      reloaded = Date.now();
      await page.getByTestId("connections-reload").click();
    }
    return false;
  }, CONNECT_WAIT_MS).catch((err: unknown) => {
    throw new Error(`${String(err)}; the page's last answer: ${JSON.stringify(last)}`);
  });
  const activeBy = Date.now();
  const seen = (await answers.all<Accounts>("/accounts", q)).map((a) => mine(a)?.status ?? "absent");
  console.log(`      statuses the page was given: ${seen.filter((x, i) => x !== seen[i - 1]).join(" → ")}`);
  const { timezone } = await answers.json<Calendar>("/calendar", q);
  const shown = await showsAnswer<Accounts>(page, answers, ["/accounts", q], (a) => {
    const acc = mine(a);
    return acc ? accountCells(acc, timezone) : [[accountRow({ platform: "linkedin", account_id: org.account_id }), "(no row)"]];
  });
  const account = mine(shown);
  if (account?.status !== "active") throw new Error(`the account is ${account?.status ?? "gone"} on the page`);
  // Ingest lists the posts of the BACKFILL_DAYS before its sync, which began after Allow
  // and ended before the account was seen active: a post that turned that old meanwhile
  // may be in or out.
  const within = (at: number) => history.filter((p) => Date.parse(p.published_at) >= at - BACKFILL_DAYS * 86_400_000).length;
  const [fewest, most] = [within(activeBy), within(allowedAt)];
  if (account.posts_found < fewest || account.posts_found > most)
    throw new Error(`posts found: page shows ${account.posts_found}, the platform has ${fewest}-${most} in the last ${BACKFILL_DAYS} days`);
  await until("GET /accounts to say what the row says", async () => {
    const direct = mine(await api<Accounts>("/accounts", q, FRESH));
    return JSON.stringify(direct) === JSON.stringify(account);
  });
  await shot(page, "connections-linkedin-active");
  return account;
}

/**
 * Shows `view` again a minute later (a tab away, the page's clock past its answers'
 * freshness, back): the page asks its questions anew.
 */
async function showAgain(page: Page, view: "overview" | "top-posts"): Promise<void> {
  await page.getByTestId(view === "overview" ? "tab-trends" : "tab-overview").click();
  await page.clock.fastForward(PAGE_ANSWERS_FRESH_MS + 1000);
  await page.getByTestId(`tab-${view}`).click();
}

interface Ranked {
  params: Params;
  ids: number[];
}

/**
 * Top posts, LinkedIn, the page's range: the table is the page's /top-posts answer, which
 * ranks as many posts as the platform published in the range (at most the 20 shown), each
 * one of the account's past posts on the platform; query-api asked directly at the same
 * moment ranks the same. The question and the post ids shown.
 */
async function showsPastPosts(s: StackPage, history: SimPost[]): Promise<Ranked> {
  const { page, answers } = s;
  const { timezone } = await answers.json<Calendar>("/calendar", { business_id: FRESH });
  await page.getByTestId("tab-top-posts").click();
  await page.locator('select[name="platform"]').selectOption("linkedin");
  const scope = await pageScope(page);
  const inRange = history.filter((p) => {
    const day = localDay(p.published_at, timezone);
    return day >= scope.start && day <= scope.end;
  });
  const params = { ...scoped(scope, FRESH), metric: "engagement_rate", limit: 20 };
  const expected = Math.min(20, inRange.length);
  if (expected === 0) throw new Error(`the platform has no post of the account in ${scope.start} – ${scope.end}`);
  await until(`the page's top posts to be the ${expected} of the platform`, async () => {
    await ready(page, "top-posts");
    if ((await answers.json<{ top_posts: TopPost[] }>("/top-posts", params)).top_posts.length === expected) return true;
    await showAgain(page, "top-posts");
    return false;
  }, CONNECT_WAIT_MS);
  const top = await showsAnswer<{ top_posts: TopPost[] }>(page, answers, ["/top-posts", params], (a) =>
    a.top_posts.flatMap((p, i): [string, string][] => [
      [cardValue(i, "engagement_rate"), pct(p.engagement_rate)],
      [cardValue(i, "impressions"), count(p.impressions)],
    ]),
  );
  const ids = top.top_posts.map((p) => p.post_id);
  const rows = await page.locator(POST_CARDS).evaluateAll((lis) => lis.map((li) => Number(li.getAttribute("data-post-id"))));
  assertEqual(rows.join(" "), ids.join(" "), "the posts on the cards, in order");
  const platformIds = new Set(inRange.map((p) => p.post_id));
  for (const p of top.top_posts) {
    if (p.platform !== "linkedin" || !platformIds.has(p.platform_post_id))
      throw new Error(`post ${p.post_id} (${p.platform} ${p.platform_post_id}) is not one of the account's posts in the range`);
  }
  await until("query-api asked directly to rank the same posts", async () => {
    const direct = await api<{ top_posts: TopPost[] }>("/top-posts", params, FRESH);
    return direct.top_posts.map((p) => p.post_id).join(" ") === ids.join(" ");
  });
  await shot(page, "top-posts-linkedin");
  return { params, ids };
}

/**
 * The overview, LinkedIn, the page's range: the cards are the page's /overview answer, with
 * the posts the platform published in the range and a follower growth; the platform
 * comparison's LinkedIn row shows the same growth; query-api asked directly agrees.
 */
async function showsFollowerGrowth(s: StackPage, history: SimPost[]): Promise<void> {
  const { page, answers } = s;
  const { timezone } = await answers.json<Calendar>("/calendar", { business_id: FRESH });
  await page.getByTestId("tab-overview").click();
  const scope = await pageScope(page);
  assertEqual(scope.platform, "linkedin", "the platform filter kept from Top posts");
  const inRange = history.filter((p) => {
    const day = localDay(p.published_at, timezone);
    return day >= scope.start && day <= scope.end;
  });
  await until("the page's overview to count the posts and the followers", async () => {
    await ready(page, "summary");
    const { summary } = await answers.json<Overview>("/overview", scoped(scope, FRESH));
    if (summary.total_posts === inRange.length && summary.follower_growth !== null) return true;
    await showAgain(page, "overview");
    return false;
  }, CONNECT_WAIT_MS);
  const o = await checkCards(page, answers, scope, FRESH);
  const growth = o.summary.follower_growth;
  if (growth === null || growth <= 0) throw new Error(`follower growth ${growth}: the platform's followers grow every day`);
  await ready(page, "platforms");
  // The comparison always compares every platform (LinkedIn highlighted).
  await showsAnswer<Comparison>(page, answers, ["/platform-comparison", scoped({ ...scope, platform: "all" }, FRESH)], (c) => {
    const row = c.platforms.find((p) => p.platform === "linkedin");
    assertEqual(row?.follower_growth, growth, "LinkedIn's follower growth in /platform-comparison and /overview");
    return [['[data-testid="platforms-table"] tr[data-platform="linkedin"] [data-testid="platform-follower-growth"]', int(growth)]];
  });
  await until("query-api asked directly to say the same", async () => {
    const direct = await api<Overview>("/overview", scoped(scope, FRESH), FRESH);
    return direct.summary.follower_growth === growth && direct.summary.total_posts === o.summary.total_posts;
  });
  console.log(`      overview (${scope.start} – ${scope.end}, LinkedIn): ${o.summary.total_posts} posts, follower growth ${growth}`);
  await shot(page, "overview-linkedin-followers");
}

/** Disconnect, for real: asked first, then ingest-linkedin deletes the tokens; the row says Disconnected and GET /accounts agrees. */
async function disconnects(s: StackPage, account: Account): Promise<void> {
  const { page, answers } = s;
  const q = { business_id: FRESH };
  await page.getByTestId("tab-connections").click();
  await ready(page, "connections");
  const row = page.locator(accountRow(account));
  await row.getByTestId("disconnect").click();
  const confirm = row.getByTestId("disconnect-confirm");
  await confirm.waitFor({ timeout: WAIT_MS });
  if (!(await confirm.innerText()).includes(nameOf(account))) throw new Error(`the confirmation says: ${await confirm.innerText()}`);
  await shot(page, "connections-linkedin-disconnect-confirm");
  const asked = page.waitForRequest((r) => new URL(r.url()).pathname === "/connect/linkedin/disconnect", { timeout: WAIT_MS });
  const before = (await answers.all<Accounts>("/accounts", q)).length;
  await row.getByTestId("confirm-disconnect").click();
  const request = await asked;
  assertEqual((await request.response())?.status(), 200, "ingest-linkedin's answer to Disconnect");
  checkSessionCall(request, "disconnect");
  assertEqual(request.postData(), JSON.stringify({ business_id: FRESH, platform: "linkedin", account_id: account.account_id }), "the disconnect body");
  const notice = page.getByTestId("connections-notice");
  await notice.waitFor({ timeout: WAIT_MS });
  if (!(await notice.innerText()).startsWith(`Disconnected ${nameOf(account)}`)) throw new Error(`the notice says: ${await notice.innerText()}`);
  // The page asks for the list again.
  await until("the page to ask for the accounts again", async () => (await answers.all<Accounts>("/accounts", q)).length > before);
  const { timezone } = await answers.json<Calendar>("/calendar", q);
  const after = await showsAnswer<Accounts>(page, answers, ["/accounts", q], (a) => {
    const acc = a.accounts.find((x) => x.platform === account.platform && x.account_id === account.account_id);
    return acc ? accountCells(acc, timezone) : [[accountRow(account), "(no row)"]];
  });
  const gone = after.accounts.find((x) => x.account_id === account.account_id);
  assertEqual(gone?.status, "disconnected", "the account's status after Disconnect");
  assertEqual(await row.getByTestId("disconnect").count(), 0, "Disconnect on a disconnected account");
  const direct = await api<Accounts>("/accounts", q, FRESH);
  assertEqual(direct.accounts.find((x) => x.account_id === account.account_id)?.status, "disconnected", "the status GET /accounts says");
  await shot(page, "connections-linkedin-disconnected");
}

/** After Disconnect, Top posts (asked anew) still ranks the account's posts: its numbers stay. */
async function postsStay(s: StackPage, shown: Ranked): Promise<void> {
  const { page, answers } = s;
  const before = (await answers.all("/top-posts", shown.params)).length;
  // A minute later: the page's earlier answer no longer fresh, it asks again.
  await page.clock.fastForward(PAGE_ANSWERS_FRESH_MS + 1000);
  await page.getByTestId("tab-top-posts").click();
  await until("the page to ask for the top posts again", async () => (await answers.all("/top-posts", shown.params)).length > before);
  await ready(page, "top-posts");
  const top = await answers.json<{ top_posts: TopPost[] }>("/top-posts", shown.params);
  const ids = top.top_posts.map((p) => p.post_id);
  assertEqual([...ids].sort().join(" "), [...shown.ids].sort().join(" "), "the posts ranked after Disconnect");
  const rows = await page.locator(POST_CARDS).evaluateAll((lis) => lis.map((li) => Number(li.getAttribute("data-post-id"))));
  assertEqual(rows.join(" "), ids.join(" "), "the posts on the cards after Disconnect");
  await shot(page, "top-posts-linkedin-disconnected");
}

/** Disconnect with the signed-in browser's session, without the page (cleaning up after a failure). */
async function disconnectDirectly(context: BrowserContext, accountId: string): Promise<void> {
  await session(context, "POST", "/connect/linkedin/disconnect", { business_id: FRESH, platform: "linkedin", account_id: accountId });
}

async function main(): Promise<number> {
  rmSync(SHOTS, { recursive: true, force: true });
  mkdirSync(SHOTS, { recursive: true });
  const browser: Browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox"],
  });
  const context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
    timezoneId: BROWSER_TIMEZONE,
  });
  // Installed, the clock keeps running at the real pace (timers fire: refresh polls and times out as usual).
  await context.clock.install({ time: Date.now() + BROWSER_AHEAD_MS });
  const page = await context.newPage();
  page.on("pageerror", (err) => console.log(`page error: ${err.message}`));
  const answers = await Answers.record(page);
  const violations = await Violations.watch(context, page);
  // No call of the page's may carry a bearer token: the session is the server's.
  const bearers: string[] = [];
  context.on("request", (r) => {
    if (r.url().startsWith(ORIGIN) && r.headers()["authorization"]) bearers.push(`${r.method()} ${r.url()}`);
  });

  await test("an unauthenticated visitor is asked to sign in (no token field); /auth/session answers 401", page, async () => {
    const response = await page.goto(DASHBOARD);
    if (!response) throw new Error("no response for the page");
    const headers = response.headers();
    const csp = headers["content-security-policy"] ?? "";
    console.log(`      Content-Security-Policy: ${csp}`);
    for (const directive of ["default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"])
      if (!csp.split(/;\s*/).includes(directive)) throw new Error(`the page's policy lacks ${directive}: ${csp}`);
    if (/unsafe-/.test(csp)) throw new Error(`the page's policy allows unsafe sources: ${csp}`);
    assertEqual(headers["x-content-type-options"], "nosniff", "X-Content-Type-Options");
    assertEqual(headers["referrer-policy"], "no-referrer", "Referrer-Policy");
    assertEqual(headers["x-frame-options"], "DENY", "X-Frame-Options");
    await page.getByTestId("signin").waitFor({ timeout: WAIT_MS });
    assertEqual(await page.locator("textarea, input[name='token']").count(), 0, "token fields on the sign-in screen");
    const asked = await context.request.get(`${ORIGIN}/auth/session`);
    assertEqual(asked.status(), 401, "/auth/session without a session");
    await shot(page, "signin");
    await page.setViewportSize({ width: 1440, height: 900 });
    await accessible(page, "the sign-in page");
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  await test(`sign in on the provider's login page as ${DEMO.email}: back on the page, its businesses from /workspace/me`, page, async () => {
    await page.goto(`${ORIGIN}/#/overview`);
    const login = page.waitForRequest((r) => new URL(r.url()).pathname === "/auth/login", { timeout: WAIT_MS });
    await page.getByTestId("sign-in").click();
    assertEqual(new URL((await login).url()).searchParams.get("return_to"), "/#/overview", "return_to of the sign-in");
    await signInOnProvider(page, DEMO);
    await shot(page, "signed-in");
    await enterBusiness(page, BUSINESS);
    assertEqual(new URL(page.url()).hash, "#/overview", "the view the sign-in came back to");
    const cookies = await context.cookies(ORIGIN);
    const cookie = cookies.find((c) => SESSION_COOKIES.includes(c.name));
    if (!cookie) throw new Error(`no session cookie (cookies: ${cookies.map((c) => c.name).join(", ")})`);
    console.log(`      session cookie: ${cookie.name}, httpOnly ${cookie.httpOnly}, Secure ${cookie.secure}, SameSite ${cookie.sameSite}`);
    assertEqual(cookie.httpOnly, true, "the session cookie is httpOnly");
    if (cookie.name.startsWith("__Host-")) assertEqual(cookie.secure, true, "the session cookie is Secure");
    assertEqual(await page.evaluate(() => document.cookie.includes("pulse_session")), false, "the session cookie readable by the page");
    const me = await sessionJson<{ businesses: { business_id: number; role: string }[] }>(context, "GET", "/workspace/me");
    const mine = me.businesses.find((b) => b.business_id === BUSINESS);
    assertEqual(mine?.role, "owner", `${DEMO.email}'s role in business ${BUSINESS}`);
    assertEqual(await page.getByTestId("my-role").getAttribute("data-role"), "owner", "the role the page shows");
    const stored = await page.evaluate(() => Object.keys(localStorage).filter((k) => k !== "pulse.business").join(" "));
    assertEqual(stored, "", "what localStorage holds besides the business preference");
  });

  await test("the browser's day is not the business's (time zone and clock set so)", page, async () => {
    const calendar = await answers.json<Calendar>("/calendar", { business_id: BUSINESS });
    const day = await browserDay(page);
    console.log(`      browser: ${day} (${BROWSER_TIMEZONE}, clock a day ahead); business: ${calendar.today} (${calendar.timezone})`);
    if (day === calendar.today) throw new Error(`the browser's day is the business's (${day}): this run proves nothing about "today"`);
  });

  await test("signed in: the last 30 days of the business's today (/calendar), cards match /overview", page, async () => {
    const calendar = await answers.json<Calendar>("/calendar", { business_id: BUSINESS });
    if (calendar.today === (await browserDay(page))) throw new Error(`the business's today is the browser's (${calendar.today})`);
    await ready(page, "summary");
    const s = await pageScope(page);
    assertEqual(`${s.start} – ${s.end}`, `${addDays(calendar.today, -29)} – ${calendar.today}`, "date range");
    const o = await checkCards(page, answers, s);
    const change = o.change_pct.total_posts;
    const shown = await text(page, '[data-testid="card-posts-change"]');
    if (change !== null && !shown.includes(Math.abs(change).toLocaleString("en-US", { maximumFractionDigits: 2 })))
      throw new Error(`posts change: page shows ${shown}, API says ${change}`);
    // An owner has every control.
    for (const id of ["refresh", "export-csv", "export-json"]) assertEqual(await page.getByTestId(id).count(), 1, `${id} for an owner`);
  });

  await test("team: a personal API token, shown once with a warning, listed by its prefix; exchanged, it reads query-api; revoked, it no longer works", page, async () => {
    await page.getByTestId("tab-team").click();
    await ready(page, "tokens");
    const create = async (name: string): Promise<string> => {
      await page.locator('input[name="token-name"]').fill(name);
      await page.locator('select[name="token-expiry"]').selectOption("7");
      const asked = page.waitForRequest((r) => r.method() === "POST" && new URL(r.url()).pathname === `/workspace/businesses/${BUSINESS}/tokens`, { timeout: WAIT_MS });
      await page.getByTestId("create-token").click();
      checkSessionCall(await asked, "creating a token");
      const value = (await page.getByTestId("new-token-value").innerText({ timeout: WAIT_MS })).trim();
      if (!value.startsWith("pulse_pat_")) throw new Error(`the token shown: ${value.slice(0, 12)}…`);
      return value;
    };
    const name = `e2e ${new Date().toISOString()}`;
    const token = await create(name);
    const warning = await page.getByTestId("new-token").innerText();
    if (!/not show it\s+again/.test(warning)) throw new Error(`the new token's notice says: ${warning}`);
    await page.getByTestId("copy-token").waitFor({ timeout: WAIT_MS });
    const row = page.locator(`[data-testid="token-row"][data-prefix="${token.slice(0, 14)}"]`);
    await row.waitFor({ timeout: WAIT_MS });
    assertEqual(await text(page, `[data-testid="token-row"][data-prefix="${token.slice(0, 14)}"] [data-testid="token-name"]`), name, "the token's name in the list");
    await shot(page, "team-token-created");
    await page.getByTestId("new-token-done").click();
    await teamAgain(page);
    await ready(page, "tokens");
    if ((await page.content()).includes(token)) throw new Error("the token is on the page after it was dismissed");
    const reader = new Reader(BUSINESS, token);
    readers.set(BUSINESS, reader);
    const calendar = await api<Calendar>("/calendar", { business_id: BUSINESS });
    assertEqual(calendar.business_id, BUSINESS, "query-api's answer to the token");
    // A second one, revoked: its exchange is refused.
    const doomed = await create(`e2e revoked ${Date.now()}`);
    await page.getByTestId("new-token-done").click();
    const doomedRow = page.locator(`[data-testid="token-row"][data-prefix="${doomed.slice(0, 14)}"]`);
    await doomedRow.getByTestId("revoke-token").click();
    await doomedRow.waitFor({ state: "detached", timeout: WAIT_MS });
    const refused = await exchange(doomed).then(() => "accepted", (err: unknown) => String(err));
    if (!refused.includes("HTTP 401")) throw new Error(`a revoked token's exchange: ${refused}`);
    await page.getByTestId("tab-overview").click();
    await ready(page, "summary");
  });

  await test("platform comparison: bars, rates and insights match /platform-comparison", page, async () => {
    await ready(page, "platforms");
    const c = await showsAnswer<Comparison>(page, answers, ["/platform-comparison", scoped(await pageScope(page))], (c) =>
      c.platforms.map((p) => [`[data-testid="platforms-table"] tr[data-platform="${p.platform}"] [data-testid="platform-rate"]`, pct(p.engagement_rate)]),
    );
    const bars = await page.locator('[data-testid="platforms-chart"] .recharts-bar-rectangle').count();
    if (bars < c.platforms.length) throw new Error(`${bars} bars for ${c.platforms.length} platforms`);
    const insights = await page.locator('[data-testid="insights"] li').allInnerTexts();
    assertEqual(JSON.stringify(insights.map((t) => t.trim())), JSON.stringify(c.insights.map((i) => i.text)), "insights");
      // Each platform its colour (web/platforms.ts) and icon.
    // (A bar of height 0 draws no rectangle: only the platforms with a rate above 0.)
    const fills = await page.locator('[data-testid="platforms-chart"] .recharts-bar-rectangle path').evaluateAll((ps) => ps.map((p) => p.getAttribute("fill")));
    const drawn = c.platforms.filter((p) => (p.engagement_rate ?? 0) > 0);
    assertEqual(fills.join(" "), drawn.map((p) => PLATFORM_COLORS[p.platform]).join(" "), "the bars' colours, platform by platform");
    for (const p of c.platforms)
      assertEqual(await page.locator(`[data-testid="platforms-table"] tr[data-platform="${p.platform}"] svg[data-platform-icon="${p.platform}"]`).count(), 1, `${p.platform}'s icon`);
    // The table fits at 1,440 px (no column cut off or scrolled) and becomes cards on a phone.
    const size = page.viewportSize();
    const layout = () => page.locator('[data-testid="platforms-table"]').evaluate((t) => ({
      overflow: t.scrollWidth - (t.parentElement?.clientWidth ?? 0),
      clipped: Array.from(t.querySelectorAll("th, td")).filter((c) => c.scrollWidth > c.clientWidth + 1).map((c) => c.textContent),
      cards: getComputedStyle(t.querySelector("thead") as Element).position === "absolute",
    }));
    await page.setViewportSize({ width: 1440, height: 900 });
    const wide = await layout();
    if (wide.overflow > 1 || wide.clipped.length || wide.cards) throw new Error(`the platforms table at 1,440 px: ${JSON.stringify(wide)}`);
    await page.setViewportSize({ width: 390, height: 844 });
    const phone = await layout();
    if (phone.overflow > 1 || !phone.cards) throw new Error(`the platforms table on a phone: ${JSON.stringify(phone)}`);
    await shot(page, "platforms-phone");
    if (size) await page.setViewportSize(size);
  });

  await test("content-type performance matches /content-performance", page, async () => {
    await ready(page, "content");
    const c = await checkContentRows(page, answers, await pageScope(page));
    if (c.content_types.length === 0) throw new Error("demo data has no content types");
    await page.locator('[data-testid="content-chart"] .recharts-bar-rectangle').first().waitFor({ timeout: WAIT_MS });
    await shot(page, "overview");
  });

  await test("filters: a preset and a platform change the numbers", page, async () => {
    const before = await text(page, '[data-testid="card-posts-value"]');
    await page.locator('select[name="preset"]').selectOption("last7");
    const s7 = await pageScope(page);
    const days = (Date.parse(s7.end) - Date.parse(s7.start)) / 86_400_000 + 1;
    assertEqual(days, 7, "days in 'last 7 days'");
    const o7 = await checkCards(page, answers, s7);
    await page.locator('select[name="platform"]').selectOption("twitter");
    const tw = await pageScope(page);
    assertEqual(tw.platform, "twitter", "platform filter");
    const oTw = await checkCards(page, answers, tw);
    // The comparison covers every platform, the filtered one highlighted; content types follow the filter.
    await ready(page, "platforms");
    await page.locator('[data-testid="platforms-table"] tr.selected[data-platform="twitter"]').waitFor({ timeout: WAIT_MS });
    await ready(page, "content");
    await checkContentRows(page, answers, tw);
    if (before === int(o7.summary.total_posts) && o7.summary.total_posts === oTw.summary.total_posts)
      throw new Error("the filters changed nothing on the page");
    await page.locator('select[name="preset"]').selectOption("lastMonth");
    const lm = await pageScope(page);
    if (!lm.start.endsWith("-01")) throw new Error(`last month starts ${lm.start}`);
    await checkCards(page, answers, lm);
    await page.locator('select[name="platform"]').selectOption("all");
    await page.locator('select[name="preset"]').selectOption("last30");
    await checkCards(page, answers, await pageScope(page));
  });

  await test("filters: a preset and compare-to are in the URL, kept on reload, and the numbers are the API's", page, async () => {
    await page.getByTestId("tab-overview").click();
    await page.locator('select[name="preset"]').selectOption("last90");
    await page.locator('select[name="compare"]').selectOption("year");
    await until("range=last90 and compare=year in the URL", async () => {
      const f = urlFilters(page);
      return f.range === "last90" && f.compare === "year" && f.business === String(BUSINESS) && f.platform === "all";
    });
    const s = await pageScope(page);
    assertEqual((Date.parse(s.end) - Date.parse(s.start)) / 86_400_000 + 1, 90, "days in 'last 90 days'");
    const o = await showsAnswer<Overview & { previous_period: { start_date: string; end_date: string } }>(
      page, answers, ["/overview", { ...scoped(s), compare: "year" }],
      (o) => [['[data-testid="card-posts-value"]', int(o.summary.total_posts)]],
    );
    const range = page.getByTestId("range");
    assertEqual(await range.getAttribute("data-compare-start"), o.previous_period.start_date, "the compared period's first day");
    assertEqual(await range.getAttribute("data-compare-end"), o.previous_period.end_date, "the compared period's last day");
    const address = page.url();
    await page.reload();
    await ready(page, "summary");
    assertEqual(await page.locator('select[name="preset"]').inputValue(), "last90", "the preset after a reload");
    assertEqual(await page.locator('select[name="compare"]').inputValue(), "year", "compare-to after a reload");
    assertEqual(JSON.stringify(await pageScope(page)), JSON.stringify(s), "the range after a reload");
    assertEqual(page.url(), address, "the address after a reload");
    await showsAnswer<Overview>(page, answers, ["/overview", { ...scoped(s), compare: "year" }], (o) => [
      ['[data-testid="card-posts-value"]', int(o.summary.total_posts)],
    ]);
    await page.locator('select[name="compare"]').selectOption("previous");
    await page.locator('select[name="preset"]').selectOption("last30");
    await until("range=last30 in the URL", async () => urlFilters(page).range === "last30");
    // Back undoes one choice at a time: the preset, then compare-to; Forward redoes it.
    await page.goBack();
    await until("Back: the 90 days again", async () => (await page.locator('select[name="preset"]').inputValue()) === "last90" && urlFilters(page).range === "last90");
    assertEqual(await page.locator('select[name="compare"]').inputValue(), "previous", "compare-to after one Back");
    await page.goBack();
    await until("Back again: compared with a year earlier", async () => (await page.locator('select[name="compare"]').inputValue()) === "year");
    await page.goForward();
    await page.goForward();
    await until("Forward twice: the last 30 days, compared with the previous period", async () =>
      (await page.locator('select[name="preset"]').inputValue()) === "last30" && (await page.locator('select[name="compare"]').inputValue()) === "previous");
    await ready(page, "summary");
  });

  await test("filters: a custom range applies on Apply only, never per keystroke, and is kept on reload", page, async () => {
    const before = await pageScope(page);
    const [start, end] = [addDays(before.end, -13), addDays(before.end, -1)];
    await page.locator('select[name="preset"]').selectOption("custom");
    await page.locator('input[name="start"]').fill(start);
    await page.locator('input[name="end"]').fill(addDays(start, -3)); // before the start: not asked
    await page.getByTestId("range-apply").click();
    await page.getByTestId("range-problem").waitFor({ timeout: WAIT_MS });
    await page.locator('input[name="end"]').fill(end);
    await page.waitForTimeout(1000);
    const early = answers.questions().filter((q) => q.includes(`start_date=${start}`));
    assertEqual(early.join(" "), "", "questions asked before Apply");
    assertEqual(JSON.stringify(await pageScope(page)), JSON.stringify(before), "the range before Apply");
    await page.getByTestId("range-apply").click();
    await until("the custom range in the URL", async () => {
      const f = urlFilters(page);
      return f.range === "custom" && f.from === start && f.to === end;
    });
    const custom = { ...before, start, end };
    assertEqual(JSON.stringify(await pageScope(page)), JSON.stringify(custom), "the range after Apply");
    await checkCards(page, answers, custom);
    await page.reload();
    await ready(page, "summary");
    assertEqual(JSON.stringify(await pageScope(page)), JSON.stringify(custom), "the custom range after a reload");
    await checkCards(page, answers, custom);
    const refused = answers.questions().filter((q) => q.includes(`end_date=${addDays(start, -3)}`));
    assertEqual(refused.join(" "), "", "a question with the range Apply refused");
    await page.locator('select[name="preset"]').selectOption("last30");
    await until("range=last30 in the URL", async () => urlFilters(page).range === "last30");
  });

  await test("trends: the line chart matches /trends (daily, weekly, activity)", page, async () => {
    await page.getByTestId("tab-trends").click();
    for (const [period, basis] of [["daily", "publish"], ["weekly", "publish"], ["daily", "activity"]] as const) {
      await page.locator('select[name="trend-period"]').selectOption(period);
      await page.locator('select[name="trend-basis"]').selectOption(basis);
      await ready(page, "trends");
      const compare = await pageCompare(page);
      const t = await showsAnswer<Trends>(page, answers, ["/trends", { ...scoped(await pageScope(page)), period, basis, compare }], (t) => [
        ['[data-testid="trends-count"]', String(t.trends.length)],
        ['[data-testid="trends-total-engagement"]', int(t.trends.reduce((a, x) => a + x.engagement, 0))],
        ['[data-testid="trends-total-impressions"]', int(t.trends.reduce((a, x) => a + x.impressions, 0))],
        // The chosen metric (engagements) beside the compared period's, which is drawn dashed.
        ['[data-testid="trends-metric-total"]', int(t.trends.reduce((a, x) => a + x.engagement, 0))],
        ['[data-testid="trends-compared-total"]', int((t.compared_trends ?? []).reduce((a, x) => a + (x.engagement ?? 0), 0))],
      ]);
      if ((t.compared_trends ?? []).length !== t.trends.length) throw new Error("the compared series is not beside the range's");
      await page.locator('[data-testid="trends-chart"] .trend-compared path.recharts-line-curve').first().waitFor({ state: "attached", timeout: WAIT_MS });
      if (t.trends.some((x) => x.partial)) await page.getByTestId("trends-partial-note").waitFor({ timeout: WAIT_MS });
      await page.locator('[data-testid="trends-chart"] path.recharts-line-curve').first().waitFor({ state: "attached", timeout: WAIT_MS });
    }
    await page.locator('select[name="trend-basis"]').selectOption("publish");
    await ready(page, "trends");
    // Another metric, split by platform: one line per platform, in its own colour.
    await page.locator('select[name="trend-metric"]').selectOption("impressions");
    await page.locator('input[name="trend-split"]').check();
    const split = await answers.json<Trends & { by_platform: { platform: string }[] }>("/trends", {
      ...scoped(await pageScope(page)), period: "daily", basis: "publish", compare: await pageCompare(page),
    });
    await shows(page, '[data-testid="trends-metric-total"]', int(split.trends.reduce((a, x) => a + x.impressions, 0)));
    await until("a line per platform", async () =>
      (await page.locator('[data-testid="trends-chart"] .trend-current path.recharts-line-curve').count()) === split.by_platform.length,
    );
    await shot(page, "trends");
    await page.locator('input[name="trend-split"]').uncheck();
    await page.locator('select[name="trend-metric"]').selectOption("engagement");
  });

  let firstPost = 0;
  await test("top posts: cards show icon, link and /top-posts' values; another metric sorts as the API does", page, async () => {
    await page.getByTestId("tab-top-posts").click();
    const s = await pageScope(page);
    const cards = page.locator(POST_CARDS);
    await ready(page, "top-posts");
    const byRate = await showsAnswer<{ top_posts: TopPost[] }>(
      page, answers, ["/top-posts", { ...scoped(s), metric: "engagement_rate", limit: 20 }],
      (a) => a.top_posts.flatMap((p, i): [string, string][] => [
        [cardValue(i, "engagement_rate"), pct(p.engagement_rate)],
        [cardValue(i, "impressions"), count(p.impressions)],
        [cardValue(i, "likes"), count(p.likes)],
        [cardValue(i, "comments"), count(p.comments)],
        [`${card(i)} [data-testid="ranked-value"] strong`, pct(p.engagement_rate)],
      ]),
    );
    await until("a card per post", async () => (await cards.count()) === byRate.top_posts.length);
    for (const [i, p] of byRate.top_posts.entries()) {
      const li = page.locator(card(i));
      assertEqual(Number(await li.getAttribute("data-post-id")), p.post_id, `card ${i + 1}'s post`);
      const icon = li.locator(`.post-card-meta svg[data-platform-icon="${p.platform}"][role="img"]`);
      assertEqual(await icon.getAttribute("aria-label"), PLATFORM_NAMES[p.platform], `card ${i + 1}'s platform icon`);
      const link = li.getByTestId("post-link");
      if (p.platform_post_url === null) assertEqual(await link.count(), 0, `card ${i + 1}'s link to a post without an address`);
      else {
        assertEqual(await link.getAttribute("href"), p.platform_post_url, `card ${i + 1}'s link to the post`);
        assertEqual(await link.getAttribute("target"), "_blank", `card ${i + 1}'s link target`);
        assertEqual((await link.getAttribute("rel"))?.split(/\s+/).sort().join(" "), "noopener noreferrer", `card ${i + 1}'s link rel`);
      }
      // Only what the platform reports (or, beyond the table, what the API did report).
      const reported = (p as unknown as Record<string, unknown>);
      const cols = await li.locator("dl [data-col]").evaluateAll((els) => els.map((e) => e.getAttribute("data-col") ?? ""));
      const rates = ["engagement", "engagement_rate", ...(REPORTED[p.platform].includes("clicks") ? ["click_through_rate"] : [])];
      const foreign = cols.filter((c) => !rates.includes(c) && !REPORTED[p.platform].includes(c) && reported[c] == null);
      if (foreign.length) throw new Error(`card ${i + 1} (${p.platform}) shows metrics the platform does not report: ${foreign.join(", ")}`);
    }
    await page.locator('select[name="metric"]').selectOption("impressions");
    const byImp = await showsAnswer<{ top_posts: TopPost[] }>(
      page, answers, ["/top-posts", { ...scoped(s), metric: "impressions", limit: 20 }],
      (a) => a.top_posts.flatMap((p, i): [string, string][] => [
        [cardValue(i, "impressions"), count(p.impressions)],
        [`${card(i)} [data-testid="ranked-value"] strong`, count(p.impressions)],
      ]),
    );
    const order = await cards.evaluateAll((lis) => lis.map((li) => Number(li.getAttribute("data-post-id"))));
    assertEqual(order.join(" "), byImp.top_posts.map((p) => p.post_id).join(" "), "the cards' order by impressions");
    firstPost = byImp.top_posts[0].post_id;
    // More than 20: the page asks for 50 and shows every one the API gives.
    await page.locator('select[name="limit"]').selectOption("50");
    await until("the page to ask for 50 posts", async () => {
      const more = await answers.json<{ top_posts: TopPost[] }>("/top-posts", { ...scoped(s), metric: "impressions", limit: 50 });
      return (await cards.count()) === more.top_posts.length;
    });
    // On a phone the ranked number is on screen, not cut off to the right.
    const size = page.viewportSize();
    await page.setViewportSize({ width: 390, height: 844 });
    const box = await page.locator(`${card(0)} [data-testid="ranked-value"]`).boundingBox();
    if (!box || box.x < 0 || box.x + box.width > 390) throw new Error(`the ranked number is off a 390 px screen: ${JSON.stringify(box)}`);
    await shot(page, "top-posts-phone");
    if (size) await page.setViewportSize(size);
    await shot(page, "top-posts");
  });

  await test("post detail: titled by the post; only its platform's metrics; history per metric matches /posts/{id}", page, async () => {
    if (!firstPost) throw new Error("no post to open");
    await page.locator(`${POST_CARDS}[data-post-id="${firstPost}"] a.post-card-title`).click();
    await ready(page, "post-detail");
    const p = await showsAnswer<PostDetail>(page, answers, [`/posts/${firstPost}`, {}], (p) => [
      ['[data-testid="post-engagement-rate"]', pct(p.engagement_rate)],
      ['[data-testid="history-count"]', String(p.history.length)],
      ['[data-testid="post-metrics"] tr[data-metric="impressions"] td', count(p.impressions)],
    ]);
    const title = await text(page, '[data-testid="post-detail"] h2');
    if (/^Post \d+$/.test(title) || !title.startsWith(PLATFORM_NAMES[p.platform]))
      throw new Error(`post detail is titled ${JSON.stringify(title)}, not by its platform and post`);
    const shown = await page.locator('[data-testid="post-metrics"] tr[data-metric]').evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-metric") ?? ""));
    const foreign = shown.filter((m) => !REPORTED[p.platform].includes(m) && p[m] == null);
    if (foreign.length) throw new Error(`a ${p.platform} post shows metrics the platform does not report: ${foreign.join(", ")}`);
    for (const m of shown.filter((m) => m !== "video_watch_time_s"))
      assertEqual(await text(page, `[data-testid="post-metrics"] tr[data-metric="${m}"] td`), count(p[m] as number | null), `the post's ${m}`);
    if (!REPORTED[p.platform].includes("clicks")) assertEqual(await page.getByTestId("post-ctr").count(), 0, "a click-through rate where clicks are not reported");
    else await shows(page, '[data-testid="post-ctr"]', p.click_through_rate !== null ? pct(p.click_through_rate) : p.clicks === null ? "not reported" : "—");
    const charts = await page.locator('[data-testid="history-chart"] figure[data-metric]').evaluateAll((fs) => fs.map((f) => f.getAttribute("data-metric") ?? ""));
    const foreignCharts = charts.filter((m) => !["engagement", "engagement_rate", ...REPORTED[p.platform]].includes(m) && p[m] == null);
    if (foreignCharts.length) throw new Error(`history charts of metrics the platform does not report: ${foreignCharts.join(", ")}`);
    if (p.history.length > 0 && !charts.includes("impressions") && p.impressions !== null) throw new Error(`no impressions history chart among ${charts.join(", ")}`);
    // Two or more snapshots draw a line per metric; a single snapshot draws only its dots
    // (a fresh demo can have posts polled once) and the page says why there is no line.
    if (p.history.length > 1)
      await page.locator('[data-testid="history-chart"] path.recharts-line-curve').first().waitFor({ state: "attached", timeout: WAIT_MS });
    if (p.history.length === 1) {
      await page.locator('[data-testid="history-chart"] .recharts-line-dot').first().waitFor({ state: "attached", timeout: WAIT_MS });
      await page.getByTestId("history-single").waitFor({ timeout: WAIT_MS });
    }
    await shot(page, "post-detail");
  });

  await test("top posts: the ranking and the number shown are in the address, kept on reload", page, async () => {
    await page.getByTestId("tab-top-posts").click();
    await ready(page, "top-posts");
    await page.locator('select[name="metric"]').selectOption("impressions");
    await page.locator('select[name="limit"]').selectOption("50");
    await until("sort=impressions&show=50 in the address", async () => {
      const q = new URL(page.url()).searchParams;
      return q.get("sort") === "impressions" && q.get("show") === "50";
    });
    await page.reload();
    await ready(page, "top-posts");
    assertEqual(await page.locator('select[name="metric"]').inputValue(), "impressions", "the ranking after a reload");
    assertEqual(await page.locator('select[name="limit"]').inputValue(), "50", "the number shown after a reload");
    const s = await pageScope(page);
    await showsAnswer<{ top_posts: TopPost[] }>(
      page, answers, ["/top-posts", { ...scoped(s), metric: "impressions", limit: 50 }],
      (a) => a.top_posts.slice(0, 3).map((p, i): [string, string] => [cardValue(i, "impressions"), count(p.impressions)]),
    );
    await page.locator('select[name="metric"]').selectOption("engagement_rate");
    await page.locator('select[name="limit"]').selectOption("20");
    await showsAnswer<{ top_posts: TopPost[] }>(
      page, answers, ["/top-posts", { ...scoped(s), metric: "engagement_rate", limit: 20 }],
      (a) => a.top_posts.slice(0, 3).map((p, i): [string, string] => [cardValue(i, "engagement_rate"), pct(p.engagement_rate)]),
    );
    await until("the 20 posts listed", async () => (await page.locator(POST_CARDS).count()) <= 20);
    // Another view's link does not carry Top posts' choices.
    const trendsHref = await page.getByTestId("tab-trends").getAttribute("href");
    if (trendsHref?.includes("sort=")) throw new Error(`the Trends tab links to ${trendsHref}`);
  });

  await test("best times: heatmap and confidence match /best-times", page, async () => {
    await page.getByTestId("tab-best-times").click();
    const s = await pageScope(page);
    await ready(page, "best-times");
    // The toolbar's range, not a window of its own.
    const b = await showsAnswer<BestTimes>(page, answers, ["/best-times", scoped(s)], (b) => [
      ['[data-testid="confidence-value"]', String(b.confidence_score)],
    ]);
    const days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
    if (b.best_day !== null) {
      const shown = await text(page, '[data-testid="best-slot-value"]');
      if (!shown.startsWith(days[b.best_day])) throw new Error(`best day: page shows ${shown}, API says ${days[b.best_day]}`);
    }
    assertEqual(await page.locator('[data-testid="heatmap"] td.cell').count(), 7 * 24, "heatmap cells");
    const posts = await page.locator('[data-testid="heatmap"] td.cell').evaluateAll((cells) =>
      cells.reduce((a, c) => a + Number(c.getAttribute("data-posts") ?? 0), 0),
    );
    assertEqual(posts, b.posts_considered, "posts in the heatmap");
    for (const slot of b.by_slot.slice(0, 5)) {
      const cell = page.locator(`[data-testid="heatmap"] td.cell[data-day="${slot.day}"][data-hour="${slot.hour}"]`);
      assertEqual(Number(await cell.getAttribute("data-posts")), slot.posts, `posts at ${slot.day}:${slot.hour}`);
    }
    await heatmapReadable(page, b);
    await shot(page, "best-times");
  });

  await test("every view at 1,440 and 390 px: axe-core finds no serious or critical WCAG 2.2 A/AA violation, nothing is wider than the screen; a screenshot of each; Tab reaches every control and no chart part", page, async () => {
    const failures: string[] = [];
    const views: [string, () => Promise<void>][] = [
      ["overview", async () => {
        await page.getByTestId("tab-overview").click();
        await ready(page, "summary");
        await ready(page, "platforms");
        await ready(page, "content");
      }],
      ["trends", async () => {
        await page.getByTestId("tab-trends").click();
        await ready(page, "trends");
        await page.locator('[data-testid="trends-chart"] path.recharts-line-curve').first().waitFor({ state: "attached", timeout: WAIT_MS });
      }],
      ["top-posts", async () => {
        await page.getByTestId("tab-top-posts").click();
        await ready(page, "top-posts");
      }],
      ["post-detail", async () => {
        await page.locator(`${POST_CARDS} a.post-card-title`).first().click();
        await ready(page, "post-detail");
      }],
      ["best-times", async () => {
        await page.getByTestId("tab-best-times").click();
        await ready(page, "best-times");
      }],
      ["reports", () => openReports(page)],
      ["alerts", () => openAlerts(page)],
      ["connections", async () => {
        await page.getByTestId("tab-connections").click();
        await ready(page, "connections");
      }],
      ["team", async () => {
        await page.getByTestId("tab-team").click();
        await ready(page, "members");
      }],
    ];
    try {
      // The keyboard: Tab from the top of the overview reaches every control and link, and
      // no part of a chart (its numbers are in the tables beside it).
      await page.setViewportSize({ width: 1440, height: 900 });
      await views[0][1]();
      await page.reload(); // Tab then starts from the top of the page
      await ready(page, "summary");
      await ready(page, "platforms");
      await ready(page, "content");
      const stops: string[] = [];
      for (let i = 0; i < 60; i++) {
        await page.keyboard.press("Tab");
        const stop = await page.evaluate(() => {
          const e = document.activeElement;
          if (!e || e === document.body) return "";
          const named = e.getAttribute("aria-label") ?? e.getAttribute("name") ?? (e.textContent ?? "").trim().slice(0, 24);
          return `${e.tagName.toLowerCase()}${e.closest("svg") ? "(in a chart)" : ""} ${JSON.stringify(named)}`;
        });
        if (!stop) break;
        stops.push(stop);
      }
      const inCharts = stops.filter((s) => s.includes("(in a chart)"));
      if (inCharts.length) failures.push(`Tab stops inside charts: ${inCharts.join(", ")}`);
      for (const wanted of ['"business"', '"platform"', '"preset"', '"compare"', '"Overview"', '"Reports"', '"Alerts', '"Team"'])
        if (!stops.some((s) => s.includes(wanted))) failures.push(`Tab never reaches ${wanted} (stops: ${stops.join(", ")})`);
      for (const [width, height] of [[1440, 900], [390, 844]]) {
        await page.setViewportSize({ width, height });
        for (const [view, open] of views) {
          await open();
          try {
            await accessible(page, view);
          } catch (err) {
            failures.push(err instanceof Error ? err.message : String(err));
          }
          const [scrollWidth, innerWidth] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
          if (scrollWidth > innerWidth + 1) failures.push(`${view} at ${width}px is ${scrollWidth}px wide`);
          await shot(page, `view-${view}-${width}`);
        }
      }
    } finally {
      await page.setViewportSize({ width: 1280, height: 900 });
      await page.getByTestId("tab-overview").click();
    }
    if (failures.length) throw new Error(failures.join(" | "));
  });

  await test("reports: the owner makes a weekly schedule in the form and it is listed; Send now queues it and its delivery shows in the log; its preview is a PDF; paused, resumed, its recipients edited; Delete asks, then it is gone", page, async () => {
    await openReports(page);
    const address = `e2e-report-${Date.now()}@example.com`;
    let schedule: ReportSchedule | null = null;
    try {
      // A wrong address first: refused beside the recipients, nothing made.
      await page.locator('textarea[name="schedule-recipients"]').fill(`${address}, not-an-address`);
      await page.getByTestId("create-schedule").click();
      const refused = page.getByTestId("schedule-recipients-error");
      await refused.waitFor({ timeout: WAIT_MS });
      const said = await refused.innerText();
      if (!/Address 2: .*not an email address/.test(said)) throw new Error(`the refusal beside the recipients: ${said}`);
      assertEqual(await page.locator('textarea[name="schedule-recipients"]').getAttribute("aria-describedby"), "schedule-recipients-error", "the recipients' description");
      // Then the right one: weekly, the CSV attached.
      await page.locator('select[name="schedule-kind"]').selectOption("weekly");
      await page.locator('textarea[name="schedule-recipients"]').fill(address);
      await page.locator('input[name="schedule-csv"]').check();
      const made = page.waitForResponse((r) => r.request().method() === "POST" && new URL(r.url()).pathname === `${REPORTER}/reports/schedules`, { timeout: WAIT_MS });
      await page.getByTestId("create-schedule").click();
      const answer = await made;
      checkSessionCall(answer.request(), "creating a schedule");
      assertEqual(answer.request().postData(), JSON.stringify({ kind: "weekly", recipients: [address], include_csv: true }), "the new schedule's body");
      assertEqual(answer.status(), 201, "creating a schedule");
      schedule = (await answer.json()) as ReportSchedule;
      const row = page.locator(`[data-testid="schedule-row"][data-schedule-id="${schedule.id}"]`);
      await row.waitFor({ timeout: WAIT_MS });
      if (!(await row.getByTestId("schedule-kind").innerText()).startsWith("Weekly, Mondays")) throw new Error(`the schedule's kind: ${await row.getByTestId("schedule-kind").innerText()}`);
      assertEqual((await row.getByTestId("schedule-recipients").innerText()).trim(), address, "the schedule's recipients");
      assertEqual((await row.getByTestId("schedule-csv").innerText()).trim(), "Attached", "the schedule's CSV");
      assertEqual((await row.getByTestId("schedule-state").innerText()).trim(), "Active", "the schedule's state");
      // Send now: queued, and its delivery in the log at once.
      const asked = page.waitForResponse((r) => r.request().method() === "POST" && new URL(r.url()).pathname === `${REPORTER}/reports/schedules/${schedule!.id}/send-now`, { timeout: WAIT_MS });
      await row.getByTestId("send-now").click();
      const sent = await asked;
      checkSessionCall(sent.request(), "send now");
      assertEqual(sent.status(), 202, "send now");
      const queued = (await sent.json()) as SendNowAnswer;
      const notice = page.getByTestId("schedules-notice");
      await notice.waitFor({ timeout: WAIT_MS });
      if (!(await notice.innerText()).startsWith("Queued:")) throw new Error(`after Send now: ${await notice.innerText()}`);
      const delivery = page.locator(`[data-testid="delivery-row"][data-delivery-key="${queued.delivery_key}"]`);
      await delivery.waitFor({ timeout: WAIT_MS });
      console.log(`      queued ${queued.delivery_key} for ${queued.period.start} – ${queued.period.end}: ${await delivery.getAttribute("data-status")}`);
      await shot(page, "reports-queued");
      // The preview: a link to a new tab; fetched as the page would, it is a PDF.
      const link = row.getByTestId("preview-pdf");
      assertEqual(await link.getAttribute("target"), "_blank", "the preview link's target");
      const href = (await link.getAttribute("href")) ?? "";
      assertEqual(href, `${REPORTER}/reports/schedules/${schedule.id}/preview.pdf`, "the preview link");
      const pdf = await page.evaluate(async (url) => {
        const res = await fetch(url, { credentials: "same-origin" });
        const bytes = new Uint8Array(await res.arrayBuffer());
        return { status: res.status, type: res.headers.get("content-type") ?? "", magic: String.fromCharCode(...bytes.slice(0, 4)), size: bytes.length };
      }, href);
      console.log(`      preview: HTTP ${pdf.status}, ${pdf.type}, ${pdf.size.toLocaleString("en-US")} bytes`);
      assertEqual(pdf.status, 200, "the preview's status");
      if (!pdf.type.startsWith("application/pdf")) throw new Error(`the preview's Content-Type: ${pdf.type}`);
      assertEqual(pdf.magic, "%PDF", "the preview's first bytes");
      // The worker picks it up within its poll (30 s) and renders: told, not required (stale
      // data may hold it back for hours, by design).
      await until("the delivery to leave pending", async () => (await delivery.getAttribute("data-status")) !== "pending", 75_000).catch(() => undefined);
      console.log(`      the delivery now: ${await delivery.getAttribute("data-status")}: ${(await delivery.getByTestId("delivery-reason").innerText()).trim()}`);
      await onPhone(page, "reports", () => openReports(page));
      // Pause and resume; another recipient, refused then saved, beside its field.
      await row.getByTestId("pause-schedule").click();
      await page.locator(`[data-testid="schedule-row"][data-schedule-id="${schedule.id}"][data-paused="true"]`).waitFor({ timeout: WAIT_MS });
      assertEqual((await row.getByTestId("schedule-state").innerText()).trim(), "Paused", "the paused schedule's state");
      await row.getByTestId("resume-schedule").click();
      await page.locator(`[data-testid="schedule-row"][data-schedule-id="${schedule.id}"][data-paused="false"]`).waitFor({ timeout: WAIT_MS });
      await row.getByTestId("edit-schedule").click();
      const edit = page.getByTestId("schedule-edit-form");
      await edit.locator('textarea[name="edit-recipients"]').fill(`${address}\nnope@`);
      await edit.getByTestId("save-schedule").click();
      await page.getByTestId(`schedule-${schedule.id}-recipients-error`).waitFor({ timeout: WAIT_MS });
      const second = `second-${address}`;
      await edit.locator('textarea[name="edit-recipients"]').fill(`${address}, ${second}`);
      await edit.getByTestId("save-schedule").click();
      await edit.waitFor({ state: "detached", timeout: WAIT_MS });
      await until("both recipients listed", async () => (await row.getByTestId("schedule-recipients").innerText()).includes(second));
      // Delete: asked first, then gone.
      await row.getByTestId("delete-schedule").click();
      await row.getByTestId("delete-confirm").waitFor({ timeout: WAIT_MS });
      await shot(page, "reports-delete-confirm");
      await row.getByTestId("confirm-delete").click();
      await row.waitFor({ state: "detached", timeout: WAIT_MS });
      const left = await sessionJson<ReportSchedule[]>(context, "GET", `${REPORTER}/reports/schedules`);
      assertEqual(left.some((x) => x.id === schedule?.id), false, "the deleted schedule still listed");
      schedule = null;
    } finally {
      if (schedule) await session(context, "DELETE", `${REPORTER}/reports/schedules/${schedule.id}`);
      // The report mailed to the address, if it went, out of the inbox.
      const ids = [...(await mailsTo(address).catch(() => new Set<string>()))];
      if (ids.length) await mailpit("/api/v1/messages", { method: "DELETE", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ IDs: ids }) });
    }
  });

  await test("reports: the colour (a picker and its hex, checked here); the logo checked here, uploaded, shown and removed; Tab reaches every control of the view", page, async () => {
    await openReports(page);
    const hex = page.locator('input[name="brand-colour"]');
    const picker = page.locator('input[name="brand-colour-picker"]');
    assertEqual(await picker.getAttribute("type"), "color", "the colour picker");
    assertEqual((await picker.inputValue()).toLowerCase(), (await hex.inputValue()).toLowerCase(), "the picker and the hex");
    // A malformed hex is refused here, beside the field, before any call.
    const before = await hex.inputValue();
    await hex.fill("#12");
    await page.getByTestId("save-colour").click();
    await page.getByTestId("brand-colour-error").waitFor({ timeout: WAIT_MS });
    await hex.fill(before);
    const branding = await sessionJson<{ logo: { url: string } | null }>(context, "GET", `${REPORTER}/reports/branding`);
    if (branding.logo) {
      const src = (await page.getByTestId("logo").getAttribute("src")) ?? "";
      if (!src.startsWith(`${REPORTER}/reports/branding/logo`)) throw new Error(`the logo's src: ${src}`);
      assertEqual(await page.getByTestId("logo").evaluate((img) => (img as HTMLImageElement).naturalWidth > 0), true, "the logo shown");
    } else {
      // No logo yet: an SVG is refused here, before any call; a PNG is uploaded, shown, then removed.
      await page.getByTestId("no-logo").waitFor({ timeout: WAIT_MS });
      const input = page.locator('input[name="brand-logo"]');
      await input.setInputFiles({ name: "logo.svg", mimeType: "image/svg+xml", buffer: Buffer.from("<svg xmlns='http://www.w3.org/2000/svg'/>") });
      const refused = await page.getByTestId("brand-logo-error").innerText({ timeout: WAIT_MS });
      if (!/PNG, JPEG or WebP/.test(refused)) throw new Error(`an SVG logo: ${refused}`);
      const uploaded = page.waitForResponse((r) => r.request().method() === "PUT" && new URL(r.url()).pathname === `${REPORTER}/reports/branding/logo`, { timeout: WAIT_MS });
      await input.setInputFiles({ name: "logo.png", mimeType: "image/png", buffer: Buffer.from(TINY_PNG, "base64") });
      const answer = await uploaded;
      checkSessionCall(answer.request(), "uploading the logo");
      assertEqual(answer.request().headers()["content-type"], "image/png", "the logo's Content-Type");
      assertEqual(answer.status(), 200, "uploading the logo");
      const logo = page.getByTestId("logo");
      await logo.waitFor({ timeout: WAIT_MS });
      await until("the logo to load", async () => logo.evaluate((img) => (img as HTMLImageElement).complete && (img as HTMLImageElement).naturalWidth > 0));
      await shot(page, "reports-logo");
      await page.getByTestId("remove-logo").click();
      await page.getByTestId("no-logo").waitFor({ timeout: WAIT_MS });
    }
    const stops = await tabStops(page, 300);
    for (const wanted of ['"schedule-kind"', '"schedule-recipients"', '"schedule-csv"', '"create-schedule"', '"brand-colour-picker"', '"brand-colour"', '"save-colour"', '"brand-logo"'])
      if (!stops.some((s) => s.includes(wanted))) throw new Error(`Tab never reaches ${wanted} (stops: ${stops.join(", ")})`);
  });

  await test("alerts: the list (or its empty state) and the unread count are the API's; a webhook to a private address is refused beside its field; the 90-day preview lists what would have fired", page, async () => {
    const saved = await sessionJson<AlertSettingsAnswer>(context, "GET", `${REPORTER}/alerts/settings`);
    await openAlerts(page);
    const listed = await sessionJson<AlertsAnswer>(context, "GET", `${REPORTER}/alerts?limit=50`);
    const items = page.getByTestId("alert-item");
    if (listed.alerts.length === 0) {
      const none = await page.getByTestId("alerts-none").innerText();
      if (!none.startsWith("No alert yet")) throw new Error(`the empty list says: ${none}`);
    } else assertEqual(await items.count(), listed.alerts.length, "alerts listed");
    const tab = page.getByTestId("tab-alerts");
    if (listed.unread > 0) {
      await until("the unread count on the tab", async () => (await tab.innerText()).includes(`(${listed.unread >= 100 ? "99+" : listed.unread})`));
      if (!(await tab.innerText()).includes("unread")) throw new Error(`the tab's unread count has no words for a screen reader: ${await tab.innerText()}`);
    } else assertEqual(await page.getByTestId("alerts-unread").count(), 0, "an unread count with nothing unread");
    console.log(`      ${listed.alerts.length} alert(s), ${listed.unread} unread`);
    // The webhook: a private address is refused, the message beside the field, nothing saved.
    await page.locator('input[name="webhook-choice"][value="replace"]').check();
    const url = page.locator('input[name="webhook-url"]');
    await url.fill("https://10.0.0.1/hook");
    const put = page.waitForResponse((r) => r.request().method() === "PUT" && new URL(r.url()).pathname === `${REPORTER}/alerts/settings`, { timeout: WAIT_MS });
    await page.getByTestId("save-alert-settings").click();
    const refused = await put;
    checkSessionCall(refused.request(), "saving the alert settings");
    assertEqual(refused.status(), 422, "a webhook to 10.0.0.1");
    const error = page.getByTestId("webhook-url-error");
    await error.waitFor({ timeout: WAIT_MS });
    const said = await error.innerText();
    console.log(`      beside the webhook: ${said}`);
    if (!said.includes("10.0.0.1") || !/private/.test(said)) throw new Error(`the message beside the webhook: ${said}`);
    assertEqual(await url.getAttribute("aria-describedby"), "webhook-url-error", "the webhook field's description");
    assertEqual(await url.getAttribute("aria-invalid"), "true", "the webhook field marked invalid");
    const after = await sessionJson<AlertSettingsAnswer>(context, "GET", `${REPORTER}/alerts/settings`);
    assertEqual(JSON.stringify(after), JSON.stringify(saved), "the settings after a refusal");
    await shot(page, "alerts-webhook-refused");
    // The preview at a chosen sensitivity: its count and sentences are the answer's.
    await page.locator('select[name="preview-sensitivity"]').selectOption("high");
    const asked = page.waitForResponse((r) => new URL(r.url()).pathname === `${REPORTER}/alerts/preview`, { timeout: 90_000 });
    await page.getByTestId("run-alert-preview").click();
    const answer = await asked;
    assertEqual(new URL(answer.url()).searchParams.get("sensitivity"), "high", "the preview's sensitivity");
    assertEqual(new URL(answer.url()).searchParams.get("days"), "90", "the preview's days");
    assertEqual(answer.status(), 200, "the preview");
    const preview = (await answer.json()) as { alerts: { sentence: string }[] };
    await page.locator('[data-testid="alert-preview"][data-state="ready"]').waitFor({ timeout: WAIT_MS });
    assertEqual(await page.getByTestId("alert-preview-result").getAttribute("data-count"), String(preview.alerts.length), "alerts in the preview");
    const sentences = await page.locator('[data-testid="preview-alert"] .alert-sentence').allInnerTexts();
    assertEqual(sentences.map((t) => t.trim()).join(" | "), preview.alerts.map((a) => a.sentence).join(" | "), "the preview's sentences");
    console.log(`      preview (high): ${await page.getByTestId("alert-preview-count").innerText()}`);
    await shot(page, "alerts-preview");
    const stops = await tabStops(page, 200 + 3 * listed.alerts.length);
    for (const wanted of ['"alert-sensitivity"', '"alert-recipients"', '"webhook-choice"', '"webhook-url"', '"save-alert-settings"', '"preview-sensitivity"', '"run-alert-preview"'])
      if (!stops.some((s) => s.includes(wanted))) throw new Error(`Tab never reaches ${wanted} (stops: ${stops.join(", ")})`);
    await onPhone(page, "alerts", () => openAlerts(page));
  });

  await test("an alert mail's link, /?business=<id>#/alerts, opens the Alerts view of that business", page, async () => {
    const select = page.locator('select[name="business"]');
    const others = (await select.locator("option").evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value))).filter((v) => v !== String(BUSINESS));
    // Another business entered first (when there is one), so the link's own is what opens.
    if (others.length) {
      await enterBusiness(page, Number(others[0]));
      await ready(page, "alerts");
    }
    await page.goto(`${ORIGIN}/?business=${BUSINESS}#/alerts`);
    await ready(page, "alerts");
    assertEqual(await page.locator('select[name="business"]').inputValue(), String(BUSINESS), "the business the link opened");
    assertEqual(await page.getByTestId("tab-alerts").getAttribute("aria-current"), "page", "the tab the link opened");
    assertEqual(new URL(page.url()).hash, "#/alerts", "the view in the address");
    await page.getByTestId("tab-overview").click();
    await ready(page, "summary");
  });

  await test("export: CSV and JSON downloads hold the rows of the page's /export answers", page, async () => {
    await page.getByTestId("tab-overview").click();
    const s = await pageScope(page);
    const [csvDownload] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-csv").click()]);
    if (!csvDownload.suggestedFilename().endsWith(".csv")) throw new Error(`file named ${csvDownload.suggestedFilename()}`);
    const csv = readFileSync(await csvDownload.path(), "utf8");
    const apiCsv = await answers.text("/export", { ...scoped(s), format: "csv" });
    const ids = (body: string): string[] => {
      const lines = body.trim().split(/\r?\n/);
      const col = lines[0].split(",").indexOf("Post ID");
      // Post ID comes before any free-text column, so splitting on commas is safe up to it.
      return lines.slice(1).map((l) => l.split(",")[col]);
    };
    if (ids(apiCsv).length === 0) throw new Error("the CSV export has no rows");
    assertEqual(ids(csv).length, ids(apiCsv).length, "CSV rows");
    assertEqual(ids(csv).join(" "), ids(apiCsv).join(" "), "CSV post ids");
    const [jsonDownload] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-json").click()]);
    const postIds = (body: string): string =>
      (JSON.parse(body) as { posts: Json[] }).posts.map((p) => String(p.post_id)).join(" ");
    const json = readFileSync(await jsonDownload.path(), "utf8");
    const apiJson = await answers.text("/export", { ...scoped(s), format: "json" });
    assertEqual(postIds(json), postIds(apiJson), "JSON post ids");
  });

  await test("phone width: one column, nothing wider than the screen", page, async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    await ready(page, "summary");
    await ready(page, "platforms");
    const widths = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    if (widths[0] > widths[1] + 1) throw new Error(`page is ${widths[0]}px wide on a ${widths[1]}px screen`);
    const [a, b] = await page.locator(".two > .panel").evaluateAll((els) => els.map((e) => e.getBoundingClientRect().left));
    assertEqual(a, b, "panels stacked in one column");
    // The first card's number above the fold: the header and the toolbar are compact.
    await page.evaluate(() => window.scrollTo(0, 0));
    const posts = await page.getByTestId("card-posts-value").boundingBox();
    if (!posts || posts.y + posts.height > 844) throw new Error(`the posts card's value is below the fold at 390×844: ${JSON.stringify(posts)}`);
    // The filters are behind a disclosure naming the range; opened, they are all there.
    const toggle = page.getByTestId("filters-toggle");
    assertEqual(await toggle.getAttribute("aria-expanded"), "false", "the filters closed on a phone");
    if (!(await page.getByTestId("filters-summary").innerText()).includes("·")) throw new Error("the Filters button names no range");
    await toggle.click();
    await page.locator('select[name="platform"]').waitFor({ state: "visible", timeout: WAIT_MS });
    await page.locator('select[name="preset"]').waitFor({ state: "visible", timeout: WAIT_MS });
    await toggle.click();
    // The tabs are one line that scrolls inside itself, not a wider page.
    const tabTops = await page.locator("nav.tabs a").evaluateAll((as) => new Set(as.map((a) => Math.round(a.getBoundingClientRect().top))).size);
    assertEqual(tabTops, 1, "tabs in one line");
    const after = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    if (after[0] > after[1] + 1) throw new Error(`page is ${after[0]}px wide on a ${after[1]}px screen`);
    await shot(page, "overview-phone");
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  await test("empty and error states tell the user what to do", page, async () => {
    await page.getByTestId("tab-overview").click();
    await page.locator('select[name="preset"]').selectOption("custom");
    await page.locator('input[name="start"]').fill("2020-01-01");
    await page.locator('input[name="end"]').fill("2020-01-31");
    await page.getByTestId("range-apply").click();
    await page.getByTestId("platforms-empty").waitFor({ timeout: WAIT_MS });
    await page.getByTestId("content-empty").waitFor({ timeout: WAIT_MS });
    await shows(page, '[data-testid="card-posts-value"]', "0");
    await page.locator('select[name="preset"]').selectOption("last30");
    // A business the user is not a member of, remembered as the last one looked at (it was
    // left, or another person used this browser): the page enters one of /workspace/me's
    // businesses instead and asks nothing about it; query-api refuses it anyway.
    await page.evaluate(() => localStorage.setItem("pulse.business", "999999"));
    await page.reload();
    await ready(page, "summary");
    const shown = Number(await page.locator('select[name="business"]').inputValue());
    if (shown === 999999) throw new Error("the page entered a business the user is not a member of");
    const asked = answers.questions().filter((q) => q.includes("business_id=999999"));
    assertEqual(asked.join(" "), "", "questions about business 999999");
    const refused = await api<Calendar>("/calendar", { business_id: 999999 }).then(() => "answered", (err: unknown) => String(err));
    if (!/HTTP (403|404)/.test(refused)) throw new Error(`query-api on business 999999: ${refused}`);
    await enterBusiness(page, BUSINESS);
    await ready(page, "summary");
  });

  await test("a filter change keeps the numbers shown, dimmed, until the new ones come", page, async () => {
    await page.getByTestId("tab-overview").click();
    await ready(page, "summary");
    const shown = await text(page, '[data-testid="card-posts-value"]');
    // The overview's answers held back until the checks below are done.
    let release = (): void => undefined;
    const held = new Promise<void>((r) => (release = r));
    let asked = 0;
    const overview = (url: URL) => url.pathname === `${API_PATH}/overview`;
    const hold = async (route: Route) => {
      asked += 1;
      await held;
      await route.fallback();
    };
    await page.route(overview, hold);
    try {
      await page.locator('select[name="platform"]').selectOption("linkedin");
      await until("the page to ask for the new overview", async () => asked > 0);
      await page.getByTestId("summary-updating").waitFor({ timeout: WAIT_MS });
      assertEqual(await page.getByTestId("summary").getAttribute("data-state"), "loading", "the summary's state while its answer comes");
      assertEqual(await text(page, '[data-testid="card-posts-value"]'), shown, "the posts card while the new answer comes");
      await shot(page, "overview-updating");
    } finally {
      release();
      await page.unroute(overview, hold);
    }
    await ready(page, "summary");
    await checkCards(page, answers, await pageScope(page));
    assertEqual(await page.getByTestId("summary-updating").count(), 0, "the progress sign once the answer came");
    await page.locator('select[name="platform"]').selectOption("all");
    await ready(page, "summary");
  });

  await test("an outage: one banner names what failed, and its Retry loads it all again", page, async () => {
    await page.getByTestId("tab-overview").click();
    await ready(page, "summary");
    const title = await text(page, '[data-testid="summary"] h2');
    const analytics = (url: URL) => url.pathname.startsWith(`${API_PATH}/`);
    const down = (route: Route) =>
      route.fulfill({ status: 503, contentType: "application/json", body: JSON.stringify({ detail: "e2e: query-api is down" }) });
    await page.route(analytics, down);
    try {
      await page.locator('select[name="platform"]').selectOption("instagram");
      const banner = page.getByTestId("error-banner");
      await banner.waitFor({ timeout: WAIT_MS });
      await page.getByTestId("summary-failed").waitFor({ timeout: WAIT_MS });
      await page.getByTestId("content-failed").waitFor({ timeout: WAIT_MS });
      const said = await banner.innerText();
      if (!said.includes(title)) throw new Error(`the banner does not name ${title}: ${said}`);
      assertEqual(await banner.count(), 1, "error banners");
      assertEqual(await page.locator("main .state.error").count(), 0, "error boxes in the panels");
      assertEqual(await page.getByTestId("error-retry").count(), 1, "Retry buttons");
      await shot(page, "overview-outage");
    } finally {
      await page.unroute(analytics, down);
    }
    await page.getByTestId("error-retry").click();
    await page.getByTestId("error-banner").waitFor({ state: "detached", timeout: WAIT_MS });
    await ready(page, "summary");
    await ready(page, "content");
    await checkCards(page, answers, await pageScope(page));
    await page.locator('select[name="platform"]').selectOption("all");
    await ready(page, "summary");
  });

  await test("refresh: shows progress until data_as_of changes (or says it timed out)", page, async () => {
    await page.getByTestId("refresh").click();
    await until("refresh progress", async () => (await text(page, '[data-testid="action-status"]')).startsWith("Refreshing"));
    await page.locator('[data-testid="action-status"] progress').waitFor({ timeout: WAIT_MS });
    await page.locator('[data-testid="refresh"]:not([disabled])').waitFor({ timeout: PAGE_REFRESH_TIMEOUT_MS + WAIT_MS });
    const status = await text(page, '[data-testid="action-status"]');
    if (!/^(Fresh numbers in|No newer numbers yet)/.test(status)) throw new Error(`refresh ended with: ${status}`);
    console.log(`      refresh: ${status}`);
    // The outcome is told, then goes (with its progress bar).
    await page.getByTestId("action-status").waitFor({ state: "detached", timeout: WAIT_MS });
    // It watched the business's last 90 days, every platform.
    const { today } = await answers.json<Calendar>("/calendar", { business_id: BUSINESS });
    await answers.latest("/overview", { ...scoped({ start: addDays(today, -89), end: today, platform: "all" }) });
  });

  await test("a session that ended (its cookie gone): the next call's 401 brings the sign-in back; signing in again returns to the view", page, async () => {
    await page.getByTestId("tab-trends").click();
    await ready(page, "trends");
    for (const name of SESSION_COOKIES) await context.clearCookies({ name });
    await page.getByTestId("tab-top-posts").click();
    await page.getByTestId("signin-message").waitFor({ timeout: WAIT_MS });
    const said = await text(page, '[data-testid="signin-message"]');
    if (!/session has ended/i.test(said)) throw new Error(`the sign-in screen says: ${said}`);
    await shot(page, "session-ended");
    // The provider still knows the person: no password asked, straight back to the view.
    await page.getByTestId("sign-in").click();
    await until("back on the dashboard, signed in", async () =>
      new URL(page.url()).origin === ORIGIN && (await page.getByTestId("sign-out").count()) > 0,
    );
    assertEqual(new URL(page.url()).hash, "#/top-posts", "the view after signing in again");
    await enterBusiness(page, BUSINESS);
    await ready(page, "top-posts");
    await page.getByTestId("tab-overview").click();
    await ready(page, "summary");
  });

  let invitation = "";
  let colleagueContext: BrowserContext | null = null;
  let colleague: Page | null = null;
  await test(`team: the owner invites ${COLLEAGUE.email} as a viewer; the invitation is listed and mailed with its link`, page, async () => {
    await withoutColleague(context, BUSINESS);
    await page.getByTestId("tab-team").click();
    await ready(page, "members");
    await ready(page, "invites");
    const before = await mailsTo(COLLEAGUE.email);
    await page.locator('input[name="invite-email"]').fill(COLLEAGUE.email);
    await page.locator('select[name="invite-role"]').selectOption("viewer");
    const asked = page.waitForRequest((r) => r.method() === "POST" && new URL(r.url()).pathname === `/workspace/businesses/${BUSINESS}/invites`, { timeout: WAIT_MS });
    await page.getByTestId("send-invite").click();
    const request = await asked;
    checkSessionCall(request, "the invitation");
    assertEqual(request.postData(), JSON.stringify({ email: COLLEAGUE.email, role: "viewer" }), "the invitation's body");
    const notice = page.getByTestId("invites-notice");
    await notice.waitFor({ timeout: WAIT_MS });
    const said = await notice.innerText();
    if (!said.includes(`Invitation sent to ${COLLEAGUE.email} as viewer`)) throw new Error(`the notice says: ${said}`);
    await page.locator(`[data-testid="invite-row"][data-email="${COLLEAGUE.email}"][data-role="viewer"]`).waitFor({ timeout: WAIT_MS });
    const mail = await invitationMail(COLLEAGUE.email, before);
    console.log(`      mail: "${mail.subject}", link ${new URL(mail.link).origin}/invite#…`);
    assertEqual(new URL(mail.link).origin, ORIGIN, "the origin of the invitation link");
    invitation = mail.link;
    await shot(page, "team-invited");
  });

  await test("the colleague follows the link, signs in on the provider's page, accepts: a viewer, with no Connect, Invite or Refresh", page, async () => {
    if (!invitation) throw new Error("no invitation link (the invitation test failed)");
    colleagueContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    colleague = await colleagueContext.newPage();
    colleague.on("pageerror", (err) => console.log(`colleague's page error: ${err.message}`));
    const cp = colleague;
    await cp.goto(invitation);
    // Not signed in: straight to the provider's sign-in, the secret kept in this tab only.
    await cp.locator("#username").waitFor({ timeout: WAIT_MS });
    const secret = new URL(invitation).hash.slice(1);
    if (cp.url().includes(secret)) throw new Error("the invitation's secret is in the sign-in URL");
    await signInOnProvider(cp, COLLEAGUE);
    const banner = cp.getByTestId("invite-outcome");
    await banner.waitFor({ timeout: WAIT_MS });
    const said = await banner.innerText();
    assertEqual(await banner.getAttribute("data-outcome"), "joined", `the invitation's outcome (${said})`);
    if (!/joined .+ as viewer/.test(said)) throw new Error(`the banner says: ${said}`);
    assertEqual(await cp.evaluate(() => sessionStorage.getItem("pulse.invite")), null, "the secret kept after accepting");
    assertEqual(new URL(cp.url()).pathname, "/", "the address after accepting");
    assertEqual(await cp.locator('select[name="business"]').inputValue(), String(BUSINESS), "the business entered");
    assertEqual(await cp.getByTestId("my-role").getAttribute("data-role"), "viewer", "the colleague's role");
    await ready(cp, "summary");
    for (const id of ["refresh", "export-csv", "export-json"]) assertEqual(await cp.getByTestId(id).count(), 0, `${id} for a viewer`);
    await shot(cp, "colleague-overview");
    await cp.getByTestId("tab-connections").click();
    await ready(cp, "connections");
    for (const service of ["linkedin", "twitter", "meta"]) assertEqual(await cp.getByTestId(`connect-${service}`).count(), 0, `Connect ${service} for a viewer`);
    assertEqual(await cp.getByTestId("disconnect").count(), 0, "Disconnect for a viewer");
    await shot(cp, "colleague-connections");
    await cp.getByTestId("tab-team").click();
    await ready(cp, "members");
    assertEqual(await cp.getByTestId("invite-form").count(), 0, "the invitation form for a viewer");
    assertEqual(await cp.getByTestId("send-invite").count(), 0, "Invite for a viewer");
    assertEqual(await cp.getByTestId("remove-member").count(), 0, "Remove for a viewer");
    assertEqual(await cp.getByTestId("audit").count(), 0, "the audit log for a viewer");
    await shot(cp, "colleague-team");
  });

  await test("the viewer sees Reports and Alerts as they are (no schedule form, Send now, Delete, branding or alert-settings controls) and marks alerts read, for themselves", page, async () => {
    if (!colleague) throw new Error("no colleague signed in");
    const cp = colleague;
    await openReports(cp);
    await cp.getByTestId("reports-read-only").waitFor({ timeout: WAIT_MS });
    for (const id of ["new-schedule", "schedule-form", "send-now", "pause-schedule", "edit-schedule", "delete-schedule", "colour-form", "remove-logo"])
      assertEqual(await cp.getByTestId(id).count(), 0, `${id} for a viewer`);
    assertEqual(await cp.locator('input[name="brand-logo"]').count(), 0, "the logo upload for a viewer");
    await shot(cp, "colleague-reports");
    await openAlerts(cp);
    assertEqual(await cp.getByTestId("alert-settings-form").count(), 0, "the alert settings' form for a viewer");
    await cp.getByTestId("alert-settings-read").waitFor({ timeout: WAIT_MS });
    await shot(cp, "colleague-alerts");
    // Read marks are each member's own (the owner's stay as they are): the viewer marks one
    // read, then all; the tab's count follows.
    const unread = cp.locator('[data-testid="alert-item"][data-read="false"]');
    if ((await unread.count()) === 0) {
      console.log("      nothing unread for the viewer (read in an earlier run)");
      return;
    }
    const id = (await unread.first().getAttribute("data-alert-id")) ?? "";
    const marked = cp.waitForResponse((r) => r.request().method() === "POST" && new URL(r.url()).pathname === `${REPORTER}/alerts/${id}/read`, { timeout: WAIT_MS });
    await unread.first().getByTestId("mark-read").click();
    const answer = await marked;
    checkSessionCall(answer.request(), "marking an alert read");
    assertEqual(answer.status(), 204, "marking an alert read");
    await cp.locator(`[data-testid="alert-item"][data-alert-id="${id}"][data-read="true"]`).waitFor({ timeout: WAIT_MS });
    const left = (await sessionJson<AlertsAnswer>(colleagueContext!, "GET", `${REPORTER}/alerts?limit=1`)).unread;
    const tab = cp.getByTestId("tab-alerts");
    if (left > 0) await until(`the tab to count ${left} unread`, async () => (await tab.innerText()).includes(`(${left >= 100 ? "99+" : left})`));
    if (left > 0) {
      await cp.getByTestId("mark-all-read").click();
      await cp.getByTestId("alerts-notice").waitFor({ timeout: WAIT_MS });
    }
    await cp.getByTestId("alerts-unread").waitFor({ state: "detached", timeout: WAIT_MS });
    assertEqual(await unread.count(), 0, "unread alerts after Mark all read");
    assertEqual((await sessionJson<AlertsAnswer>(colleagueContext!, "GET", `${REPORTER}/alerts?limit=1`)).unread, 0, "the viewer's unread alerts");
  });

  await test("the API refuses the viewer what the page does not offer (refresh, invite, connect, schedules, alert settings): 403", page, async () => {
    if (!colleagueContext) throw new Error("no colleague signed in");
    const tries: [string, string, unknown][] = [
      ["POST", `${API_PATH}/refresh`, { business_id: BUSINESS }],
      ["POST", `/workspace/businesses/${BUSINESS}/invites`, { email: "someone@pulse.local", role: "viewer" }],
      ["POST", "/connect/linkedin/authorize", { business_id: BUSINESS, return_to: `${ORIGIN}/connections` }],
      ["POST", `${REPORTER}/reports/schedules`, { kind: "weekly", recipients: ["someone@example.com"] }],
      ["PUT", `${REPORTER}/alerts/settings`, { sensitivity: "high" }],
    ];
    const wrong: string[] = [];
    for (const [method, path, body] of tries) {
      const res = await session(colleagueContext, method, path, body);
      console.log(`      viewer ${method} ${path}: ${res.status()}`);
      if (res.status() !== 403) wrong.push(`${method} ${path}: HTTP ${res.status()} ${(await res.text()).slice(0, 200)}`);
    }
    if (wrong.length) throw new Error(`not refused: ${wrong.join("; ")}`);
    // Reading is allowed.
    assertEqual((await session(colleagueContext, "GET", `${API_PATH}/calendar?business_id=${BUSINESS}`)).status(), 200, "the viewer's calendar");
  });

  await test("the owner sees the colleague among the members, a viewer; the audit log has the invitation and its acceptance", page, async () => {
    await teamAgain(page);
    const row = page.locator(`[data-testid="member-row"][data-email="${COLLEAGUE.email}"]`);
    await row.waitFor({ timeout: WAIT_MS });
    assertEqual(await row.getAttribute("data-role"), "viewer", "the colleague's role in the members list");
    assertEqual(await page.locator(`[data-testid="invite-row"][data-email="${COLLEAGUE.email}"]`).count(), 0, "the accepted invitation still pending");
    await ready(page, "audit");
    const actions = await page.getByTestId("audit-row").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-action")));
    for (const action of ["invite.created", "invite.accepted"])
      if (!actions.includes(action)) throw new Error(`no ${action} in the audit log (${actions.slice(0, 10).join(", ")})`);
    await shot(page, "team-members");
  });

  await test("the invitation link works once: opened again, the colleague is told why in words", page, async () => {
    if (!colleague) throw new Error("no colleague signed in");
    await colleague.goto(invitation);
    const banner = colleague.getByTestId("invite-outcome");
    await banner.waitFor({ timeout: WAIT_MS });
    const outcome = (await banner.getAttribute("data-outcome")) ?? "";
    console.log(`      again: ${outcome}: ${await banner.innerText()}`);
    if (!/^error:(410|409)$/.test(outcome)) throw new Error(`a used invitation's outcome: ${outcome}`);
    assertEqual(await colleague.evaluate(() => sessionStorage.getItem("pulse.invite")), null, "the secret kept after a refusal");
    await shot(colleague, "colleague-invitation-used");
  });

  await test("the owner makes the colleague an analyst: Refresh and Export appear for them, Connect does not", page, async () => {
    if (!colleague) throw new Error("no colleague signed in");
    const row = page.locator(`[data-testid="member-row"][data-email="${COLLEAGUE.email}"]`);
    const asked = page.waitForRequest((r) => r.method() === "PATCH", { timeout: WAIT_MS });
    await row.locator('select[name="member-role"]').selectOption("analyst");
    checkSessionCall(await asked, "the role change");
    await page.locator(`[data-testid="member-row"][data-email="${COLLEAGUE.email}"][data-role="analyst"]`).waitFor({ timeout: WAIT_MS });
    // The page asks /workspace/me when it loads (a going to the same address with only
    // another hash would not load it).
    await colleague.goto(`${ORIGIN}/#/overview`);
    await colleague.reload();
    await ready(colleague, "summary");
    assertEqual(await colleague.getByTestId("my-role").getAttribute("data-role"), "analyst", "the colleague's role after the change");
    for (const id of ["refresh", "export-csv"]) assertEqual(await colleague.getByTestId(id).count(), 1, `${id} for an analyst`);
    await colleague.getByTestId("tab-connections").click();
    await ready(colleague, "connections");
    assertEqual(await colleague.getByTestId("connect-linkedin").count(), 0, "Connect for an analyst");
  });

  await test("the owner removes the colleague: their access ends at once", page, async () => {
    const row = page.locator(`[data-testid="member-row"][data-email="${COLLEAGUE.email}"]`);
    await row.getByTestId("remove-member").click();
    await row.getByTestId("remove-confirm").waitFor({ timeout: WAIT_MS });
    await row.getByTestId("confirm-remove").click();
    await row.waitFor({ state: "detached", timeout: WAIT_MS });
    await shot(page, "team-removed");
    if (!colleagueContext || !colleague) throw new Error("no colleague signed in");
    const read = await session(colleagueContext, "GET", `${API_PATH}/calendar?business_id=${BUSINESS}`);
    if (read.status() !== 404 && read.status() !== 403) throw new Error(`the removed colleague's calendar: HTTP ${read.status()}`);
    await colleague.reload();
    await until("the colleague's page without the business", async () => {
      if ((await colleague?.getByTestId("onboarding").count()) ?? 0) return true;
      const options = await colleague?.locator('select[name="business"] option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
      return options !== undefined && options.length > 0 && !options.includes(String(BUSINESS));
    });
    await shot(colleague, "colleague-removed");
    await colleagueContext.close();
    colleagueContext = null;
  });
  if (colleagueContext) await (colleagueContext as BrowserContext).close().catch(() => undefined);
  await page.getByTestId("tab-overview").click().catch(() => undefined);

  await test("connections: a tab with a path of its own, /connections, and no analytics toolbar", page, async () => {
    await page.getByTestId("tab-connections").click();
    await until("the URL /connections", async () => new URL(page.url()).pathname === "/connections");
    await ready(page, "connections");
    assertEqual(await page.locator(".toolbar").count(), 0, "toolbars on the Connections page");
    assertEqual(await page.getByTestId("tab-connections").getAttribute("aria-current"), "page", "the tab marked current");
    // Loaded at its own address too (the ingest services send the browser back there).
    await page.reload();
    await ready(page, "connections");
    assertEqual(new URL(page.url()).pathname, "/connections", "the path after a reload");
  });

  await test("connections: the rows are /accounts' accounts, statuses, last synced on the business's clock, posts", page, async () => {
    const calendar = await answers.json<Calendar>("/calendar", { business_id: BUSINESS });
    const a = await showsAnswer<Accounts>(page, answers, ["/accounts", { business_id: BUSINESS }], (a) =>
      a.accounts.flatMap((acc) => accountCells(acc, calendar.timezone)),
    );
    if (a.accounts.length === 0) throw new Error(`business ${BUSINESS} has no connected account: nothing to compare`);
    console.log(`      accounts: ${a.accounts.map((x) => `${x.platform}/${nameOf(x)}=${x.status}`).join(", ")}`);
    // The business's clock, not the browser's: the browser is in another zone.
    const synced = a.accounts.find((x) => x.last_synced_at);
    if (synced?.last_synced_at && zoned(synced.last_synced_at, calendar.timezone) === zoned(synced.last_synced_at, BROWSER_TIMEZONE))
      throw new Error(`the business's zone (${calendar.timezone}) shows the same time as the browser's`);
    // Every row in its platform's group, the buttons each status has.
    for (const acc of a.accounts) {
      const row = page.locator(`[data-testid="accounts-${acc.platform}"] ${accountRow(acc)}`);
      assertEqual(await row.count(), 1, `${acc.platform} ${acc.account_id} in its platform's group`);
      assertEqual(await row.getByTestId("reconnect").count(), acc.status === "needs_reconnection" ? 1 : 0, `Reconnect on a ${acc.status} account`);
      assertEqual(await row.getByTestId("disconnect").count(), acc.status === "disconnected" ? 0 : 1, `Disconnect on a ${acc.status} account`);
    }
    for (const service of ["linkedin", "twitter", "meta"])
      assertEqual(await page.getByTestId(`connect-${service}`).isEnabled(), true, `Connect for ${service}`);
    await shot(page, "connections");
    // On a phone the tables scroll inside their panel; the page is no wider than the screen.
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      const widths = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
      if (widths[0] > widths[1] + 1) throw new Error(`page is ${widths[0]}px wide on a ${widths[1]}px screen`);
      await shot(page, "connections-phone");
    } finally {
      await page.setViewportSize({ width: 1280, height: 900 });
    }
  });

  await test("connections: the same accounts and statuses as GET /accounts says at the same moment", page, async () => {
    let last = "";
    try {
      await until("the page's rows to be the API's", async () => {
        const direct = await api<Accounts>("/accounts", { business_id: BUSINESS });
        const fromApi = direct.accounts.map((x) => `${x.platform}|${x.account_id}|${nameOf(x)}|${STATUS_LABELS[x.status]}`).sort();
        const rows = await page.getByTestId("account-row").evaluateAll((trs) =>
          trs.map((tr) => {
            const cell = (id: string) => (tr.querySelector(`[data-testid="${id}"]`)?.textContent ?? "").trim();
            return `${tr.getAttribute("data-platform")}|${tr.getAttribute("data-account-id")}|${cell("account-name")}|${cell("account-status")}`;
          }),
        );
        last = `page ${JSON.stringify(rows.sort())}, API ${JSON.stringify(fromApi)}`;
        return JSON.stringify(rows) === JSON.stringify(fromApi);
      });
    } catch {
      throw new Error(`the rows differ from GET /accounts: ${last}`);
    }
  });

  await test("connections: the owner's Connect carries the session's CSRF token; the session cookie alone changes nothing (403)", page, async () => {
    for (const service of ["linkedin", "twitter", "meta"])
      assertEqual(await page.getByTestId(`connect-${service}`).isEnabled(), true, `Connect for ${service} (an owner)`);
    // What a forged cross-site form would send: the cookie, no CSRF token.
    const forged = await context.request.post(`${ORIGIN}/connect/twitter/authorize`, {
      headers: { "Content-Type": "application/json" },
      data: JSON.stringify({ business_id: BUSINESS, return_to: `${ORIGIN}/connections` }),
      failOnStatusCode: false,
    });
    assertEqual(forged.status(), 403, "a state-changing call with the session cookie and no X-CSRF-Token");
    const refresh = await context.request.post(`${ORIGIN}${API_PATH}/refresh`, {
      headers: { "Content-Type": "application/json", "X-CSRF-Token": "not-the-token" },
      data: JSON.stringify({ business_id: BUSINESS }),
      failOnStatusCode: false,
    });
    assertEqual(refresh.status(), 403, "a state-changing call with a wrong X-CSRF-Token");
  });

  await test("connections: an outcome in the address is told once, in words, and gone after a reload", page, async () => {
    const origin = new URL(DASHBOARD).origin;
    await page.goto(`${origin}/connections?connected=facebook,instagram&accounts=2`);
    const banner = page.getByTestId("connect-outcome");
    await banner.waitFor({ timeout: WAIT_MS });
    assertEqual(await banner.getAttribute("data-outcome"), "connected", "the outcome told");
    const said = await banner.innerText();
    if (!said.includes("Connected 2 accounts on Facebook and Instagram")) throw new Error(`the banner says: ${said}`);
    assertEqual(new URL(page.url()).pathname + new URL(page.url()).search, "/connections", "the URL after the outcome was read");
    await ready(page, "connections");
    await shot(page, "connections-connected");
    await page.reload();
    await ready(page, "connections");
    assertEqual(await banner.count(), 0, "outcome banners after a reload");
  });

  await test("connections: Disconnect asks first, naming the account; Cancel sends nothing", page, async () => {
    // Yes is driven on the business of this run (below): the demo's accounts stay connected.
    const sent: string[] = [];
    const onRequest = (r: Request) => {
      if (new URL(r.url()).pathname.startsWith("/connect/")) sent.push(r.url());
    };
    page.on("request", onRequest);
    try {
      await ready(page, "connections");
      const { accounts } = await answers.json<Accounts>("/accounts", { business_id: BUSINESS });
      const target = accounts.find((x) => x.status !== "disconnected");
      if (!target) throw new Error("no connected account to try Disconnect on");
      const row = page.locator(accountRow(target));
      await row.getByTestId("disconnect").click();
      const confirm = row.getByTestId("disconnect-confirm");
      await confirm.waitFor({ timeout: WAIT_MS });
      if (!(await confirm.innerText()).includes(nameOf(target))) throw new Error(`the confirmation says: ${await confirm.innerText()}`);
      await shot(page, "connections-disconnect-confirm");
      await row.getByTestId("cancel-disconnect").click();
      await confirm.waitFor({ state: "detached", timeout: WAIT_MS });
      assertEqual(sent.length, 0, "requests after Cancel");
      assertEqual(await row.getByTestId("disconnect").count(), 1, "Disconnect after Cancel");
    } finally {
      page.off("request", onRequest);
    }
    // And back to the analytics, without loading the page again.
    await page.getByTestId("tab-overview").click();
    await until("the URL /#/overview", async () => new URL(page.url()).pathname === "/" && new URL(page.url()).hash === "#/overview");
    await ready(page, "summary");
    await page.locator(".toolbar").waitFor({ timeout: WAIT_MS });
  });

  await test("connections: Connect X through the simulator's consent page, Deny, back with the outcome", page, async () => {
    // Deny only: Allow would connect an account (or change the tokens of one) in the demo
    // that every other test and person uses. The state Pulse keeps does not change.
    const before = await api<Accounts>("/accounts", { business_id: BUSINESS });
    await onStackDashboard(browser, BUSINESS, "consent-x", async ({ page: p }) => {
      const consent = await toConsent(p, "twitter", BUSINESS);
      console.log(`      consent page: ${consent.origin}${consent.pathname}`);
      await shot(p, "consent-x");
      await p.locator("#deny").click();
      const said = await outcome(p, "error:access_denied");
      if (!/denied/.test(said)) throw new Error(`the banner says: ${said}`);
      await shot(p, "connections-consent-denied");
    });
    const after = await api<Accounts>("/accounts", { business_id: BUSINESS });
    const ids = (a: Accounts) => a.accounts.map((x) => `${x.platform}|${x.account_id}`).sort().join(" ");
    assertEqual(ids(after), ids(before), "the business's accounts after a denied consent");
  });

  await test("onboarding: a new business (name, the business's time zone, the device's only suggested): its owner enters it, its days are its zone's", page, async () => {
    await page.getByTestId("new-business").click();
    await page.getByTestId("onboarding").waitFor({ timeout: WAIT_MS });
    assertEqual(await page.locator('select[name="business-timezone"]').inputValue(), BROWSER_TIMEZONE, "the zone suggested (the device's)");
    const name = `E2E run ${new Date().toISOString().slice(0, 19)}`;
    const zone = "America/New_York";
    await page.locator('input[name="business-name"]').fill(name);
    await page.locator('select[name="business-timezone"]').selectOption(zone);
    await shot(page, "onboarding");
    const created = page.waitForResponse((r) => r.request().method() === "POST" && new URL(r.url()).pathname === "/workspace/businesses", { timeout: WAIT_MS });
    await page.getByTestId("create-business").click();
    const answer = await created;
    checkSessionCall(answer.request(), "creating a business");
    assertEqual(answer.status(), 201, `POST /workspace/businesses (${await answer.text()})`);
    FRESH = ((await answer.json()) as { business_id: number }).business_id;
    console.log(`      business ${FRESH} (${zone})`);
    await until("the new business entered", async () => (await page.locator('select[name="business"]').inputValue()) === String(FRESH));
    assertEqual(await page.getByTestId("my-role").getAttribute("data-role"), "owner", "the creator's role");
    const calendar = await answers.json<Calendar>("/calendar", { business_id: FRESH });
    assertEqual(calendar.timezone, zone, "the new business's zone (its calendar)");
    await ready(page, "summary");
    const s = await pageScope(page);
    assertEqual(s.end, calendar.today, "the range ends on the business's today");
    // Nothing connected and no posts: the page leads its owner to Connections.
    await until("the empty state to lead to Connections", async () =>
      (await text(page, '[data-testid="summary-empty"]')).startsWith("Connect an account to see your numbers"),
    );
    assertEqual(await page.getByTestId("empty-connect").getAttribute("href"), "/connections", "the empty state's link");
    // A token of its own for the direct checks, and the simulator simulates it from now on:
    // an organization with past posts, and the person who administers it.
    const made = await sessionJson<{ token: string }>(context, "POST", `/workspace/businesses/${FRESH}/tokens`, { name: "e2e", expires_in_days: 1 });
    readers.set(FRESH, new Reader(FRESH, made.token));
    const res = await fetch(`${SIM}/_sim/businesses`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ business_id: FRESH }),
    });
    if (!res.ok) throw new Error(`the simulator at ${SIM} could not add business ${FRESH}: HTTP ${res.status} ${await res.text()}`);
    await enterBusiness(page, BUSINESS);
    await ready(page, "summary");
  });

  await test("the audit log pages: past its newest 50 entries, Older entries shows the next page as the API answers it", page, async () => {
    if (!FRESH) throw new Error("no business of this run (onboarding failed)");
    const base = `/workspace/businesses/${FRESH}`;
    // A token made and revoked is two entries: enough of them for a second page.
    for (let i = 0; i < 26; i++) {
      const made = await sessionJson<{ id: number }>(context, "POST", `${base}/tokens`, { name: `e2e paging ${i}`, expires_in_days: 1 });
      const revoked = await session(context, "DELETE", `${base}/tokens/${made.id}`);
      assertEqual(revoked.status(), 204, `revoking token ${made.id}`);
    }
    const first = await sessionJson<AuditAnswer>(context, "GET", `${base}/audit?limit=50`);
    if (first.next_before === null) throw new Error(`one page of audit entries after 52 more (${first.entries.length})`);
    const second = await sessionJson<AuditAnswer>(context, "GET", `${base}/audit?limit=50&before=${first.next_before}`);
    await enterBusiness(page, FRESH);
    await page.getByTestId("tab-team").click();
    await ready(page, "audit");
    const rows = page.getByTestId("audit-row");
    const ids = () => rows.evaluateAll((rs) => rs.map((r) => r.getAttribute("data-entry-id")));
    assertEqual((await ids()).join(), first.entries.map((e) => String(e.id)).join(), "the audit log's first page");
    await page.getByTestId("audit-older").click();
    const both = [...first.entries, ...second.entries].map((e) => String(e.id)).join();
    await until("the second page below the first", async () => (await ids()).join() === both);
    if (second.next_before === null) assertEqual(await page.getByTestId("audit-older").count(), 0, "Older entries after the last page");
    await enterBusiness(page, BUSINESS);
    await page.getByTestId("tab-overview").click();
    await ready(page, "summary");
  });

  await test("a business of this run: Connect LinkedIn, Allow as someone who administers no organization, back with no_accounts", page, async () => {
    if (!FRESH) throw new Error("no business of this run (onboarding failed)");
    await onStackDashboard(browser, FRESH, "linkedin-no-accounts", async ({ page: p, answers: a }) => {
      const { accounts } = await a.json<Accounts>("/accounts", { business_id: FRESH });
      assertEqual(accounts.length, 0, `accounts of business ${FRESH}, made for this run`);
      await p.getByTestId("accounts-linkedin-none").waitFor({ timeout: WAIT_MS });
      await toConsent(p, "linkedin", FRESH);
      await p.locator("select#user").selectOption(SIM_NOBODY);
      await p.locator("#allow").click();
      const said = await outcome(p, "error:no_accounts");
      if (!said.includes("manages no account")) throw new Error(`the banner says: ${said}`);
      await shot(p, "connections-linkedin-no-accounts");
    });
    const after = await api<Accounts>("/accounts", { business_id: FRESH }, FRESH);
    assertEqual(after.accounts.length, 0, "accounts after a consent that gave none");
  });

  await test("a business of this run: Connect LinkedIn as its administrator; it syncs, its past posts show in Top posts and its follower growth in the overview; Disconnect keeps them", page, async () => {
    if (!FRESH) throw new Error("no business of this run (onboarding failed)");
    const { users } = await sim<{ users: SimUser[] }>("/_sim/users");
    const admin = users.find((u) => u.business_ids.includes(FRESH));
    const org = admin?.accounts.find((x) => x.platform === "linkedin");
    if (!admin || !org)
      throw new Error(
        `the simulator (${SIM}) has no user who administers a LinkedIn organization of business ${FRESH} ` +
          `(its users administer businesses ${users.flatMap((u) => u.business_ids).join(", ")}): ` +
          "run-e2e.sh adds it with POST /_sim/businesses",
      );
    const population = await sim<{ businesses: { posts: SimPost[] }[] }>(`/_sim/population?business_id=${FRESH}&include_posts=true`);
    const history = population.businesses
      .flatMap((b) => b.posts)
      .filter((x) => x.platform === "linkedin" && x.account_id === org.account_id && !x.deleted_at);
    if (history.length === 0) throw new Error(`the simulator gives ${org.name} no past posts`);
    await onStackDashboard(browser, FRESH, "connect-linkedin", async (s) => {
      let disconnected = false;
      try {
        const allowedAt = await connectLinkedIn(s.page, admin, org);
        const since = (at: number) => `${((at - allowedAt) / 1000).toFixed(1)} s`;
        const account = await syncsToActive(s, org, history, allowedAt);
        const activeAt = Date.now();
        const shown = await showsPastPosts(s, history);
        await showsFollowerGrowth(s, history);
        console.log(`      Allow → active with all ${account.posts_found} posts polled: ${since(activeAt)}; → posts and follower growth shown: ${since(Date.now())}`);
        await disconnects(s, account);
        disconnected = true;
        await postsStay(s, shown);
      } finally {
        // A failure half-way leaves no account of this run polled for ever (not connected: a 404).
        if (!disconnected) await disconnectDirectly(s.page.context(), org.account_id).catch(() => undefined);
      }
    });
  });

  await test("signing out ends the session here and at the provider: back to sign-in, which asks for the password again", page, async () => {
    const asked = page.waitForRequest((r) => r.method() === "POST" && new URL(r.url()).pathname === "/auth/logout", { timeout: WAIT_MS });
    await page.getByTestId("sign-out").click();
    checkSessionCall(await asked, "sign-out");
    await until("back on the dashboard's sign-in", async () => {
      // A provider that asks to confirm the sign-out (no id_token_hint) is answered yes.
      const confirm = page.locator("#kc-logout");
      if (new URL(page.url()).origin !== ORIGIN && (await confirm.count()) > 0) await confirm.click();
      return new URL(page.url()).origin === ORIGIN && (await page.getByTestId("signin").count()) > 0;
    });
    assertEqual((await context.request.get(`${ORIGIN}/auth/session`)).status(), 401, "/auth/session after signing out");
    await page.getByTestId("sign-in").click();
    await page.locator("#password").waitFor({ timeout: WAIT_MS });
    await shot(page, "signed-out-provider-asks-again");
    await page.goto(DASHBOARD);
    await page.getByTestId("signin").waitFor({ timeout: WAIT_MS });
  });

  await test("no Content-Security-Policy violation in any view (and one planted is caught)", page, async () => {
    const during = [...violations.seen];
    // The watcher works: an inline script, which the policy forbids, is refused and seen.
    await page.evaluate(() => {
      const script = document.createElement("script");
      script.textContent = "window.__pulseInline = true;";
      document.head.appendChild(script);
    });
    const planted = () => violations.seen.slice(during.length);
    await until("the planted inline script's violation, as an event and on the console", async () =>
      planted().some((v) => v.startsWith("event:")) && planted().some((v) => v.startsWith("console:")),
    );
    console.log(`      planted: ${planted().join(" | ")}`);
    assertEqual(await page.evaluate(() => "__pulseInline" in window), false, "the inline script ran");
    if (during.length) throw new Error(`${during.length} violation(s):\n${during.join("\n")}`);
  });

  await test("no bearer token in the browser: no call of the page's carried one, localStorage holds preferences only", page, async () => {
    if (bearers.length) throw new Error(`calls with an Authorization header: ${bearers.slice(0, 5).join(", ")}`);
    const stored = await page.evaluate(() => Object.keys(localStorage).filter((k) => k !== "pulse.business"));
    assertEqual(stored.join(" "), "", "localStorage keys besides the business preference");
  });

  await browser.close();
  const failed = results.filter((r) => !r.ok);
  const skipped = results.filter((r) => r.skipped);
  console.log(`\n${results.length - failed.length - skipped.length} passed, ${failed.length} failed, ${skipped.length} skipped`);
  for (const r of skipped) console.log(`skipped: ${r.name}: ${r.skipped}`);
  return failed.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);
