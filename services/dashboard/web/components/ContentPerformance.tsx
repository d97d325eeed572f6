import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { dec, int, pct } from "../format";
import { PlatformLabel, platformColor } from "../platforms";
import { useApi } from "../useApi";
import { Panel } from "./Panel";
import { scopeKey, type ViewProps } from "./props";

/** An average no post of the type reported (a platform that does not give it): said so;
 * "—" for a type without posts. */
function avg(n: number | null, digits: number, posts: number): string {
  if (n !== null) return digits === 0 ? int(n) : dec(n, digits);
  return posts === 0 ? "—" : "not reported";
}

/** Text, image, video, link and carousel side by side; in the filtered platform's colour. */
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
          {scope.platform !== "all" && (
            <p className="muted platform-scope" data-testid="content-platform">
              <PlatformLabel platform={scope.platform} /> posts only
            </p>
          )}
          <div
            className="chart"
            data-testid="content-chart"
            role="img"
            aria-label={`Engagement rate by content type: ${data.content_types.map((c) => `${c.content_type} ${pct(c.engagement_rate)}`).join(", ")}`}
          >
            <ResponsiveContainer width="100%" height={220}>
              <BarChart data={data.content_types} margin={{ top: 8, right: 8, bottom: 8, left: 0 }} accessibilityLayer={false}>
                <CartesianGrid strokeDasharray="3 3" vertical={false} />
                <XAxis dataKey="content_type" />
                <YAxis unit="%" width={48} />
                <Tooltip formatter={(v) => `${dec(Number(v))}%`} />
                <Bar dataKey="engagement_rate" name="Engagement rate" fill={scope.platform === "all" ? "#4f46e5" : platformColor(scope.platform)} isAnimationActive={false} />
              </BarChart>
            </ResponsiveContainer>
          </div>
          <div className="fit-table-wrap">
            <table data-testid="content-table" className="fit-table">
              <caption className="visually-hidden">Each content type's posts and average numbers for the period</caption>
              <thead>
                <tr>
                  <th scope="col">Type</th>
                  <th scope="col" className="num">Posts</th>
                  <th scope="col" className="num">Avg. likes</th>
                  <th scope="col" className="num">Avg. comments</th>
                  <th scope="col" className="num">Avg. shares</th>
                  <th scope="col" className="num">Avg. impressions</th>
                  <th scope="col" className="num">Eng. rate</th>
                </tr>
              </thead>
              <tbody>
                {data.content_types.map((c) => (
                  <tr key={c.content_type} data-content-type={c.content_type}>
                    <th scope="row" className="fit-title">{c.content_type}</th>
                    <td className="num" data-label="Posts" data-testid="content-posts">{int(c.posts)}</td>
                    <td className="num" data-label="Avg. likes">{avg(c.avg_likes, 1, c.posts)}</td>
                    <td className="num" data-label="Avg. comments">{avg(c.avg_comments, 1, c.posts)}</td>
                    <td className="num" data-label="Avg. shares">{avg(c.avg_shares, 1, c.posts)}</td>
                    <td className="num" data-label="Avg. impressions">{avg(c.avg_impressions, 0, c.posts)}</td>
                    <td className="num" data-label="Engagement rate" data-testid="content-rate">{pct(c.engagement_rate)}</td>
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
