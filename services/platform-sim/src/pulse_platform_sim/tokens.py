"""Access tokens: which principal each one stands for, and whether it still works.

Each account has one token (X: an OAuth 2.0 user-context token of the account's owner;
LinkedIn: a member token of an administrator of the organization; Facebook: a Page
token; Instagram: the linked Page's token for the Instagram account). X also has the
app's Bearer token (app-only: public data only). The control API expires or revokes
tokens to test how the ingest services handle a dead token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

from pulse_platform_sim.population import Account, Api, Population, api_of

TokenKind: TypeAlias = Literal["app", "user", "member", "page", "instagram"]
TokenStatus: TypeAlias = Literal["valid", "expired", "revoked"]

_KIND_OF_PLATFORM: dict[str, TokenKind] = {
    "twitter": "user",
    "linkedin": "member",
    "facebook": "page",
    "instagram": "instagram",
}


@dataclass(frozen=True, repr=False)
class Principal:
    """Who a token speaks for."""

    api: Api
    kind: TokenKind
    token: str
    account: Account | None = None  # None: the app itself

    @property
    def label(self) -> str:
        """A name for request counts: "app" or the account id (never the token)."""
        return self.account.account_id if self.account else "app"

    def __repr__(self) -> str:
        return f"Principal({self.api!r}, {self.kind!r}, {self.label!r})"


class TokenRegistry:
    def __init__(self, population: Population) -> None:
        self._principals: dict[str, Principal] = {}
        self._status: dict[str, TokenStatus] = {}
        apps = population.apps
        self._add(Principal("twitter", "app", apps.twitter_bearer_token))
        for account in population.accounts:
            kind = _KIND_OF_PLATFORM[account.platform]
            self._add(Principal(api_of(account.platform), kind, account.access_token, account))

    def _add(self, principal: Principal) -> None:
        self._principals[principal.token] = principal

    def lookup(self, api: Api, token: str) -> tuple[Principal | None, TokenStatus]:
        """The principal of a token of this API (None if unknown here), and its status."""
        principal = self._principals.get(token)
        if principal is None or principal.api != api:
            return None, "valid"
        return principal, self._status.get(token, "valid")

    def status_of(self, token: str) -> TokenStatus:
        return self._status.get(token, "valid")

    def set_status(self, token: str, status: TokenStatus) -> None:
        if status == "valid":
            self._status.pop(token, None)
        else:
            self._status[token] = status

    def reset(self) -> None:
        self._status.clear()
