import { useMemo, type ReactNode } from "react";
import type { PulseClient } from "../api/client";
import type { Calendar } from "../api/types";
import { BusinessInfoProvider } from "./EmptyBusiness";
import { FailureReports } from "./ErrorBanner";

interface Props {
  client: PulseClient;
  calendar: Calendar;
  /** The user's role allows connecting accounts: an empty business then links to Connections. */
  mayConnect: boolean;
  onUnauthorized: () => void;
  children: ReactNode;
}

/**
 * The page's main region, where the views tell their states: one banner for what failed
 * (with one Retry), and empty states that know whether the business has anything at all.
 */
export function ViewStates({ client, calendar, mayConnect, onUnauthorized, children }: Props) {
  const { business_id: businessId, today } = calendar;
  const info = useMemo(
    () => ({ client, businessId, today, mayConnect, onUnauthorized }),
    [client, businessId, today, mayConnect, onUnauthorized],
  );
  return (
    <main>
      <BusinessInfoProvider value={info}>
        <FailureReports>{children}</FailureReports>
      </BusinessInfoProvider>
    </main>
  );
}
