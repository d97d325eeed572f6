import { useState, type ReactNode } from "react";

interface Props {
  /** The value, shown this once. */
  secret: string;
  /** What it is, in the copy-failure hint ("token", "secret"). */
  noun: string;
  /** What it is and why it is shown once. */
  children: ReactNode;
  /** The notice's test id; its value's and its Done's are `<testId>-value` and `<testId>-done`. */
  testId: string;
  copyTestId: string;
  onDone: () => void;
}

/** A secret the server will not show again (a personal API token, a webhook's signing secret): its
 * explanation, the value, Copy and Done. */
export function ShownOnce({ secret, noun, children, testId, copyTestId, onDone }: Props) {
  const [copied, setCopied] = useState<string | null>(null);
  async function copy() {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied("Copied.");
    } catch {
      setCopied(`Could not copy: select the ${noun} and copy it yourself.`);
    }
  }
  return (
    <div className="notice ok new-token" role="status" data-testid={testId}>
      <div>
        <p>{children}</p>
        <p className="inline">
          <code className="secret" data-testid={`${testId}-value`}>
            {secret}
          </code>
          <button type="button" className="secondary" data-testid={copyTestId} onClick={copy}>
            Copy
          </button>
          {copied && <span className="status">{copied}</span>}
        </p>
      </div>
      <button type="button" className="link" data-testid={`${testId}-done`} onClick={onDone}>
        Done
      </button>
    </div>
  );
}
