import type { Business } from "../../api/workspace";
import type { DeliveryStatus, ReporterClient, ScheduleKind } from "../../api/reporter";

/** What each part of the Reports view gets. */
export interface ReportsProps {
  reporter: ReporterClient;
  business: Business;
  /** The business's time zone (its calendar's): times are its clock's. */
  timezone: string;
  onUnauthorized: () => void;
}

/** When a schedule sends and what it covers, in words (the reporter's schedules.py). */
export const KINDS: Record<ScheduleKind, { label: string; when: string; phrase: string; next: string; covers: string }> = {
  weekly: { label: "Weekly", when: "Mondays", phrase: "weekly report (Mondays)", next: "next Monday", covers: "the week before, Monday to Sunday" },
  monthly: { label: "Monthly", when: "the 2nd", phrase: "monthly report (the 2nd)", next: "on the next 2nd of a month", covers: "the month before" },
};

/** "Weekly, Mondays": the schedule's kind and day. */
export function kindText(kind: ScheduleKind): string {
  return `${KINDS[kind].label}, ${KINDS[kind].when}`;
}

export const STATUS_LABELS: Record<DeliveryStatus, string> = {
  pending: "Pending",
  sent: "Sent",
  skipped: "Skipped",
  failed: "Failed",
};

/** "1 recipient", "3 recipients". */
export function recipientsText(n: number): string {
  return `${n} recipient${n === 1 ? "" : "s"}`;
}
