import { useEffect, useState, type MouseEvent } from "react";
import type { PlatformFilter } from "./api/types";
import { DEFAULT_PRESET, isDay, isPreset, type Compare, type RangeChoice } from "./dates";

// The analytics views live in the URL's hash (/#/trends); Connections has a path of its
// own, /connections, because the ingest services send the browser back there after a
// platform's consent page (an allow-listed return URL, which a hash would not survive).
// /invite is the page too: an invite link (/invite#<secret>) is read before the first
// render (invite.ts) and the address becomes / once the invite is answered.
export type Route =
  | { view: "overview" }
  | { view: "trends" }
  | { view: "top-posts" }
  | { view: "best-times" }
  | { view: "connections" }
  | { view: "team" }
  | { view: "reports" }
  | { view: "alerts" }
  | { view: "post"; postId: number };

export const CONNECTIONS_PATH = "/connections";

export const TABS: { view: Exclude<Route["view"], "post">; label: string }[] = [
  { view: "overview", label: "Overview" },
  { view: "trends", label: "Trends" },
  { view: "top-posts", label: "Top posts" },
  { view: "best-times", label: "Best times" },
  { view: "reports", label: "Reports" },
  { view: "alerts", label: "Alerts" },
  { view: "connections", label: "Connections" },
  { view: "team", label: "Team" },
];

/** The views of the business's own things, not of its numbers: no filters above them. */
export const UNFILTERED_VIEWS: ReadonlySet<Route["view"]> = new Set(["connections", "team", "reports", "alerts"]);

// The hash views besides the overview and a post (/#/trends); a reporter's alert mail
// links to /?business=<id>#/alerts.
type HashView = "trends" | "top-posts" | "best-times" | "team" | "reports" | "alerts";
const HASH_VIEWS: readonly string[] = ["trends", "top-posts", "best-times", "team", "reports", "alerts"] satisfies HashView[];
const isHashView = (path: string): path is HashView => HASH_VIEWS.includes(path);

export function parseLocation(pathname: string, hash: string): Route {
  if (pathname.replace(/\/+$/, "") === CONNECTIONS_PATH) return { view: "connections" };
  const path = hash.replace(/^#\/?/, "");
  const post = /^posts\/(\d+)$/.exec(path);
  if (post) return { view: "post", postId: Number(post[1]) };
  if (isHashView(path)) return { view: path };
  return { view: "overview" };
}

// The filters are in the query string of the analytics views (/?business=3&platform=all&
// range=last30&compare=previous#/trends; a custom range as range=custom&from=…&to=…), so a
// reload keeps them and a link shares them. The view stays the hash.
export interface PageFilters {
  business: number | null;
  platform: PlatformFilter;
  range: RangeChoice;
  compare: Compare;
}

export const DEFAULT_FILTERS: PageFilters = {
  business: null,
  platform: "all",
  range: { preset: DEFAULT_PRESET },
  compare: "previous",
};

const PLATFORM_FILTERS = new Set(["all", "linkedin", "twitter", "facebook", "instagram"]);
const FILTER_PARAMS = ["business", "platform", "range", "from", "to", "compare"];

/** The filters a query string names (those it does not, or names wrongly: the defaults). */
export function parseFilters(search: string): PageFilters & { named: boolean } {
  const q = new URLSearchParams(search);
  const business = Number(q.get("business"));
  const platform = q.get("platform") ?? "";
  const range = q.get("range") ?? "";
  const [from, to] = [q.get("from") ?? "", q.get("to") ?? ""];
  return {
    named: FILTER_PARAMS.some((p) => q.has(p)),
    business: Number.isSafeInteger(business) && business > 0 ? business : null,
    platform: PLATFORM_FILTERS.has(platform) ? (platform as PlatformFilter) : DEFAULT_FILTERS.platform,
    range: isPreset(range)
      ? { preset: range }
      : range === "custom" && isDay(from) && isDay(to) && from <= to
        ? { preset: "custom", startDate: from, endDate: to }
        : DEFAULT_FILTERS.range,
    compare: q.get("compare") === "year" ? "year" : "previous",
  };
}

/** The query string of `filters` ("?business=…"). */
export function filtersSearch(f: PageFilters): string {
  const q = new URLSearchParams();
  if (f.business !== null) q.set("business", String(f.business));
  q.set("platform", f.platform);
  q.set("range", f.range.preset);
  if (f.range.preset === "custom") {
    q.set("from", f.range.startDate);
    q.set("to", f.range.endDate);
  }
  q.set("compare", f.compare);
  return `?${q}`;
}

// A view's own choices beside the filters (Top posts' ranking and size): kept in the
// address while the filters are written, dropped by the links to other views.
export const VIEW_PARAMS = ["sort", "show"] as const;

function withViewParams(next: string, current: string): string {
  const kept = new URLSearchParams(current);
  const q = new URLSearchParams(next);
  for (const p of VIEW_PARAMS) if (kept.has(p)) q.set(p, kept.get(p) ?? "");
  return `?${q}`;
}

/**
 * Writes the filters into the address: a change of the filters the address named is a new
 * history entry (Back returns to the filters before); writing them out the first time, or
 * spelling out the same ones, replaces the entry. No navigation either way; App.tsx reads them back on popstate.
 */
export function writeFilters(f: PageFilters): void {
  const { pathname, search, hash } = window.location;
  const next = withViewParams(filtersSearch(f), search);
  if (pathname !== "/" || search === next) return;
  const before = parseFilters(search);
  // Only another choice is a step back can undo; spelling the same filters out is not.
  if (before.named && filtersSearch(before) !== filtersSearch(f)) window.history.pushState(null, "", `/${next}${hash}`);
  else window.history.replaceState(window.history.state, "", `/${next}${hash}`);
}

/** A view's own choice in the address, in place (Top posts' ranking and size). */
export function readViewParam(name: (typeof VIEW_PARAMS)[number]): string | null {
  return new URLSearchParams(window.location.search).get(name);
}

export function writeViewParam(name: (typeof VIEW_PARAMS)[number], value: string): void {
  const q = new URLSearchParams(window.location.search);
  q.set(name, value);
  window.history.replaceState(window.history.state, "", `${window.location.pathname}?${q}${window.location.hash}`);
}

/** The filters of the current address, as the hash views carry them ("" elsewhere). */
function currentFilters(): string {
  return window.location.pathname === "/" ? window.location.search : "";
}

/** The route's URL, with the filters (`search`); from /connections too, the hash views are under /. */
export function hrefOf(route: Route, search: string = currentFilters()): string {
  if (route.view === "connections") return CONNECTIONS_PATH;
  return route.view === "post" ? `/${search}#/posts/${route.postId}` : `/${search}#/${route.view}`;
}

const NAVIGATED = "pulse:navigate";

/**
 * Goes to `href` (a path of this page) without loading the page again: from /connections
 * to /#/trends is another path, which a plain link would load anew. `replace`: in place of
 * the current entry of the history (an address that must not be gone back to).
 */
export function navigate(href: string, { replace = false } = {}): void {
  if (href === window.location.pathname + window.location.search + window.location.hash) return;
  if (replace) window.history.replaceState(null, "", href);
  else window.history.pushState(null, "", href);
  window.dispatchEvent(new Event(NAVIGATED));
}

/** A link's click as an in-page navigation (a click with a modifier key opens it as usual). */
export function onLinkClick(e: MouseEvent<HTMLAnchorElement>): void {
  if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  navigate(e.currentTarget.getAttribute("href") ?? "/");
}

export function useRoute(): Route {
  const current = () => parseLocation(window.location.pathname, window.location.hash);
  const [route, setRoute] = useState<Route>(current);
  useEffect(() => {
    const onChange = () => setRoute(current());
    window.addEventListener("hashchange", onChange);
    window.addEventListener("popstate", onChange);
    window.addEventListener(NAVIGATED, onChange);
    return () => {
      window.removeEventListener("hashchange", onChange);
      window.removeEventListener("popstate", onChange);
      window.removeEventListener(NAVIGATED, onChange);
    };
  }, []);
  return route;
}
