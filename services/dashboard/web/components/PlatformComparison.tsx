import { Bar, BarChart, CartesianGrid, Cell, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { dec, int, pct } from "../format";
import { PlatformLabel, platformColor, platformInfo } from "../platforms";
import { useApi } from "../useApi";
import { Panel } from "./Panel";
import { scopeKey, type ViewProps } from "./props";

const nameOf = (p: string) => platformInfo(p)?.name ?? p;

/** "+1.2%" beside a follower growth, when the API could relate it to a starting count. */
function growthPct(n: number | null): string {
  if (n === null) return "";
  return `${n > 0 ? "+" : n < 0 ? "−" : "±"}${dec(Math.abs(n), 1)}%`;
}

/**
 * Platforms ranked by engagement rate: a bar per platform in its colour, the API's
 * plain-language insights and a table that fits its column (cards when it is narrow).
 * A comparison always covers every platform (query-api ignores the platform filter here);
 * the filtered platform is highlighted.
 */
export function PlatformComparison({ client, scope, version, onUnauthorized }: ViewProps) {
  const all = { ...scope, platform: "all" as const };
  const [result, reload] = useApi(
    scopeKey(all, version),
    () => client.platformComparison(all),
    onUnauthorized,
  );
  return (
    <Panel
      title="Platform comparison"
      testId="platforms"
      result={result}
      onRetry={reload}
      isEmpty={(d) => d.platforms.every((p) => p.total_posts === 0)}
    >
      {(data) => {
        const rows = data.platforms.map((p) => ({ ...p, name: nameOf(p.platform) }));
        const summary = rows.map((p) => `${p.name} ${pct(p.engagement_rate)}`).join(", ");
        return (
          <>
            {scope.platform !== "all" && (
              <p className="muted" data-testid="platforms-note">
                The comparison covers every platform; {nameOf(scope.platform)} is highlighted.
              </p>
            )}
            <div className="chart" data-testid="platforms-chart" role="img" aria-label={`Engagement rate by platform: ${summary}`}>
              <ResponsiveContainer width="100%" height={220}>
                <BarChart data={rows} margin={{ top: 8, right: 8, bottom: 8, left: 0 }} accessibilityLayer={false}>
                  <CartesianGrid strokeDasharray="3 3" vertical={false} />
                  <XAxis dataKey="name" />
                  <YAxis unit="%" width={48} />
                  <Tooltip formatter={(v) => `${dec(Number(v))}%`} />
                  <Bar dataKey="engagement_rate" name="Engagement rate" isAnimationActive={false}>
                    {rows.map((p) => (
                      <Cell
                        key={p.platform}
                        fill={platformColor(p.platform)}
                        fillOpacity={scope.platform === "all" || scope.platform === p.platform ? 1 : 0.45}
                      />
                    ))}
                  </Bar>
                </BarChart>
              </ResponsiveContainer>
            </div>
            {data.insights.length > 0 && (
              <ul className="insights" data-testid="insights">
                {data.insights.map((i) => (
                  <li key={i.text}>{i.text}</li>
                ))}
              </ul>
            )}
            <div className="fit-table-wrap">
              <table data-testid="platforms-table" className="fit-table">
                <caption className="visually-hidden">Each platform's totals for the period, ranked by engagement rate</caption>
                <thead>
                  <tr>
                    <th scope="col">Platform</th>
                    <th scope="col" className="num">Posts</th>
                    <th scope="col" className="num">Impressions</th>
                    <th scope="col" className="num">Engagement</th>
                    <th scope="col" className="num">Eng. rate</th>
                    <th scope="col" className="num">Share of engagement</th>
                    <th scope="col" className="num">Follower growth</th>
                  </tr>
                </thead>
                <tbody>
                  {data.platforms.map((p) => (
                    <tr
                      key={p.platform}
                      data-platform={p.platform}
                      className={p.platform === scope.platform ? "selected" : undefined}
                    >
                      <th scope="row" className="fit-title">
                        <PlatformLabel platform={p.platform} />
                      </th>
                      <td className="num" data-label="Posts">{int(p.total_posts)}</td>
                      <td className="num" data-label="Impressions">{int(p.total_impressions)}</td>
                      <td className="num" data-label="Engagement">{int(p.total_engagement)}</td>
                      <td className="num" data-label="Engagement rate" data-testid="platform-rate">{pct(p.engagement_rate)}</td>
                      <td className="num" data-label="Share of engagement">
                        <span data-testid="platform-share">{pct(p.share_of_engagement)}</span>
                        <span className="share-meter" aria-hidden="true">
                          <span style={{ width: `${Math.max(0, Math.min(100, p.share_of_engagement))}%`, background: platformColor(p.platform) }} />
                        </span>
                      </td>
                      <td className="num" data-label="Follower growth">
                        <span data-testid="platform-follower-growth">{int(p.follower_growth)}</span>
                        {p.follower_growth_pct !== null && <span className="muted growth-pct"> {growthPct(p.follower_growth_pct)}</span>}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </>
        );
      }}
    </Panel>
  );
}
