// Each platform's name, colour, icon and the post metrics it reports: one home, used by
// every view that names a platform.
import { createElement, type ReactElement } from "react";
import type { Platform, PostMetrics } from "./api/types";

export const PLATFORMS: Platform[] = ["linkedin", "twitter", "facebook", "instagram"];

/** A post metric the API returns per post (PostMetrics in pulse_shared.events). */
export type MetricKey = keyof PostMetrics;

export interface PlatformInfo {
  name: string;
  /** The brand colour: fills, bars, lines and icons (each ≥ 3:1 against white). */
  color: string;
  /** For text on white or the page's greys: ≥ 4.5:1 (the brand's own where it already is). */
  textColor: string;
  /**
   * The post metrics the platform reports, in the order a manager reads them; what it does
   * not report the API returns as null. Source: each ingest service's normalise.py
   * (services/ingest-{linkedin,twitter,meta}/src/…/normalise.py), which fills PostMetrics.
   */
  metrics: MetricKey[];
  /** The platform's own word for a metric, where it differs from the generic label. */
  labels: Partial<Record<MetricKey, string>>;
  /** Metrics the API fills with another's value (the same number): never shown twice. */
  repeats?: MetricKey[];
}

// Contrast against white (WCAG relative luminance): linkedin 5.69, twitter 17.74,
// facebook 4.23 (so its text is #1464cf, 5.59), instagram 5.11.
export const PLATFORM_INFO: Record<Platform, PlatformInfo> = {
  linkedin: {
    name: "LinkedIn",
    color: "#0a66c2",
    textColor: "#0a66c2",
    // likeCount, commentCount, shareCount, impressionCount, uniqueImpressionsCount, clickCount.
    metrics: ["impressions", "reach", "likes", "comments", "shares", "clicks"],
    labels: { reach: "Unique impressions", shares: "Reposts" },
  },
  twitter: {
    name: "X",
    color: "#111827",
    textColor: "#111827",
    // shares = retweets + quote tweets (DESIGN.md's engagement rule); no reach, reactions or
    // watch time; clicks are link clicks (non-public metrics: own posts only, else null).
    metrics: ["impressions", "likes", "comments", "shares", "retweets", "quote_tweets", "clicks", "video_views", "saves"],
    labels: { comments: "Replies", shares: "Reposts + quotes", retweets: "Reposts", quote_tweets: "Quotes", saves: "Bookmarks" },
  },
  facebook: {
    name: "Facebook",
    color: "#1877f2",
    textColor: "#1464cf",
    // likes is the total of all reactions (kept again as `reactions`: shown once).
    metrics: ["impressions", "reach", "likes", "comments", "shares", "clicks", "video_views", "video_watch_time_s"],
    labels: { likes: "Reactions", impressions: "Views" },
    repeats: ["reactions"],
  },
  instagram: {
    name: "Instagram",
    color: "#c13584",
    textColor: "#c13584",
    // `views` fills both impressions and video_views; no clicks, reactions or reposts.
    metrics: ["impressions", "reach", "likes", "comments", "shares", "saves", "video_watch_time_s"],
    labels: { impressions: "Views", saves: "Saves" },
    repeats: ["video_views"],
  },
};

export const METRIC_LABELS: Record<MetricKey, string> = {
  impressions: "Impressions",
  reach: "Reach",
  likes: "Likes",
  comments: "Comments",
  shares: "Shares",
  reactions: "Reactions",
  retweets: "Retweets",
  quote_tweets: "Quote tweets",
  clicks: "Clicks",
  saves: "Saves",
  video_views: "Video views",
  video_watch_time_s: "Video watch time",
};

export function isPlatform(p: string): p is Platform {
  return (PLATFORMS as string[]).includes(p);
}

export function platformInfo(p: string): PlatformInfo | undefined {
  return isPlatform(p) ? PLATFORM_INFO[p] : undefined;
}

/** The brand colour; a neutral grey for a platform Pulse does not know. */
export function platformColor(p: string): string {
  return platformInfo(p)?.color ?? "#4b5563";
}

export function platformTextColor(p: string): string {
  return platformInfo(p)?.textColor ?? "#374151";
}

/** The metric's name on that platform ("Replies" on X, "Comments" elsewhere). */
export function metricLabel(platform: string, key: MetricKey): string {
  return platformInfo(platform)?.labels[key] ?? METRIC_LABELS[key];
}

/**
 * The metrics that apply to a post: its platform's table, then anything else the API did
 * report for it (a reported value is never hidden) except a repeat of another metric.
 */
export function metricsFor(platform: string, reported?: Partial<Record<MetricKey, number | null>>): MetricKey[] {
  const info = platformInfo(platform);
  const table = info?.metrics ?? [];
  if (!reported) return table;
  const extra = (Object.keys(METRIC_LABELS) as MetricKey[]).filter(
    (k) => !table.includes(k) && !info?.repeats?.includes(k) && reported[k] !== null && reported[k] !== undefined,
  );
  return [...table, ...extra];
}

/** Whether a platform reports a metric at all (what it never gives is not shown for it). */
export function reports(platform: string, key: MetricKey): boolean {
  const info = platformInfo(platform);
  return info ? info.metrics.includes(key) : true;
}

// Icons: drawn here on a 24-unit grid (no icon dependency): the brand colour behind a white
// glyph. Each glyph is a list of path data, filled unless `stroke` is set.
interface Glyph {
  shape: "square" | "circle";
  paths: { d: string; stroke?: boolean }[];
}

const GLYPHS: Record<Platform, Glyph> = {
  linkedin: {
    shape: "square",
    paths: [
      { d: "M5.3 7.1a1.7 1.7 0 1 0 3.4 0a1.7 1.7 0 1 0 -3.4 0Z" },
      { d: "M5.5 10h3v8.5h-3Z" },
      { d: "M10.5 10h2.9v1.3c.5-.9 1.6-1.5 3-1.5 2.3 0 3.3 1.5 3.3 3.9v4.8h-3v-4.3c0-1.1-.3-1.8-1.4-1.8s-1.8.8-1.8 1.9v4.2h-3Z" },
    ],
  },
  twitter: {
    shape: "square",
    paths: [{ d: "M5.5 5.5h4.1l3.1 4.3 3.7-4.3h1.7l-4.6 5.3 5.4 7.7h-4.1l-3.4-4.8-4.2 4.8h-1.7l5.1-5.8Zm2.3 1.2 7.4 10.6h1.3L9.1 6.7Z" }],
  },
  facebook: {
    shape: "circle",
    paths: [{ d: "M13.4 21v-7.1h2.4l.4-2.8h-2.8V9.3c0-.8.3-1.4 1.4-1.4h1.5V5.4a19 19 0 0 0-2.2-.1c-2.2 0-3.7 1.3-3.7 3.8v2h-2.4v2.8h2.4V21Z" }],
  },
  instagram: {
    shape: "square",
    paths: [
      { d: "M8.6 5.5h6.8a3.1 3.1 0 0 1 3.1 3.1v6.8a3.1 3.1 0 0 1-3.1 3.1H8.6a3.1 3.1 0 0 1-3.1-3.1V8.6a3.1 3.1 0 0 1 3.1-3.1Z", stroke: true },
      { d: "M9 12a3 3 0 1 0 6 0a3 3 0 1 0 -6 0Z", stroke: true },
      { d: "M15.5 7.6a.9.9 0 1 0 1.8 0a.9.9 0 1 0 -1.8 0Z" },
    ],
  },
};

/**
 * A platform's icon as inline SVG. Labelled with the platform's name (role="img") unless
 * `decorative`, for where the name is written beside it (then hidden from assistive tech).
 */
export function PlatformIcon({ platform, size = 20, decorative = false }: {
  platform: string;
  size?: number;
  decorative?: boolean;
}): ReactElement | null {
  if (!isPlatform(platform)) return null;
  const glyph = GLYPHS[platform];
  const a11y = decorative
    ? { "aria-hidden": true, focusable: "false" }
    : { role: "img", "aria-label": PLATFORM_INFO[platform].name, focusable: "false" };
  const bg = glyph.shape === "circle"
    ? createElement("circle", { cx: 12, cy: 12, r: 12, fill: PLATFORM_INFO[platform].color })
    : createElement("rect", { width: 24, height: 24, rx: 5, fill: PLATFORM_INFO[platform].color });
  const paths = glyph.paths.map((p, i) =>
    createElement("path", p.stroke
      ? { key: i, d: p.d, fill: "none", stroke: "#fff", strokeWidth: 1.8 }
      : { key: i, d: p.d, fill: "#fff" }),
  );
  return createElement(
    "svg",
    {
      className: "platform-icon", "data-platform-icon": platform, viewBox: "0 0 24 24",
      width: size, height: size, ...a11y,
    },
    bg,
    ...paths,
  );
}

/** The icon and the name, for a cell or a heading. */
export function PlatformLabel({ platform, size = 18 }: { platform: string; size?: number }): ReactElement {
  const name = platformInfo(platform)?.name ?? platform;
  return createElement(
    "span",
    { className: "platform-label", "data-platform": platform },
    createElement(PlatformIcon, { platform, size, decorative: true }),
    createElement("span", null, name),
  );
}

/** A count as the page shows it: "not reported" for null (never 0); watch time in seconds. */
export function metricText(key: MetricKey, value: number | null | undefined): string {
  if (value === null || value === undefined) return "not reported";
  if (key === "video_watch_time_s") return `${Math.round(value).toLocaleString("en-US")} s`;
  return Math.round(value).toLocaleString("en-US");
}

// The image hosts the page's Content-Security-Policy allows (img-src in
// services/dashboard/server/headers.py, THUMBNAIL_HOSTS: keep the two alike); "*." a subdomain.
export const THUMBNAIL_HOSTS = ["*.fbcdn.net", "*.cdninstagram.com", "pbs.twimg.com", "media.licdn.com"];

/** The thumbnail's address when the policy lets the page load it (https, a listed host); else null. */
export function thumbnailSrc(url: string | null | undefined): string | null {
  if (!url) return null;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol !== "https:" || parsed.port !== "") return null;
  const host = parsed.hostname.toLowerCase();
  const allowed = THUMBNAIL_HOSTS.some((h) => (h.startsWith("*.") ? host.endsWith(h.slice(1)) : host === h));
  return allowed ? parsed.href : null;
}
