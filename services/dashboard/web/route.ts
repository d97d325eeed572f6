import { useEffect, useState } from "react";

export type Route =
  | { view: "overview" }
  | { view: "trends" }
  | { view: "top-posts" }
  | { view: "best-times" }
  | { view: "post"; postId: number };

export const TABS: { view: Exclude<Route["view"], "post">; label: string }[] = [
  { view: "overview", label: "Overview" },
  { view: "trends", label: "Trends" },
  { view: "top-posts", label: "Top posts" },
  { view: "best-times", label: "Best times" },
];

export function parseHash(hash: string): Route {
  const path = hash.replace(/^#\/?/, "");
  const post = /^posts\/(\d+)$/.exec(path);
  if (post) return { view: "post", postId: Number(post[1]) };
  if (path === "trends" || path === "top-posts" || path === "best-times") return { view: path };
  return { view: "overview" };
}

export function hrefOf(route: Route): string {
  return route.view === "post" ? `#/posts/${route.postId}` : `#/${route.view}`;
}

export function useRoute(): Route {
  const [route, setRoute] = useState<Route>(() => parseHash(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseHash(window.location.hash));
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return route;
}
