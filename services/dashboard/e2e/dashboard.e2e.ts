// End-to-end: the built dashboard, its server and the real query-api with demo data,
// driven in headless Chromium. Every check compares what the page shows with what
// query-api answers for the same question.
//
// Environment (run-e2e.sh sets it): DASHBOARD_URL, QUERY_API_URL, PULSE_TOKEN,
// BUSINESS_ID, CHROMIUM (default /usr/bin/chromium), SCREENSHOTS (a directory).
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";

const DASHBOARD = required("DASHBOARD_URL");
const QUERY_API = process.env.QUERY_API_URL ?? "http://127.0.0.1:8000";
const TOKEN = required("PULSE_TOKEN");
const BUSINESS = Number(process.env.BUSINESS_ID ?? "1");
const SHOTS = process.env.SCREENSHOTS ?? "screenshots";
const WAIT_MS = 20_000;

function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

// ---- the numbers as the page prints them (web/format.ts) -----------------------------
const int = (n: number | null): string => (n === null ? "—" : Math.round(n).toLocaleString("en-US"));
const pct = (n: number | null): string =>
  n === null ? "—" : `${n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}%`;

// ---- query-api, asked directly -----------------------------------------------------
interface Scope {
  start: string;
  end: string;
  platform: string;
}
type Json = Record<string, unknown>;
interface Summary {
  total_posts: number;
  total_impressions: number;
  total_reach: number;
  avg_engagement_rate: number;
  follower_growth: number | null;
}
interface Overview {
  summary: Summary;
  change_pct: Record<string, number | null>;
  data_as_of: string | null;
}
interface PlatformRow {
  platform: string;
  engagement_rate: number;
}
interface Comparison {
  platforms: PlatformRow[];
  insights: { text: string }[];
}
interface Content {
  content_types: { content_type: string; posts: number; engagement_rate: number }[];
}
interface Trends {
  trends: { engagement: number; impressions: number }[];
}
interface TopPost {
  post_id: number;
  impressions: number | null;
  engagement_rate: number;
}
interface BestTimes {
  confidence_score: number;
  posts_considered: number;
  best_day: number | null;
  best_hour: number | null;
  by_slot: { day: number; hour: number; posts: number }[];
  period: { start_date: string; end_date: string };
}
interface PostDetail {
  engagement_rate: number;
  impressions: number | null;
  history: unknown[];
}

async function api<T>(path: string, params: Record<string, string | number> = {}): Promise<T> {
  const res = await apiRaw(path, params);
  return (await res.json()) as T;
}

async function apiRaw(path: string, params: Record<string, string | number>): Promise<Response> {
  const q = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]));
  const res = await fetch(`${QUERY_API}/api/v1/analytics${path}?${q}`, {
    headers: { Authorization: `Bearer ${TOKEN}` },
  });
  if (!res.ok) throw new Error(`query-api ${path}: HTTP ${res.status} ${await res.text()}`);
  return res;
}

const scoped = (s: Scope): Record<string, string | number> => ({
  business_id: BUSINESS,
  start_date: s.start,
  end_date: s.end,
  platform: s.platform,
});

// ---- a tiny harness ------------------------------------------------------------------
const results: { name: string; ok: boolean; error?: string }[] = [];

function assertEqual<T>(actual: T, expected: T, what: string): void {
  if (actual !== expected) throw new Error(`${what}: page shows ${JSON.stringify(actual)}, API says ${JSON.stringify(expected)}`);
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
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

async function ready(page: Page, testId: string): Promise<void> {
  await page.locator(`[data-testid="${testId}"][data-state="ready"]`).waitFor({ timeout: WAIT_MS });
}

async function pageScope(page: Page): Promise<Scope> {
  return {
    start: await page.locator('input[name="start"]').inputValue(),
    end: await page.locator('input[name="end"]').inputValue(),
    platform: await page.locator('select[name="platform"]').inputValue(),
  };
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function test(name: string, page: Page, body: () => Promise<void>): Promise<void> {
  const started = Date.now();
  try {
    await body();
    results.push({ name, ok: true });
    console.log(`ok    ${name} (${Date.now() - started} ms)`);
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    results.push({ name, ok: false, error });
    console.log(`FAIL  ${name}: ${error}`);
    await page.screenshot({ path: join(SHOTS, `failed-${name.replace(/\W+/g, "-")}.png`), fullPage: true }).catch(() => undefined);
  }
}

// ---- the checks ----------------------------------------------------------------------
async function checkCards(page: Page, s: Scope): Promise<Overview> {
  const o = await api<Overview>("/overview", scoped(s));
  await ready(page, "summary");
  await shows(page, '[data-testid="card-posts-value"]', int(o.summary.total_posts));
  await shows(page, '[data-testid="card-impressions-value"]', int(o.summary.total_impressions));
  await shows(page, '[data-testid="card-reach-value"]', int(o.summary.total_reach));
  await shows(page, '[data-testid="card-engagement-rate-value"]', pct(o.summary.avg_engagement_rate));
  await shows(page, '[data-testid="card-follower-growth-value"]', int(o.summary.follower_growth));
  return o;
}

async function main(): Promise<number> {
  rmSync(SHOTS, { recursive: true, force: true });
  mkdirSync(SHOTS, { recursive: true });
  const browser: Browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox"],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  page.on("pageerror", (err) => console.log(`page error: ${err.message}`));

  await test("an unauthenticated visitor is asked to sign in", page, async () => {
    await page.goto(DASHBOARD);
    await page.getByTestId("signin").waitFor({ timeout: WAIT_MS });
    assertEqual(await page.locator('textarea[name="token"]').isVisible(), true, "token field");
  });

  await test("a refused token (401) goes back to sign-in", page, async () => {
    await page.evaluate(() => {
      localStorage.setItem("pulse.token", "not-a-token");
      localStorage.setItem("pulse.business", "1");
    });
    await page.reload();
    await page.getByTestId("signin-message").waitFor({ timeout: WAIT_MS });
    assertEqual(await page.evaluate(() => localStorage.getItem("pulse.token")), null, "token kept after 401");
  });

  await test("sign in, then the summary cards match /overview", page, async () => {
    await page.locator('textarea[name="token"]').fill(TOKEN);
    await page.locator('input[name="business"]').fill(String(BUSINESS));
    await page.getByRole("button", { name: "Sign in" }).click();
    const s = await pageScope(page);
    const o = await checkCards(page, s);
    const change = o.change_pct.total_posts;
    const shown = await text(page, '[data-testid="card-posts-change"]');
    if (change !== null && !shown.includes(Math.abs(change).toLocaleString("en-US", { maximumFractionDigits: 2 })))
      throw new Error(`posts change: page shows ${shown}, API says ${change}`);
    assertEqual(await page.evaluate(() => localStorage.getItem("pulse.token")), TOKEN, "token in localStorage");
  });

  await test("platform comparison: bars, rates and insights match /platform-comparison", page, async () => {
    const c = await api<Comparison>("/platform-comparison", scoped(await pageScope(page)));
    await ready(page, "platforms");
    const bars = await page.locator('[data-testid="platforms-chart"] .recharts-bar-rectangle').count();
    if (bars < c.platforms.length) throw new Error(`${bars} bars for ${c.platforms.length} platforms`);
    for (const p of c.platforms)
      await shows(page, `[data-testid="platforms-table"] tr[data-platform="${p.platform}"] [data-testid="platform-rate"]`, pct(p.engagement_rate));
    const insights = await page.locator('[data-testid="insights"] li').allInnerTexts();
    assertEqual(JSON.stringify(insights.map((t) => t.trim())), JSON.stringify(c.insights.map((i) => i.text)), "insights");
  });

  await test("content-type performance matches /content-performance", page, async () => {
    const c = await api<Content>("/content-performance", scoped(await pageScope(page)));
    await ready(page, "content");
    if (c.content_types.length === 0) throw new Error("demo data has no content types");
    await page.locator('[data-testid="content-chart"] .recharts-bar-rectangle').first().waitFor({ timeout: WAIT_MS });
    for (const t of c.content_types) {
      const row = `[data-testid="content-table"] tr[data-content-type="${t.content_type}"]`;
      await shows(page, `${row} [data-testid="content-posts"]`, int(t.posts));
      await shows(page, `${row} [data-testid="content-rate"]`, pct(t.engagement_rate));
    }
    await shot(page, "overview");
  });

  await test("filters: a preset and a platform change the numbers", page, async () => {
    const before = await text(page, '[data-testid="card-posts-value"]');
    await page.locator('select[name="preset"]').selectOption("last7");
    const s7 = await pageScope(page);
    const days = (Date.parse(s7.end) - Date.parse(s7.start)) / 86_400_000 + 1;
    assertEqual(days, 7, "days in 'last 7 days'");
    const o7 = await checkCards(page, s7);
    await page.locator('select[name="platform"]').selectOption("twitter");
    const tw = await pageScope(page);
    assertEqual(tw.platform, "twitter", "platform filter");
    const oTw = await checkCards(page, tw);
    // The comparison covers every platform, the filtered one highlighted; content types follow the filter.
    await ready(page, "platforms");
    await page.locator('[data-testid="platforms-table"] tr.selected[data-platform="twitter"]').waitFor({ timeout: WAIT_MS });
    const content = await api<Content>("/content-performance", scoped(tw));
    await ready(page, "content");
    for (const t of content.content_types)
      await shows(page, `[data-testid="content-table"] tr[data-content-type="${t.content_type}"] [data-testid="content-posts"]`, int(t.posts));
    if (before === int(o7.summary.total_posts) && o7.summary.total_posts === oTw.summary.total_posts)
      throw new Error("the filters changed nothing on the page");
    await page.locator('select[name="preset"]').selectOption("lastMonth");
    const lm = await pageScope(page);
    if (!lm.start.endsWith("-01")) throw new Error(`last month starts ${lm.start}`);
    await checkCards(page, lm);
    await page.locator('select[name="platform"]').selectOption("all");
    await page.locator('select[name="preset"]').selectOption("last30");
    await checkCards(page, await pageScope(page));
  });

  await test("trends: the line chart matches /trends (daily, weekly, activity)", page, async () => {
    await page.getByTestId("tab-trends").click();
    for (const [period, basis] of [["daily", "publish"], ["weekly", "publish"], ["daily", "activity"]] as const) {
      await page.locator('select[name="trend-period"]').selectOption(period);
      await page.locator('select[name="trend-basis"]').selectOption(basis);
      const t = await api<Trends>("/trends", { ...scoped(await pageScope(page)), period, basis });
      await ready(page, "trends");
      await shows(page, '[data-testid="trends-count"]', String(t.trends.length));
      await shows(page, '[data-testid="trends-total-engagement"]', int(t.trends.reduce((a, x) => a + x.engagement, 0)));
      await shows(page, '[data-testid="trends-total-impressions"]', int(t.trends.reduce((a, x) => a + x.impressions, 0)));
      await page.locator('[data-testid="trends-chart"] path.recharts-line-curve').first().waitFor({ state: "attached", timeout: WAIT_MS });
    }
    await page.locator('select[name="trend-basis"]').selectOption("publish");
    await ready(page, "trends");
    await shot(page, "trends");
  });

  let firstPost = 0;
  await test("top posts: the table matches /top-posts and sorts by metric", page, async () => {
    await page.getByTestId("tab-top-posts").click();
    const s = await pageScope(page);
    const byRate = await api<{ top_posts: TopPost[] }>("/top-posts", { ...scoped(s), metric: "engagement_rate", limit: 20 });
    await ready(page, "top-posts");
    const rows = page.locator('[data-testid="top-posts-table"] tbody tr');
    await until("top posts rows", async () => (await rows.count()) === byRate.top_posts.length);
    assertEqual(Number(await rows.first().getAttribute("data-post-id")), byRate.top_posts[0].post_id, "first post by rate");
    await shows(page, '[data-testid="top-posts-table"] tbody tr:first-child td[data-col="engagement_rate"]', pct(byRate.top_posts[0].engagement_rate));
    await page.getByTestId("sort-impressions").click();
    const byImp = await api<{ top_posts: TopPost[] }>("/top-posts", { ...scoped(s), metric: "impressions", limit: 20 });
    await shows(page, '[data-testid="top-posts-table"] tbody tr:first-child td[data-col="impressions"]', int(byImp.top_posts[0].impressions));
    assertEqual(Number(await rows.first().getAttribute("data-post-id")), byImp.top_posts[0].post_id, "first post by impressions");
    const impressions = await page.locator('[data-testid="top-posts-table"] td[data-col="impressions"]').allInnerTexts();
    const values = impressions.map((v) => Number(v.replace(/,/g, "")));
    if (values.some((v, i) => i > 0 && v > values[i - 1])) throw new Error(`not sorted by impressions: ${values.join(" ")}`);
    firstPost = byImp.top_posts[0].post_id;
    await shot(page, "top-posts");
  });

  await test("post detail: metrics and history match /posts/{id}", page, async () => {
    if (!firstPost) throw new Error("no post to open");
    await page.locator(`[data-testid="top-posts-table"] tr[data-post-id="${firstPost}"] a`).click();
    const p = await api<PostDetail>(`/posts/${firstPost}`);
    await ready(page, "post-detail");
    await shows(page, '[data-testid="post-engagement-rate"]', pct(p.engagement_rate));
    await shows(page, '[data-testid="history-count"]', String(p.history.length));
    await shows(page, '[data-testid="post-metrics"] tr[data-metric="impressions"] td', int(p.impressions));
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

  await test("best times: heatmap and confidence match /best-times", page, async () => {
    await page.getByTestId("tab-best-times").click();
    const s = await pageScope(page);
    const b = await api<BestTimes>("/best-times", { business_id: BUSINESS, platform: s.platform, days: 30 });
    await ready(page, "best-times");
    await shows(page, '[data-testid="confidence-value"]', String(b.confidence_score));
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
    await shot(page, "best-times");
  });

  await test("export: CSV and JSON downloads hold the API's rows", page, async () => {
    await page.getByTestId("tab-overview").click();
    const s = await pageScope(page);
    const [csvDownload] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-csv").click()]);
    const csv = readFileSync(await csvDownload.path(), "utf8");
    const apiCsv = await (await apiRaw("/export", { ...scoped(s), format: "csv" })).text();
    const ids = (body: string): string[] => {
      const lines = body.trim().split(/\r?\n/);
      const col = lines[0].split(",").indexOf("Post ID");
      // Post ID comes before any free-text column, so splitting on commas is safe up to it.
      return lines.slice(1).map((l) => l.split(",")[col]);
    };
    if (!csvDownload.suggestedFilename().endsWith(".csv")) throw new Error(`file named ${csvDownload.suggestedFilename()}`);
    assertEqual(ids(csv).length, ids(apiCsv).length, "CSV rows");
    assertEqual(ids(csv).join(" "), ids(apiCsv).join(" "), "CSV post ids");
    const [jsonDownload] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-json").click()]);
    const json = JSON.parse(readFileSync(await jsonDownload.path(), "utf8")) as { posts: Json[] };
    assertEqual(json.posts.length, ids(apiCsv).length, "JSON posts");
    assertEqual(json.posts.map((p) => String(p.post_id)).join(" "), ids(apiCsv).join(" "), "JSON post ids");
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
    await shot(page, "overview-phone");
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  await test("empty and error states tell the user what to do", page, async () => {
    await page.getByTestId("tab-overview").click();
    await page.locator('input[name="start"]').fill("2020-01-01");
    await page.locator('input[name="end"]').fill("2020-01-31");
    await page.getByTestId("platforms-empty").waitFor({ timeout: WAIT_MS });
    await page.getByTestId("content-empty").waitFor({ timeout: WAIT_MS });
    await shows(page, '[data-testid="card-posts-value"]', "0");
    await page.locator('select[name="preset"]').selectOption("last30");
    await page.locator('input[name="add-business"]').fill("999999");
    await page.getByRole("button", { name: "Add", exact: true }).click();
    const alert = page.locator('[data-testid="summary"] [role="alert"]');
    await alert.waitFor({ timeout: WAIT_MS });
    const message = await alert.innerText();
    if (!/not found.*Check the business id/s.test(message)) throw new Error(`404 message: ${message}`);
    await page.locator('select[name="business"]').selectOption(String(BUSINESS));
    await ready(page, "summary");
  });

  await test("refresh: shows progress until data_as_of changes (or says it timed out)", page, async () => {
    await page.getByTestId("refresh").click();
    await until("refresh progress", async () => (await text(page, '[data-testid="action-status"]')).startsWith("Refreshing"));
    await page.locator('[data-testid="refresh"]:not([disabled])').waitFor({ timeout: 75_000 });
    const status = await text(page, '[data-testid="action-status"]');
    if (!/^(Fresh numbers in|No newer numbers yet)/.test(status)) throw new Error(`refresh ended with: ${status}`);
    console.log(`      refresh: ${status}`);
  });

  await test("signing out returns to sign-in", page, async () => {
    await page.getByTestId("sign-out").click();
    await page.getByTestId("signin").waitFor({ timeout: WAIT_MS });
  });

  await browser.close();
  const failed = results.filter((r) => !r.ok);
  console.log(`\n${results.length - failed.length} passed, ${failed.length} failed`);
  return failed.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);
