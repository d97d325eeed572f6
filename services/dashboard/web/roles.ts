// Who may do what in a business, as the page needs it to decide which controls to show.
// A mirror of shared/src/pulse_shared/roles.py, THE source of truth: the servers decide
// (a control shown by mistake is refused with a 403), this only hides what they would
// refuse. Change both together.

export const ROLES = ["owner", "admin", "analyst", "viewer"] as const;
export type Role = (typeof ROLES)[number];

export type Permission =
  | "read" // analytics, posts, connections' status, the members list
  | "export" // the CSV exports
  | "refresh" // fresh numbers now
  | "create_token" // a personal, read-only API token of one's own
  | "manage_accounts" // connect and disconnect platform accounts
  | "manage_members" // invite, change roles and remove (not owners)
  | "manage_owners" // name, demote and remove owners
  | "manage_tokens" // list and revoke other members' API tokens
  | "read_audit"
  | "manage_reports"; // report schedules (and send now), the reports' logo and colour, alert settings

const READ: Permission[] = ["read", "create_token"];
const ANALYST: Permission[] = [...READ, "export", "refresh"];
const ADMIN: Permission[] = [
  ...ANALYST,
  "manage_accounts",
  "manage_members",
  "manage_tokens",
  "read_audit",
  "manage_reports",
];

const PERMISSIONS: Record<Role, ReadonlySet<Permission>> = {
  viewer: new Set(READ),
  analyst: new Set(ANALYST),
  admin: new Set(ADMIN),
  owner: new Set([...ADMIN, "manage_owners"]),
};

export function isRole(value: unknown): value is Role {
  return typeof value === "string" && (ROLES as readonly string[]).includes(value);
}

/** Whether a member of `role` (null: not a member) may do `permission`. */
export function may(role: string | null | undefined, permission: Permission): boolean {
  return isRole(role) && PERMISSIONS[role].has(permission);
}

/**
 * Whether a member of `role` may give someone the role `assigned` (invite them with it, or
 * change theirs to or from it): admins manage every role but owner.
 */
export function mayAssign(role: string | null | undefined, assigned: string): boolean {
  if (!isRole(assigned)) return false;
  return may(role, assigned === "owner" ? "manage_owners" : "manage_members");
}

export const ROLE_LABELS: Record<Role, string> = {
  owner: "Owner",
  admin: "Admin",
  analyst: "Analyst",
  viewer: "Viewer",
};

/** What each role may do, in the words the Team view shows. */
export const ROLE_HINTS: Record<Role, string> = {
  owner: "everything, including naming and removing owners",
  admin: "manage members (not owners), invites and connected accounts, report schedules and alert settings; read the audit log",
  analyst: "read everything, export, ask for fresh numbers",
  viewer: "read",
};

export function roleLabel(role: string): string {
  return isRole(role) ? ROLE_LABELS[role] : role;
}
