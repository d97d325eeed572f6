import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { dec, int, pct } from "../format";
import { useApi } from "../useApi";
import { Panel } from "./Panel";
import { scopeKey, type ViewProps } from "./props";

/** Text, image, video, link and carousel side by side. */
export function ContentPerformance({ client, scope, version, onUnauthorized }: ViewProps) {
  const [result, reload] = useApi(
    scopeKey(scope, version),
    () => client.contentPerformance(scope),
    onUnauthorized,
  );
  return (
    <Panel
      title="Content-type performance"
      testId="content"
      result={result}
      onRetry={reload}
      isEmpty={(d) => d.content_types.every((c) => c.posts === 0)}
    >
      {(data) => (
        <>
          <div className="chart" data-testid="content-chart">
            <ResponsiveContainer width="100%" height={220}>
              <BarChart data={data.content_types} margin={{ top: 8, right: 8, bottom: 8, left: 0 }}>
                <CartesianGrid strokeDasharray="3 3" vertical={false} />
                <XAxis dataKey="content_type" />
                <YAxis unit="%" width={48} />
                <Tooltip formatter={(v) => `${dec(Number(v))}%`} />
                <Bar dataKey="engagement_rate" name="Engagement rate" fill="#10b981" isAnimationActive={false} />
              </BarChart>
            </ResponsiveContainer>
          </div>
          <div className="table-wrap">
            <table data-testid="content-table">
              <thead>
                <tr>
                  <th>Type</th>
                  <th>Posts</th>
                  <th>Avg. likes</th>
                  <th>Avg. comments</th>
                  <th>Avg. shares</th>
                  <th>Avg. impressions</th>
                  <th>Engagement rate</th>
                </tr>
              </thead>
              <tbody>
                {data.content_types.map((c) => (
                  <tr key={c.content_type} data-content-type={c.content_type}>
                    <td>{c.content_type}</td>
                    <td data-testid="content-posts">{int(c.posts)}</td>
                    <td>{dec(c.avg_likes, 1)}</td>
                    <td>{dec(c.avg_comments, 1)}</td>
                    <td>{dec(c.avg_shares, 1)}</td>
                    <td>{int(c.avg_impressions)}</td>
                    <td data-testid="content-rate">{pct(c.engagement_rate)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </Panel>
  );
}
