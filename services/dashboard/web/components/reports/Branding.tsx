import { useState, type ChangeEvent, type FormEvent } from "react";
import { asApiError } from "../../api/http";
import { LOGO_TYPES, logoSrc, MAX_LOGO_BYTES, type Branding } from "../../api/reporter";
import { useApi } from "../../useApi";
import { describedBy, FieldError, problemsOf, type Problems } from "../forms";
import { Notice, type NoticeState } from "../Notice";
import { Panel } from "../Panel";
import type { ReportsProps } from "./common";

interface Props extends ReportsProps {
  manager: boolean;
}

const HEX = /^#[0-9a-fA-F]{6}$/;
const LOGO_NAMES: Record<string, string> = { "image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WebP" };

function kib(bytes: number): string {
  return `${Math.max(1, Math.round(bytes / 1024)).toLocaleString("en-US")} KiB`;
}

/** Why a chosen file cannot be the logo (the reporter checks again), or null. */
export function logoProblem(file: File): string | null {
  if (!(LOGO_TYPES as readonly string[]).includes(file.type))
    return `${file.name} is ${file.type ? `a ${file.type} file` : "of an unknown type"}: choose a PNG, JPEG or WebP image.`;
  if (file.size === 0) return `${file.name} is empty.`;
  if (file.size > MAX_LOGO_BYTES) return `${file.name} is ${kib(file.size)}: a logo is at most ${kib(MAX_LOGO_BYTES)}.`;
  return null;
}

/** The colour (a picker and its hex) and the logo (shown, uploaded, removed). */
function BrandingForm({ reporter, business, manager, branding, onSaved, onUnauthorized }: Props & {
  branding: Branding;
  onSaved: (b: Branding, text: string) => void;
}) {
  const id = business.business_id;
  const [colour, setColour] = useState(branding.colour);
  const [busy, setBusy] = useState<"colour" | "logo" | "remove" | null>(null);
  const [problems, setProblems] = useState<Problems>({});
  const [notice, setNotice] = useState<NoticeState | null>(null);

  async function run(what: "colour" | "logo" | "remove", field: string, action: () => Promise<[Branding, string]>) {
    setBusy(what);
    setNotice(null);
    setProblems({});
    try {
      const [saved, text] = await action();
      onSaved(saved, text);
    } catch (err) {
      const error = asApiError(err);
      if (error.unauthorized) return onUnauthorized();
      // Whatever a refusal of the logo names (its type header, its bytes), it is the logo's.
      if (error.status === 422) setProblems({ [field]: Object.values(problemsOf(error, [field])).flat() });
      else setNotice({ kind: "error", text: error.message });
    } finally {
      setBusy(null);
    }
  }

  function saveColour(e: FormEvent) {
    e.preventDefault();
    if (!HEX.test(colour)) return setProblems({ colour: ["Write the colour as # and six hex digits, e.g. #0a66c2."] });
    void run("colour", "colour", async () => [await reporter.setColour(id, colour), `The reports' colour is now ${colour.toLowerCase()}.`]);
  }

  function chooseLogo(e: ChangeEvent<HTMLInputElement>) {
    const file = e.target.files?.[0];
    e.target.value = "";
    if (!file) return;
    const problem = logoProblem(file);
    if (problem) return setProblems({ logo: [problem] });
    void run("logo", "logo", async () => [await reporter.uploadLogo(id, file), `${file.name} is the reports' logo now.`]);
  }

  function removeLogo() {
    void run("remove", "logo", async () => [await reporter.removeLogo(id), "The logo was removed; reports carry the business's name alone."]);
  }

  const logo = branding.logo;
  const version = encodeURIComponent(branding.updated_at ?? "");
  return (
    <>
      <Notice notice={notice} testId="branding-notice" onDismiss={() => setNotice(null)} />
      <div className="branding">
        <div className="branding-part">
          <h3>Colour</h3>
          {manager ? (
            <form className="inline colour-form" onSubmit={saveColour} data-testid="colour-form" noValidate>
              <label>
                Choose
                <input type="color" name="brand-colour-picker" value={HEX.test(colour) ? colour.toLowerCase() : "#000000"}
                  onChange={(e) => setColour(e.target.value)} />
              </label>
              <label>
                Hex code
                <input name="brand-colour" className="hex" maxLength={7} autoComplete="off" spellCheck={false} value={colour}
                  onChange={(e) => setColour(e.target.value.trim())}
                  aria-invalid={problems.colour ? true : undefined}
                  aria-describedby={describedBy("brand-colour-error", problems, "colour")} />
              </label>
              <button type="submit" data-testid="save-colour" disabled={busy !== null}>
                {busy === "colour" ? "Saving…" : "Save colour"}
              </button>
            </form>
          ) : (
            <p className="inline">
              <span className="swatch" style={{ background: branding.colour }} aria-hidden="true" />
              <code data-testid="brand-colour">{branding.colour}</code>
            </p>
          )}
          <FieldError id="brand-colour-error" problems={problems} field="colour" />
          <p className="hint">The cover and the headings of the PDF, and the email's accents.</p>
        </div>
        <div className="branding-part">
          <h3>Logo</h3>
          {logo ? (
            <figure className="logo-figure">
              <img src={`${logoSrc(id)}?v=${version}`} alt={`The reports' logo of ${business.name ?? "the business"}`} className="logo-preview" data-testid="logo" />
              <figcaption className="muted">
                {LOGO_NAMES[logo.media_type] ?? logo.media_type}, {kib(logo.bytes)}
              </figcaption>
            </figure>
          ) : (
            <p className="muted" data-testid="no-logo">
              No logo: the reports carry the business's name.
            </p>
          )}
          {manager && (
            <div className="inline logo-controls">
              <label>
                {logo ? "Replace the logo" : "Upload a logo"} (PNG, JPEG or WebP, at most 512 KiB)
                <input type="file" name="brand-logo" accept={LOGO_TYPES.join(",")} disabled={busy !== null} onChange={chooseLogo}
                  aria-invalid={problems.logo ? true : undefined}
                  aria-describedby={describedBy("brand-logo-error", problems, "logo")} />
              </label>
              {logo && (
                <button type="button" className="secondary" data-testid="remove-logo" disabled={busy !== null} onClick={removeLogo}>
                  {busy === "remove" ? "Removing…" : "Remove logo"}
                </button>
              )}
              {busy === "logo" && <span className="status" role="status">Uploading…</span>}
            </div>
          )}
          <FieldError id="brand-logo-error" problems={problems} field="logo" />
        </div>
      </div>
    </>
  );
}

/** The reports' colour and logo: every member sees them, managers change them. */
export function BrandingPanel(props: Props) {
  const { reporter, business, onUnauthorized } = props;
  const id = business.business_id;
  const [version, setVersion] = useState(() => Date.now());
  const [saved, setSaved] = useState<NoticeState | null>(null);
  const [branding, reload] = useApi(`${id}|branding|${version}`, () => reporter.branding(id), onUnauthorized);
  return (
    <Panel title="Reports' look" testId="branding" result={branding} onRetry={reload}>
      {(b) => (
        <>
          <Notice notice={saved} testId="branding-saved" onDismiss={() => setSaved(null)} />
          <BrandingForm
            key={`${b.colour}|${b.updated_at ?? ""}`}
            {...props}
            branding={b}
            onSaved={(_, text) => {
              setSaved({ kind: "ok", text });
              setVersion((v) => Math.max(v + 1, Date.now()));
            }}
          />
        </>
      )}
    </Panel>
  );
}
