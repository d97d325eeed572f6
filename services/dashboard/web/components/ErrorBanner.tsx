import { createContext, useCallback, useContext, useEffect, useId, useMemo, useRef, useState, type ReactNode } from "react";

/** A panel that could not load: its title, why, and how to ask again. */
interface Failure {
  title: string;
  message: string;
  retry: () => void;
}

/** Says a panel failed (a Failure) or no longer does (null). */
type Report = (id: string, failure: Failure | null) => void;

const Reports = createContext<Report | null>(null);

/**
 * One banner for everything that failed beneath it: an outage names the panels it hit
 * once, with one Retry, instead of a box in each. Panels outside it keep their own box.
 */
export function FailureReports({ children }: { children: ReactNode }) {
  const [failures, setFailures] = useState<ReadonlyMap<string, Failure>>(new Map());
  const report = useCallback<Report>((id, failure) => {
    setFailures((shown) => {
      if (!failure && !shown.has(id)) return shown;
      const next = new Map(shown);
      if (failure) next.set(id, failure);
      else next.delete(id);
      return next;
    });
  }, []);
  return (
    <Reports.Provider value={report}>
      {failures.size > 0 && <ErrorBanner failures={[...failures.values()]} />}
      {children}
    </Reports.Provider>
  );
}

/** "A", "A and B", "A, B and C". */
function listed(names: string[]): string {
  return names.length < 2 ? names.join("") : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}

function ErrorBanner({ failures }: { failures: Failure[] }) {
  const titles = [...new Set(failures.map((f) => f.title))];
  const reasons = [...new Set(failures.map((f) => f.message))];
  return (
    <div className="notice error error-banner" role="alert" data-testid="error-banner" data-failed={failures.length}>
      <div>
        <p>
          <strong>Could not load {listed(titles)}.</strong> {reasons.length === 1 && reasons[0]}
        </p>
        {reasons.length > 1 && (
          <ul>
            {failures.map((f) => (
              <li key={f.title}>
                {f.title}: {f.message}
              </li>
            ))}
          </ul>
        )}
      </div>
      <button type="button" data-testid="error-retry" onClick={() => failures.forEach((f) => f.retry())}>
        Retry
      </button>
    </div>
  );
}

/**
 * Tells the banner above that this panel failed (until it no longer does). False when
 * there is no banner to tell: the panel then shows the error itself.
 */
export function useReportFailure(title: string, error: { message: string; unauthorized: boolean } | null, retry: () => void): boolean {
  const report = useContext(Reports);
  const id = useId();
  const latestRetry = useRef(retry);
  latestRetry.current = retry;
  const failure = useMemo(
    // A 401 is not an outage: the sign-in replaces the page.
    () => (error && !error.unauthorized ? { title, message: error.message, retry: () => latestRetry.current() } : null),
    [title, error?.message, error?.unauthorized],
  );
  useEffect(() => {
    if (!report) return;
    report(id, failure);
    return () => report(id, null);
  }, [report, id, failure]);
  return report !== null;
}
