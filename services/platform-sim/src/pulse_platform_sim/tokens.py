"""Access tokens: which principal each one stands for, and whether it still works.

Two sorts of token live here:

- the *standing* tokens of the population, one per account (X: an OAuth 2.0 user-context
  token of the account's owner; LinkedIn: a member token of an administrator of the
  organization; Facebook: a Page token; Instagram: the linked Page's token for the
  Instagram account), plus X's app-only Bearer token. They never expire by themselves;
  the control API expires or revokes them.
- tokens issued by the OAuth flows (:mod:`.oauth`): each belongs to a :class:`Grant` (one
  person's consent to one app), carries that grant's scopes and expires on the simulated
  clock. Revoking the grant kills every token issued under it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, TypeAlias

from pulse_platform_sim.population import Account, Api, Population, SimUser, api_of

TokenKind: TypeAlias = Literal["app", "user", "member", "page", "instagram", "fb_user"]
TokenStatus: TypeAlias = Literal["valid", "expired", "revoked"]

_KIND_OF_PLATFORM: dict[str, TokenKind] = {
    "twitter": "user",
    "linkedin": "member",
    "facebook": "page",
    "instagram": "instagram",
}


@dataclass(eq=False)
class Grant:
    """One person's consent to one app: the scopes given, and the refresh token (if any)
    that can mint new access tokens until ``refresh_expires_at``."""

    grant_id: str
    api: Api
    client_id: str
    user: SimUser
    scopes: list[str]
    created_at: datetime
    refresh_token: str | None = None
    refresh_expires_at: datetime | None = None
    revoked: bool = False
    refresh_expired: bool = False  # set through the control API
    code: str | None = None  # the authorization code it came from

    def refresh_status(self, now: datetime) -> TokenStatus:
        if self.revoked:
            return "revoked"
        if self.refresh_expired or (
            self.refresh_expires_at is not None and self.refresh_expires_at <= now
        ):
            return "expired"
        return "valid"


@dataclass(frozen=True, repr=False)
class Principal:
    """Who a token speaks for."""

    api: Api
    kind: TokenKind
    token: str
    account: Account | None = None  # None: the app itself, or a person (``user``)
    user: SimUser | None = None  # the person behind it (None: the app)
    grant: Grant | None = field(default=None, compare=False)  # None: a standing token
    issued_at: datetime | None = None
    expires_at: datetime | None = None  # None: does not expire by itself
    long_lived: bool = False  # Meta user tokens after fb_exchange_token

    @property
    def label(self) -> str:
        """A name for request counts: "app", the account id or the person's platform id
        (never the token)."""
        if self.account is not None:
            return self.account.account_id
        if self.user is not None:
            return self.user.linkedin_urn if self.api == "linkedin" else self.user.meta_user_id
        return "app"

    @property
    def scopes(self) -> list[str] | None:
        """The scopes granted (None: a standing token, which may do everything)."""
        return None if self.grant is None else self.grant.scopes

    def has_scope(self, *any_of: str) -> bool:
        scopes = self.scopes
        return scopes is None or any(s in scopes for s in any_of)

    def __repr__(self) -> str:
        return f"Principal({self.api!r}, {self.kind!r}, {self.label!r})"


class TokenRegistry:
    def __init__(self, population: Population, now: Callable[[], datetime]) -> None:
        self._now = now
        self._principals: dict[str, Principal] = {}
        self._status: dict[str, TokenStatus] = {}
        self._standing: dict[str, Principal] = {}
        self.grants: dict[str, Grant] = {}
        apps = population.apps
        self._add_standing(Principal("twitter", "app", apps.twitter_bearer_token))
        for account in population.accounts:
            kind = _KIND_OF_PLATFORM[account.platform]
            admin = population.admin_of(account.business_id)
            self._add_standing(
                Principal(api_of(account.platform), kind, account.access_token, account, admin)
            )

    def _add_standing(self, principal: Principal) -> None:
        self._standing[principal.token] = principal
        self._principals[principal.token] = principal

    # --- reading ----------------------------------------------------------------------

    def lookup(self, api: Api, token: str) -> tuple[Principal | None, TokenStatus]:
        """The principal of a token of this API (None if unknown here), and its status."""
        principal = self._principals.get(token)
        if principal is None or principal.api != api:
            return None, "valid"
        return principal, self.status_of(token)

    def known(self, token: str) -> bool:
        return token in self._principals

    def status_of(self, token: str) -> TokenStatus:
        status = self._status.get(token, "valid")
        principal = self._principals.get(token)
        if status != "valid" or principal is None:
            return status
        if principal.grant is not None and principal.grant.revoked:
            return "revoked"
        if principal.expires_at is not None and principal.expires_at <= self._now():
            return "expired"
        return "valid"

    def issued(self) -> list[Principal]:
        """Every token the OAuth flows issued (access and Page tokens)."""
        return [p for p in self._principals.values() if p.grant is not None]

    def tokens_of(self, user: SimUser, api: Api | None = None) -> list[Principal]:
        """The user's tokens: issued under their grants, and the standing tokens of the
        accounts they administer."""
        return [
            p
            for p in self._principals.values()
            if p.user == user and (api is None or p.api == api) and p.kind != "app"
        ]

    def grant_by_refresh_token(self, api: Api, refresh_token: str) -> Grant | None:
        for grant in self.grants.values():
            if grant.api == api and grant.refresh_token == refresh_token:
                return grant
        return None

    def grants_of(self, user: SimUser, api: Api | None = None) -> list[Grant]:
        return [g for g in self.grants.values() if g.user == user and api in (None, g.api)]

    # --- changing ---------------------------------------------------------------------

    def issue(self, principal: Principal) -> Principal:
        self._principals[principal.token] = principal
        if principal.grant is not None:
            self.grants.setdefault(principal.grant.grant_id, principal.grant)
        return principal

    def set_status(self, token: str, status: TokenStatus) -> None:
        if status == "valid":
            self._status.pop(token, None)
        else:
            self._status[token] = status

    def revoke_grants(self, grants: Iterable[Grant]) -> None:
        for grant in grants:
            grant.revoked = True

    def reset(self) -> None:
        """Only the standing tokens, all valid: every grant and issued token forgotten."""
        self._status.clear()
        self._principals = dict(self._standing)
        self.grants.clear()
