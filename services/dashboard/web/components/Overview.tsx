import { useApi } from "../useApi";
import { ContentPerformance, PlatformComparison } from "./charts";
import { scopeKey, type ViewProps } from "./props";
import { PanelSkeleton } from "./Skeleton";
import { SummaryCards } from "./SummaryCards";

/**
 * The cards, then the platform and content panels. The panels (their chart chunk and their
 * questions) start once the cards' answer is in: on a phone's network they would otherwise
 * share its bandwidth with the numbers the manager opened the page for.
 */
export function Overview(props: ViewProps) {
  const { client, scope, version, onUnauthorized } = props;
  // The cards' own question (one cached answer: TanStack Query asks it once).
  const [summary] = useApi(scopeKey(scope, version), () => client.overview(scope), onUnauthorized);
  const cardsSettled = summary.state !== "loading";
  return (
    <>
      <SummaryCards {...props} />
      <div className="two">
        {cardsSettled ? <PlatformComparison {...props} /> : <PanelSkeleton title="Platform comparison" testId="platforms" />}
        {cardsSettled ? <ContentPerformance {...props} /> : <PanelSkeleton title="Content-type performance" testId="content" />}
      </div>
    </>
  );
}
