import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { dec, int, pct, platformName } from "../format";
import { useApi } from "../useApi";
import { Panel } from "./Panel";
import { scopeKey, type ViewProps } from "./props";

/**
 * Platforms ranked by engagement rate, a bar chart and the API's plain-language insights.
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
        const rows = data.platforms.map((p) => ({ ...p, name: platformName(p.platform) }));
        return (
          <>
            {scope.platform !== "all" && (
              <p className="muted" data-testid="platforms-note">
                The comparison covers every platform; {platformName(scope.platform)} is highlighted.
              </p>
            )}
            <div className="chart" data-testid="platforms-chart">
              <ResponsiveContainer width="100%" height={260}>
                <BarChart data={rows} margin={{ top: 8, right: 8, bottom: 8, left: 0 }}>
                  <CartesianGrid strokeDasharray="3 3" vertical={false} />
                  <XAxis dataKey="name" />
                  <YAxis unit="%" width={48} />
                  <Tooltip formatter={(v) => `${dec(Number(v))}%`} />
                  <Legend />
                  <Bar dataKey="engagement_rate" name="Engagement rate" fill="#6366f1" isAnimationActive={false} />
                  <Bar dataKey="avg_engagement_rate" name="Avg. per-post rate" fill="#a5b4fc" isAnimationActive={false} />
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
            <div className="table-wrap">
              <table data-testid="platforms-table">
                <thead>
                  <tr>
                    <th>Platform</th>
                    <th>Posts</th>
                    <th>Impressions</th>
                    <th>Engagement</th>
                    <th>Engagement rate</th>
                    <th>Share of engagement</th>
                    <th>Follower growth</th>
                  </tr>
                </thead>
                <tbody>
                  {data.platforms.map((p) => (
                    <tr
                      key={p.platform}
                      data-platform={p.platform}
                      className={p.platform === scope.platform ? "selected" : undefined}
                    >
                      <td>{platformName(p.platform)}</td>
                      <td>{int(p.total_posts)}</td>
                      <td>{int(p.total_impressions)}</td>
                      <td>{int(p.total_engagement)}</td>
                      <td data-testid="platform-rate">{pct(p.engagement_rate)}</td>
                      <td>{pct(p.share_of_engagement)}</td>
                      <td data-testid="platform-follower-growth">{int(p.follower_growth)}</td>
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
