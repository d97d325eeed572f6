import { useCallback, useEffect } from "react";
import {
  keepPreviousData,
  QueryCache,
  QueryClient,
  useInfiniteQuery,
  useQuery,
  useQueryClient,
  type InfiniteData,
} from "@tanstack/react-query";
import { ApiError, asApiError } from "./api/http";

export type Loadable<T> =
  | { state: "loading" }
  | { state: "error"; error: ApiError }
  | {
      state: "ready";
      data: T;
      /**
       * Set while a newer answer is on its way: "placeholder" when `data` answers the
       * question asked before (a filter changed), "background" when it answers this one
       * but is being asked again (it had grown stale).
       */
      updating?: "placeholder" | "background";
    };

/** query-api keeps its answers for a minute: asking again sooner would bring the same. */
export const STALE_MS = 60_000;

/** An outage or a lost connection may pass in a moment; a refusal (4xx) will not. */
function transient(err: unknown): boolean {
  const { status } = asApiError(err);
  return status === 0 || status >= 500;
}

/** The page's one cache of answers; a 401 empties it (the next person starts afresh). */
export function makeQueryClient(): QueryClient {
  const client: QueryClient = new QueryClient({
    queryCache: new QueryCache({
      onError: (err) => {
        if (asApiError(err).unauthorized) setTimeout(() => client.clear(), 0);
      },
    }),
    defaultOptions: {
      queries: {
        staleTime: STALE_MS,
        retry: (failures, err) => failures < 1 && transient(err),
        retryDelay: 1000,
      },
    },
  });
  return client;
}

/** A 401 in `error` goes to `onUnauthorized`: told once per 401, whoever passed which callback. */
function useOnUnauthorized(error: ApiError | null, onUnauthorized: () => void): void {
  const unauthorized = error?.unauthorized ?? false;
  useEffect(() => {
    if (unauthorized) onUnauthorized();
  }, [unauthorized]);
}

/**
 * Runs `load` for `key` (again on `reload`, and when its answer is older than STALE_MS);
 * a 401 goes to `onUnauthorized`. Answers are kept between views, so a view shown again
 * shows its numbers at once. While the answer to a new key loads, the previous key's
 * answer stays, marked `updating: "placeholder"`.
 */
export function useApi<T>(
  key: string,
  load: () => Promise<T>,
  onUnauthorized: () => void,
): [Loadable<T>, () => void] {
  // Callers' keys name the scope, not the question (Team's members, invites and tokens
  // share `${id}|${version}`); the loader's source names the question.
  const query = useQuery<T, ApiError>({
    queryKey: ["api", key, load.toString()],
    queryFn: () => load().catch((err: unknown) => Promise.reject(asApiError(err))),
    placeholderData: keepPreviousData,
  });

  useOnUnauthorized(query.error, onUnauthorized);

  const { refetch } = query;
  const reload = useCallback(() => void refetch(), [refetch]);
  return [loadable(query), reload];
}

/** A list read newest first, a page at a time (`before`: the cursor, null for the newest). */
export interface Paged<P> {
  /** The pages loaded, newest first. */
  pages: Loadable<P[]>;
  /** Loads the page after the last one shown; null when there is none (or it is loading). */
  older: (() => void) | null;
  /** Asks for the newest page again, the pages after it dropped. */
  reload: () => void;
  /** Changes the pages held, as an action the API confirmed changed them (a mark read). */
  update: (change: (page: P) => P) => void;
}

/**
 * `useApi` for a list paged by a cursor: `load(before)` answers a page, `next(page)` the
 * cursor of the page after it (null: the last). The pages stay while the newest is asked
 * again; a 401 goes to `onUnauthorized`.
 */
export function usePagedApi<P>(
  key: string,
  load: (before: number | null) => Promise<P>,
  next: (page: P) => number | null | undefined,
  onUnauthorized: () => void,
): Paged<P> {
  const client = useQueryClient();
  const queryKey = ["paged", key, load.toString()];
  const query = useInfiniteQuery<P, ApiError, InfiniteData<P, number | null>, string[], number | null>({
    queryKey,
    queryFn: ({ pageParam }) => load(pageParam).catch((err: unknown) => Promise.reject(asApiError(err))),
    initialPageParam: null,
    getNextPageParam: (page) => next(page) ?? undefined,
  });

  useOnUnauthorized(query.error, onUnauthorized);

  const { refetch, fetchNextPage } = query;
  const reload = useCallback(() => {
    // Refetching an infinite query asks for every page it holds: keep the newest only.
    client.setQueryData<InfiniteData<P, number | null>>(queryKey, (data) =>
      data && { pages: data.pages.slice(0, 1), pageParams: data.pageParams.slice(0, 1) },
    );
    void refetch();
  }, [client, refetch, ...queryKey]);
  const update = useCallback(
    (change: (page: P) => P) =>
      client.setQueryData<InfiniteData<P, number | null>>(queryKey, (data) => data && { ...data, pages: data.pages.map(change) }),
    [client, ...queryKey],
  );
  const older = query.hasNextPage && !query.isFetchingNextPage ? () => void fetchNextPage() : null;
  return { pages: loadable({ ...query, data: query.data?.pages, isPlaceholderData: false }), older, reload, update };
}

interface QueryView<T> {
  status: "pending" | "error" | "success";
  data: T | undefined;
  error: ApiError | null;
  isFetching: boolean;
  isPlaceholderData: boolean;
}

function loadable<T>(q: QueryView<T>): Loadable<T> {
  if (q.status === "error" && !q.isFetching) return { state: "error", error: q.error ?? new ApiError(0, "failed") };
  if (q.data === undefined || q.status === "error") return { state: "loading" };
  if (q.isPlaceholderData) return { state: "ready", data: q.data, updating: "placeholder" };
  return q.isFetching ? { state: "ready", data: q.data, updating: "background" } : { state: "ready", data: q.data };
}
