import { useEffect, useState, type MouseEvent } from "react";

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
  | { view: "post"; postId: number };

export const CONNECTIONS_PATH = "/connections";

export const TABS: { view: Exclude<Route["view"], "post">; label: string }[] = [
  { view: "overview", label: "Overview" },
  { view: "trends", label: "Trends" },
  { view: "top-posts", label: "Top posts" },
  { view: "best-times", label: "Best times" },
  { view: "connections", label: "Connections" },
  { view: "team", label: "Team" },
];

export function parseLocation(pathname: string, hash: string): Route {
  if (pathname.replace(/\/+$/, "") === CONNECTIONS_PATH) return { view: "connections" };
  const path = hash.replace(/^#\/?/, "");
  const post = /^posts\/(\d+)$/.exec(path);
  if (post) return { view: "post", postId: Number(post[1]) };
  if (path === "trends" || path === "top-posts" || path === "best-times" || path === "team") return { view: path };
  return { view: "overview" };
}

/** The route's URL: from /connections too, the hash views are under /. */
export function hrefOf(route: Route): string {
  if (route.view === "connections") return CONNECTIONS_PATH;
  return route.view === "post" ? `/#/posts/${route.postId}` : `/#/${route.view}`;
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
