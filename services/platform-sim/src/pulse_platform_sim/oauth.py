"""The three platforms' OAuth 2.0 authorization servers: who may ask (client ids, redirect
URIs, scopes), authorization codes, PKCE, grants and the tokens they issue.

The platform-specific parts (parameter names, error bodies, response fields) are in the
route modules; this module holds what all three share. Every instant is simulated time
(:class:`~.clock.SimClock`), so tests move the clock instead of sleeping.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import re
import string
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, TypeAlias
from urllib.parse import urlsplit, urlunsplit

from pulse_platform_sim.clock import SimClock
from pulse_platform_sim.population import Account, Api, Population, SimUser
from pulse_platform_sim.settings import Settings
from pulse_platform_sim.tokens import Grant, Principal, TokenKind, TokenRegistry

Pkce: TypeAlias = Literal["required", "optional", "ignored"]
VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")

# Scopes each app may ask for. Others are refused on the consent step.
LINKEDIN_SCOPES: dict[str, str] = {
    "r_organization_social": "Retrieve your organizations' posts, comments, reactions",
    "w_organization_social": "Create, modify and delete posts on your organizations' behalf",
    "rw_organization_admin": "Manage your organizations' pages and retrieve reporting data",
    "r_organization_admin": "Retrieve your organizations' pages and their reporting data",
    "r_organization_followers": "Use your followers' data",
    "r_basicprofile": "Use your basic profile",
    "r_liteprofile": "Use your name and photo",
    "r_emailaddress": "Use the primary email address of your account",
    "w_member_social": "Create, modify and delete posts on your behalf",
    "openid": "Use your name and photo (OpenID Connect)",
    "profile": "Use your name and photo",
    "email": "Use the primary email address of your account",
}
TWITTER_SCOPES: dict[str, str] = {
    "tweet.read": "See posts from your timeline (including protected posts)",
    "users.read": "Any account you can view, including protected accounts",
    "offline.access": "Stay connected to your account until you revoke access",
    "tweet.write": "Post and repost for you",
    "tweet.moderate.write": "Hide and unhide replies to your posts",
    "users.email": "Your email address",
    "follows.read": "People who follow you and people who you follow",
    "follows.write": "Follow and unfollow people for you",
    "like.read": "Posts you liked and likes you can view",
    "like.write": "Like and un-like posts for you",
    "list.read": "Lists, list members and list followers you can view",
    "list.write": "Create and manage lists for you",
    "bookmark.read": "Get your bookmarked posts",
    "bookmark.write": "Bookmark and remove bookmarks from posts",
    "media.write": "Upload media",
    "space.read": "All the Spaces you can view",
    "mute.read": "Accounts you've muted",
    "block.read": "Accounts you've blocked",
    "dm.read": "All your direct messages",
}
META_SCOPES: dict[str, str] = {
    "public_profile": "Your name and profile picture",
    "email": "Your email address",
    "pages_show_list": "Show a list of the Pages you manage",
    "pages_read_engagement": "Read content posted on the Page",
    "pages_read_user_content": "Read user content on your Page",
    "pages_manage_metadata": "Manage accounts, settings and webhooks for a Page",
    "pages_manage_posts": "Create and manage content on your Page",
    "read_insights": "Read the Insights of the Pages you manage",
    "business_management": "Manage your business",
    "instagram_basic": "Access profile and posts from the Instagram account connected to your Page",
    "instagram_manage_insights": "Access insights for the Instagram account connected to your Page",
    "instagram_manage_comments": "Manage comments for the Instagram account connected to your Page",
    "instagram_content_publish": "Create content on the Instagram account connected to your Page",
    "ads_read": "Access your ads reports",
    "ads_management": "Manage your ads",
}


@dataclass(frozen=True)
class Provider:
    """One platform's authorization server as an app sees it."""

    api: Api
    name: str  # shown on the consent page
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]
    code_ttl_s: int
    scopes: dict[str, str]  # the scopes an app may ask for, with what they mean
    scope_separator: str  # a regex
    pkce: Pkce
    required: tuple[str, ...]  # query parameters besides client_id and redirect_uri
    ignore_redirect_query: bool = False  # LinkedIn compares redirect URIs without the query

    def split_scopes(self, raw: str | None) -> list[str]:
        if not raw:
            return []
        return list(dict.fromkeys(s for s in re.split(self.scope_separator, raw) if s))

    def redirect_allowed(self, uri: str) -> bool:
        if self.ignore_redirect_query:
            uri = _without_query(uri)
            return uri in {_without_query(u) for u in self.redirect_uris}
        return uri in self.redirect_uris


def _without_query(uri: str) -> str:
    parts = urlsplit(uri)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


@dataclass
class AuthorizationCode:
    code: str
    api: Api
    client_id: str
    redirect_uri: str
    user: SimUser
    scopes: list[str]
    expires_at: datetime
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    used: bool = False
    grants: list[Grant] = field(default_factory=list)  # what it was exchanged for


CodeProblem: TypeAlias = Literal[
    "unknown", "used", "expired", "client_mismatch", "redirect_mismatch", "verifier_mismatch"
]


def pkce_matches(challenge: str, method: str | None, verifier: str) -> bool:
    """RFC 7636 4.6: S256 compares BASE64URL(SHA256(verifier)) without padding; plain
    compares the verifier itself."""
    if not VERIFIER.match(verifier):
        return False
    if (method or "plain") == "S256":
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    else:
        expected = verifier
    return hmac.compare_digest(expected, challenge)


class OAuthServer:
    def __init__(
        self, settings: Settings, population: Population, clock: SimClock, tokens: TokenRegistry
    ) -> None:
        self.settings = settings
        self.population = population
        self.clock = clock
        self.tokens = tokens
        apps = population.apps
        s = settings
        self.providers: dict[Api, Provider] = {
            "linkedin": Provider(
                api="linkedin",
                name="LinkedIn",
                client_id=apps.linkedin_client_id,
                client_secret=apps.linkedin_client_secret,
                redirect_uris=tuple(s.linkedin_redirect_uris),
                code_ttl_s=s.linkedin_code_ttl_s,
                scopes=LINKEDIN_SCOPES,
                # The SDK joins scopes with commas, the documentation with spaces.
                scope_separator=r"[ ,]+",
                pkce="ignored",  # PKCE is for LinkedIn's native-client flow only
                required=("response_type", "scope"),
                ignore_redirect_query=True,
            ),
            "twitter": Provider(
                api="twitter",
                name="X",
                client_id=apps.twitter_client_id,
                client_secret=apps.twitter_client_secret,
                redirect_uris=tuple(s.twitter_redirect_uris),
                code_ttl_s=s.twitter_code_ttl_s,
                scopes=TWITTER_SCOPES,
                scope_separator=r" +",
                pkce="required",
                required=(
                    "response_type",
                    "scope",
                    "state",
                    "code_challenge",
                    "code_challenge_method",
                ),
            ),
            "meta": Provider(
                api="meta",
                name="Facebook",
                client_id=apps.meta_app_id,
                client_secret=apps.meta_app_secret,
                redirect_uris=tuple(s.meta_redirect_uris),
                code_ttl_s=s.meta_code_ttl_s,
                scopes=META_SCOPES,
                scope_separator=r"[ ,]+",
                pkce="optional",  # Meta's OIDC flow with PKCE ("still in testing")
                required=("state",),
            ),
        }
        self._codes: dict[str, AuthorizationCode] = {}
        self._page_tokens: dict[tuple[str, str], Principal] = {}
        self._rng = random.Random(f"{settings.seed}:oauth")
        self._grants_made = 0

    # --- secrets ----------------------------------------------------------------------

    def _random(self, length: int, alphabet: str = string.ascii_letters + string.digits) -> str:
        return "".join(self._rng.choices(alphabet, k=length))

    def _x_token(self, kind: str) -> str:
        """X's tokens are base64 of ``<random>:<ms>:1:<n>:<kind>:1`` (kind: ac, at, rt)."""
        ms = int(self.clock.now().timestamp() * 1000)
        raw = f"{self._random(43, string.ascii_letters + string.digits + '-_')}:{ms}:1:1:{kind}:1"
        return base64.b64encode(raw.encode()).decode().rstrip("=")

    def _new_secret(self, api: Api, what: Literal["code", "access", "refresh"]) -> str:
        if api == "twitter":
            return self._x_token({"code": "ac", "access": "at", "refresh": "rt"}[what])
        if api == "linkedin":
            prefix = {"code": "AQT", "access": "AQV", "refresh": "AQX"}[what]
            return prefix + self._random(150, string.ascii_letters + string.digits + "-_")
        prefix = {"code": "AQ", "access": "EAAG", "refresh": "EAAR"}[what]
        return prefix + self._random(180)

    # --- codes ------------------------------------------------------------------------

    def issue_code(
        self,
        provider: Provider,
        redirect_uri: str,
        user: SimUser,
        scopes: list[str],
        code_challenge: str | None,
        code_challenge_method: str | None,
    ) -> AuthorizationCode:
        code = AuthorizationCode(
            code=self._new_secret(provider.api, "code"),
            api=provider.api,
            client_id=provider.client_id,
            redirect_uri=redirect_uri,
            user=user,
            scopes=scopes,
            expires_at=self.clock.now() + timedelta(seconds=provider.code_ttl_s),
            code_challenge=code_challenge if provider.pkce != "ignored" else None,
            code_challenge_method=code_challenge_method if provider.pkce != "ignored" else None,
        )
        self._codes[code.code] = code
        return code

    def redeem_code(
        self,
        api: Api,
        code: str,
        client_id: str,
        redirect_uri: str | None,
        code_verifier: str | None,
    ) -> AuthorizationCode | CodeProblem:
        """Use up a code: the code, or why it cannot be exchanged. A code is spent by
        its first exchange, even one that fails on its bindings (so it cannot be
        guessed at); a second use revokes what the first one gave, if so configured."""
        found = self._codes.get(code)
        if found is None or found.api != api:
            return "unknown"
        if found.used:
            if self.settings.oauth_revoke_on_code_reuse:
                self.tokens.revoke_grants(found.grants)
            return "used"
        found.used = True
        if found.expires_at <= self.clock.now():
            return "expired"
        if found.client_id != client_id:
            return "client_mismatch"
        if redirect_uri != found.redirect_uri:
            return "redirect_mismatch"
        if found.code_challenge is not None and (
            code_verifier is None
            or not pkce_matches(found.code_challenge, found.code_challenge_method, code_verifier)
        ):
            return "verifier_mismatch"
        return found

    # --- grants and tokens ------------------------------------------------------------

    def new_grant(
        self,
        code: AuthorizationCode,
        refresh_ttl_s: int | None,
    ) -> Grant:
        """A grant for an exchanged code, with a refresh token if ``refresh_ttl_s``."""
        self._grants_made += 1
        now = self.clock.now()
        grant = Grant(
            grant_id=f"{code.api}-grant-{self._grants_made}",
            api=code.api,
            client_id=code.client_id,
            user=code.user,
            scopes=list(code.scopes),
            created_at=now,
            code=code.code,
        )
        if refresh_ttl_s is not None:
            grant.refresh_token = self._new_secret(code.api, "refresh")
            grant.refresh_expires_at = now + timedelta(seconds=refresh_ttl_s)
        code.grants.append(grant)
        self.tokens.grants[grant.grant_id] = grant
        return grant

    def rotate_refresh_token(self, grant: Grant, ttl_s: int) -> None:
        """A new refresh token for the grant; the old one stops working."""
        grant.refresh_token = self._new_secret(grant.api, "refresh")
        grant.refresh_expires_at = self.clock.now() + timedelta(seconds=ttl_s)

    def access_token(
        self,
        grant: Grant,
        kind: TokenKind,
        ttl_s: float | None,
        account: Account | None = None,
        long_lived: bool = False,
    ) -> Principal:
        now = self.clock.now()
        return self.tokens.issue(
            Principal(
                api=grant.api,
                kind=kind,
                token=self._new_secret(grant.api, "access"),
                account=account,
                user=grant.user,
                grant=grant,
                issued_at=now,
                expires_at=None if ttl_s is None else now + timedelta(seconds=ttl_s),
                long_lived=long_lived,
            )
        )

    def page_token(self, user_token: Principal, page: Account) -> Principal:
        """The Page token a user token gets for a Page it manages: the same one on every
        call; without expiry when the user token is long-lived, else expiring with it."""
        key = (user_token.token, page.account_id)
        if key not in self._page_tokens:
            assert user_token.grant is not None
            self._page_tokens[key] = self.tokens.issue(
                Principal(
                    api="meta",
                    kind="page",
                    token=self._new_secret("meta", "access"),
                    account=page,
                    user=user_token.user,
                    grant=user_token.grant,
                    issued_at=self.clock.now(),
                    expires_at=None if user_token.long_lived else user_token.expires_at,
                    long_lived=user_token.long_lived,
                )
            )
        return self._page_tokens[key]

    def reset(self) -> None:
        self._codes.clear()
        self._page_tokens.clear()
