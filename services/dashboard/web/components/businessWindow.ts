import type { Scope } from "../api/client";

/** Days of the business the page looks at for "has it any posts", "have fresh numbers come". */
const DAYS = 90;

function addDays(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/**
 * The business's last 90 days (to its `today`), every platform: its newest posts and
 * observations are there even when the range on screen has none.
 */
export function businessWindow(businessId: number, today: string): Scope {
  return { businessId, platform: "all", startDate: addDays(today, -(DAYS - 1)), endDate: today };
}
