// The session the dashboard's server keeps for the browser (a cookie the page cannot read):
// who is signed in and the CSRF token its state-changing calls carry.
import { ApiError, Http } from "./http";

export interface SessionUser {
  user_id: string;
  email: string | null;
  name: string | null;
}

export interface Session {
  user: SessionUser;
  csrf_token: string;
}

/** The signed-in session, or null when there is none (401). */
export async function loadSession(): Promise<Session | null> {
  try {
    return await new Http(null).json<Session>("/auth/session", { headers: { Accept: "application/json" } });
  } catch (err) {
    if (err instanceof ApiError && err.unauthorized) return null;
    throw err;
  }
}

/** Where "Sign in" goes: the server's sign-in, back to `returnTo` (a path of this page) afterwards. */
export function signInHref(returnTo: string): string {
  const path = returnTo.startsWith("/") && !returnTo.startsWith("//") ? returnTo : "/";
  return `/auth/login?${new URLSearchParams({ return_to: path })}`;
}

/** The page's current path, filters (its query string) and hash: what a sign-in comes back to. */
export function currentPath(): string {
  return `${window.location.pathname}${window.location.search}${window.location.hash}`;
}

export function signIn(returnTo: string = currentPath()): void {
  window.location.assign(signInHref(returnTo));
}

/** Ends the session here; the answer names the provider's sign-out page to go to next. */
export function logout(http: Http): Promise<{ logout_url: string }> {
  return http.sendJson("POST", "/auth/logout");
}
