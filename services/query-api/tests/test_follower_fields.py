"""Followers and their growth shaped from the counts (queries.follower_fields): pure."""

from __future__ import annotations

from pulse_query_api.queries import FollowerCounts, follower_fields


def test_no_account_with_a_count_gives_no_followers() -> None:
    assert follower_fields(None, []) == {
        "follower_growth": None, "followers": None, "follower_growth_pct": None,
    }  # fmt: skip


def test_followers_add_every_account_growth_is_relative_to_the_observed_ones() -> None:
    # LinkedIn observed in the period (2,100 after +100); Instagram only before (5,000).
    counts = [FollowerCounts(at_end=2100, observed=2100), FollowerCounts(5000, None)]
    assert follower_fields(100, counts) == {
        "follower_growth": 100, "followers": 7100, "follower_growth_pct": 5.0,  # 100 / 2,000
    }  # fmt: skip


def test_counts_without_an_observation_in_the_period_carry_followers_not_growth() -> None:
    assert follower_fields(None, [FollowerCounts(1025, None)]) == {
        "follower_growth": None, "followers": 1025, "follower_growth_pct": None,
    }  # fmt: skip


def test_growth_from_nothing_is_not_a_percentage() -> None:
    assert follower_fields(40, [FollowerCounts(40, 40)])["follower_growth_pct"] is None
