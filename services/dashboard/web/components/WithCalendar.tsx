import type { ReactNode } from "react";
import type { PulseClient } from "../api/client";
import type { Calendar } from "../api/types";
import { useApi, type Loadable } from "../useApi";
import { Panel } from "./Panel";

interface Props {
  client: PulseClient;
  businessId: number;
  onUnauthorized: () => void;
  /** What to show once the business's calendar is known. */
  children: (calendar: Calendar) => ReactNode;
}

/**
 * Asks for the business's calendar (its time zone and today's date there) and shows
 * nothing else until it has answered: every range on the page counts the business's days
 * from its today, so no number is ever asked for with the device's day instead.
 */
export function WithCalendar({ client, businessId, onUnauthorized, children }: Props) {
  const [result, reload] = useApi(String(businessId), () => client.calendar(businessId), onUnauthorized);
  // Right after a business switch, the previous business's answer is still here for a render.
  const current: Loadable<Calendar> =
    result.state === "ready" && result.data.business_id !== businessId ? { state: "loading" } : result;
  if (current.state === "ready") return children(current.data);
  return (
    <Panel title={`Business #${businessId}`} testId="calendar" result={current} onRetry={reload}>
      {() => null}
    </Panel>
  );
}
