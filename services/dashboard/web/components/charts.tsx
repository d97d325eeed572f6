import { lazy, Suspense, type ComponentType } from "react";
import { PanelSkeleton } from "./Skeleton";

// The views with charts come in chunks of their own (Recharts is most of the page's
// JavaScript), each behind its own Suspense: the summary cards and the tables beside
// them show without waiting for it, the chart panels keep their place as skeletons.

/** `load`'s component, loaded on first render, a skeleton of its panel meanwhile. */
function chartPanel<P extends object>(title: string, testId: string, load: () => Promise<ComponentType<P>>) {
  const Lazy = lazy(() => load().then((c) => ({ default: c })));
  return function ChartPanel(props: P) {
    return (
      <Suspense fallback={<PanelSkeleton title={title} testId={testId} />}>
        <Lazy {...props} />
      </Suspense>
    );
  };
}

export const ContentPerformance = chartPanel("Content-type performance", "content", () =>
  import("./ContentPerformance").then((m) => m.ContentPerformance),
);
export const PlatformComparison = chartPanel("Platform comparison", "platforms", () =>
  import("./PlatformComparison").then((m) => m.PlatformComparison),
);
export const PostDetail = chartPanel("Post", "post-detail", () => import("./PostDetail").then((m) => m.PostDetail));
export const Trends = chartPanel("Trends", "trends", () => import("./Trends").then((m) => m.Trends));

/**
 * Keeps the charts' drawing layers out of the tab order. Chromium makes the bare `<g>`s that
 * Recharts draws its layers into (`recharts-zIndex-layer_*`) sequential tab stops with
 * nothing to say: eight on the overview alone. Every number a chart draws is in the panel's
 * table or text beside it, so the layers leave the tab order (tabindex -1); the mouse's
 * tooltips stay. Watches `root` for layers drawn later.
 */
export function keepChartLayersOutOfTabOrder(root: HTMLElement): void {
  const mark = () => {
    for (const g of root.querySelectorAll('svg g[class^="recharts-zIndex-layer"]:not([tabindex])')) g.setAttribute("tabindex", "-1");
  };
  mark();
  new MutationObserver(mark).observe(root, { childList: true, subtree: true });
}
