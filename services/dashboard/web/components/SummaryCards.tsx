import type { Overview, Summary, TrendItem } from "../api/types";
import { change, int, pct, platformName, reportedInt, signedInt, zonedDateTime } from "../format";
import { rangeLabel } from "../dates";
import { EmptySummary } from "./EmptyBusiness";
import { Panel } from "./Panel";
import { scopeKey, type ViewProps } from "./props";
import { Sparkline } from "./Sparkline";
import { useApi } from "../useApi";

interface Card {
  /** The card's data-testid stem (the e2e reads `card-<id>-value`, `-previous`, `-change`). */
  id: string;
  label: string;
  /** What the number is, in a few words, where the label alone does not say. */
  hint?: string;
  /** Its change_pct key. */
  changeOf: keyof Summary;
  /** The number as the card shows it, of the period's summary or the one before. */
  text: (s: Summary) => string;
  /** Its value on each day of the period (the overview's daily trend), for the sparkline. */
  daily: (t: TrendItem) => number | null;
  /** A day's value as the sparkline's label says it. */
  dayText: (n: number | null) => string;
  /** Why the number may leave some platforms out ("" when none is). */
  sub?: (s: Summary) => string;
}

/** A total of the period's posts: "—" over no posts, "not reported" when none reported it. */
function postTotal(s: Summary, n: number | null): string {
  return s.total_posts === 0 ? "—" : reportedInt(n);
}

/** The weighted rate: "—" where it cannot be (no posts, no impressions), said when unreported. */
function rateText(s: Summary): string {
  if (s.total_posts === 0 || s.total_impressions === 0) return "—";
  return s.engagement_rate === null ? "not reported" : pct(s.engagement_rate);
}

const CARDS: Card[] = [
  {
    id: "posts",
    label: "Posts",
    changeOf: "total_posts",
    text: (s) => int(s.total_posts),
    daily: (t) => t.posts,
    dayText: int,
  },
  {
    id: "impressions",
    label: "Impressions",
    changeOf: "total_impressions",
    text: (s) => postTotal(s, s.total_impressions),
    daily: (t) => t.impressions,
    dayText: int,
    sub: (s) => leftOut(s, ["total_impressions"]),
  },
  {
    id: "reach",
    label: "Reach",
    changeOf: "total_reach",
    text: (s) => postTotal(s, s.total_reach),
    daily: (t) => t.reach,
    dayText: int,
    sub: (s) => leftOut(s, ["total_reach"]),
  },
  {
    id: "engagements",
    label: "Engagements",
    hint: "likes + comments + shares",
    changeOf: "total_engagement",
    text: (s) => postTotal(s, s.total_engagement),
    daily: (t) => t.engagement,
    dayText: int,
    sub: (s) => leftOut(s, ["total_likes", "total_comments", "total_shares"]),
  },
  {
    id: "engagement-rate",
    label: "Engagement rate",
    hint: "engagements ÷ impressions",
    changeOf: "engagement_rate",
    text: rateText,
    daily: (t) => (t.impressions ? t.engagement_rate : null),
    dayText: pct,
    sub: (s) => leftOut(s, ["total_impressions"]),
  },
  {
    id: "followers",
    label: "Followers",
    hint: "at the period's end",
    changeOf: "followers",
    text: (s) => int(s.followers),
    daily: (t) => t.followers,
    dayText: int,
  },
  {
    id: "follower-growth",
    label: "Follower growth",
    changeOf: "follower_growth",
    text: (s) => signedInt(s.follower_growth),
    daily: (t) => t.follower_growth,
    dayText: signedInt,
    sub: (s) => (s.follower_growth_pct === null ? "" : `${change(s.follower_growth_pct)} since the period's start`),
  },
];

/** The platforms with posts in the period that report none of `totals` ("" when none). */
function leftOut(s: Summary, totals: string[]): string {
  const lists = totals.map((t) => s.coverage?.[t]?.not_reported_by ?? []);
  const missing = lists[0].filter((p) => lists.every((l) => l.includes(p)));
  return missing.length ? `not reported by ${missing.map(platformName).join(", ")}` : "";
}

/** The sparkline in words: how many days, where it starts and ends, its lowest and highest. */
function sparkLabel(card: Card, values: (number | null)[]): string {
  const known = values.filter((v): v is number => v !== null);
  const what = `${card.label} per day`;
  if (known.length === 0) return `${what}: no daily values in this period`;
  const f = card.dayText;
  return (
    `${what}, ${values.length} days: ${f(known[0])} first, ${f(known[known.length - 1])} last, ` +
    `lowest ${f(Math.min(...known))}, highest ${f(Math.max(...known))}`
  );
}

/** What the change is against: the answer's own `compare`. */
export function comparedTo(data: Pick<Overview, "compare">): string {
  return data.compare === "year" ? "vs same period last year" : "vs previous period";
}

function tone(n: number | null | undefined): string {
  if (n === null || n === undefined || n === 0) return "flat";
  return n > 0 ? "up" : "down";
}

function CardView({ card, data }: { card: Card; data: Overview }) {
  const delta = data.change_pct[card.changeOf];
  const sub = card.sub?.(data.summary) ?? "";
  const values = data.trends.map(card.daily);
  return (
    <div className="card" data-testid={`card-${card.id}`}>
      <div className="card-label">{card.label}</div>
      {card.hint && <div className="card-hint">{card.hint}</div>}
      <div className="card-value" data-testid={`card-${card.id}-value`}>
        {card.text(data.summary)}
      </div>
      {sub && <div className="card-sub">{sub}</div>}
      <Sparkline values={values} label={sparkLabel(card, values)} testId={`card-${card.id}-sparkline`} />
      <div className={`card-change ${tone(delta)}`} data-testid={`card-${card.id}-change`}>
        {change(delta)} <span className="muted">{comparedTo(data)}</span>
      </div>
      <div className="card-previous">
        {data.compare === "year" ? "A year earlier" : "Previous"}: <span data-testid={`card-${card.id}-previous`}>{card.text(data.previous_summary)}</span>
      </div>
    </div>
  );
}

export function SummaryCardsView({ data }: { data: Overview }) {
  return (
    <>
      {data.summary.total_posts === 0 && (
        <p className="state empty" data-testid="summary-empty">
          <EmptySummary />
        </p>
      )}
      <div className="cards">
        {CARDS.map((c) => (
          <CardView key={c.id} card={c} data={data} />
        ))}
      </div>
    </>
  );
}

/** The cards, with the period the answer covers (its days the business's: the header names the zone). */
export function SummaryCards({ client, scope, version, onUnauthorized }: ViewProps) {
  const [result, reload] = useApi(scopeKey(scope, version), () => client.overview(scope), onUnauthorized);
  return (
    <Panel
      title="This period"
      testId="summary"
      result={result}
      onRetry={reload}
      actions={
        result.state === "ready" ? (
          <span className="muted" data-testid="summary-period">
            {rangeLabel(result.data.period.start_date, result.data.period.end_date)}
            {result.data.data_as_of &&
              ` · data as of ${zonedDateTime(result.data.data_as_of, result.data.period.timezone)}`}
          </span>
        ) : null
      }
    >
      {(data) => <SummaryCardsView data={data} />}
    </Panel>
  );
}
