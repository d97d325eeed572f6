import { useMemo, useState, type FormEvent } from "react";
import { asApiError } from "../api/http";
import type { Business, WorkspaceClient } from "../api/workspace";

interface Props {
  workspace: WorkspaceClient;
  /** True for a user who belongs to no business yet (no way back). */
  first: boolean;
  /** The business as created (`asked`: the name and zone it was created with). */
  onCreated: (business: Business, asked: { name: string; timezone: string }) => void;
  onCancel?: () => void;
  onUnauthorized: () => void;
}

/** The browser's own zone: only a suggestion, the business's zone rules every date shown. */
function browserZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

function zones(suggested: string): string[] {
  let all: string[] = [];
  try {
    all = Intl.supportedValuesOf("timeZone");
  } catch {
    all = [];
  }
  return [...new Set([...all, suggested, "UTC"])].sort();
}

/** Creates a business (name, IANA time zone): the user becomes its owner and enters it. */
export function Onboarding({ workspace, first, onCreated, onCancel, onUnauthorized }: Props) {
  const suggested = useMemo(browserZone, []);
  const options = useMemo(() => zones(suggested), [suggested]);
  const [name, setName] = useState("");
  const [timezone, setTimezone] = useState(suggested);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!name.trim()) return setError("Give the business a name.");
    setBusy(true);
    setError(null);
    try {
      const asked = { name: name.trim(), timezone };
      onCreated(await workspace.createBusiness(asked.name, asked.timezone), asked);
    } catch (err) {
      const error = asApiError(err);
      if (error.unauthorized) return onUnauthorized();
      setError(error.message);
      setBusy(false);
    }
  }

  return (
    <main className="signin" data-testid="onboarding">
      <form onSubmit={submit} className="panel">
        <h1>{first ? "Create your business" : "Create a business"}</h1>
        <p>
          {first
            ? "You are not a member of any business yet. Create one (you become its owner), or open the invitation a colleague sent you."
            : "You become its owner and can invite your colleagues."}
        </p>
        <label>
          Name
          <input name="business-name" value={name} maxLength={200} onChange={(e) => setName(e.target.value)} autoFocus />
        </label>
        <label>
          Time zone
          <select name="business-timezone" value={timezone} onChange={(e) => setTimezone(e.target.value)}>
            {options.map((z) => (
              <option key={z} value={z}>
                {z}
                {z === suggested ? " (this device)" : ""}
              </option>
            ))}
          </select>
        </label>
        <p className="hint">
          Every day and time Pulse shows for this business is in its time zone, whatever the device. The device's zone is
          only a suggestion.
        </p>
        {error && (
          <p className="state error" role="alert" data-testid="onboarding-error">
            {error}
          </p>
        )}
        <div className="inline">
          <button type="submit" data-testid="create-business" disabled={busy}>
            {busy ? "Creating…" : "Create business"}
          </button>
          {onCancel && (
            <button type="button" className="secondary" onClick={onCancel}>
              Cancel
            </button>
          )}
        </div>
      </form>
    </main>
  );
}
