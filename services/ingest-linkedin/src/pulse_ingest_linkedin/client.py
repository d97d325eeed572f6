"""The LinkedIn :class:`~pulse_shared.ingest.contracts.PlatformClient`: lifetime share
statistics of the organisation's posts, followers from networkSizes.

The statistics leave out a post without activity and a deleted post alike; the posts
they leave out are asked about again through the Posts API, so a deleted one is
reported ``missing`` rather than read as zeros forever."""

from __future__ import annotations

from collections.abc import Sequence

from pulse_ingest_linkedin.api import (
    MAX_POSTS_PER_CALL,
    PostKind,
    check_api_version,
    is_organization_urn,
    network_size_request,
    parse_deleted_posts,
    parse_network_size,
    parse_share_statistics,
    post_kind,
    post_request,
    posts_batch_request,
    share_statistics_request,
)
from pulse_ingest_linkedin.rules import EntityNotFound, PostsNotPermitted
from pulse_shared.ingest.contracts import (
    Account,
    ApiCaller,
    ApiRequest,
    PermanentError,
    PollResult,
    RateLimited,
    TransientError,
    get_json,
)
from pulse_shared.logs import get_logger

log = get_logger(__name__)


class LinkedInClient:
    """Polls LinkedIn for an organisation (``account.account_id`` is its URN).

    ``api_version``: the ``LinkedIn-Version`` month (YYYYMM), required by LinkedIn with no
    default; each version lives about a year. ``omitted_means_zero``: read a post the
    statistics leave out as zero activity (what the docs say omission means)."""

    platform = "linkedin"
    max_posts_per_call = MAX_POSTS_PER_CALL

    def __init__(self, *, api_version: str, omitted_means_zero: bool = True) -> None:
        self._api_version = check_api_version(api_version)
        self._omitted_means_zero = omitted_means_zero

    async def _get(self, caller: ApiCaller, account: Account, request: ApiRequest) -> object:
        # params stays None for share statistics: the Rest.li query is already in the path.
        return await get_json(caller, account, request)

    def _organization_of(self, account: Account) -> str:
        if not is_organization_urn(account.account_id):
            raise PermanentError(
                f"LinkedIn account {account.account_id!r} is not an organization URN"
            )
        return account.account_id

    async def post_metrics(
        self, caller: ApiCaller, account: Account, post_ids: Sequence[str]
    ) -> PollResult:
        organization = self._organization_of(account)
        result = PollResult()
        by_kind: dict[PostKind, list[str]] = {"share": [], "ugcPost": []}
        for post_id in dict.fromkeys(post_ids):
            kind = post_kind(post_id)
            if kind is None:
                # Not a share or ugcPost URN: share statistics can never answer for it.
                result.missing.append(post_id)
            else:
                by_kind[kind].append(post_id)
        for urns in by_kind.values():
            for start in range(0, len(urns), MAX_POSTS_PER_CALL):
                await self._poll(
                    caller, account, organization, urns[start : start + MAX_POSTS_PER_CALL], result
                )
        return result

    async def _poll(
        self,
        caller: ApiCaller,
        account: Account,
        organization: str,
        urns: list[str],
        result: PollResult,
    ) -> None:
        remaining = list(urns)
        while remaining:
            request = share_statistics_request(
                organization, remaining, api_version=self._api_version
            )
            try:
                body = await self._get(caller, account, request)
            except PostsNotPermitted as refusal:
                refused = [remaining[i] for i in refusal.indexes if i < len(remaining)]
                if not refused:
                    raise
                # Not this organisation's posts (or gone): stop polling them, keep the rest.
                result.missing.extend(refused)
                remaining = [urn for urn in remaining if urn not in refused]
                continue
            try:
                statistics = parse_share_statistics(
                    body, remaining, omitted_means_zero=self._omitted_means_zero
                )
            except ValueError as exc:
                raise PermanentError(f"LinkedIn share statistics not understood: {exc}") from exc
            deleted = await self._deleted(caller, account, statistics.omitted)
            result.missing.extend(deleted)
            # Only omitted posts can be deleted ones, and their readings are the zeros.
            result.readings.extend(
                r for r in statistics.readings if r.platform_post_id not in deleted
            )
            return

    async def _deleted(self, caller: ApiCaller, account: Account, urns: list[str]) -> list[str]:
        """Of posts the statistics left out, those LinkedIn no longer has.

        The statistics are already in hand, so a check that fails (throttled, failing,
        refused, not understood) only postpones finding a deletion to a later poll: the
        posts keep the zero reading the docs give them. A dead token still reaches the
        runtime."""
        if not urns:
            return []
        try:
            return await self._ask_deleted(caller, account, urns)
        except (RateLimited, TransientError, PermanentError, ValueError) as exc:
            log.warning(
                "linkedin post existence check failed", posts=len(urns), error=str(exc)[:300]
            )
            return []

    async def _ask_deleted(self, caller: ApiCaller, account: Account, urns: list[str]) -> list[str]:
        """One GET for a single post (404 once deleted), else one BATCH_GET for them all."""
        if len(urns) == 1:
            try:
                await self._get(
                    caller, account, post_request(urns[0], api_version=self._api_version)
                )
            except EntityNotFound:
                return list(urns)
            return []
        body = await self._get(
            caller, account, posts_batch_request(urns, api_version=self._api_version)
        )
        return parse_deleted_posts(body, urns)

    async def followers(self, caller: ApiCaller, account: Account) -> int:
        organization = self._organization_of(account)
        body = await self._get(
            caller, account, network_size_request(organization, api_version=self._api_version)
        )
        try:
            return parse_network_size(body)
        except ValueError as exc:
            raise PermanentError(f"LinkedIn {organization}: {exc}") from exc
