"""The simulated world: deterministic, well-formed ids, numbers that grow realistically and
carry the patterns Pulse's analyses should find."""

from __future__ import annotations

import itertools
import re
import statistics
from collections import defaultdict
from datetime import timedelta

import pytest

from pulse_platform_sim.population import Population, Post, build_population
from pulse_platform_sim.settings import Settings
from pulse_platform_sim.testing import ANCHOR, make_settings
from pulse_platform_sim.truth import counts_at, normalised_metrics, platform_numbers
from pulse_shared.events import PLATFORMS, Platform

ID_FORMATS: dict[Platform, tuple[str, str]] = {
    # platform: (account id, post id)
    "linkedin": (r"^urn:li:organization:\d+$", r"^urn:li:(share|ugcPost):\d{19}$"),
    "twitter": (r"^\d{19}$", r"^\d{18,19}$"),
    "facebook": (r"^\d{15}$", r"^\d{15}_\d{18}$"),
    "instagram": (r"^\d{17}$", r"^\d{17}$"),
}


def fingerprint(population: Population) -> list[tuple[object, ...]]:
    at = ANCHOR + timedelta(days=2)
    return [
        (p.platform, p.post_id, p.published_at, p.content_type, counts_at(p, at))
        for p in population.posts
    ] + [(a.platform, a.account_id, a.access_token) for a in population.accounts]


def test_same_seed_gives_the_same_world_and_numbers() -> None:
    first = build_population(make_settings())
    second = build_population(make_settings())
    assert fingerprint(first) == fingerprint(second)
    assert first.apps.twitter_consumer_secret == second.apps.twitter_consumer_secret


def test_another_seed_gives_another_world() -> None:
    assert fingerprint(build_population(make_settings(seed=8))) != fingerprint(
        build_population(make_settings())
    )


def test_adding_businesses_keeps_the_earlier_ones() -> None:
    two = build_population(make_settings(businesses=2))
    three = build_population(make_settings(businesses=3))
    assert {p.post_id for p in two.posts} <= {p.post_id for p in three.posts}


def test_ids_and_business_numbers_have_the_platforms_formats() -> None:
    population = build_population(make_settings(business_id_offset=40))
    assert [b.business_id for b in population.businesses] == [41, 42]
    # Accounts follow the Pulse business, so simulators with other offsets share none.
    assert population.businesses[0].accounts["linkedin"].account_id == "urn:li:organization:1041"
    for business in population.businesses:
        for platform, account in business.accounts.items():
            account_format, post_format = ID_FORMATS[platform]
            assert re.match(account_format, account.account_id), account.account_id
            posts = population.posts_of(account)
            assert len(posts) == 20
            for post in posts:
                assert re.match(post_format, post.post_id), post.post_id
                assert post.business_id == business.business_id
                assert ANCHOR - timedelta(days=45) <= post.published_at < ANCHOR
    facebook = population.businesses[0].accounts["facebook"]
    assert all(
        p.post_id.startswith(facebook.account_id + "_") for p in population.posts_of(facebook)
    )
    assert len({p.post_id for p in population.posts}) == len(population.posts)
    assert len({a.access_token for a in population.accounts}) == len(population.accounts)


def test_content_types_fit_each_platform() -> None:
    population = build_population(make_settings(businesses=4))
    kinds: dict[Platform, set[str]] = defaultdict(set)
    for post in population.posts:
        kinds[post.platform].add(post.content_type)
        assert (post.video_duration_s is not None) == (post.content_type == "video")
    assert kinds["instagram"] <= {"image", "video", "carousel"}
    assert kinds["twitter"] <= {"text", "image", "video", "link"}
    assert {"text", "image", "video", "link"} <= kinds["linkedin"]


def test_numbers_grow_fast_then_slowly_and_never_shrink() -> None:
    population = build_population(make_settings())
    for post in population.posts[::7]:
        ages_h = [0, 1, 2, 4, 8, 16, 24, 48, 96, 24 * 30, 24 * 400]
        series = [counts_at(post, post.published_at + timedelta(hours=h)) for h in ages_h]
        for earlier, later in itertools.pairwise(series):
            for name in earlier.__dataclass_fields__:
                assert getattr(later, name) >= getattr(earlier, name), (post.post_id, name)
        assert series[0].impressions == 0
        final = series[-1].impressions
        day_one = counts_at(post, post.published_at + timedelta(days=1)).impressions
        day_two = counts_at(post, post.published_at + timedelta(days=2)).impressions
        # Most attention comes early: the second day adds less than the first.
        assert day_two - day_one <= day_one
        assert final > 0


def test_impressions_cover_reach_and_reach_covers_engagement() -> None:
    population = build_population(make_settings(businesses=3))
    at = ANCHOR
    for post in population.posts:
        c = counts_at(post, at)
        assert c.impressions >= c.reach >= c.likes + c.comments + c.shares + c.quotes
        metrics = normalised_metrics(post, at)
        if post.is_video and post.platform != "linkedin":
            assert metrics["video_views"] is not None
        if post.is_video and post.platform in ("facebook", "instagram"):
            assert metrics["video_watch_time_s"] is not None


def test_video_posts_report_views_and_watch_time() -> None:
    population = build_population(make_settings(businesses=3))
    videos = [p for p in population.posts if p.is_video and p.platform == "facebook"]
    assert videos
    for post in videos:
        insights = platform_numbers(post, ANCHOR)["insights"]
        assert 0 < insights["post_video_views"] <= insights["post_media_view"]
        assert insights["post_video_view_time"] > 0


def test_followers_grow_slowly() -> None:
    population = build_population(make_settings())
    for account in population.accounts:
        before = account.followers_at(ANCHOR - timedelta(days=30))
        after = account.followers_at(ANCHOR)
        assert before < after < before * 1.2


def engagement_rate(post: Post) -> float:
    c = counts_at(post, post.published_at + timedelta(days=60))
    return (c.likes + c.comments + c.shares) / c.impressions


@pytest.fixture(scope="module")
def big_world() -> Population:
    return build_population(Settings(seed=3, businesses=30, posts_per_account=80, anchor=ANCHOR))


def test_engagement_depends_on_the_local_hour_of_publishing(big_world: Population) -> None:
    for platform in PLATFORMS:
        by_hour: dict[int, list[float]] = defaultdict(list)
        for post in big_world.posts:
            if post.platform == platform:
                by_hour[post.local_hour].append(engagement_rate(post))
        night = statistics.mean(by_hour[2] + by_hour[3] + by_hour[4])
        best_hour = max(by_hour, key=lambda h: statistics.mean(by_hour[h]))
        assert statistics.mean(by_hour[best_hour]) > 1.8 * night, platform
        assert 8 <= best_hour <= 22, (platform, best_hour)


def test_linkedin_works_on_weekdays_not_weekends(big_world: Population) -> None:
    rates: dict[bool, list[float]] = defaultdict(list)
    for post in big_world.posts:
        if post.platform == "linkedin":
            rates[post.local_weekday >= 5].append(engagement_rate(post))
    assert statistics.mean(rates[False]) > 1.5 * statistics.mean(rates[True])


def test_platforms_differ_in_engagement(big_world: Population) -> None:
    mean_rate = {
        platform: statistics.mean(
            engagement_rate(p) for p in big_world.posts if p.platform == platform
        )
        for platform in PLATFORMS
    }
    assert (
        mean_rate["instagram"]
        > mean_rate["linkedin"]
        > mean_rate["facebook"]
        > mean_rate["twitter"]
    )


def test_video_beats_links_on_every_platform_that_has_both(big_world: Population) -> None:
    for platform in ("linkedin", "twitter", "facebook"):
        by_type: dict[str, list[float]] = defaultdict(list)
        for post in big_world.posts:
            if post.platform == platform:
                by_type[post.content_type].append(engagement_rate(post))
        assert statistics.mean(by_type["video"]) > 1.4 * statistics.mean(by_type["link"])
