import { useState, type FormEvent } from "react";

interface Props {
  businesses: number[];
  current: number;
  onSwitch: (id: number) => void;
  onAdd: (id: number) => void;
}

/**
 * query-api has no "my businesses" endpoint, so the user enters the ids they may read and
 * this browser remembers them; a business they may not read answers "not found".
 */
export function BusinessSwitcher({ businesses, current, onSwitch, onAdd }: Props) {
  const [adding, setAdding] = useState("");

  function add(e: FormEvent) {
    e.preventDefault();
    const id = Number(adding);
    if (Number.isInteger(id) && id > 0) {
      onAdd(id);
      setAdding("");
    }
  }

  return (
    <div className="business" data-testid="business-switcher">
      <label>
        Business
        <select name="business" value={current} onChange={(e) => onSwitch(Number(e.target.value))}>
          {businesses.map((b) => (
            <option key={b} value={b}>
              #{b}
            </option>
          ))}
        </select>
      </label>
      <form onSubmit={add} className="inline">
        <input
          name="add-business"
          inputMode="numeric"
          placeholder="Add id"
          aria-label="Add a business id"
          value={adding}
          onChange={(e) => setAdding(e.target.value)}
        />
        <button type="submit">Add</button>
      </form>
    </div>
  );
}
