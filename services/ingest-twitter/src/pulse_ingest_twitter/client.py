"""The X :class:`~pulse_shared.ingest.contracts.PlatformClient`: tweet metrics by lookups
of up to 100 ids, followers from the user object."""

from __future__ import annotations

from collections.abc import Sequence

from pulse_ingest_twitter.api import (
    MAX_IDS_PER_LOOKUP,
    TweetLookup,
    is_tweet_id,
    parse_followers,
    parse_tweet_lookup,
    tweet_lookup_request,
    user_lookup_request,
)
from pulse_shared.ingest.contracts import (
    Account,
    ApiCaller,
    ApiRequest,
    PermanentError,
    PollResult,
    get_json,
)

# Tweets X refused private metrics for stay refused (they only get older), so they are
# asked for public metrics straight away. Bounded so a long-lived process cannot grow it
# without limit; forgetting costs one extra lookup.
_PUBLIC_ONLY_MEMORY_LIMIT = 100_000


class TwitterClient:
    """Polls X.

    ``private_metrics``: the service's tokens are user-context tokens (OAuth 2.0 with
    ``tweet.read users.read``, or OAuth 1.0a) that may read ``non_public_metrics`` and
    ``organic_metrics`` (clicks) of the account's own posts under 30 days old. With an
    app-only Bearer token leave it off: X would refuse those fields for every tweet."""

    platform = "twitter"
    max_posts_per_call = MAX_IDS_PER_LOOKUP

    def __init__(self, *, private_metrics: bool = False) -> None:
        self._private_metrics = private_metrics
        self._public_only: set[str] = set()

    async def _lookup(
        self, caller: ApiCaller, account: Account, request: ApiRequest
    ) -> TweetLookup:
        body = await get_json(caller, account, request)
        try:
            return parse_tweet_lookup(body)
        except ValueError as exc:
            raise PermanentError(f"X tweet lookup answer not understood: {exc}") from exc

    async def post_metrics(
        self, caller: ApiCaller, account: Account, post_ids: Sequence[str]
    ) -> PollResult:
        result = PollResult()
        # An id that is no X id can never be looked up: stop polling it.
        result.missing.extend(post_id for post_id in post_ids if not is_tweet_id(post_id))
        valid_ids = list(dict.fromkeys(post_id for post_id in post_ids if is_tweet_id(post_id)))
        for start in range(0, len(valid_ids), MAX_IDS_PER_LOOKUP):
            batch = valid_ids[start : start + MAX_IDS_PER_LOOKUP]
            await self._poll_batch(caller, account, batch, result)
        return result

    async def _poll_batch(
        self, caller: ApiCaller, account: Account, batch: list[str], result: PollResult
    ) -> None:
        if self._private_metrics:
            with_private = [post_id for post_id in batch if post_id not in self._public_only]
            public_only = [post_id for post_id in batch if post_id in self._public_only]
        else:
            with_private, public_only = [], batch
        if with_private:
            lookup = await self._lookup(
                caller, account, tweet_lookup_request(with_private, private_metrics=True)
            )
            self._collect(lookup, result)
            # X withheld these tweets for the private fields: ask again without them.
            public_only += lookup.private_fields_refused
            self._remember_public_only(lookup.private_fields_refused)
            for name in lookup.refused_fields:
                if name not in result.refused_metrics:
                    result.refused_metrics.append(name)
        if public_only:
            lookup = await self._lookup(
                caller, account, tweet_lookup_request(public_only, private_metrics=False)
            )
            self._collect(lookup, result)

    @staticmethod
    def _collect(lookup: TweetLookup, result: PollResult) -> None:
        result.readings.extend(lookup.readings)
        for post_id in lookup.missing:
            if post_id not in result.missing:
                result.missing.append(post_id)

    def _remember_public_only(self, post_ids: Sequence[str]) -> None:
        if len(self._public_only) + len(post_ids) > _PUBLIC_ONLY_MEMORY_LIMIT:
            self._public_only.clear()
        self._public_only.update(post_ids)

    async def followers(self, caller: ApiCaller, account: Account) -> int:
        try:
            request = user_lookup_request(account.account_id)
        except ValueError as exc:
            raise PermanentError(str(exc)) from exc
        body = await get_json(caller, account, request)
        try:
            return parse_followers(body)
        except ValueError as exc:
            raise PermanentError(f"X user {account.account_id}: {exc}") from exc
