import type { Alert, ReporterClient, Sensitivity } from "../../api/reporter";
import type { Business } from "../../api/workspace";

/** What each part of the Alerts view gets. */
export interface AlertsProps {
  reporter: ReporterClient;
  business: Business;
  /** The business's time zone (its calendar's): times are its clock's. */
  timezone: string;
  onUnauthorized: () => void;
}

/** Each sensitivity in a line (the reporter's anomalies.py presets). */
export const SENSITIVITY_HINTS: Record<Sensitivity, { label: string; hint: string }> = {
  low: {
    label: "Low",
    hint: "Only the unmistakable: a day at half its usual or less, or twice it or more; at most one alert a week per number.",
  },
  medium: {
    label: "Medium",
    hint: "Clear moves: a day 40% below its usual or two thirds above it; at most one alert a week per number.",
  },
  high: {
    label: "High",
    hint: "Smaller moves too: a day 30% below its usual or 43% above it; up to one alert every three days per number.",
  },
};

/**
 * Where an alert's link goes, as a path of this page when it is on this origin (the
 * reporter writes its links with the dashboard's public address), else as given when it is
 * http(s); null for anything else.
 */
export function alertHref(link: string): string | null {
  let url: URL;
  try {
    url = new URL(link, window.location.origin);
  } catch {
    return null;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return null;
  return url.origin === window.location.origin ? `${url.pathname}${url.search}${url.hash}` : url.href;
}

/** The words of an alert's link: the view it opens. */
export function linkText(alert: Pick<Alert, "kind" | "link">): string {
  if (alert.kind === "reconnection" || /\/connections(?:[?#]|$)/.test(alert.link)) return "Open Connections";
  return "Open in Trends";
}
