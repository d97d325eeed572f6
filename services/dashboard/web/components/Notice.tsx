export type NoticeState = { kind: "ok" | "error"; text: string };

interface Props {
  notice: NoticeState | null;
  testId: string;
  onDismiss: () => void;
}

/** What an action came to, in words, until dismissed. */
export function Notice({ notice, testId, onDismiss }: Props) {
  if (!notice) return null;
  return (
    <div
      className={`notice ${notice.kind}`}
      role={notice.kind === "error" ? "alert" : "status"}
      data-testid={testId}
      data-kind={notice.kind}
    >
      <p>{notice.text}</p>
      <button type="button" className="link" onClick={onDismiss}>
        Dismiss
      </button>
    </div>
  );
}
