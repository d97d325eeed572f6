import type { ReactNode } from "react";
import type { Loadable } from "../useApi";

interface Props<T> {
  title: string;
  testId: string;
  result: Loadable<T>;
  onRetry: () => void;
  /** True when the answer holds nothing to show. */
  isEmpty?: (data: T) => boolean;
  emptyHint?: string;
  actions?: ReactNode;
  children: (data: T) => ReactNode;
}

/** A titled card with the loading, error and empty states every view shares. */
export function Panel<T>({ title, testId, result, onRetry, isEmpty, emptyHint, actions, children }: Props<T>) {
  return (
    <section className="panel" data-testid={testId} data-state={result.state}>
      <header className="panel-head">
        <h2>{title}</h2>
        {actions}
      </header>
      {result.state === "loading" && (
        <p className="state loading" role="status">
          Loading…
        </p>
      )}
      {result.state === "error" && (
        <div className="state error" role="alert">
          <p>{result.error.message}</p>
          <button type="button" onClick={onRetry}>
            Try again
          </button>
        </div>
      )}
      {result.state === "ready" &&
        (isEmpty?.(result.data) ? (
          <p className="state empty" data-testid={`${testId}-empty`}>
            No data for this selection. {emptyHint ?? "Pick a longer date range or another platform."}
          </p>
        ) : (
          children(result.data)
        ))}
    </section>
  );
}
