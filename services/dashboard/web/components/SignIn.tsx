import { useState, type FormEvent } from "react";

interface Props {
  message: string | null;
  initialBusinessId: number | null;
  onSignIn: (token: string, businessId: number) => void;
}

/** Sign-in with a pasted query-api token (from `pulse token --business-id N`). */
export function SignIn({ message, initialBusinessId, onSignIn }: Props) {
  const [token, setToken] = useState("");
  const [business, setBusiness] = useState(initialBusinessId ? String(initialBusinessId) : "");
  const [error, setError] = useState<string | null>(null);

  function submit(e: FormEvent) {
    e.preventDefault();
    const id = Number(business);
    if (!token.trim()) return setError("Paste your access token.");
    if (!Number.isInteger(id) || id <= 0) return setError("Enter the business id, a whole number such as 1.");
    onSignIn(token.trim(), id);
  }

  return (
    <main className="signin" data-testid="signin">
      <form onSubmit={submit} className="panel">
        <h1>Sign in to Pulse</h1>
        <p>
          Paste the access token you were given (an operator creates one with{" "}
          <code>pulse token --business-id N</code>) and the id of the business to look at.
        </p>
        {message && (
          <p className="state error" role="alert" data-testid="signin-message">
            {message}
          </p>
        )}
        <label>
          Access token
          <textarea
            name="token"
            rows={4}
            value={token}
            onChange={(e) => setToken(e.target.value)}
            autoComplete="off"
            spellCheck={false}
          />
        </label>
        <label>
          Business id
          <input name="business" inputMode="numeric" value={business} onChange={(e) => setBusiness(e.target.value)} />
        </label>
        {error && (
          <p className="state error" role="alert">
            {error}
          </p>
        )}
        <button type="submit">Sign in</button>
        <p className="hint">The token stays in this browser only (local storage) until you sign out.</p>
      </form>
    </main>
  );
}
