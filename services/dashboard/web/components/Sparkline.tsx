/**
 * A small line of a series, in inline SVG: a value per point, a gap where it is null, a
 * lone value between gaps drawn as a dot. One image to a screen reader (its `label`),
 * never a tab stop; the numbers it draws are the card's, said in words there.
 */

const WIDTH = 120;
const HEIGHT = 32;
const PAD = 3; // room for the stroke and the dots at the edges

export interface SparklineProps {
  values: (number | null)[];
  label: string;
  testId?: string;
}

/** Each point's (x, y) in the box, null where the value is; a flat series sits mid-height. */
function sparkPoints(values: (number | null)[], width = WIDTH, height = HEIGHT): ([number, number] | null)[] {
  const known = values.filter((v): v is number => v !== null);
  if (known.length === 0) return values.map(() => null);
  const low = Math.min(...known);
  const high = Math.max(...known);
  const step = values.length > 1 ? (width - 2 * PAD) / (values.length - 1) : 0;
  return values.map((v, i) => {
    if (v === null) return null;
    const y = high === low ? height / 2 : PAD + ((high - v) / (high - low)) * (height - 2 * PAD);
    return [values.length > 1 ? PAD + i * step : width / 2, y];
  });
}

/** The runs of consecutive known points: lines for runs of two or more, dots for one. */
function runs(points: ([number, number] | null)[]): [number, number][][] {
  const out: [number, number][][] = [];
  let run: [number, number][] = [];
  for (const p of points) {
    if (p) run.push(p);
    else if (run.length) {
      out.push(run);
      run = [];
    }
  }
  if (run.length) out.push(run);
  return out;
}

export function Sparkline({ values, label, testId }: SparklineProps) {
  const drawn = runs(sparkPoints(values));
  return (
    <svg
      className="sparkline"
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      preserveAspectRatio="none"
      role="img"
      aria-label={label}
      focusable="false"
      data-testid={testId}
    >
      {drawn.map((run, i) => (
        <polyline
          key={i}
          className={run.length === 1 ? "dot" : undefined}
          // A lone value: a stroke a hair long, its round caps make the dot (and it stays
          // round however the box is stretched).
          points={(run.length === 1 ? [[run[0][0] - 0.5, run[0][1]], [run[0][0] + 0.5, run[0][1]]] : run)
            .map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`)
            .join(" ")}
          vectorEffect="non-scaling-stroke"
        />
      ))}
    </svg>
  );
}
