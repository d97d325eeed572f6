// How numbers look on the page (the e2e tests format API numbers the same way).

export const DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
export const DAYS_SHORT = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

export const PLATFORM_NAMES: Record<string, string> = {
  all: "All platforms",
  linkedin: "LinkedIn",
  twitter: "X",
  facebook: "Facebook",
  instagram: "Instagram",
};

export function platformName(p: string): string {
  return PLATFORM_NAMES[p] ?? p;
}

export function int(n: number | null | undefined): string {
  return n === null || n === undefined ? "—" : Math.round(n).toLocaleString("en-US");
}

/** A total no post of the period reported (a platform that does not give it): said so. */
export function reportedInt(n: number | null | undefined): string {
  return n === null || n === undefined ? "not reported" : int(n);
}

/** A gain or loss with its sign: "+25", "−3", "0"; "—" when unknown. */
export function signedInt(n: number | null | undefined): string {
  if (n === null || n === undefined) return "—";
  const rounded = Math.round(n);
  return rounded > 0 ? `+${int(rounded)}` : rounded < 0 ? `−${int(-rounded)}` : "0";
}

export function dec(n: number | null | undefined, digits = 2): string {
  return n === null || n === undefined
    ? "—"
    : n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function pct(n: number | null | undefined): string {
  return n === null || n === undefined ? "—" : `${dec(n)}%`;
}

/** A change against the previous period: "+12.5%", "−3.0%", or a note when not computable. */
export function change(n: number | null | undefined): string {
  if (n === null || n === undefined) return "no previous data";
  const sign = n > 0 ? "+" : n < 0 ? "−" : "±";
  return `${sign}${Math.abs(n).toLocaleString("en-US", { maximumFractionDigits: 2 })}%`;
}

export function hourLabel(h: number): string {
  return `${String(h).padStart(2, "0")}:00`;
}

const MONTHS_SHORT = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/**
 * A moment as the business's clock shows it ("6 Dec 2026, 09:04"), whatever the device's
 * zone; made of numeric parts, so every browser writes it alike. A zone the browser does
 * not know: UTC, said so.
 */
export function zonedDateTime(isoString: string | null, timeZone: string): string {
  if (!isoString) return "—";
  const moment = new Date(isoString);
  const parts = (zone: string) => {
    const options: Intl.DateTimeFormatOptions = {
      timeZone: zone, year: "numeric", month: "numeric", day: "numeric",
      hour: "numeric", minute: "numeric", hourCycle: "h23",
    };
    const found: Record<string, string> = {};
    for (const p of new Intl.DateTimeFormat("en-US", options).formatToParts(moment)) found[p.type] = p.value;
    const two = (v: string | undefined) => (v ?? "").padStart(2, "0");
    return `${Number(found.day)} ${MONTHS_SHORT[Number(found.month) - 1]} ${found.year}, ${two(found.hour)}:${two(found.minute)}`;
  };
  try {
    return parts(timeZone);
  } catch {
    return `${parts("UTC")} UTC`;
  }
}
