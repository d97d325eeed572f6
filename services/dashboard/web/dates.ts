// Date range presets, in the business's local calendar (the API's days are local days).
// "Today" is the business's, from query-api's /calendar: never this device's clock, whose
// day differs from the business's between the two midnights.

export type PresetId =
  | "thisWeek"
  | "last7"
  | "last30"
  | "last90"
  | "thisMonth"
  | "lastMonth"
  | "lastQuarter";

export const PRESETS: { id: PresetId; label: string }[] = [
  { id: "thisWeek", label: "This week" },
  { id: "last7", label: "Last 7 days" },
  { id: "last30", label: "Last 30 days" },
  { id: "last90", label: "Last 90 days" },
  { id: "thisMonth", label: "This month" },
  { id: "lastMonth", label: "Last month" },
  { id: "lastQuarter", label: "Last quarter" },
];

export const DEFAULT_PRESET: PresetId = "last30";

export function isPreset(id: string): id is PresetId {
  return PRESETS.some((p) => p.id === id);
}

/** What the period is compared against (query-api's `compare`). */
export type Compare = "previous" | "year";

export const COMPARES: { id: Compare; label: string }[] = [
  { id: "previous", label: "Previous period" },
  { id: "year", label: "Same period last year" },
];

/** The range the user chose: a preset, whose days follow the business's today, or fixed days. */
export type RangeChoice = { preset: PresetId } | { preset: "custom"; startDate: string; endDate: string };

/** As query-api allows: at most 366 days, from 2000-01-01. */
export const MAX_DAYS = 366;
export const EARLIEST_DAY = "2000-01-01";
const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/;

function parse(iso: string): Date {
  const [y, m, d] = iso.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d));
}

function iso(d: Date): string {
  return d.toISOString().slice(0, 10);
}

export function isDay(s: string): boolean {
  return ISO_DAY.test(s) && iso(parse(s)) === s;
}

export function addDays(day: string, n: number): string {
  const d = parse(day);
  d.setUTCDate(d.getUTCDate() + n);
  return iso(d);
}

/** Days from `start` to `end`, both included. */
export function daysBetween(start: string, end: string): number {
  return Math.round((parse(end).getTime() - parse(start).getTime()) / 86_400_000) + 1;
}

export function presetRange(id: PresetId, today: string): { start: string; end: string } {
  const t = parse(today);
  const y = t.getUTCFullYear();
  const m = t.getUTCMonth();
  switch (id) {
    case "thisWeek":
      // From Monday, as query-api's weekly trends.
      return { start: addDays(today, -((t.getUTCDay() + 6) % 7)), end: today };
    case "last7":
      return { start: addDays(today, -6), end: today };
    case "last30":
      return { start: addDays(today, -29), end: today };
    case "last90":
      return { start: addDays(today, -89), end: today };
    case "thisMonth":
      return { start: iso(new Date(Date.UTC(y, m, 1))), end: today };
    case "lastMonth":
      return { start: iso(new Date(Date.UTC(y, m - 1, 1))), end: iso(new Date(Date.UTC(y, m, 0))) };
    case "lastQuarter": {
      const first = m - (m % 3) - 3;
      return { start: iso(new Date(Date.UTC(y, first, 1))), end: iso(new Date(Date.UTC(y, first + 3, 0))) };
    }
  }
}

/** The range's days, counted from the business's today. */
export function rangeDays(range: RangeChoice, today: string): { start: string; end: string } {
  return range.preset === "custom" ? { start: range.startDate, end: range.endDate } : presetRange(range.preset, today);
}

/** The same day a year earlier, 29 February as the 28th (query-api's Scope.back). */
export function yearBefore(day: string): string {
  const [y, m, d] = day.split("-").map(Number);
  return m === 2 && d === 29 ? `${y - 1}-02-28` : `${String(y - 1).padStart(4, "0")}-${day.slice(5)}`;
}

/** The period `compare` names beside `start`..`end`. */
export function comparedRange(start: string, end: string, compare: Compare): { start: string; end: string } {
  if (compare === "year") return { start: yearBefore(start), end: yearBefore(end) };
  const n = daysBetween(start, end);
  return { start: addDays(start, -n), end: addDays(end, -n) };
}

/** Why a custom range cannot be applied (what query-api would refuse), or null. */
export function customProblem(start: string, end: string, today: string): string | null {
  if (!isDay(start) || !isDay(end)) return "Choose both days.";
  if (start < EARLIEST_DAY) return `Choose a day from ${EARLIEST_DAY}.`;
  if (end < start) return "The last day is before the first.";
  if (end > addDays(today, MAX_DAYS)) return "The last day is too far ahead.";
  if (daysBetween(start, end) > MAX_DAYS) return `A range spans at most ${MAX_DAYS} days.`;
  return null;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** "22 Oct – 20 Nov 2026" (the year once when both days share it). */
export function rangeLabel(start: string, end: string): string {
  const day = (s: string, withYear: boolean) => {
    const [y, m, d] = s.split("-").map(Number);
    return `${d} ${MONTHS[m - 1]}${withYear ? ` ${y}` : ""}`;
  };
  if (start === end) return day(start, true);
  return `${day(start, start.slice(0, 4) !== end.slice(0, 4))} – ${day(end, true)}`;
}

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/** "Tue 14 Oct 2026": a day with its weekday (a calendar day, whatever the device's zone). */
export function dayLabel(day: string): string {
  const [y, m, d] = day.split("-").map(Number);
  const weekday = WEEKDAYS[new Date(Date.UTC(y, m - 1, d)).getUTCDay()];
  return `${weekday} ${rangeLabel(day, day)}`;
}
