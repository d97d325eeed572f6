// An invite link, /invite#<secret>: the secret is taken off the address before the first
// render and kept in this tab's sessionStorage, so it survives the sign-in redirect
// (which comes back to /invite) and never lands in the history or a sign-in URL.
import { businessName, type Accepted, type Business } from "./api/workspace";
import { ApiError } from "./api/http";
import { roleLabel } from "./roles";
import * as storage from "./storage";

export const INVITE_PATH = "/invite";

const SECRET = /^[A-Za-z0-9_-]{16,200}$/;

export function atInvite(): boolean {
  return window.location.pathname.replace(/\/+$/, "") === INVITE_PATH;
}

/** Keeps the secret of an invite link the page was opened with, and cleans the address. */
export function takeInviteSecret(): void {
  if (!atInvite()) return;
  const secret = window.location.hash.replace(/^#/, "");
  if (!secret) return;
  if (SECRET.test(secret)) storage.saveInvite(secret);
  window.history.replaceState(window.history.state, "", INVITE_PATH);
}

export type InviteOutcome =
  | { kind: "joined"; business: Business }
  | { kind: "error"; status: number; message: string };

/** The business the invite added the user to: named by the answer, or the one new in /me. */
export function joinedBusiness(answer: Accepted | undefined, before: Business[], after: Business[]): Business | null {
  const id = answer?.business_id ?? answer?.business?.business_id;
  if (id !== undefined) return after.find((b) => b.business_id === id) ?? null;
  const known = new Set(before.map((b) => b.business_id));
  return after.find((b) => !known.has(b.business_id)) ?? null;
}

/** Why an invite could not be accepted, in words. */
export function inviteProblem(err: ApiError, email: string | null): string {
  const said = err.detail ? ` (${err.detail.replace(/\.$/, "")})` : "";
  switch (err.status) {
    case 410:
      return `This invitation has expired, was already used or was withdrawn${said}. Ask the person who invited you for a new one.`;
    case 403:
      return `This invitation was sent to another email address than the one you signed in with${email ? ` (${email})` : ""}${said}. Sign out and sign in with the invited address, or ask for an invitation to this one.`;
    case 404:
      return `This invitation link is not valid${said}. Check that you opened the whole link from the email, or ask for a new one.`;
    case 409:
      return `You are already a member of this business${said}.`;
    default:
      return err.message;
  }
}

export function joinedMessage(business: Business): string {
  return `You joined ${businessName(business)} as ${roleLabel(business.role).toLowerCase()}.`;
}
