import { businessName, type Business } from "../api/workspace";
import { roleLabel } from "../roles";

interface Props {
  /** The businesses the user belongs to (GET /workspace/me). */
  businesses: Business[];
  current: number;
  onSwitch: (id: number) => void;
  onNew: () => void;
}

/** The user's businesses, their role in the one shown, and a way to create another. */
export function BusinessSwitcher({ businesses, current, onSwitch, onNew }: Props) {
  const role = businesses.find((b) => b.business_id === current)?.role;
  return (
    <div className="business" data-testid="business-switcher">
      <label>
        Business
        <select name="business" value={current} onChange={(e) => onSwitch(Number(e.target.value))}>
          {businesses.map((b) => (
            <option key={b.business_id} value={b.business_id}>
              {b.name?.trim() ? `${b.name} (#${b.business_id})` : businessName(b)}
            </option>
          ))}
        </select>
      </label>
      {role && (
        <span className="badge role" data-testid="my-role" data-role={role} title="Your role in this business">
          {roleLabel(role)}
        </span>
      )}
      <button type="button" className="secondary" data-testid="new-business" onClick={onNew}>
        New business
      </button>
    </div>
  );
}
