// The typed client of the workspace service (members, invites, personal API tokens, the
// audit log), which the dashboard's server proxies at /workspace/* (its /v1/*).
import type { Role } from "../roles";
import type { components } from "./generated/workspace";
import type { Http } from "./http";

const BASE = "/workspace";

// The answers' types are generated from the workspace's OpenAPI schema (npm run gen:types;
// a test fails when they drift), under the names the components use.
type Schemas = components["schemas"];

/** A business the user belongs to, with their role in it (GET /workspace/me); its name is
 * null for a business first named by an event, until someone names it. */
export type Business = Schemas["BusinessOut"];
export type Me = Schemas["MeOut"];
export type Member = Schemas["MemberOut"];
export type Invite = Schemas["InviteOut"];
export type ApiToken = Schemas["TokenOut"];
/** A token just created: its secret, shown this once. */
export type CreatedToken = Schemas["NewTokenOut"];
export type AuditEntry = Schemas["AuditEntry"];
export type AuditPage = Schemas["AuditOut"];

/** What accepting an invite answers; the page reads only what it needs, defensively. */
export interface Accepted {
  business_id?: number;
  name?: string;
  role?: Role;
  business?: { business_id?: number; name?: string };
}

const seg = (v: number | string): string => encodeURIComponent(String(v));

/** A business's name as the page writes it: its number when it has none. */
export function businessName(b: Pick<Business, "business_id" | "name">): string {
  return b.name?.trim() || `Business #${b.business_id}`;
}

export class WorkspaceClient {
  private readonly http: Http;
  constructor(http: Http) {
    this.http = http;
  }

  private business(id: number, rest = ""): string {
    return `${BASE}/businesses/${seg(id)}${rest}`;
  }

  me(): Promise<Me> {
    return this.http.json(`${BASE}/me`);
  }

  createBusiness(name: string, timezone: string): Promise<Business> {
    return this.http.sendJson("POST", `${BASE}/businesses`, { name, timezone });
  }

  members(businessId: number): Promise<Member[]> {
    return this.http.json(this.business(businessId, "/members"));
  }

  changeRole(businessId: number, userId: string, role: Role): Promise<Member> {
    return this.http.sendJson("PATCH", this.business(businessId, `/members/${seg(userId)}`), { role });
  }

  removeMember(businessId: number, userId: string): Promise<void> {
    return this.http.sendJson("DELETE", this.business(businessId, `/members/${seg(userId)}`));
  }

  leave(businessId: number): Promise<void> {
    return this.http.sendJson("POST", this.business(businessId, "/leave"));
  }

  invites(businessId: number): Promise<Invite[]> {
    return this.http.json(this.business(businessId, "/invites"));
  }

  invite(businessId: number, email: string, role: Role): Promise<Invite> {
    return this.http.sendJson("POST", this.business(businessId, "/invites"), { email, role });
  }

  revokeInvite(businessId: number, inviteId: number | string): Promise<void> {
    return this.http.sendJson("DELETE", this.business(businessId, `/invites/${seg(inviteId)}`));
  }

  acceptInvite(secret: string): Promise<Accepted> {
    return this.http.sendJson("POST", `${BASE}/invites/accept`, { secret });
  }

  tokens(businessId: number): Promise<ApiToken[]> {
    return this.http.json(this.business(businessId, "/tokens"));
  }

  createToken(businessId: number, name: string, expiresInDays: number | null): Promise<CreatedToken> {
    const body = expiresInDays === null ? { name } : { name, expires_in_days: expiresInDays };
    return this.http.sendJson("POST", this.business(businessId, "/tokens"), body);
  }

  revokeToken(businessId: number, tokenId: number | string): Promise<void> {
    return this.http.sendJson("DELETE", this.business(businessId, `/tokens/${seg(tokenId)}`));
  }

  audit(businessId: number, before: number | null, limit = 50): Promise<AuditPage> {
    const q = new URLSearchParams({ limit: String(limit) });
    if (before !== null) q.set("before", String(before));
    return this.http.json(this.business(businessId, `/audit?${q}`));
  }
}
