import type { Overview, Summary } from "../api/types";
import { change, int, pct, platformName, reportedInt, zonedDateTime } from "../format";
import { Panel } from "./Panel";
import { scopeKey, type ViewProps } from "./props";
import { useApi } from "../useApi";

interface Card {
  id: string;
  label: string;
  value: (s: Summary) => string;
  changeOf: keyof Summary;
  sub?: (s: Summary) => string;
}

const CARDS: Card[] = [
  { id: "posts", label: "Posts", value: (s) => int(s.total_posts), changeOf: "total_posts" },
  {
    id: "impressions",
    label: "Impressions",
    value: (s) => reportedInt(s.total_impressions),
    changeOf: "total_impressions",
    sub: (s) => leftOut(s, "total_impressions"),
  },
  {
    id: "reach",
    label: "Reach",
    value: (s) => reportedInt(s.total_reach),
    changeOf: "total_reach",
    sub: (s) => leftOut(s, "total_reach"),
  },
  {
    id: "engagement-rate",
    label: "Avg. engagement rate",
    value: (s) => pct(s.avg_engagement_rate),
    changeOf: "avg_engagement_rate",
    sub: (s) => `weighted ${pct(s.engagement_rate)}`,
  },
  {
    id: "follower-growth",
    label: "Follower growth",
    value: (s) => (s.follower_growth === null ? "—" : int(s.follower_growth)),
    changeOf: "follower_growth",
  },
];

/** The platforms a total leaves out because they do not report it ("" when none). */
function leftOut(s: Summary, total: string): string {
  const missing = s.coverage?.[total]?.not_reported_by ?? [];
  return missing.length ? `not reported by ${missing.map(platformName).join(", ")}` : "";
}

function tone(n: number | null | undefined): string {
  if (n === null || n === undefined || n === 0) return "flat";
  return n > 0 ? "up" : "down";
}

export function SummaryCardsView({ data }: { data: Overview }) {
  return (
    <>
      {data.summary.total_posts === 0 && (
        <p className="state empty" data-testid="summary-empty">
          No posts were published in this period. Pick a longer date range or another platform; if
          you expected posts, press Refresh to fetch fresh numbers.
        </p>
      )}
      <div className="cards">
        {CARDS.map((c) => {
          const delta = data.change_pct[c.changeOf];
          return (
            <div className="card" key={c.id} data-testid={`card-${c.id}`}>
              <div className="card-label">{c.label}</div>
              <div className="card-value" data-testid={`card-${c.id}-value`}>
                {c.value(data.summary)}
              </div>
              {c.sub && c.sub(data.summary) && <div className="card-sub">{c.sub(data.summary)}</div>}
              <div className={`card-change ${tone(delta)}`} data-testid={`card-${c.id}-change`}>
                {change(delta)} <span className="muted">vs previous period</span>
              </div>
            </div>
          );
        })}
      </div>
    </>
  );
}

/** The cards, with the period and time zone the answer covers. */
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
          <span className="muted">
            {result.data.period.start_date} – {result.data.period.end_date} ({result.data.period.timezone})
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
