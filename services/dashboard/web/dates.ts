// Date range presets, in the business's local calendar (the API's days are local days).
// "Today" is the business's, from query-api's /calendar: never this device's clock, whose
// day differs from the business's between the two midnights.

export type PresetId = "last7" | "last30" | "last90" | "thisMonth" | "lastMonth" | "thisQuarter";

export const PRESETS: { id: PresetId; label: string }[] = [
  { id: "last7", label: "Last 7 days" },
  { id: "last30", label: "Last 30 days" },
  { id: "last90", label: "Last 90 days" },
  { id: "thisMonth", label: "This month" },
  { id: "lastMonth", label: "Last month" },
  { id: "thisQuarter", label: "This quarter" },
];

function parse(iso: string): Date {
  const [y, m, d] = iso.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d));
}

function iso(d: Date): string {
  return d.toISOString().slice(0, 10);
}

export function addDays(day: string, n: number): string {
  const d = parse(day);
  d.setUTCDate(d.getUTCDate() + n);
  return iso(d);
}

export function presetRange(id: PresetId, today: string): { start: string; end: string } {
  const t = parse(today);
  const y = t.getUTCFullYear();
  const m = t.getUTCMonth();
  switch (id) {
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
    case "thisQuarter":
      return { start: iso(new Date(Date.UTC(y, m - (m % 3), 1))), end: today };
  }
}
