import { lazy, Suspense, useCallback, useMemo, useState } from "react";
import { PulseClient, type Scope } from "./api/client";
import type { PlatformFilter } from "./api/types";
import { presetRange, todayIn, type PresetId } from "./dates";
import { hrefOf, TABS, useRoute } from "./route";
import * as storage from "./storage";
import { Actions } from "./components/Actions";
import { BestTimes } from "./components/BestTimes";
import { BusinessSwitcher } from "./components/BusinessSwitcher";
import { Filters, type FilterState } from "./components/Filters";
import { SignIn } from "./components/SignIn";
import { SummaryCards } from "./components/SummaryCards";
import { TopPosts } from "./components/TopPosts";
import type { ViewProps } from "./components/props";

// The views with charts come in a chunk of their own (Recharts is most of the bundle),
// so signing in does not wait for it.
const ContentPerformance = lazy(() =>
  import("./components/ContentPerformance").then((m) => ({ default: m.ContentPerformance })),
);
const PlatformComparison = lazy(() =>
  import("./components/PlatformComparison").then((m) => ({ default: m.PlatformComparison })),
);
const PostDetail = lazy(() =>
  import("./components/PostDetail").then((m) => ({ default: m.PostDetail })),
);
const Trends = lazy(() =>
  import("./components/Trends").then((m) => ({ default: m.Trends })),
);

function initialFilters(): FilterState {
  const { start, end } = presetRange("last30", todayIn(null));
  return { platform: "all", preset: "last30", startDate: start, endDate: end };
}

export function App() {
  const [token, setToken] = useState<string | null>(storage.loadToken);
  const [signInMessage, setSignInMessage] = useState<string | null>(null);
  const [businesses, setBusinesses] = useState<number[]>(storage.loadBusinesses);
  const [businessId, setBusinessId] = useState<number | null>(storage.loadCurrentBusiness);
  const [filters, setFilters] = useState<FilterState>(initialFilters);
  const [version, setVersion] = useState(0);
  // The business's time zone, once an answer has told it: "today" for the presets.
  const [timezone, setTimezone] = useState<string | null>(null);
  const route = useRoute();

  const signOut = useCallback((message: string | null) => {
    storage.saveToken(null);
    setToken(null);
    setSignInMessage(message);
  }, []);
  const onUnauthorized = useCallback(
    () => signOut("Your session has expired or the token was refused. Paste a valid token to continue."),
    [signOut],
  );

  function remember(id: number) {
    const next = businesses.includes(id) ? businesses : [...businesses, id];
    setBusinesses(next);
    storage.saveBusinesses(next);
    setBusinessId(id);
    storage.saveCurrentBusiness(id);
  }

  function switchBusiness(id: number) {
    setTimezone(null);
    remember(id);
  }

  const client = useMemo(() => (token ? new PulseClient(token) : null), [token]);

  if (!client || businessId === null) {
    return (
      <SignIn
        message={signInMessage}
        initialBusinessId={businessId}
        onSignIn={(t, id) => {
          storage.saveToken(t);
          setToken(t);
          setSignInMessage(null);
          remember(id);
        }}
      />
    );
  }

  const scope: Scope = {
    businessId,
    startDate: filters.startDate,
    endDate: filters.endDate,
    platform: filters.platform,
  };
  const props: ViewProps = { client, scope, version, onUnauthorized };

  return (
    <div className="app">
      <header className="top">
        <div className="brand">
          <strong>Pulse</strong> <span className="muted">social analytics</span>
        </div>
        <BusinessSwitcher
          businesses={businesses.length ? businesses : [businessId]}
          current={businessId}
          onSwitch={switchBusiness}
          onAdd={switchBusiness}
        />
        <button type="button" className="link" data-testid="sign-out" onClick={() => signOut(null)}>
          Sign out
        </button>
      </header>
      <div className="toolbar">
        <Filters
          value={filters}
          onPlatform={(platform: PlatformFilter) => setFilters({ ...filters, platform })}
          onPreset={(preset: PresetId) => {
            const { start, end } = presetRange(preset, todayIn(timezone));
            setFilters({ ...filters, preset, startDate: start, endDate: end });
          }}
          onDates={(startDate, endDate) => setFilters({ ...filters, preset: "custom", startDate, endDate })}
        />
        <Actions client={client} scope={scope} onUnauthorized={onUnauthorized} onRefreshed={() => setVersion((v) => v + 1)} />
      </div>
      <nav className="tabs">
        {TABS.map((t) => (
          <a key={t.view} href={hrefOf({ view: t.view })} className={route.view === t.view ? "active" : ""} data-testid={`tab-${t.view}`}>
            {t.label}
          </a>
        ))}
      </nav>
      <main>
        <Suspense fallback={<p className="state loading" role="status">Loading the charts…</p>}>
          {route.view === "overview" && (
            <>
              <SummaryCards
                {...props}
                onTimezone={(tz) => {
                  if (tz === timezone) return;
                  setTimezone(tz);
                  // A preset means the business's days: move it if its today differs.
                  if (filters.preset !== "custom") {
                    const { start, end } = presetRange(filters.preset, todayIn(tz));
                    if (start !== filters.startDate || end !== filters.endDate)
                      setFilters({ ...filters, startDate: start, endDate: end });
                  }
                }}
              />
              <div className="two">
                <PlatformComparison {...props} />
                <ContentPerformance {...props} />
              </div>
            </>
          )}
          {route.view === "trends" && <Trends {...props} />}
          {route.view === "top-posts" && <TopPosts {...props} />}
          {route.view === "best-times" && <BestTimes {...props} />}
          {route.view === "post" && <PostDetail {...props} postId={route.postId} />}
        </Suspense>
      </main>
    </div>
  );
}
