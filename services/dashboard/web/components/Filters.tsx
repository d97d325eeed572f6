import type { PlatformFilter } from "../api/types";
import { PRESETS, type PresetId } from "../dates";
import { PLATFORM_NAMES } from "../format";

export interface FilterState {
  platform: PlatformFilter;
  preset: PresetId | "custom";
  startDate: string;
  endDate: string;
}

interface Props {
  value: FilterState;
  /** The business's time zone: the days of the range are its days. */
  timezone: string;
  onPlatform: (p: PlatformFilter) => void;
  onPreset: (p: PresetId) => void;
  onDates: (start: string, end: string) => void;
}

const PLATFORMS: PlatformFilter[] = ["all", "linkedin", "twitter", "facebook", "instagram"];

/** Platform and date range; the range's days are the business's local days. */
export function Filters({ value, timezone, onPlatform, onPreset, onDates }: Props) {
  const days = `Days in ${timezone}, the business's time zone`;
  return (
    <div className="filters" data-testid="filters">
      <label>
        Platform
        <select
          name="platform"
          value={value.platform}
          onChange={(e) => onPlatform(e.target.value as PlatformFilter)}
        >
          {PLATFORMS.map((p) => (
            <option key={p} value={p}>
              {PLATFORM_NAMES[p]}
            </option>
          ))}
        </select>
      </label>
      <label>
        Period
        <select
          name="preset"
          value={value.preset}
          onChange={(e) => e.target.value !== "custom" && onPreset(e.target.value as PresetId)}
        >
          {PRESETS.map((p) => (
            <option key={p.id} value={p.id}>
              {p.label}
            </option>
          ))}
          <option value="custom">Custom</option>
        </select>
      </label>
      <label title={days}>
        From
        <input
          type="date"
          name="start"
          value={value.startDate}
          max={value.endDate}
          onChange={(e) => e.target.value && onDates(e.target.value, value.endDate)}
        />
      </label>
      <label title={days}>
        To
        <input
          type="date"
          name="end"
          value={value.endDate}
          min={value.startDate}
          onChange={(e) => e.target.value && onDates(value.startDate, e.target.value)}
        />
      </label>
    </div>
  );
}
