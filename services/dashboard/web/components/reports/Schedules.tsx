import { useState, type FormEvent, type ReactNode } from "react";
import { asApiError } from "../../api/http";
import { previewPdfHref, type Schedule } from "../../api/reporter";
import { rangeLabel } from "../../dates";
import { useApi } from "../../useApi";
import { describedBy, FieldError, parseAddresses, problemsOf, type Problems } from "../forms";
import { Notice, type NoticeState } from "../Notice";
import { Panel } from "../Panel";
import { KINDS, kindText, recipientsText, type ReportsProps } from "./common";

interface Props extends ReportsProps {
  manager: boolean;
  version: number;
  onChanged: () => void;
}

const EDIT_FIELDS = ["recipients", "include_csv"] as const;

/** A schedule's recipients and CSV choice, changed in place; each refusal beside its input. */
function EditSchedule({ schedule, busy, onSave, onCancel }: {
  schedule: Schedule;
  busy: boolean;
  onSave: (recipients: string[], csv: boolean) => Promise<Problems | null>;
  onCancel: () => void;
}) {
  const [recipients, setRecipients] = useState(schedule.recipients.join("\n"));
  const [csv, setCsv] = useState(schedule.include_csv);
  const [problems, setProblems] = useState<Problems>({});
  const key = `schedule-${schedule.id}`;

  async function save(e: FormEvent) {
    e.preventDefault();
    const addresses = parseAddresses(recipients);
    if (addresses.length === 0) return setProblems({ recipients: ["Enter at least one email address."] });
    setProblems((await onSave(addresses, csv)) ?? {});
  }

  return (
    <form className="stacked-form" onSubmit={save} data-testid="schedule-edit-form" noValidate>
      <label>
        Recipients of the {KINDS[schedule.kind].phrase} (one per line, or separated by commas)
        <textarea
          name="edit-recipients"
          rows={3}
          autoComplete="off"
          spellCheck={false}
          value={recipients}
          onChange={(e) => setRecipients(e.target.value)}
          aria-invalid={problems.recipients ? true : undefined}
          aria-describedby={describedBy(`${key}-recipients-error`, problems, "recipients")}
        />
      </label>
      <FieldError id={`${key}-recipients-error`} problems={problems} field="recipients" />
      <label className="check">
        <input type="checkbox" name="edit-csv" checked={csv} onChange={(e) => setCsv(e.target.checked)} />
        Attach the period's posts as CSV
      </label>
      <FieldError id={`${key}-csv-error`} problems={problems} field="include_csv" />
      <FieldError id={`${key}-error`} problems={problems} field="" />
      <div className="inline">
        <button type="submit" data-testid="save-schedule" disabled={busy}>
          {busy ? "Saving…" : "Save"}
        </button>
        <button type="button" className="secondary" disabled={busy} onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** The business's schedules; for managers, preview, send now, pause, edit and delete each. */
export function Schedules({ reporter, business, timezone, manager, version, onChanged, onUnauthorized }: Props) {
  const id = business.business_id;
  const [busy, setBusy] = useState<string | null>(null);
  const [editing, setEditing] = useState<number | null>(null);
  const [confirming, setConfirming] = useState<number | null>(null);
  const [notice, setNotice] = useState<NoticeState | null>(null);
  const [schedules, reload] = useApi(`${id}|schedules|${version}`, () => reporter.schedules(id), onUnauthorized);

  /** Runs `action`; its words (or the failure's) in the notice. A 422 is handed back instead. */
  async function run(key: string, action: () => Promise<string>): Promise<Problems | null> {
    setBusy(key);
    setNotice(null);
    try {
      setNotice({ kind: "ok", text: await action() });
      onChanged();
      return null;
    } catch (err) {
      const error = asApiError(err);
      if (error.unauthorized) {
        onUnauthorized();
        return null;
      }
      if (error.status === 422 && key.startsWith("edit:")) return problemsOf(error, EDIT_FIELDS);
      setNotice({ kind: "error", text: error.message });
      return null;
    } finally {
      setBusy(null);
    }
  }

  const label = (s: Schedule) => `the ${KINDS[s.kind].phrase} to ${recipientsText(s.recipients.length)}`;

  function sendNow(s: Schedule) {
    void run(`send:${s.id}`, async () => {
      const queued = await reporter.sendNow(id, s.id);
      return `Queued: ${label(s)} of ${rangeLabel(queued.period.start, queued.period.end)} goes within a minute; follow it in the deliveries' log below.`;
    });
  }

  function pause(s: Schedule, paused: boolean) {
    void run(`pause:${s.id}`, async () => {
      await reporter.changeSchedule(id, s.id, { paused });
      return paused ? `Paused: ${label(s)} sends nothing until resumed.` : `Resumed: ${label(s)} goes again ${KINDS[s.kind].next}.`;
    });
  }

  async function save(s: Schedule, recipients: string[], csv: boolean): Promise<Problems | null> {
    const problems = await run(`edit:${s.id}`, async () => {
      const saved = await reporter.changeSchedule(id, s.id, { recipients, include_csv: csv });
      return `Saved: ${label(saved)}${saved.include_csv ? ", with the CSV" : ""}.`;
    });
    if (problems === null) setEditing(null);
    return problems;
  }

  function remove(s: Schedule) {
    void run(`delete:${s.id}`, async () => {
      await reporter.deleteSchedule(id, s.id);
      setConfirming(null);
      return `Deleted: ${label(s)}, with its deliveries' log.`;
    });
  }

  function actions(s: Schedule) {
    const preview = (
      <a href={previewPdfHref(id, s.id)} target="_blank" rel="noopener noreferrer" data-testid="preview-pdf" className="button-link secondary">
        Preview PDF<span className="visually-hidden"> of {label(s)} (opens in a new tab; it takes up to a minute)</span>
      </a>
    );
    if (!manager) return preview;
    if (confirming === s.id)
      return (
        <div className="confirm" role="group" aria-label="Confirm deletion" data-testid="delete-confirm">
          <p>Delete {label(s)}? Its deliveries' log goes with it; nothing more is sent.</p>
          <button type="button" className="danger" data-testid="confirm-delete" disabled={busy !== null} onClick={() => remove(s)}>
            Yes, delete
          </button>
          <button type="button" className="secondary" disabled={busy !== null} onClick={() => setConfirming(null)}>
            Cancel
          </button>
        </div>
      );
    return (
      <>
        {preview}
        <button type="button" data-testid="send-now" disabled={busy !== null} aria-label={`Send now: ${label(s)}`} onClick={() => sendNow(s)}>
          {busy === `send:${s.id}` ? "Queuing…" : "Send now"}
        </button>
        <button type="button" className="secondary" data-testid={s.paused ? "resume-schedule" : "pause-schedule"} disabled={busy !== null}
          aria-label={`${s.paused ? "Resume" : "Pause"} ${label(s)}`} onClick={() => pause(s, !s.paused)}>
          {s.paused ? "Resume" : "Pause"}
        </button>
        <button type="button" className="secondary" data-testid="edit-schedule" disabled={busy !== null}
          aria-label={`Edit recipients of ${label(s)}`} onClick={() => setEditing(s.id)}>
          Edit recipients
        </button>
        <button type="button" className="secondary" data-testid="delete-schedule" disabled={busy !== null}
          aria-label={`Delete ${label(s)}`} onClick={() => setConfirming(s.id)}>
          Delete
        </button>
      </>
    );
  }

  return (
    <>
      <Notice notice={notice} testId="schedules-notice" onDismiss={() => setNotice(null)} />
      <Panel title="Report schedules" testId="schedules" result={schedules} onRetry={reload}>
        {(list) =>
          list.length === 0 ? (
            <p className="muted" data-testid="schedules-none">
              No schedule yet{manager ? ": make one below." : "."}
            </p>
          ) : (
            <div className="table-wrap fit-table-wrap">
              <table className="fit-table" data-testid="schedules-table">
                <thead>
                  <tr>
                    <th scope="col">Schedule</th>
                    <th scope="col">Recipients</th>
                    <th scope="col">CSV</th>
                    <th scope="col">State</th>
                    <th scope="col">
                      <span className="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((s) => (
                    <ScheduleRows key={s.id} schedule={s} timezone={timezone} actions={actions(s)}
                      editor={editing === s.id ? (
                        <EditSchedule schedule={s} busy={busy !== null} onSave={(r, c) => save(s, r, c)} onCancel={() => setEditing(null)} />
                      ) : null} />
                  ))}
                </tbody>
              </table>
              <p className="hint">
                Preview PDF renders the last complete period's report now, in a new tab: it can take up to a minute.
              </p>
            </div>
          )
        }
      </Panel>
    </>
  );
}

/** A schedule's row, and its editor under it while it is edited. */
function ScheduleRows({ schedule: s, timezone, actions, editor }: {
  schedule: Schedule;
  timezone: string;
  actions: ReactNode;
  editor: ReactNode;
}) {
  return (
    <>
      <tr data-testid="schedule-row" data-schedule-id={s.id} data-kind={s.kind} data-paused={String(s.paused)}>
        <td data-label="Schedule" data-testid="schedule-kind">
          <strong>{kindText(s.kind)}</strong>
          <span className="cell-note">
            covering {KINDS[s.kind].covers}, from 08:00 ({timezone})
          </span>
        </td>
        <td data-label="Recipients" data-testid="schedule-recipients">
          <ul className="plain-list">
            {s.recipients.map((r) => (
              <li key={r}>{r}</li>
            ))}
          </ul>
        </td>
        <td data-label="CSV" data-testid="schedule-csv">{s.include_csv ? "Attached" : "Not attached"}</td>
        <td data-label="State" data-testid="schedule-state">
          <span className={`badge ${s.paused ? "state-paused" : "state-active"}`}>{s.paused ? "Paused" : "Active"}</span>
        </td>
        <td className="row-actions">{actions}</td>
      </tr>
      {editor && (
        <tr className="editor-row">
          <td colSpan={5}>{editor}</td>
        </tr>
      )}
    </>
  );
}
