// What the reporter's forms share: addresses typed one per line or with commas, and a
// 422's complaints shown beside the inputs they name.
import { asApiError, type ApiError } from "../api/http";
import type { NoticeState } from "./Notice";

/** Each address typed, trimmed, in order (lines, commas, semicolons or spaces between them). */
export function parseAddresses(text: string): string[] {
  return text
    .split(/[\s,;]+/)
    .map((a) => a.trim())
    .filter(Boolean);
}

/** A 422's messages by the form's input they name ("" for those naming none of them). */
export type Problems = Record<string, string[]>;

/**
 * The complaints of `err` by input: a field's first part ("recipients" of "recipients.1")
 * when the form has it, else "". An address's complaint says which one ("Address 2: …").
 */
export function problemsOf(err: ApiError, fields: readonly string[]): Problems {
  const found: Problems = {};
  const problems = err.problems.length ? err.problems : [{ field: err.field, message: err.detail ?? err.message }];
  for (const p of problems) {
    const [head, index] = (p.field ?? "").split(".");
    const field = fields.includes(head) ? head : "";
    const message = field && index !== undefined && /^\d+$/.test(index) ? `Address ${Number(index) + 1}: ${p.message}` : p.message;
    (found[field] ??= []).push(field ? message : p.field ? `${p.field}: ${message}` : message);
  }
  return found;
}

/**
 * A form's failed submit, shown: a 422's complaints beside the inputs they name (any naming
 * none of them also in the notice), anything else in the notice. "unauthorized" when the
 * session has ended, which the caller answers.
 */
export function showFailure(
  err: unknown,
  fields: readonly string[],
  setProblems: (problems: Problems) => void,
  setNotice: (notice: NoticeState) => void,
): "unauthorized" | "shown" {
  const error = asApiError(err);
  if (error.unauthorized) return "unauthorized";
  if (error.status === 422) {
    const found = problemsOf(error, fields);
    setProblems(found);
    if (found[""]) setNotice({ kind: "error", text: error.message });
  } else setNotice({ kind: "error", text: error.message });
  return "shown";
}

/** The id of an input's error message when it has one (for aria-describedby). */
export function describedBy(id: string, problems: Problems, field: string): string | undefined {
  return problems[field]?.length ? id : undefined;
}

/** An input's error, beside it (its id named by the input's aria-describedby). */
export function FieldError({ id, problems, field }: { id: string; problems: Problems; field: string }) {
  const messages = problems[field];
  if (!messages?.length) return null;
  return (
    <p className="field-error" id={id} data-testid={id} data-field={field}>
      {messages.join(" ")}
    </p>
  );
}
