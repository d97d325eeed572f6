import { lazy, Suspense, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { loadSession, logout, signIn, type Session } from "./api/auth";
import { PulseClient, type Scope } from "./api/client";
import { asApiError, Http, type ApiError } from "./api/http";
import { ReporterClient } from "./api/reporter";
import type { Calendar, PlatformFilter } from "./api/types";
import { WorkspaceClient, type Business, type Me } from "./api/workspace";
import { outcomeMessage, type ConnectOutcome } from "./connect";
import { rangeDays, type Compare, type RangeChoice } from "./dates";
import { atInvite, INVITE_PATH, inviteProblem, joinedBusiness, joinedMessage, type InviteOutcome } from "./invite";
import { may } from "./roles";
import {
  filtersSearch,
  hrefOf,
  navigate,
  onLinkClick,
  parseFilters,
  TABS,
  UNFILTERED_VIEWS,
  useRoute,
  writeFilters,
  type Route,
} from "./route";
import * as storage from "./storage";
import { Actions } from "./components/Actions";
import { unreadText, useUnreadAlerts } from "./components/alerts/unread";
import { BestTimes } from "./components/BestTimes";
import { BusinessSwitcher } from "./components/BusinessSwitcher";
import { Connections } from "./components/Connections";
import { Filters } from "./components/Filters";
import { Onboarding } from "./components/Onboarding";
import { SignIn } from "./components/SignIn";
import { Overview } from "./components/Overview";
import { Team } from "./components/team/Team";
import { TopPosts } from "./components/TopPosts";
import { PanelSkeleton } from "./components/Skeleton";
import { WithCalendar } from "./components/WithCalendar";
import { ViewStates } from "./components/ViewStates";
import type { ViewProps } from "./components/props";

// The views with charts load Recharts in chunks of their own, each behind a skeleton of
// its panel: the cards do not wait for it.
import { PostDetail, Trends } from "./components/charts";

// Reports and Alerts come in chunks of their own too: the analytics views never wait for them.
const Reports = lazy(() => import("./components/reports/Reports").then((m) => ({ default: m.Reports })));
const Alerts = lazy(() => import("./components/alerts/Alerts").then((m) => ({ default: m.Alerts })));

/** The view the route names (its chart panels load behind skeletons: components/charts.tsx). */
function Views({ route, props }: { route: Route; props: ViewProps }) {
  return (
    <Suspense fallback={null}>
      {route.view === "overview" && <Overview {...props} />}
      {route.view === "trends" && <Trends {...props} />}
      {route.view === "top-posts" && <TopPosts {...props} />}
      {route.view === "best-times" && <BestTimes {...props} />}
      {route.view === "post" && <PostDetail {...props} postId={route.postId} />}
    </Suspense>
  );
}

/** What opening an invitation came to, until dismissed. */
function InviteBanner({ outcome, onDismiss }: { outcome: InviteOutcome; onDismiss: () => void }) {
  const failed = outcome.kind === "error";
  return (
    <div className={`notice ${failed ? "error" : "ok"}`} role={failed ? "alert" : "status"} data-testid="invite-outcome" data-outcome={failed ? `error:${outcome.status}` : "joined"}>
      <p>{outcome.kind === "joined" ? joinedMessage(outcome.business) : outcome.message}</p>
      <button type="button" className="link" onClick={onDismiss}>
        Dismiss
      </button>
    </div>
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
  workspace: WorkspaceClient;
  reporter: ReporterClient;
  session: Session;
  business: Business;
  calendar: Calendar;
  outcome: ConnectOutcome | null;
  onDismissOutcome: () => void;
  platform: PlatformFilter;
  range: RangeChoice;
  compare: Compare;
  version: number;
  onPlatform: (platform: PlatformFilter) => void;
  onRange: (range: RangeChoice) => void;
  onCompare: (compare: Compare) => void;
  onRefreshed: () => void;
  onMembershipChanged: () => void;
  onUnauthorized: () => void;
}

/** Filters, actions, tabs and the view: the business's days, counted from its today. */
function Workspace({
  client,
  workspace,
  reporter,
  session,
  business,
  calendar,
  outcome,
  onDismissOutcome,
  platform,
  range,
  compare,
  version,
  onPlatform,
  onRange,
  onCompare,
  onRefreshed,
  onMembershipChanged,
  onUnauthorized,
}: WorkspaceProps) {
  const route = useRoute();
  const days = rangeDays(range, calendar.today);
  const scope: Scope = {
    businessId: calendar.business_id,
    startDate: days.start,
    endDate: days.end,
    platform,
    compare,
  };
  // The filters in the address, so a reload keeps them and a link shares them (route.ts).
  const filters = { business: calendar.business_id, platform, range, compare };
  const search = filtersSearch(filters);
  useEffect(() => {
    if (route.view !== "connections") writeFilters(filters);
  });
  const props: ViewProps = { client, scope, version, onUnauthorized };
  // The outcome of connecting is told on the view the browser came back to, not after.
  const firstView = useRef(route.view);
  useEffect(() => {
    if (outcome && route.view !== firstView.current) onDismissOutcome();
    // Only a change of view dismisses it.
  }, [route.view]);
  const analytics = !UNFILTERED_VIEWS.has(route.view);
  const role = business.role;
  // The caller's unread alerts, on the Alerts tab (asked again when the Alerts view marks some read).
  const [unread, alertsChanged] = useUnreadAlerts(reporter, calendar.business_id, onUnauthorized);
  const canRefresh = may(role, "refresh");
  const canExport = may(role, "export");
  return (
    <>
      {analytics && (
        <div className="toolbar">
          <Filters
            platform={platform}
            range={range}
            compare={compare}
            today={calendar.today}
            timezone={calendar.timezone}
            onPlatform={onPlatform}
            onRange={onRange}
            onCompare={onCompare}
          />
          {(canRefresh || canExport) && (
            <Actions
              client={client}
              scope={scope}
              today={calendar.today}
              canRefresh={canRefresh}
              canExport={canExport}
              onUnauthorized={onUnauthorized}
              onRefreshed={onRefreshed}
            />
          )}
        </div>
      )}
      <nav className="tabs">
        {TABS.map((t) => (
          <a
            key={t.view}
            href={hrefOf({ view: t.view }, search)}
            className={route.view === t.view ? "active" : ""}
            aria-current={route.view === t.view ? "page" : undefined}
            data-testid={`tab-${t.view}`}
            onClick={onLinkClick}
          >
            {t.label}
            {t.view === "alerts" && unread > 0 && (
              <span className="tab-count" data-testid="alerts-unread" data-count={unread}>
                {" "}
                <span aria-hidden="true">({unreadText(unread)})</span>
                <span className="visually-hidden">({unreadText(unread)} unread)</span>
              </span>
            )}
          </a>
        ))}
      </nav>
      {outcome && <OutcomeBanner outcome={outcome} onDismiss={onDismissOutcome} />}
      <ViewStates client={client} calendar={calendar} mayConnect={may(role, "manage_accounts")} onUnauthorized={onUnauthorized}>
        {analytics && <Views route={route} props={props} />}
        {route.view === "connections" && (
          <Connections client={client} calendar={calendar} canManage={may(role, "manage_accounts")} onUnauthorized={onUnauthorized} />
        )}
        {route.view === "reports" && (
          <Suspense fallback={<PanelSkeleton title="Report schedules" testId="schedules" />}>
            <Reports reporter={reporter} business={business} timezone={calendar.timezone} onUnauthorized={onUnauthorized} />
          </Suspense>
        )}
        {route.view === "alerts" && (
          <Suspense fallback={<PanelSkeleton title="Alerts" testId="alerts" />}>
            <Alerts
              reporter={reporter}
              business={business}
              timezone={calendar.timezone}
              onAlertsChanged={alertsChanged}
              onUnauthorized={onUnauthorized}
            />
          </Suspense>
        )}
        {route.view === "team" && (
          <Team
            workspace={workspace}
            business={business}
            me={session.user}
            onMembershipChanged={onMembershipChanged}
            onUnauthorized={onUnauthorized}
          />
        )}
      </ViewStates>
    </>
  );
}

/** A business as /workspace/me lists it, from what creating one answered (its creator is its owner). */
function createdBusiness(answer: Business, fallback: { name: string; timezone: string }): Business {
  return {
    business_id: answer.business_id,
    name: answer.name ?? fallback.name,
    timezone: answer.timezone ?? fallback.timezone,
    role: answer.role ?? "owner",
  };
}

interface SignedInProps {
  session: Session;
  me: Me;
  onMe: (me: Me) => void;
  connectOutcome: ConnectOutcome | null;
  onUnauthorized: () => void;
}

/**
 * The signed-in page: an invitation accepted first (when the page was opened with one),
 * then the header and, once the business's calendar has answered, its workspace; or
 * onboarding for someone who belongs to no business.
 */
function SignedIn({ session, me, onMe, connectOutcome, onUnauthorized }: SignedInProps) {
  const http = useMemo(() => new Http(session.csrf_token), [session]);
  const client = useMemo(() => new PulseClient(http), [http]);
  const workspace = useMemo(() => new WorkspaceClient(http), [http]);
  const reporter = useMemo(() => new ReporterClient(http), [http]);
  const [outcome, setOutcome] = useState<ConnectOutcome | null>(connectOutcome);
  const dismissOutcome = useCallback(() => setOutcome(null), []);
  const [invite, setInvite] = useState<InviteOutcome | null>(null);
  const [accepting, setAccepting] = useState(() => atInvite() && storage.loadInvite() !== null);
  // The filters the address names (a reload, a shared link), else the defaults.
  const [linked] = useState(() => parseFilters(window.location.search));
  const [preferred, setPreferred] = useState<number | null>(() =>
    me.businesses.some((b) => b.business_id === linked.business) ? linked.business : storage.loadCurrentBusiness(),
  );
  const [creating, setCreating] = useState(false);
  const [platform, setPlatform] = useState<PlatformFilter>(linked.platform);
  const [range, setRange] = useState<RangeChoice>(linked.range);
  const [compare, setCompare] = useState<Compare>(linked.compare);
  const [version, setVersion] = useState(0);
  const [problem, setProblem] = useState<string | null>(null);
  // Back and Forward go through the filters as through the views (route.writeFilters makes
  // each change an entry of the history).
  useEffect(() => {
    const onPop = () => {
      const f = parseFilters(window.location.search);
      if (!f.named) return;
      setPlatform(f.platform);
      setRange(f.range);
      setCompare(f.compare);
      if (me.businesses.some((b) => b.business_id === f.business)) setPreferred(f.business);
    };
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, [me]);

  const choose = useCallback((id: number) => {
    setPreferred(id);
    storage.saveCurrentBusiness(id);
  }, []);

  const reloadMe = useCallback(async () => {
    try {
      onMe(await workspace.me());
    } catch (err) {
      const e = asApiError(err);
      if (e.unauthorized) return onUnauthorized();
      setProblem(e.message);
    }
  }, [workspace, onMe, onUnauthorized]);

  // An invitation the page was opened with (its secret kept across the sign-in): accepted
  // once, its secret then forgotten, the address back to the page's own.
  const started = useRef(false);
  useEffect(() => {
    const secret = storage.loadInvite();
    if (!accepting) {
      // /invite again, with nothing to accept (a reload): the page's own address.
      if (atInvite()) navigate("/#/overview", { replace: true });
      return;
    }
    if (started.current) return;
    started.current = true;
    if (!secret) return setAccepting(false);
    void (async () => {
      try {
        const answer = await workspace.acceptInvite(secret);
        storage.saveInvite(null);
        const after = await workspace.me();
        onMe(after);
        const business = joinedBusiness(answer, me.businesses, after.businesses);
        if (business) choose(business.business_id);
        setInvite(
          business
            ? { kind: "joined", business }
            : { kind: "error", status: 0, message: "The invitation was accepted, but the business is not in your list yet. Reload the page." },
        );
      } catch (err) {
        const e = asApiError(err);
        // A session that ended: sign in again, and the kept secret is tried again after.
        if (e.unauthorized) return onUnauthorized();
        storage.saveInvite(null);
        setInvite({ kind: "error", status: e.status, message: inviteProblem(e, session.user.email) });
      }
      setAccepting(false);
      navigate("/#/overview", { replace: true });
    })();
  }, [accepting]);

  async function signOut() {
    setProblem(null);
    try {
      const { logout_url } = await logout(http);
      const next = new URL(logout_url, window.location.origin);
      window.location.assign(next.protocol === "https:" || next.protocol === "http:" ? next.href : "/");
    } catch (err) {
      const e = asApiError(err);
      if (e.unauthorized) return onUnauthorized();
      setProblem(`Could not sign out: ${e.message}`);
    }
  }

  if (accepting) {
    return (
      <main className="signin" data-testid="invite-accepting">
        <p className="state loading" role="status">
          Accepting your invitation…
        </p>
      </main>
    );
  }

  const businesses = me.businesses;
  const business = businesses.find((b) => b.business_id === preferred) ?? businesses[0] ?? null;

  const header = (
    <header className="top">
      <div className="brand">
        <h1 className="brand-name">Pulse</h1> <span className="muted">social analytics</span>
      </div>
      {business && (
        <BusinessSwitcher businesses={businesses} current={business.business_id} onSwitch={choose} onNew={() => setCreating(true)} />
      )}
      {business && (
        <span className="zone" data-testid="business-timezone">
          Times in {business.timezone}
        </span>
      )}
      <div className="user">
        <span className="muted" data-testid="user">
          {session.user.name || session.user.email || session.user.user_id}
        </span>
        <button type="button" className="link" data-testid="sign-out" onClick={signOut}>
          Sign out
        </button>
      </div>
    </header>
  );

  return (
    <div className="app">
      {header}
      {problem && (
        <p className="state error" role="alert" data-testid="app-problem">
          {problem}
        </p>
      )}
      {invite && <InviteBanner outcome={invite} onDismiss={() => setInvite(null)} />}
      {creating || !business ? (
        <Onboarding
          workspace={workspace}
          first={!business}
          onCancel={business ? () => setCreating(false) : undefined}
          onUnauthorized={onUnauthorized}
          onCreated={(answer, asked) => {
            const created = createdBusiness(answer, asked);
            onMe({ ...me, businesses: [...businesses.filter((b) => b.business_id !== created.business_id), created] });
            choose(created.business_id);
            setCreating(false);
            navigate("/#/overview");
            void reloadMe();
          }}
        />
      ) : (
        <WithCalendar key={business.business_id} client={client} businessId={business.business_id} onUnauthorized={onUnauthorized}>
          {(calendar) => (
            <Workspace
              client={client}
              workspace={workspace}
              reporter={reporter}
              session={session}
              business={business}
              calendar={calendar}
              outcome={outcome}
              onDismissOutcome={dismissOutcome}
              platform={platform}
              range={range}
              compare={compare}
              version={version}
              onPlatform={setPlatform}
              onRange={setRange}
              onCompare={setCompare}
              onRefreshed={() => setVersion((v) => v + 1)}
              onMembershipChanged={() => void reloadMe()}
              onUnauthorized={onUnauthorized}
            />
          )}
        </WithCalendar>
      )}
    </div>
  );
}

type AuthState =
  | { state: "loading" }
  | { state: "signed-out"; message: string | null }
  | { state: "failed"; error: ApiError }
  | { state: "signed-in"; session: Session; me: Me };

const SESSION_ENDED = "Your session has ended. Sign in again to continue.";

/**
 * Asks the dashboard's server who is signed in (/auth/session) and their businesses
 * (/workspace/me) first; without a session, the sign-in screen (or, for an invitation
 * link, straight to the sign-in, back to /invite). A 401 anywhere ends here again.
 * `connectOutcome`: what connecting accounts came to, taken off the URL the page opened with.
 */
export function App({ connectOutcome = null }: { connectOutcome?: ConnectOutcome | null }) {
  const [auth, setAuth] = useState<AuthState>({ state: "loading" });
  const [attempt, setAttempt] = useState(0);
  const onUnauthorized = useCallback(() => setAuth({ state: "signed-out", message: SESSION_ENDED }), []);
  const onMe = useCallback(
    (me: Me) => setAuth((a) => (a.state === "signed-in" ? { ...a, me } : a)),
    [],
  );

  useEffect(() => {
    let current = true;
    void (async () => {
      try {
        const session = await loadSession();
        if (!current) return;
        if (!session) {
          // An invitation link: its secret is kept; sign in, then back to /invite to accept.
          if (atInvite() && storage.loadInvite()) return signIn(INVITE_PATH);
          return setAuth({ state: "signed-out", message: null });
        }
        const me = await new WorkspaceClient(new Http(session.csrf_token)).me();
        if (current) setAuth({ state: "signed-in", session, me });
      } catch (err) {
        if (!current) return;
        const error = asApiError(err);
        setAuth(error.unauthorized ? { state: "signed-out", message: null } : { state: "failed", error });
      }
    })();
    return () => {
      current = false;
    };
  }, [attempt]);

  switch (auth.state) {
    case "loading":
      return (
        <main className="signin" data-testid="session-loading">
          <p className="state loading" role="status">
            Loading…
          </p>
        </main>
      );
    case "failed":
      return (
        <main className="signin" data-testid="session-failed">
          <div className="state error" role="alert">
            <p>{auth.error.message}</p>
            <button type="button" onClick={() => setAttempt((n) => n + 1)}>
              Try again
            </button>
          </div>
        </main>
      );
    case "signed-out":
      return <SignIn message={auth.message} />;
    case "signed-in":
      return (
        <SignedIn
          key={auth.session.user.user_id}
          session={auth.session}
          me={auth.me}
          onMe={onMe}
          connectOutcome={connectOutcome}
          onUnauthorized={onUnauthorized}
        />
      );
  }
}
