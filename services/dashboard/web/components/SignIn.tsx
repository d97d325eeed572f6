import { currentPath, signIn } from "../api/auth";

interface Props {
  /** Why the user is here again (a session that ended), if they were signed in. */
  message: string | null;
}

/**
 * The way in: the dashboard's server signs the user in with the organization's identity
 * provider and comes back to this very address. The page never sees a password or token.
 */
export function SignIn({ message }: Props) {
  return (
    <main className="signin" data-testid="signin">
      <div className="panel">
        <h1>Sign in to Pulse</h1>
        <p>Pulse shows your business's social media numbers. Sign in with your organization's account to continue.</p>
        {message && (
          <p className="state error" role="alert" data-testid="signin-message">
            {message}
          </p>
        )}
        <button type="button" data-testid="sign-in" onClick={() => signIn(currentPath())}>
          Sign in
        </button>
        <p className="hint">
          Your session is kept by the dashboard's server in a secure cookie; nothing is stored in this browser but
          which business you looked at last.
        </p>
      </div>
    </main>
  );
}
