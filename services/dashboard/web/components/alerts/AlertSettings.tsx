import { useEffect, useState, type FormEvent } from "react";
import { SENSITIVITIES, type AlertSettings, type AlertSettingsChange, type Sensitivity } from "../../api/reporter";
import { zonedDateTime } from "../../format";
import { useApi } from "../../useApi";
import { describedBy, FieldError, parseAddresses, showFailure, type Problems } from "../forms";
import { Notice, type NoticeState } from "../Notice";
import { Panel } from "../Panel";
import { ShownOnce } from "../ShownOnce";
import { SENSITIVITY_HINTS, type AlertsProps } from "./common";

interface Props extends AlertsProps {
  manager: boolean;
  /** The saved sensitivity, for the preview to start from. */
  onSensitivity: (s: Sensitivity) => void;
}

const FIELDS = ["sensitivity", "email_recipients", "webhook_url", "rotate_webhook_secret"] as const;

type WebhookChoice = "keep" | "replace" | "remove";

/** A webhook's new signing secret, shown this once with a copy button. */
function NewSecret({ secret, onDone }: { secret: string; onDone: () => void }) {
  return (
    <ShownOnce secret={secret} noun="secret" testId="webhook-secret" copyTestId="copy-secret" onDone={onDone}>
      <strong>The webhook's signing secret:</strong> copy it now into the receiving end, which checks each call's
      signature with it. Pulse will not show it again; rotate it for a new one.
    </ShownOnce>
  );
}

/** The settings as saved, for those who may only read them. */
function SettingsText({ settings, timezone }: { settings: AlertSettings; timezone: string }) {
  const s = SENSITIVITY_HINTS[settings.sensitivity];
  return (
    <dl className="settings-list" data-testid="alert-settings-read">
      <div>
        <dt>Sensitivity</dt>
        <dd data-testid="alert-sensitivity">
          {s.label}: {s.hint}
        </dd>
      </div>
      <div>
        <dt>By email to</dt>
        <dd>{settings.email_recipients.length ? settings.email_recipients.join(", ") : "Nobody (in the app only)"}</dd>
      </div>
      <div>
        <dt>Webhook</dt>
        <dd data-testid="webhook-hint">{settings.webhook ? `${settings.webhook.url_hint}${settings.webhook.signed ? " (signed)" : ""}` : "None"}</dd>
      </div>
      {settings.updated_at && (
        <div>
          <dt>Changed</dt>
          <dd>{zonedDateTime(settings.updated_at, timezone)}</dd>
        </div>
      )}
    </dl>
  );
}

/** The form: sensitivity, the alert mail's recipients, and the webhook (a new URL, removed, or its secret rotated). */
function SettingsForm({ reporter, business, settings, onSaved, onUnauthorized }: Props & {
  settings: AlertSettings;
  onSaved: (saved: AlertSettings, secret: string | null) => void;
}) {
  const id = business.business_id;
  const [sensitivity, setSensitivity] = useState<Sensitivity>(settings.sensitivity);
  const [recipients, setRecipients] = useState(settings.email_recipients.join("\n"));
  const [choice, setChoice] = useState<WebhookChoice>("keep");
  const [url, setUrl] = useState("");
  const [rotate, setRotate] = useState(false);
  const [busy, setBusy] = useState(false);
  const [problems, setProblems] = useState<Problems>({});
  const [notice, setNotice] = useState<NoticeState | null>(null);
  const webhook = settings.webhook;

  async function save(e: FormEvent) {
    e.preventDefault();
    setNotice(null);
    if (choice === "replace" && !url.trim()) return setProblems({ webhook_url: ["Enter the webhook's URL (https://…)."] });
    const change: AlertSettingsChange = { sensitivity, email_recipients: parseAddresses(recipients) };
    if (choice === "replace") change.webhook_url = url.trim();
    if (choice === "remove") change.webhook_url = null;
    if (choice === "keep" && rotate) change.rotate_webhook_secret = true;
    setProblems({});
    setBusy(true);
    try {
      const saved = await reporter.saveAlertSettings(id, change);
      onSaved(saved, saved.webhook_secret ?? null);
    } catch (err) {
      if (showFailure(err, FIELDS, setProblems, setNotice) === "unauthorized") return onUnauthorized();
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="stacked-form" onSubmit={save} data-testid="alert-settings-form" noValidate>
      <Notice notice={notice} testId="alert-settings-notice" onDismiss={() => setNotice(null)} />
      <fieldset className="choices" aria-describedby={describedBy("alert-sensitivity-error", problems, "sensitivity")}>
        <legend>Sensitivity</legend>
        {SENSITIVITIES.map((s) => (
          <label key={s} className="choice">
            <input type="radio" name="alert-sensitivity" value={s} checked={sensitivity === s} onChange={() => setSensitivity(s)} />
            <span>
              <strong>{SENSITIVITY_HINTS[s].label}</strong>
              {s === "medium" && " (the default)"}: <span className="choice-hint">{SENSITIVITY_HINTS[s].hint}</span>
            </span>
          </label>
        ))}
      </fieldset>
      <FieldError id="alert-sensitivity-error" problems={problems} field="sensitivity" />
      <label>
        Email the alerts to (one per line, or separated by commas; none: in the app only)
        <textarea
          name="alert-recipients"
          rows={3}
          autoComplete="off"
          spellCheck={false}
          value={recipients}
          onChange={(e) => setRecipients(e.target.value)}
          aria-invalid={problems.email_recipients ? true : undefined}
          aria-describedby={describedBy("alert-recipients-error", problems, "email_recipients")}
        />
      </label>
      <FieldError id="alert-recipients-error" problems={problems} field="email_recipients" />
      <fieldset className="choices">
        <legend>Webhook (Slack-compatible)</legend>
        <p className="muted" data-testid="webhook-hint">
          {webhook
            ? `Alerts are posted to ${webhook.url_hint}${webhook.signed ? ", signed" : ""}. The URL itself is a credential and is not shown again.`
            : "No webhook: alerts are not posted anywhere else."}
        </p>
        {webhook && (
          <label className="choice">
            <input type="radio" name="webhook-choice" value="keep" checked={choice === "keep"} onChange={() => setChoice("keep")} />
            Keep it
          </label>
        )}
        {!webhook && (
          <label className="choice">
            <input type="radio" name="webhook-choice" value="keep" checked={choice === "keep"} onChange={() => setChoice("keep")} />
            No webhook
          </label>
        )}
        <label className="choice">
          <input type="radio" name="webhook-choice" value="replace" checked={choice === "replace"} onChange={() => setChoice("replace")} />
          {webhook ? "Replace it with a new URL" : "Post alerts to a webhook"}
        </label>
        {webhook && (
          <label className="choice">
            <input type="radio" name="webhook-choice" value="remove" checked={choice === "remove"} onChange={() => setChoice("remove")} />
            Remove it
          </label>
        )}
        {choice === "replace" && (
          <label>
            Webhook URL (https, a public address; a new signing secret is made for it)
            <input
              name="webhook-url"
              type="url"
              inputMode="url"
              autoComplete="off"
              spellCheck={false}
              maxLength={2000}
              value={url}
              onChange={(e) => setUrl(e.target.value)}
              aria-invalid={problems.webhook_url ? true : undefined}
              aria-describedby={describedBy("webhook-url-error", problems, "webhook_url")}
            />
          </label>
        )}
        <FieldError id="webhook-url-error" problems={problems} field="webhook_url" />
        {webhook && choice === "keep" && (
          <label className="choice">
            <input
              type="checkbox"
              name="webhook-rotate"
              checked={rotate}
              onChange={(e) => setRotate(e.target.checked)}
              aria-invalid={problems.rotate_webhook_secret ? true : undefined}
              aria-describedby={describedBy("webhook-rotate-error", problems, "rotate_webhook_secret")}
            />
            Rotate its signing secret (the old one stops working at once)
          </label>
        )}
        <FieldError id="webhook-rotate-error" problems={problems} field="rotate_webhook_secret" />
      </fieldset>
      <div>
        <button type="submit" data-testid="save-alert-settings" disabled={busy}>
          {busy ? "Saving…" : "Save settings"}
        </button>
      </div>
    </form>
  );
}

/** How the business is alerted: every member reads it, managers change it. */
export function AlertSettingsPanel(props: Props) {
  const { reporter, business, timezone, manager, onSensitivity, onUnauthorized } = props;
  const id = business.business_id;
  const [version, setVersion] = useState(() => Date.now());
  const [saved, setSaved] = useState<NoticeState | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const [settings, reload] = useApi(`${id}|alert-settings|${version}`, () => reporter.alertSettings(id), onUnauthorized);
  const current = settings.state === "ready" ? settings.data.sensitivity : null;
  useEffect(() => {
    if (current) onSensitivity(current);
  }, [current]);

  return (
    <Panel title="Alert settings" testId="alert-settings" result={settings} onRetry={reload}>
      {(s) => (
        <>
          <Notice notice={saved} testId="alert-settings-saved" onDismiss={() => setSaved(null)} />
          {secret && <NewSecret secret={secret} onDone={() => setSecret(null)} />}
          {manager ? (
            <SettingsForm
              key={`${s.updated_at ?? ""}`}
              {...props}
              settings={s}
              onSaved={(answer, newSecret) => {
                setSecret(newSecret);
                setSaved({ kind: "ok", text: `Saved: ${SENSITIVITY_HINTS[answer.sensitivity].label.toLowerCase()} sensitivity${answer.webhook ? `, posting to ${answer.webhook.url_hint}` : ""}.` });
                setVersion((v) => Math.max(v + 1, Date.now()));
              }}
            />
          ) : (
            <>
              <SettingsText settings={s} timezone={timezone} />
              <p className="muted">Only the business's owners and admins change how it is alerted.</p>
            </>
          )}
        </>
      )}
    </Panel>
  );
}
