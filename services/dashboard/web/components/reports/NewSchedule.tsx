import { useState, type FormEvent } from "react";
import type { ScheduleKind } from "../../api/reporter";
import { describedBy, FieldError, parseAddresses, showFailure, type Problems } from "../forms";
import { Notice, type NoticeState } from "../Notice";
import { KINDS, kindText, recipientsText, type ReportsProps } from "./common";

const FIELDS = ["kind", "recipients", "include_csv"] as const;

interface Props extends ReportsProps {
  onCreated: () => void;
}

/** A new schedule: weekly or monthly, its recipients, the CSV or not; each refusal beside its input. */
export function NewSchedule({ reporter, business, timezone, onCreated, onUnauthorized }: Props) {
  const id = business.business_id;
  const [kind, setKind] = useState<ScheduleKind>("weekly");
  const [recipients, setRecipients] = useState("");
  const [csv, setCsv] = useState(false);
  const [busy, setBusy] = useState(false);
  const [problems, setProblems] = useState<Problems>({});
  const [notice, setNotice] = useState<NoticeState | null>(null);

  async function create(e: FormEvent) {
    e.preventDefault();
    const addresses = parseAddresses(recipients);
    setNotice(null);
    if (addresses.length === 0) return setProblems({ recipients: ["Enter at least one email address."] });
    setProblems({});
    setBusy(true);
    try {
      const made = await reporter.createSchedule(id, { kind, recipients: addresses, include_csv: csv });
      setRecipients("");
      setCsv(false);
      setNotice({
        kind: "ok",
        text: `New schedule: the ${KINDS[made.kind].phrase} to ${recipientsText(made.recipients.length)}; the first one goes ${KINDS[made.kind].next}.`,
      });
      onCreated();
    } catch (err) {
      if (showFailure(err, FIELDS, setProblems, setNotice) === "unauthorized") return onUnauthorized();
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="panel" data-testid="new-schedule">
      <header className="panel-head">
        <h2>New schedule</h2>
      </header>
      <Notice notice={notice} testId="new-schedule-notice" onDismiss={() => setNotice(null)} />
      <form className="stacked-form" onSubmit={create} data-testid="schedule-form" noValidate>
        <label>
          Sends
          <select
            name="schedule-kind"
            value={kind}
            onChange={(e) => setKind(e.target.value as ScheduleKind)}
            aria-invalid={problems.kind ? true : undefined}
            aria-describedby={describedBy("schedule-kind-error", problems, "kind")}
          >
            {(Object.keys(KINDS) as ScheduleKind[]).map((k) => (
              <option key={k} value={k}>
                {kindText(k)}
              </option>
            ))}
          </select>
        </label>
        <FieldError id="schedule-kind-error" problems={problems} field="kind" />
        <p className="hint" data-testid="schedule-kind-hint">
          Covers {KINDS[kind].covers}; sent from 08:00 in {timezone}.
        </p>
        <label>
          Recipients (one per line, or separated by commas)
          <textarea
            name="schedule-recipients"
            rows={3}
            autoComplete="off"
            spellCheck={false}
            value={recipients}
            onChange={(e) => setRecipients(e.target.value)}
            aria-invalid={problems.recipients ? true : undefined}
            aria-describedby={describedBy("schedule-recipients-error", problems, "recipients")}
          />
        </label>
        <FieldError id="schedule-recipients-error" problems={problems} field="recipients" />
        <p className="hint">Members or outside addresses, up to 50; each message has an unsubscribe link.</p>
        <label className="check">
          <input
            type="checkbox"
            name="schedule-csv"
            checked={csv}
            onChange={(e) => setCsv(e.target.checked)}
            aria-invalid={problems.include_csv ? true : undefined}
            aria-describedby={describedBy("schedule-csv-error", problems, "include_csv")}
          />
          Attach the period's posts as CSV
        </label>
        <FieldError id="schedule-csv-error" problems={problems} field="include_csv" />
        <div>
          <button type="submit" data-testid="create-schedule" disabled={busy}>
            {busy ? "Creating…" : "Create schedule"}
          </button>
        </div>
      </form>
    </section>
  );
}
