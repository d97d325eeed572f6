"""The sentences of pulse_query_api.insights: pure, no I/O. Platforms come ranked by
engagement rate, best first, as platform-comparison ranks them."""

from __future__ import annotations

from typing import Any

from pulse_query_api import insights


def platform(
    name: str,
    *,
    posts: int = 2,
    impressions: int | None = 1000,
    rate: float | None = 2.0,
    share_of_posts: float = 50.0,
    share_of_engagement: float = 50.0,
) -> dict[str, Any]:
    """A platform's summary, with the fields the insights read."""
    return {
        "platform": name,
        "total_posts": posts,
        "total_impressions": impressions,
        "engagement_rate": rate,
        "avg_impressions": None if impressions is None or not posts else impressions / posts,
        "share_of_posts": share_of_posts,
        "share_of_engagement": share_of_engagement,
    }


def texts(ranked: list[dict[str, Any]]) -> list[str]:
    return [i["text"] for i in insights.platform_insights(ranked)]


def test_the_best_rate_is_set_against_the_worst_with_its_numbers() -> None:
    ranked = [
        platform("twitter", rate=5.1, share_of_posts=66.67, share_of_engagement=77.27),
        platform("instagram", rate=3.0),
        platform("linkedin", rate=1.5, impressions=2000),
    ]
    said = insights.platform_insights(ranked)
    assert said[0] == {
        "text": "X posts earn 3.4× the engagement rate of LinkedIn posts",  # noqa: RUF001
        "numbers": {"best": "twitter", "best_rate": 5.1, "worst": "linkedin",
                    "worst_rate": 1.5, "ratio": 3.4},
    }  # fmt: skip


def test_a_worst_rate_of_zero_says_what_its_impressions_earned_instead_of_a_ratio() -> None:
    ranked = [platform("facebook", rate=4.0), platform("linkedin", rate=0.0, impressions=12345)]
    said = insights.platform_insights(ranked)
    assert said[0] == {
        "text": "LinkedIn posts earned no engagement on their 12,345 impressions",
        "numbers": {"platform": "linkedin", "impressions": 12345},
    }


def test_one_platform_only_is_compared_with_nothing() -> None:
    ranked = [platform("instagram", posts=3, impressions=900, share_of_posts=100.0,
                       share_of_engagement=100.0)]  # fmt: skip
    assert texts(ranked) == [
        "100% of posts went to Instagram and earned 100% of the engagement",
        "Instagram posts are seen most: 300 impressions per post",
    ]


def test_platforms_without_impressions_are_left_out_of_the_rate_comparison() -> None:
    # Facebook has only follower counts, X reported no impressions: one rated platform left.
    ranked = [
        platform("linkedin", rate=1.5),
        platform("twitter", impressions=None, rate=None),
        platform("facebook", posts=0, impressions=0, rate=None, share_of_posts=0.0,
                 share_of_engagement=0.0),
    ]  # fmt: skip
    said = texts(ranked)
    assert not any("the engagement rate of" in t for t in said)
    assert said[-1] == "LinkedIn posts are seen most: 500 impressions per post"


def test_zero_impressions_everywhere_says_only_where_the_posts_went() -> None:
    ranked = [
        platform("twitter", posts=3, impressions=0, rate=None, share_of_posts=75.0,
                 share_of_engagement=0.0),
        platform("linkedin", posts=1, impressions=0, rate=None, share_of_posts=25.0,
                 share_of_engagement=0.0),
    ]  # fmt: skip
    assert texts(ranked) == [
        "75% of posts went to X and earned 0% of the engagement",
        "X posts are seen most: 0 impressions per post",
    ]


def test_no_posts_and_no_platforms_say_nothing() -> None:
    assert insights.platform_insights([]) == []
    followers_only = platform("facebook", posts=0, impressions=0, rate=None)
    assert insights.platform_insights([followers_only]) == []


def test_ties_go_to_the_platform_whose_name_sorts_last() -> None:
    ranked = [
        platform("facebook", posts=2, impressions=1000, rate=3.0),
        platform("twitter", posts=2, impressions=1000, rate=3.0),
        platform("instagram", posts=2, impressions=1000, rate=3.0),
    ]
    said = texts(ranked)
    assert said[0] == "Facebook posts earn 1.0× the engagement rate of Instagram posts"  # noqa: RUF001
    assert said[1].endswith("went to X and earned 50% of the engagement")
    assert said[2] == "X posts are seen most: 500 impressions per post"


def test_a_window_is_labelled_from_its_first_hour_to_the_end_of_its_last() -> None:
    assert insights.window_label(1, 9, 10) == "Tuesday 09:00–11:00"  # noqa: RUF001
    assert insights.window_label(6, 21, 23) == "Sunday 21:00–24:00"  # noqa: RUF001


def test_the_best_times_sentences() -> None:
    assert insights.best_window_sentence("Tuesday 09:00–11:00", 7, 4.256, 3.0) == (  # noqa: RUF001
        "Best: Tuesday 09:00–11:00 (7 posts), an estimated engagement rate of 4.26% "  # noqa: RUF001
        "against 3.00% on average."
    )
    assert insights.not_enough_posts_sentence(2, 5, 3) == (
        "Not enough posts yet (2 more needed): a recommendation needs 5 posts with "
        "impressions within 3 consecutive hours of one day; the busiest such window has 3."
    )
    assert insights.nothing_above_mean_sentence(5, 2.294) == (
        "No window of 5 or more posts does better than the average 2.29% yet."
    )
