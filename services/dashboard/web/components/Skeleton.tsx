import type { ReactElement } from "react";

/**
 * Grey blocks shaped like what is loading, so the page keeps its layout while answers
 * arrive. One status to a screen reader ("Loading …"); the shimmer stops for those who
 * ask for less motion (styles.css).
 */

export type SkeletonShape = "cards" | "chart" | "table" | "grid" | "rows";

/** Each panel's shape, by its test id; any other is rows. */
const SHAPES: Record<string, SkeletonShape> = {
  summary: "cards",
  platforms: "chart",
  content: "chart",
  trends: "chart",
  "post-detail": "chart",
  "top-posts": "table",
  "best-times": "grid",
};

export function shapeOf(testId: string): SkeletonShape {
  return SHAPES[testId] ?? "rows";
}

const repeat = (n: number, f: (i: number) => ReactElement) => Array.from({ length: n }, (_, i) => f(i));

function Blocks({ shape }: { shape: SkeletonShape }) {
  switch (shape) {
    case "cards":
      return (
        <div className="cards">
          {repeat(7, (i) => (
            <div key={i} className="card skeleton-card">
              <span className="skeleton-line short" />
              <span className="skeleton-line big" />
              <span className="skeleton-block spark" />
              <span className="skeleton-line" />
            </div>
          ))}
        </div>
      );
    case "chart":
      return (
        <>
          <span className="skeleton-block chart" />
          {repeat(3, (i) => (
            <span key={i} className="skeleton-line" />
          ))}
        </>
      );
    case "table":
      return (
        <>
          {repeat(8, (i) => (
            <span key={i} className="skeleton-line row" />
          ))}
        </>
      );
    case "grid":
      return <span className="skeleton-block grid" />;
    case "rows":
      return (
        <>
          {repeat(3, (i) => (
            <span key={i} className="skeleton-line row" />
          ))}
        </>
      );
  }
}

export function Skeleton({ shape, label }: { shape: SkeletonShape; label: string }) {
  return (
    <div className="skeleton" role="status" data-shape={shape}>
      <span className="visually-hidden">Loading {label}…</span>
      <div aria-hidden="true">
        <Blocks shape={shape} />
      </div>
    </div>
  );
}

/** A panel still waiting for its code (a chart's chunk): its title and a skeleton. */
export function PanelSkeleton({ title, testId }: { title: string; testId: string }) {
  return (
    <section className="panel" data-testid={testId} data-state="loading" aria-busy="true">
      <header className="panel-head">
        <h2>{title}</h2>
      </header>
      <Skeleton shape={shapeOf(testId)} label={title} />
    </section>
  );
}
