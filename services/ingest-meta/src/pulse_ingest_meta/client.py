"""The Meta :class:`~pulse_shared.ingest.contracts.PlatformClient` for Facebook Pages and
Instagram professional accounts.

A retired insights metric fails the whole call, so a refused metric is dropped and the
call repeated with the rest. When Meta does not say which metric it refuses ("(#100) The
value must be a valid insights metric"), the client bisects the metric list to find it.
Refused names are remembered for the life of the process, so every later call leaves
them out straight away.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pulse_ingest_meta.api import (
    DEFAULT_API_VERSION,
    FACEBOOK_POST_INSIGHT_METRICS,
    INSTAGRAM_MEDIA_INSIGHT_METRICS,
    check_api_version,
    facebook_page_followers_request,
    facebook_post_counts_request,
    facebook_post_insights_request,
    instagram_media_insights_request,
    instagram_user_followers_request,
    is_facebook_post_id,
    is_node_id,
    parse_facebook_counts,
    parse_followers,
    parse_insights,
)
from pulse_ingest_meta.normalise import (
    anything_reported,
    facebook_post_metrics,
    instagram_media_metrics,
)
from pulse_ingest_meta.rules import MediaTypeMetricRefused, ObjectMissing
from pulse_shared.ingest.contracts import (
    Account,
    ApiCaller,
    ApiRequest,
    MetricRefused,
    PermanentError,
    PollResult,
    PostReading,
    get_json,
)

Surface = Literal["facebook", "instagram"]


class MetaClient:
    """Polls the Graph API. ``account.platform`` says which surface: "facebook" (a Page,
    posts ``{page-id}_{post-id}``) or "instagram" (an IG user, media ids).

    Each post needs its own calls (insights, plus the counts of a Facebook post), so one
    post is one unit of work: a failure stays with its post."""

    platform = "meta"
    max_posts_per_call = 1

    def __init__(
        self,
        *,
        api_version: str = DEFAULT_API_VERSION,
        facebook_insight_metrics: Sequence[str] = FACEBOOK_POST_INSIGHT_METRICS,
        instagram_insight_metrics: Sequence[str] = INSTAGRAM_MEDIA_INSIGHT_METRICS,
    ) -> None:
        self._api_version = check_api_version(api_version)
        self._wanted: dict[Surface, list[str]] = {
            "facebook": list(facebook_insight_metrics),
            "instagram": list(instagram_insight_metrics),
        }
        self._refused: dict[Surface, set[str]] = {"facebook": set(), "instagram": set()}

    def refused_metrics(self, surface: Surface) -> frozenset[str]:
        """The names refused so far in this process, left out of every request."""
        return frozenset(self._refused[surface])

    @staticmethod
    def _surface_of(account: Account) -> Surface:
        if account.platform == "facebook":
            return "facebook"
        if account.platform == "instagram":
            return "instagram"
        raise PermanentError(f"ingest-meta polls Facebook and Instagram, not {account.platform}")

    async def _get(self, caller: ApiCaller, account: Account, request: ApiRequest) -> object:
        return await get_json(caller, account, request)

    async def post_metrics(
        self, caller: ApiCaller, account: Account, post_ids: Sequence[str]
    ) -> PollResult:
        surface = self._surface_of(account)
        result = PollResult()
        for post_id in dict.fromkeys(post_ids):
            valid = is_facebook_post_id(post_id) if surface == "facebook" else is_node_id(post_id)
            if not valid:
                result.missing.append(post_id)  # no Graph id: it can never be read
                continue
            try:
                reading = await self._read_post(caller, account, surface, post_id, result)
            except ObjectMissing:
                result.missing.append(post_id)
                continue
            if reading is not None:
                result.readings.append(reading)
        return result

    async def _read_post(
        self,
        caller: ApiCaller,
        account: Account,
        surface: Surface,
        post_id: str,
        result: PollResult,
    ) -> PostReading | None:
        wanted = [name for name in self._wanted[surface] if name not in self._refused[surface]]
        insights = await self._insights(caller, account, surface, post_id, wanted, result)
        if surface == "facebook":
            body = await self._get(
                caller,
                account,
                facebook_post_counts_request(post_id, api_version=self._api_version),
            )
            try:
                counts = parse_facebook_counts(body)
            except ValueError as exc:
                raise PermanentError(f"Meta post {post_id} counts not understood: {exc}") from exc
            metrics = facebook_post_metrics(insights, counts)
        else:
            metrics = instagram_media_metrics(insights)
        if not anything_reported(metrics):
            return None
        return PostReading(platform_post_id=post_id, metrics=metrics)

    def _insights_request(self, surface: Surface, post_id: str, metrics: list[str]) -> ApiRequest:
        if surface == "facebook":
            return facebook_post_insights_request(post_id, metrics, api_version=self._api_version)
        return instagram_media_insights_request(post_id, metrics, api_version=self._api_version)

    async def _insights(
        self,
        caller: ApiCaller,
        account: Account,
        surface: Surface,
        post_id: str,
        metrics: list[str],
        result: PollResult,
    ) -> dict[str, int | float]:
        """The values of ``metrics`` that Meta accepts; each refused name is added to
        ``result.refused_metrics`` (and remembered, unless refused for this media type)."""
        if not metrics:
            return {}
        try:
            body = await self._get(
                caller, account, self._insights_request(surface, post_id, metrics)
            )
        except MetricRefused as refusal:
            remember = not isinstance(refusal, MediaTypeMetricRefused)
            named = [name for name in refusal.metrics if name in metrics]
            if named:
                self._note_refused(surface, named, result, remember=remember)
                rest = [name for name in metrics if name not in named]
                return await self._insights(caller, account, surface, post_id, rest, result)
            if len(metrics) == 1:
                self._note_refused(surface, metrics, result, remember=remember)
                return {}
            # Meta did not say which: ask for each half, recursing into a refused half.
            half = len(metrics) // 2
            values = await self._insights(caller, account, surface, post_id, metrics[:half], result)
            values.update(
                await self._insights(caller, account, surface, post_id, metrics[half:], result)
            )
            return values
        try:
            values = parse_insights(body)
        except ValueError as exc:
            raise PermanentError(f"Meta insights of {post_id} not understood: {exc}") from exc
        # Only what was asked for: a stray name must not fill another metric's cell.
        return {name: value for name, value in values.items() if name in metrics}

    def _note_refused(
        self, surface: Surface, names: Sequence[str], result: PollResult, *, remember: bool
    ) -> None:
        # Only a name Meta refuses outright is reported (counted and logged so the metric
        # lists can be fixed); one that does not apply to this media type (Reels watch
        # time for a photo) is simply absent for that post.
        if not remember:
            return
        for name in names:
            if name not in result.refused_metrics:
                result.refused_metrics.append(name)
            self._refused[surface].add(name)

    async def followers(self, caller: ApiCaller, account: Account) -> int:
        surface = self._surface_of(account)
        try:
            request = (
                facebook_page_followers_request(account.account_id, api_version=self._api_version)
                if surface == "facebook"
                else instagram_user_followers_request(
                    account.account_id, api_version=self._api_version
                )
            )
        except ValueError as exc:
            raise PermanentError(str(exc)) from exc
        body = await self._get(caller, account, request)
        try:
            return parse_followers(body)
        except ValueError as exc:
            raise PermanentError(f"Meta {surface} account {account.account_id}: {exc}") from exc
