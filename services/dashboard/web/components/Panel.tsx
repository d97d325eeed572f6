import type { ReactNode } from "react";
import type { Loadable } from "../useApi";
import { EmptyHint } from "./EmptyBusiness";
import { useReportFailure } from "./ErrorBanner";
import { shapeOf, Skeleton, type SkeletonShape } from "./Skeleton";

interface Props<T> {
  title: string;
  testId: string;
  result: Loadable<T>;
  onRetry: () => void;
  /** True when the answer holds nothing to show. */
  isEmpty?: (data: T) => boolean;
  emptyHint?: string;
  actions?: ReactNode;
  /** What the skeleton looks like while nothing is shown yet (by default, by `testId`). */
  skeleton?: SkeletonShape;
  children: (data: T) => ReactNode;
}

/**
 * A titled card with the loading, error and empty states every view shares. Until the
 * first answer, a skeleton; while a newer answer loads (a filter changed), the last one
 * stays, dimmed, with a small progress sign. `data-state` says "ready" only once the
 * answer to the current question is shown. A failure is told in the banner above, when
 * there is one (FailureReports), else here.
 */
export function Panel<T>({ title, testId, result, onRetry, isEmpty, emptyHint, actions, skeleton, children }: Props<T>) {
  const error = result.state === "error" ? result.error : null;
  const reported = useReportFailure(title, error, onRetry);
  const updating = result.state === "ready" ? result.updating : undefined;
  const state = updating ? "loading" : result.state;
  return (
    <section
      className={`panel${updating === "placeholder" ? " updating" : ""}`}
      data-testid={testId}
      data-state={state}
      aria-busy={state === "loading"}
    >
      <header className="panel-head">
        <h2>{title}</h2>
        {updating && (
          <span className="panel-progress" role="status" data-testid={`${testId}-updating`}>
            <span className="spinner" aria-hidden="true" />
            Updating…
          </span>
        )}
        {actions}
      </header>
      {result.state === "loading" && <Skeleton shape={skeleton ?? shapeOf(testId)} label={title} />}
      {error &&
        (reported ? (
          <p className="state failed muted" data-testid={`${testId}-failed`}>
            Not loaded: see the message above.
          </p>
        ) : (
          <div className="state error" role="alert">
            <p>{error.message}</p>
            <button type="button" onClick={onRetry}>
              Try again
            </button>
          </div>
        ))}
      {result.state === "ready" &&
        (isEmpty?.(result.data) ? (
          <p className="state empty" data-testid={`${testId}-empty`}>
            <EmptyHint hint={emptyHint} />
          </p>
        ) : (
          children(result.data)
        ))}
    </section>
  );
}
