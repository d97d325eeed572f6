// Connecting accounts: which ingest service connects which platforms, and what the page
// says about the outcome the ingest service sends the browser back with
// (/connections?connected=<platforms>&accounts=<n>, or ?connect_error=<code>).
import type { AccountStatus, ConnectService, Platform } from "./api/types";
import { platformName } from "./format";

export interface Service {
  id: ConnectService;
  label: string;
  /** What its Connect button says. */
  connectLabel: string;
  platforms: Platform[];
}

/** In the order the page shows them. */
export const SERVICES: Service[] = [
  { id: "linkedin", label: "LinkedIn", connectLabel: "Connect LinkedIn", platforms: ["linkedin"] },
  { id: "twitter", label: "X", connectLabel: "Connect X", platforms: ["twitter"] },
  {
    id: "meta",
    label: "Meta (Facebook and Instagram)",
    connectLabel: "Connect Facebook & Instagram",
    platforms: ["facebook", "instagram"],
  },
];

export function serviceOf(platform: string): Service | undefined {
  return SERVICES.find((s) => s.platforms.some((p) => p === platform));
}

export const STATUS_LABELS: Record<AccountStatus, string> = {
  syncing: "Syncing",
  active: "Active",
  needs_reconnection: "Needs reconnection",
  disconnected: "Disconnected",
};

export type ConnectOutcome =
  | { kind: "connected"; platforms: string[]; accounts: number | null }
  | { kind: "error"; code: string };

const OUTCOME_PARAMS = ["connected", "accounts", "connect_error"];
const CODE = /^[A-Za-z0-9_.-]{1,64}$/;
const PLATFORMS = new Set(["linkedin", "twitter", "facebook", "instagram"]);

/** The outcome in a query string, if it holds one. */
export function parseOutcome(search: string): ConnectOutcome | null {
  const q = new URLSearchParams(search);
  const error = q.get("connect_error");
  if (error !== null) return { kind: "error", code: CODE.test(error) ? error : "unknown" };
  const connected = q.get("connected");
  if (connected === null) return null;
  const platforms = connected.split(",").filter((p) => PLATFORMS.has(p));
  const n = Number(q.get("accounts"));
  return { kind: "connected", platforms, accounts: Number.isInteger(n) && n >= 0 ? n : null };
}

/**
 * The outcome the page was opened with, taken off the URL (history.replaceState), so a
 * reload or a bookmark does not tell it again. Called once, before the first render.
 */
export function takeConnectOutcome(): ConnectOutcome | null {
  const outcome = parseOutcome(window.location.search);
  const q = new URLSearchParams(window.location.search);
  if (!OUTCOME_PARAMS.some((p) => q.has(p))) return outcome;
  for (const p of OUTCOME_PARAMS) q.delete(p);
  const rest = q.toString();
  const url = `${window.location.pathname}${rest ? `?${rest}` : ""}${window.location.hash}`;
  window.history.replaceState(window.history.state, "", url);
  return outcome;
}

function listOf(names: string[]): string {
  if (names.length <= 1) return names.join("");
  return `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}

/** A connect_error code in words: what happened and what to do. */
export function errorMessage(code: string): string {
  switch (code) {
    case "access_denied":
    case "user_denied":
      return "Access was denied on the platform's page, so nothing was connected. To connect, choose Connect again and allow Pulse access.";
    case "user_cancelled_authorize":
    case "user_cancelled_login":
      return "The sign-in was cancelled on the platform's page, so nothing was connected.";
    case "state_invalid":
      return "This connection link has expired or was already used. Start again with Connect.";
    case "choice_invalid":
      return "The choice of accounts expired or was already made. Start again with Connect.";
    case "nothing_chosen":
      return "No account was chosen, so nothing was connected.";
    case "no_code":
      return "The platform sent no authorization back. Try connecting again.";
    case "exchange_refused":
      return "The platform refused Pulse's sign-in. Try again; if it keeps failing, tell an operator.";
    case "account_taken":
      return "That account is already connected to another business in Pulse. Disconnect it there first.";
    case "no_accounts":
      return "The profile you signed in with manages no account Pulse can connect (for Meta: a Facebook Page, or an Instagram professional account linked to one).";
    case "platform_unreachable":
      return "The platform could not be reached. Try again in a few minutes.";
    case "invalid_scope":
    case "unauthorized_scope_error":
      return "The platform refused the permissions Pulse asks for. Tell an operator: the app's settings on the platform need a look.";
    default:
      return `The account was not connected (error: ${code}). Try again; if it keeps failing, tell an operator.`;
  }
}

export function outcomeMessage(outcome: ConnectOutcome): string {
  if (outcome.kind === "error") return errorMessage(outcome.code);
  const names = listOf(outcome.platforms.map(platformName));
  const n = outcome.accounts;
  const what = n === null ? "accounts" : n === 1 ? "1 account" : `${n} accounts`;
  return `Connected ${what}${names ? ` on ${names}` : ""}. Pulse is finding their past posts now; their numbers follow as they are polled.`;
}
