import { lazy, Suspense, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { PulseClient, type Scope } from "./api/client";
import type { Calendar, PlatformFilter } from "./api/types";
import { outcomeMessage, type ConnectOutcome } from "./connect";
import { presetRange, type PresetId } from "./dates";
import { hrefOf, onLinkClick, TABS, useRoute, type Route } from "./route";
import * as storage from "./storage";
import { Actions } from "./components/Actions";
import { BestTimes } from "./components/BestTimes";
import { BusinessSwitcher } from "./components/BusinessSwitcher";
import { Connections } from "./components/Connections";
import { Filters, type FilterState } from "./components/Filters";
import { SignIn } from "./components/SignIn";
import { SummaryCards } from "./components/SummaryCards";
import { TopPosts } from "./components/TopPosts";
import { WithCalendar } from "./components/WithCalendar";
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

/** The range the user chose: a preset, whose days follow the business's today, or fixed days. */
type RangeChoice = { preset: PresetId } | { preset: "custom"; startDate: string; endDate: string };

function filtersOn(platform: PlatformFilter, range: RangeChoice, today: string): FilterState {
  if (range.preset === "custom") return { platform, ...range };
  const { start, end } = presetRange(range.preset, today);
  return { platform, preset: range.preset, startDate: start, endDate: end };
}

/** The view the route names, with the charts' chunk loading behind a notice. */
function Views({ route, props }: { route: Route; props: ViewProps }) {
  return (
    <Suspense fallback={<p className="state loading" role="status">Loading the charts…</p>}>
      {route.view === "overview" && (
        <>
          <SummaryCards {...props} />
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
  );
}

/** What connecting accounts came to (the page was opened with it), until dismissed. */
function OutcomeBanner({ outcome, onDismiss }: { outcome: ConnectOutcome; onDismiss: () => void }) {
  const failed = outcome.kind === "error";
  return (
    <div className={`notice ${failed ? "error" : "ok"}`} role={failed ? "alert" : "status"} data-testid="connect-outcome" data-outcome={failed ? `error:${outcome.code}` : "connected"}>
      <p>{outcomeMessage(outcome)}</p>
      <button type="button" className="link" onClick={onDismiss}>
        Dismiss
      </button>
    </div>
  );
}

interface WorkspaceProps {
  client: PulseClient;
  calendar: Calendar;
  outcome: ConnectOutcome | null;
  onDismissOutcome: () => void;
  platform: PlatformFilter;
  range: RangeChoice;
  version: number;
  onPlatform: (platform: PlatformFilter) => void;
  onRange: (range: RangeChoice) => void;
  onRefreshed: () => void;
  onUnauthorized: () => void;
}

/** Filters, actions, tabs and the view: the business's days, counted from its today. */
function Workspace({
  client,
  calendar,
  outcome,
  onDismissOutcome,
  platform,
  range,
  version,
  onPlatform,
  onRange,
  onRefreshed,
  onUnauthorized,
}: WorkspaceProps) {
  const route = useRoute();
  const filters = filtersOn(platform, range, calendar.today);
  const scope: Scope = {
    businessId: calendar.business_id,
    startDate: filters.startDate,
    endDate: filters.endDate,
    platform,
  };
  const props: ViewProps = { client, scope, version, onUnauthorized };
  // The outcome of connecting is told on the view the browser came back to, not after.
  const firstView = useRef(route.view);
  useEffect(() => {
    if (outcome && route.view !== firstView.current) onDismissOutcome();
    // Only a change of view dismisses it.
  }, [route.view]);
  const analytics = route.view !== "connections";
  return (
    <>
      {analytics && (
        <div className="toolbar">
          <Filters
            value={filters}
            timezone={calendar.timezone}
            onPlatform={onPlatform}
            onPreset={(preset) => onRange({ preset })}
            onDates={(startDate, endDate) => onRange({ preset: "custom", startDate, endDate })}
          />
          <Actions client={client} scope={scope} today={calendar.today} onUnauthorized={onUnauthorized} onRefreshed={onRefreshed} />
        </div>
      )}
      <nav className="tabs">
        {TABS.map((t) => (
          <a
            key={t.view}
            href={hrefOf({ view: t.view })}
            className={route.view === t.view ? "active" : ""}
            aria-current={route.view === t.view ? "page" : undefined}
            data-testid={`tab-${t.view}`}
            onClick={onLinkClick}
          >
            {t.label}
          </a>
        ))}
      </nav>
      {outcome && <OutcomeBanner outcome={outcome} onDismiss={onDismissOutcome} />}
      <main>
        {analytics ? (
          <Views route={route} props={props} />
        ) : (
          <Connections client={client} calendar={calendar} onUnauthorized={onUnauthorized} />
        )}
      </main>
    </>
  );
}

/**
 * Sign-in, then the header and, once the business's calendar has answered, its workspace.
 * `connectOutcome`: what connecting accounts came to, taken off the URL the page opened with.
 */
export function App({ connectOutcome = null }: { connectOutcome?: ConnectOutcome | null }) {
  const [outcome, setOutcome] = useState<ConnectOutcome | null>(connectOutcome);
  const dismissOutcome = useCallback(() => setOutcome(null), []);
  const [token, setToken] = useState<string | null>(storage.loadToken);
  const [signInMessage, setSignInMessage] = useState<string | null>(null);
  const [businesses, setBusinesses] = useState<number[]>(storage.loadBusinesses);
  const [businessId, setBusinessId] = useState<number | null>(storage.loadCurrentBusiness);
  const [platform, setPlatform] = useState<PlatformFilter>("all");
  const [range, setRange] = useState<RangeChoice>({ preset: "last30" });
  const [version, setVersion] = useState(0);

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

  return (
    <div className="app">
      <header className="top">
        <div className="brand">
          <strong>Pulse</strong> <span className="muted">social analytics</span>
        </div>
        <BusinessSwitcher
          businesses={businesses.length ? businesses : [businessId]}
          current={businessId}
          onSwitch={remember}
          onAdd={remember}
        />
        <button type="button" className="link" data-testid="sign-out" onClick={() => signOut(null)}>
          Sign out
        </button>
      </header>
      <WithCalendar client={client} businessId={businessId} onUnauthorized={onUnauthorized}>
        {(calendar) => (
          <Workspace
            client={client}
            calendar={calendar}
            outcome={outcome}
            onDismissOutcome={dismissOutcome}
            platform={platform}
            range={range}
            version={version}
            onPlatform={setPlatform}
            onRange={setRange}
            onRefreshed={() => setVersion((v) => v + 1)}
            onUnauthorized={onUnauthorized}
          />
        )}
      </WithCalendar>
    </div>
  );
}
