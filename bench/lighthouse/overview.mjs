// Lighthouse on the dashboard's overview, signed in, on Lighthouse's mobile profile (a
// Moto G Power's screen, simulated slow 4G: 150 ms RTT and 1.6 Mbps, the CPU slowed 4×),
// printed beside issue 17's targets and beside a ceiling measured in the same run: a
// static page of one heading, served from this machine, through the same throttling.
//
// Chromium is the machine's (/usr/bin/chromium, or CHROMIUM), started once by
// chrome-launcher; Playwright signs in on Keycloak's page in it, then Lighthouse audits the
// overview in that same browser as a first visit with the session's cookie.
//
// Environment: PULSE_DASHBOARD_URL (default http://127.0.0.1:8080), PULSE_BENCH_BUSINESS
// (default 1), PULSE_KEYCLOAK_DEMO_PASSWORD (demo@pulse.local's), LIGHTHOUSE_RUNS (3: the
// median run is printed, Lighthouse's own advice for its variance), LIGHTHOUSE_REPORT (a
// file to keep the last run's whole JSON report in).
import http from "node:http";
import * as chromeLauncher from "chrome-launcher";
import lighthouse from "lighthouse";
import { chromium } from "playwright-core";

const ORIGIN = (process.env.PULSE_DASHBOARD_URL ?? "http://127.0.0.1:8080").replace(/\/+$/, "");
const BUSINESS = process.env.PULSE_BENCH_BUSINESS ?? "1";
const RUNS = Number(process.env.LIGHTHOUSE_RUNS ?? "3");
const PASSWORD = process.env.PULSE_KEYCLOAK_DEMO_PASSWORD;
if (!PASSWORD) throw new Error("PULSE_KEYCLOAK_DEMO_PASSWORD is not set (run.sh reads it from .run/credentials.env)");

// The before figures are issue 17's own measurements of the dashboard as it was.
const TARGETS = [
  { label: "performance score", key: "performance", target: ">= 90", ok: (v) => v >= 90, before: "-" },
  { label: "accessibility score", key: "accessibility", target: ">= 95", ok: (v) => v >= 95, before: "-" },
  { label: "largest contentful paint", key: "lcp", target: "<= 2.5 s", ok: (v) => v <= 2500, before: "cards after 7.2 s" },
  { label: "first contentful paint", key: "fcp", target: "", ok: null, before: "" },
  { label: "total blocking time", key: "tbt", target: "", ok: null, before: "" },
  { label: "cumulative layout shift", key: "cls", target: "", ok: null, before: "" },
  { label: "script transferred", key: "script", target: "", ok: null, before: "723 KiB uncompressed" },
  { label: "everything transferred", key: "total", target: "", ok: null, before: "" },
];

const FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

function figures(lhr) {
  const audit = (id) => lhr.audits[id]?.numericValue ?? NaN;
  const bytes = (type) => (lhr.audits["resource-summary"]?.details?.items ?? []).find((i) => i.resourceType === type)?.transferSize ?? NaN;
  return {
    performance: Math.round((lhr.categories.performance?.score ?? NaN) * 100),
    accessibility: Math.round((lhr.categories.accessibility?.score ?? NaN) * 100),
    lcp: audit("largest-contentful-paint"),
    fcp: audit("first-contentful-paint"),
    tbt: audit("total-blocking-time"),
    cls: audit("cumulative-layout-shift"),
    script: bytes("script"),
    total: bytes("total"),
    lcpElement: lhr.audits["largest-contentful-paint-element"]?.details?.items?.[0]?.items?.[0]?.node?.snippet ?? "",
    failedA11y: Object.values(lhr.audits).filter((a) => a.score === 0 && lhr.categories.accessibility?.auditRefs.some((r) => r.id === a.id)).map((a) => a.id),
  };
}

function show(key, v) {
  if (Number.isNaN(v)) return "n/a";
  if (key === "lcp" || key === "fcp") return `${(v / 1000).toFixed(2)} s`;
  if (key === "tbt") return `${Math.round(v)} ms`;
  if (key === "cls") return v.toFixed(3);
  if (key === "script" || key === "total") return `${(v / 1024).toFixed(0)} KiB`;
  return String(v);
}

async function audit(url, port, cookie = "") {
  const result = await lighthouse(url, {
    port,
    output: "json",
    logLevel: "error",
    onlyCategories: ["performance", "accessibility"],
    // A first visit (Lighthouse empties the cache and the origin's storage before each
    // run) by a signed-in person: the session cookie sent as a header.
    extraHeaders: cookie ? { Cookie: cookie } : undefined,
  });
  if (!result || result.lhr.runtimeError) throw new Error(`Lighthouse on ${url}: ${result?.lhr.runtimeError?.message ?? "no result"}`);
  if (cookie && process.env.LIGHTHOUSE_REPORT) (await import("node:fs")).writeFileSync(process.env.LIGHTHOUSE_REPORT, result.report);
  return figures(result.lhr);
}

function median(runs, key) {
  const sorted = [...runs].sort((a, b) => a[key] - b[key]);
  return sorted[Math.floor(sorted.length / 2)];
}

/** The ceiling's page: one heading and a line of text, nothing to fetch. */
function ceilingServer() {
  const html = "<!doctype html><html lang=en><meta name=viewport content='width=device-width'><title>ceiling</title><h1>Overview</h1><p>12,345 impressions</p>";
  const server = http.createServer((_req, res) => res.writeHead(200, { "content-type": "text/html" }).end(html));
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

async function signIn(port) {
  const browser = await chromium.connectOverCDP(`http://127.0.0.1:${port}`);
  try {
    const page = await browser.contexts()[0].newPage();
    await page.goto(`${ORIGIN}/?business=${BUSINESS}#/overview`);
    await page.getByTestId("sign-in").click();
    await page.locator("#username").waitFor({ timeout: 60_000 });
    await page.locator("#username").fill("demo@pulse.local");
    await page.locator("#password").fill(PASSWORD);
    await page.locator("#kc-login").click();
    await page.waitForURL((u) => u.origin === ORIGIN, { timeout: 60_000 });
    await page.locator(".card-value").first().waitFor({ timeout: 60_000 });
    const cookies = await page.context().cookies(ORIGIN);
    await page.close();
    return cookies.filter((c) => c.name.includes("pulse_session")).map((c) => `${c.name}=${c.value}`).join("; ");
  } finally {
    await browser.close(); // the connection only: the browser and its profile stay
  }
}

const chrome = await chromeLauncher.launch({ chromePath: process.env.CHROMIUM ?? "/usr/bin/chromium", chromeFlags: FLAGS });
const ceiling = await ceilingServer();
try {
  const cookie = await signIn(chrome.port);
  if (!cookie) throw new Error("no session cookie after signing in");
  const url = `${ORIGIN}/?business=${BUSINESS}#/overview`;
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await audit(url, chrome.port, cookie));
  const run = median(runs, "performance");
  const floor = await audit(`http://127.0.0.1:${ceiling.address().port}/`, chrome.port);

  console.log(`Lighthouse ${(await import("lighthouse/package.json", { with: { type: "json" } })).default.version}: ${url}`);
  console.log(`mobile profile (simulated slow 4G, 4x CPU slowdown), median of ${RUNS} runs by performance score`);
  console.log("");
  console.log(`${"figure".padEnd(26)}${"measured".padStart(12)}   ${"target".padEnd(10)}${"".padEnd(6)}before (issue 17)`);
  let missed = 0;
  for (const t of TARGETS) {
    const v = run[t.key];
    const verdict = t.ok ? (t.ok(v) ? "PASS" : "MISS") : "";
    if (verdict === "MISS") missed++;
    console.log(`${t.label.padEnd(26)}${show(t.key, v).padStart(12)}   ${t.target.padEnd(10)}${verdict.padEnd(6)}${t.before}`);
  }
  console.log("");
  console.log(`every run: performance ${runs.map((r) => r.performance).join(", ")}; LCP ${runs.map((r) => show("lcp", r.lcp)).join(", ")}`);
  console.log(`largest contentful paint element: ${run.lcpElement}`);
  if (run.failedA11y.length) console.log(`accessibility audits failed: ${run.failedA11y.join(", ")}`);
  console.log(`ceiling (a static page of one heading, same browser and throttling): LCP ${show("lcp", floor.lcp)}, ` +
    `performance ${floor.performance}; the overview's LCP is ${(run.lcp / floor.lcp).toFixed(2)}x the ceiling's`);
  console.log(missed ? `${missed} target(s) missed` : "every target met");
} finally {
  ceiling.close();
  await chrome.kill();
}
