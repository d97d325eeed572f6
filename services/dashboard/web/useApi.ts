import { useCallback, useEffect, useState } from "react";
import { ApiError } from "./api/client";

export type Loadable<T> =
  | { state: "loading" }
  | { state: "error"; error: ApiError }
  | { state: "ready"; data: T };

/**
 * Runs `load` whenever `key` changes (and on `reload`); a 401 goes to `onUnauthorized`.
 * An answer that arrives after the key changed is dropped.
 */
export function useApi<T>(
  key: string,
  load: () => Promise<T>,
  onUnauthorized: () => void,
): [Loadable<T>, () => void] {
  const [result, setResult] = useState<Loadable<T>>({ state: "loading" });
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);

  useEffect(() => {
    let current = true;
    setResult({ state: "loading" });
    load().then(
      (data) => current && setResult({ state: "ready", data }),
      (err: unknown) => {
        if (!current) return;
        const error = err instanceof ApiError ? err : new ApiError(0, String(err));
        if (error.unauthorized) onUnauthorized();
        setResult({ state: "error", error });
      },
    );
    return () => {
      current = false;
    };
    // `load` changes identity every render; `key` says what it loads.
  }, [key, tick]);

  return [result, reload];
}
