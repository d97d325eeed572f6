import { useCallback, useState } from "react";
import type { ReporterClient } from "../../api/reporter";
import { useApi } from "../../useApi";

/** The reporter counts a caller's unread alerts up to this; beyond, "99+". */
const COUNTED = 100;

/** The unread count as the Alerts tab writes it: "3", "99+". */
export function unreadText(n: number): string {
  return n >= COUNTED ? `${COUNTED - 1}+` : String(n);
}

/**
 * The caller's unread alerts of the business (0 until known, or when the reporter does not
 * answer: the tab then says nothing), and a function to ask again after marking some read.
 */
export function useUnreadAlerts(reporter: ReporterClient, businessId: number, onUnauthorized: () => void): [number, () => void] {
  const [version, setVersion] = useState(() => Date.now());
  const [page] = useApi(`${businessId}|unread|${version}`, () => reporter.alerts(businessId, null, 1), onUnauthorized);
  const changed = useCallback(() => setVersion((v) => Math.max(v + 1, Date.now())), []);
  // While it is asked again, the count shown stays (the Workspace is made anew per business).
  const unread = page.state === "ready" ? page.data.unread : 0;
  return [unread, changed];
}
