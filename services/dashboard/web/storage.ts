// What the browser remembers: preferences only (the business last looked at), and, for
// the moment of a sign-in, an invite's secret. Never a token: the session is the server's.
const CURRENT = "pulse.business";
const INVITE = "pulse.invite";
// Kept by earlier versions of the page: a pasted token and typed business ids.
const LEGACY = ["pulse.token", "pulse.businesses"];

/** Removes what earlier versions kept (a bearer token above all). */
export function forgetLegacy(): void {
  for (const key of LEGACY) localStorage.removeItem(key);
}

export function loadCurrentBusiness(): number | null {
  const n = Number(localStorage.getItem(CURRENT));
  return Number.isInteger(n) && n > 0 ? n : null;
}

export function saveCurrentBusiness(id: number): void {
  localStorage.setItem(CURRENT, String(id));
}

/** An invite's secret, kept in this tab across the sign-in redirect (sessionStorage). */
export function loadInvite(): string | null {
  return sessionStorage.getItem(INVITE);
}

export function saveInvite(secret: string | null): void {
  if (secret) sessionStorage.setItem(INVITE, secret);
  else sessionStorage.removeItem(INVITE);
}
