// The heatmap's colours: one ramp from the score, and the text colour each shade needs.

type Rgb = [number, number, number];

/** Pale below the average, the average a mid-tone, dark above: indigo 50 → 300 → 900. */
const LOW: Rgb = [245, 247, 255];
const MID: Rgb = [165, 180, 252];
const HIGH: Rgb = [49, 46, 129];

const DARK_TEXT = "#111827";
const LIGHT_TEXT = "#ffffff";
/** WCAG AA for normal text. */
const MIN_CONTRAST = 4.5;

export interface Scale {
  baseline: number;
  /** How far from the baseline the darkest and palest shades are. */
  span: number;
}

/**
 * The scale of one answer: centred on its baseline, spanning the largest gap from it (at
 * least a quarter of the baseline, so that scores barely apart look barely apart).
 */
export function scaleOf(baseline: number, scores: number[]): Scale {
  const gaps = scores.map((s) => Math.abs(s - baseline));
  return { baseline, span: Math.max(0.01, 0.25 * Math.abs(baseline), ...gaps) };
}

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [0, 1, 2].map((i) => Math.round(a[i] + (b[i] - a[i]) * t)) as Rgb;
}

function hex([r, g, b]: Rgb): string {
  return `#${[r, g, b].map((v) => v.toString(16).padStart(2, "0")).join("")}`;
}

function parseHex(h: string): Rgb {
  return [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)) as Rgb;
}

function luminance([r, g, b]: Rgb): number {
  const lin = (v: number) => {
    const c = v / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

export function contrast(a: string, b: string): number {
  const [la, lb] = [luminance(parseHex(a)), luminance(parseHex(b))];
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

/** The background of a score and the text printed on it (at least 4.5:1). */
export function shadeOf(score: number, { baseline, span }: Scale): { background: string; color: string } {
  const t = Math.min(1, Math.max(0, 0.5 + 0.5 * ((score - baseline) / span)));
  const background = hex(t <= 0.5 ? mix(LOW, MID, t * 2) : mix(MID, HIGH, (t - 0.5) * 2));
  const dark = contrast(background, DARK_TEXT);
  const light = contrast(background, LIGHT_TEXT);
  const best = dark >= light ? DARK_TEXT : LIGHT_TEXT;
  // Between the two (a mid shade where neither reaches 4.5:1), black always does.
  return { background, color: Math.max(dark, light) >= MIN_CONTRAST ? best : "#000000" };
}
