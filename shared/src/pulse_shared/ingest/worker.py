"""An ingest service's work, whatever the platform: track published posts, poll the due
ones through the platform client, publish what was observed, re-poll on webhooks and on
refresh requests, and publish follower counts.

Ordering is what makes it lossless: a poll's events are published (acks=all) *before* the
posts are rescheduled. If publishing fails (Kafka away) the posts stay claimed until their
lease ends and are polled again then; nothing acknowledged to anyone is dropped.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from aiokafka import AIOKafkaProducer

from pulse_shared.events import (
    AccountObserved,
    MetricsObserved,
    Platform,
    PostPublished,
    PostRemoved,
    RefreshRequested,
)
from pulse_shared.ingest.contracts import (
    Account,
    ApiCaller,
    ApiError,
    PlatformClient,
    RateLimited,
    TokenInvalid,
    TokenRefusedEarlier,
    TrackedPost,
    WebhookDelivery,
)
from pulse_shared.ingest.metrics import (
    EVENTS_PUBLISHED,
    METRICS_REFUSED,
    POLL_FAILURES,
    POSTS_POLLED,
    POSTS_UNTRACKED,
)
from pulse_shared.ingest.tracking import PollSchedule, tracked_post_of
from pulse_shared.ingest.vault import TokenVault
from pulse_shared.kafka import publish
from pulse_shared.logs import get_logger
from pulse_shared.topics import ACCOUNTS_OBSERVED, METRICS_OBSERVED, POSTS_REMOVED

log = get_logger(__name__)


# When a poll fails for a reason other than rate limits or a dead token (the platform
# answering 5xx after the caller's retries, a request it refuses): try again after this.
FAILED_POLL_RETRY_S = 60.0


def _chunks(items: Sequence[str], size: int) -> list[list[str]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


class Discovery(Protocol):
    async def discover_soon(self, platform: Platform, account_id: str, delay_s: float) -> bool:
        """List the account's new posts within ``delay_s``."""
        ...


@dataclass
class IngestWorker:
    """The ingest work of one platform client (Meta's serves Facebook and Instagram)."""

    platforms: tuple[Platform, ...]
    client: PlatformClient
    caller: ApiCaller
    schedule: PollSchedule
    vault: TokenVault
    producer: AIOKafkaProducer
    topic_prefix: str = ""
    poll_batch_size: int = 100
    poll_lease_s: float = 300.0
    webhook_debounce_s: float = 10.0
    # The account sync, where the service lists accounts' posts (discovery on webhooks).
    discovery: Discovery | None = None

    # --- what arrives --------------------------------------------------------------

    async def on_post_published(self, event: PostPublished) -> bool:
        """Track a post of one of our platforms; True when it was newly scheduled."""
        if event.platform not in self.platforms:
            return False
        return await self.schedule.track(tracked_post_of(event))

    async def on_post_removed(self, event: PostRemoved) -> bool:
        """Stop polling a post announced gone (by this service or any other producer)."""
        if event.platform not in self.platforms:
            return False
        post = await self.schedule.tracked_post(event.platform, event.platform_post_id)
        return post is not None and await self.schedule.untrack(post)

    async def on_refresh_requested(self, event: RefreshRequested) -> int:
        """Every tracked post of the business on our platforms is due now (the poll loop
        takes them within the rate limits). Returns how many were moved."""
        moved = 0
        for platform in self.platforms:
            if platform in event.platforms:
                moved += await self.schedule.refresh_business(event.business_id, platform)
        return moved

    async def on_webhook(self, platform: Platform, delivery: WebhookDelivery) -> int:
        """The platform says these posts changed: re-poll them soon, debounced, so the
        numbers come from the API's authoritative totals. A post not tracked yet is one
        just made on the account: its new posts are listed soon (the listing, not the
        delivery, says what the post is)."""
        moved = await self.schedule.poll_soon(
            platform, delivery.post_ids, delay_s=self.webhook_debounce_s
        )
        new_posts = await self.schedule.untracked(platform, delivery.post_ids)
        if self.discovery is not None and delivery.account_id and new_posts:
            await self.discovery.discover_soon(
                platform, delivery.account_id, self.webhook_debounce_s
            )
        return moved

    # --- polling -------------------------------------------------------------------

    async def poll_due(self, now: datetime | None = None) -> int:
        """One round: claim due posts of each platform, poll them account by account,
        publish, reschedule. Returns the number of readings published."""
        published = 0
        for platform in self.platforms:
            claimed = await self.schedule.claim_due(
                platform, self.poll_batch_size, self.poll_lease_s, now=now
            )
            by_account: dict[tuple[int, str], list[TrackedPost]] = defaultdict(list)
            for post in claimed:
                by_account[(post.business_id, post.account_id)].append(post)
            for (business_id, account_id), posts in by_account.items():
                published += await self._poll_account(platform, business_id, account_id, posts)
        return published

    async def _poll_account(
        self, platform: Platform, business_id: int, account_id: str, posts: list[TrackedPost]
    ) -> int:
        account = await self.vault.account(business_id, platform, account_id)
        if account is None:
            # Not connected (or waiting for reconnection): its posts wait for their next
            # turn rather than being retried at once.
            POLL_FAILURES.labels(platform, "no_active_account").inc()
            for post in posts:
                await self.schedule.reschedule(post, datetime.now(UTC))
            return 0
        by_id = {post.platform_post_id: post for post in posts}
        published = 0
        chunks = _chunks(list(by_id), self.client.max_posts_per_call)
        for index, chunk in enumerate(chunks):
            try:
                result = await self.client.post_metrics(self.caller, account, chunk)
            except ApiError as exc:
                unpolled = [by_id[i] for rest in chunks[index:] for i in rest]
                await self._not_polled(platform, account, unpolled, exc)
                return published
            observed_at = datetime.now(UTC)
            for name in result.refused_metrics:
                METRICS_REFUSED.labels(platform, name).inc()
                log.warning("metric refused by the platform", platform=platform, metric=name)
            for reading in result.readings:
                post = by_id[reading.platform_post_id]
                metrics = reading.metrics
                if post.content_type not in (None, "video"):
                    # A platform may answer 0 views for a post with no video: that is
                    # "does not apply" (null), not "nobody watched" (DESIGN.md).
                    metrics = metrics.model_copy(
                        update={"video_views": None, "video_watch_time_s": None}
                    )
                event = MetricsObserved(
                    business_id=post.business_id,
                    platform=platform,
                    platform_post_id=post.platform_post_id,
                    observed_at=observed_at,
                    source="poll",
                    metrics=metrics,
                )
                await publish(self.producer, self.topic_prefix + METRICS_OBSERVED, event)
                # The event id travels in the record's headers: the aggregator's and the
                # DLQ's log lines carry the same id.
                log.debug(
                    "metrics published", event_id=str(event.event_id), platform=platform,
                    platform_post_id=post.platform_post_id, business_id=post.business_id,
                )  # fmt: skip
                EVENTS_PUBLISHED.labels(platform, METRICS_OBSERVED).inc()
                POSTS_POLLED.labels(platform).inc()
                await self.schedule.reschedule(post, observed_at)
                published += 1
            for missing in result.missing:
                await self._removed(by_id[missing], observed_at)
        return published

    async def _removed(self, post: TrackedPost, removed_at: datetime) -> None:
        """The platform no longer has the post (deleted, or no longer the account's): it is
        announced as removed, then leaves the schedule. Announced first, so a failed
        publish leaves it claimed and asked again at its lease's end."""
        event = PostRemoved(
            business_id=post.business_id,
            platform=post.platform,
            platform_post_id=post.platform_post_id,
            removed_at=removed_at,
        )
        await publish(self.producer, self.topic_prefix + POSTS_REMOVED, event)
        EVENTS_PUBLISHED.labels(post.platform, POSTS_REMOVED).inc()
        await self.schedule.untrack(post)
        POSTS_UNTRACKED.labels(post.platform, "missing").inc()
        log.info("post gone from the platform", platform=post.platform,
                 platform_post_id=post.platform_post_id, business_id=post.business_id)  # fmt: skip

    async def _not_polled(
        self, platform: Platform, account: Account, posts: list[TrackedPost], exc: ApiError
    ) -> None:
        """Posts whose poll failed go back on the schedule: after the platform's wait when
        rate limited, a minute later when it is failing, at their usual turn when the
        token is dead (the account is skipped until reconnected). Never held until their
        lease ends, never retried in a storm."""
        POLL_FAILURES.labels(platform, type(exc).__name__).inc()
        now = datetime.now(UTC)
        if isinstance(exc, TokenInvalid) and not isinstance(exc, TokenRefusedEarlier):
            await self.vault.mark_needs_reconnection(account, str(exc))
            for post in posts:
                await self.schedule.reschedule(post, now)
            return
        wait_s = exc.retry_after_s if isinstance(exc, RateLimited) else FAILED_POLL_RETRY_S
        log.info("poll not made", platform=platform, error=str(exc)[:300], retry_in_s=wait_s)
        for post in posts:
            await self.schedule.retry_at(post, now + timedelta(seconds=wait_s))

    async def publish_followers(self) -> int:
        """Each active account's follower count, published as accounts.observed.v1."""
        published = 0
        for platform in self.platforms:
            for account in await self.vault.active_accounts(platform):
                try:
                    followers = await self.client.followers(self.caller, account)
                except TokenRefusedEarlier:
                    continue
                except TokenInvalid as exc:
                    await self.vault.mark_needs_reconnection(account, str(exc))
                    continue
                except ApiError as exc:
                    POLL_FAILURES.labels(platform, "followers_" + type(exc).__name__).inc()
                    continue
                await publish(
                    self.producer,
                    self.topic_prefix + ACCOUNTS_OBSERVED,
                    AccountObserved(
                        business_id=account.business_id,
                        platform=platform,
                        account_id=account.account_id,
                        observed_at=datetime.now(UTC),
                        followers=followers,
                    ),
                )
                EVENTS_PUBLISHED.labels(platform, ACCOUNTS_OBSERVED).inc()
                published += 1
        return published

    async def run_polls(self, idle_s: float = 1.0) -> None:
        """Poll forever: at once while there is due work, every ``idle_s`` when there is
        none. A failure of one round (Kafka or Redis away) is logged and retried."""
        while True:
            try:
                polled = await self.poll_due()
            except (TimeoutError, OSError) as exc:
                log.warning("poll round failed", error=repr(exc))
                polled = 0
            except Exception as exc:
                log.exception("poll round failed", error=repr(exc))
                polled = 0
            if not polled:
                await asyncio.sleep(idle_s)

    async def run_followers(self, every_s: float = 3600.0) -> None:
        """Publish follower counts now and every ``every_s``; a failed round (Kafka or the
        database away) is logged and tried again at the next turn."""
        while True:
            try:
                await self.publish_followers()
            except Exception as exc:  # the loop must outlive any one failure
                log.warning("follower round failed", error=repr(exc))
            await asyncio.sleep(every_s)
