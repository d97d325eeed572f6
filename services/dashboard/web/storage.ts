// What the browser remembers: the token and the businesses the user has entered.
const TOKEN = "pulse.token";
const BUSINESSES = "pulse.businesses";
const CURRENT = "pulse.business";

export function loadToken(): string | null {
  return localStorage.getItem(TOKEN);
}

export function saveToken(token: string | null): void {
  if (token) localStorage.setItem(TOKEN, token);
  else localStorage.removeItem(TOKEN);
}

export function loadBusinesses(): number[] {
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(BUSINESSES) ?? "[]");
    return Array.isArray(parsed) ? parsed.filter((n): n is number => Number.isInteger(n) && n > 0) : [];
  } catch {
    return [];
  }
}

export function saveBusinesses(ids: number[]): void {
  localStorage.setItem(BUSINESSES, JSON.stringify(ids));
}

export function loadCurrentBusiness(): number | null {
  const n = Number(localStorage.getItem(CURRENT));
  return Number.isInteger(n) && n > 0 ? n : null;
}

export function saveCurrentBusiness(id: number): void {
  localStorage.setItem(CURRENT, String(id));
}
