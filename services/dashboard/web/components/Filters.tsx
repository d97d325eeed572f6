import { useId, useState, type FormEvent } from "react";
import type { PlatformFilter } from "../api/types";
import {
  COMPARES,
  comparedRange,
  customProblem,
  PRESETS,
  rangeDays,
  rangeLabel,
  type Compare,
  type PresetId,
  type RangeChoice,
} from "../dates";
import { PLATFORM_NAMES } from "../format";

interface Props {
  platform: PlatformFilter;
  range: RangeChoice;
  compare: Compare;
  /** The business's today (GET /calendar): the presets count its days. */
  today: string;
  /** The business's time zone: the days of the range are its days. */
  timezone: string;
  onPlatform: (p: PlatformFilter) => void;
  onRange: (range: RangeChoice) => void;
  onCompare: (compare: Compare) => void;
}

const PLATFORMS: PlatformFilter[] = ["all", "linkedin", "twitter", "facebook", "instagram"];

/** Custom days, applied on Apply (or Enter) only: never a request per keystroke. */
function CustomRange({
  start,
  end,
  today,
  title,
  onApply,
  onCancel,
}: {
  start: string;
  end: string;
  today: string;
  title: string;
  onApply: (start: string, end: string) => void;
  onCancel: () => void;
}) {
  const [draft, setDraft] = useState({ start, end });
  const [problem, setProblem] = useState<string | null>(null);
  function apply(e: FormEvent) {
    e.preventDefault();
    const why = customProblem(draft.start, draft.end, today);
    setProblem(why);
    if (why === null) onApply(draft.start, draft.end);
  }
  return (
    <form className="custom-range" data-testid="custom-range" onSubmit={apply} noValidate>
      <label title={title}>
        From
        <input
          type="date"
          name="start"
          value={draft.start}
          max={draft.end || undefined}
          onChange={(e) => setDraft({ ...draft, start: e.target.value })}
        />
      </label>
      <label title={title}>
        To
        <input
          type="date"
          name="end"
          value={draft.end}
          min={draft.start || undefined}
          onChange={(e) => setDraft({ ...draft, end: e.target.value })}
        />
      </label>
      <button type="submit" data-testid="range-apply">
        Apply
      </button>
      <button type="button" className="link" data-testid="range-cancel" onClick={onCancel}>
        Cancel
      </button>
      {problem && (
        <span className="range-problem" role="alert" data-testid="range-problem">
          {problem}
        </span>
      )}
    </form>
  );
}

/** "Last 30 days · All platforms" (custom days by their dates): the closed disclosure's words. */
function filtersSummary(platform: PlatformFilter, range: RangeChoice, today: string): string {
  const days = rangeDays(range, today);
  const preset = PRESETS.find((p) => p.id === range.preset)?.label ?? rangeLabel(days.start, days.end);
  return `${preset} · ${PLATFORM_NAMES[platform]}`;
}

/**
 * The filters behind a "Filters" button on a phone (styles.css shows the button at
 * ≤ 600 px only): closed, the toolbar is one line naming the range and platform, so the
 * first card is above the fold. Wider, the filters are always open and the button hidden.
 */
export function Filters(props: Props) {
  const [open, setOpen] = useState(false);
  const id = useId();
  return (
    <div className={`filters-disclosure${open ? " open" : ""}`}>
      <button
        type="button"
        className="filters-toggle secondary"
        aria-expanded={open}
        aria-controls={id}
        data-testid="filters-toggle"
        onClick={() => setOpen((o) => !o)}
      >
        <span className="filters-toggle-name">Filters</span>
        <span className="filters-toggle-summary" data-testid="filters-summary">
          {filtersSummary(props.platform, props.range, props.today)}
        </span>
        <span aria-hidden="true" className="filters-toggle-caret">
          {open ? "▴" : "▾"}
        </span>
      </button>
      <FilterControls {...props} id={id} />
    </div>
  );
}

/**
 * Platform, one date range (a preset or custom days) and what it is compared with. The
 * range's days are the business's local days, counted from its today.
 */
function FilterControls({ platform, range, compare, today, timezone, onPlatform, onRange, onCompare, id }: Props & { id: string }) {
  const [editing, setEditing] = useState(false);
  const days = rangeDays(range, today);
  const compared = comparedRange(days.start, days.end, compare);
  const title = `Days in ${timezone}, the business's time zone`;
  return (
    <div className="filters" data-testid="filters" id={id}>
      <label>
        Platform
        <select name="platform" value={platform} onChange={(e) => onPlatform(e.target.value as PlatformFilter)}>
          {PLATFORMS.map((p) => (
            <option key={p} value={p}>
              {PLATFORM_NAMES[p]}
            </option>
          ))}
        </select>
      </label>
      <fieldset className="range-picker">
        <legend className="visually-hidden">Date range</legend>
        <label>
          Date range
          <select
            name="preset"
            value={editing ? "custom" : range.preset}
            onChange={(e) => {
              if (e.target.value === "custom") return setEditing(true);
              setEditing(false);
              onRange({ preset: e.target.value as PresetId });
            }}
          >
            {PRESETS.map((p) => (
              <option key={p.id} value={p.id}>
                {p.label}
              </option>
            ))}
            <option value="custom">Custom…</option>
          </select>
        </label>
        <label>
          Compare to
          <select name="compare" value={compare} onChange={(e) => onCompare(e.target.value as Compare)}>
            {COMPARES.map((c) => (
              <option key={c.id} value={c.id}>
                {c.label}
              </option>
            ))}
          </select>
        </label>
        <span
          className="range-days"
          data-testid="range"
          data-start={days.start}
          data-end={days.end}
          data-compare-start={compared.start}
          data-compare-end={compared.end}
          title={title}
        >
          {rangeLabel(days.start, days.end)}
          <span className="muted"> vs {rangeLabel(compared.start, compared.end)}</span>
          {range.preset === "custom" && !editing && (
            <button type="button" className="link" data-testid="range-edit" onClick={() => setEditing(true)}>
              Edit
            </button>
          )}
        </span>
        {editing && (
          <CustomRange
            start={days.start}
            end={days.end}
            today={today}
            title={title}
            onApply={(startDate, endDate) => {
              setEditing(false);
              onRange({ preset: "custom", startDate, endDate });
            }}
            onCancel={() => setEditing(false)}
          />
        )}
      </fieldset>
    </div>
  );
}
