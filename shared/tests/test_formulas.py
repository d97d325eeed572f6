"""DESIGN.md's formulas: the Python functions, and the SQL builders agreeing with them in
a real PostgreSQL."""

from __future__ import annotations

import asyncpg
import pytest

from pulse_shared import formulas as f


def test_engagement_counts_null_as_zero() -> None:
    assert f.engagement(10, 2, 3) == 15
    assert f.engagement(None, 2, None) == 2
    assert f.engagement(None, None, None) == 0


def test_rates_with_zero_or_missing_denominators_are_zero() -> None:
    assert f.engagement_rate(10, 2, 3, 1200) == pytest.approx(1.25)
    assert f.engagement_rate(10, 2, 3, 0) == 0.0
    assert f.engagement_rate(10, 2, 3, None) == 0.0
    assert f.click_through_rate(14, 1200) == pytest.approx(14 / 12)
    assert f.click_through_rate(None, 1200) == 0.0
    assert f.virality(3, 1200) == pytest.approx(0.25)
    assert f.virality(3, 0) == 0.0


def test_video_completion_tells_no_data_apart_from_zero() -> None:
    assert f.video_completion(300.0, 10, 60.0) == pytest.approx(50.0)
    assert f.video_completion(0.0, 0, 60.0) == 0.0  # a video nobody watched
    assert f.video_completion(None, 10, 60.0) is None  # not reported
    assert f.video_completion(300.0, 10, None) is None  # not a video


def test_growth() -> None:
    assert f.growth_pct(150, 100) == pytest.approx(50.0)
    assert f.growth_pct(50, 100) == pytest.approx(-50.0)
    assert f.growth_pct(10, 0) is None  # no base to grow from: not "0 %" and not infinity
    assert f.growth_pct(None, 100) is None


def test_avg_and_weighted_engagement_rate_differ_as_designed() -> None:
    # Post A: 1 engagement on 10 impressions (10 %); post B: 10 on 1000 (1 %);
    # post C has no impressions and is left out of the mean.
    rates = [(10.0, 10), (1.0, 1000), (0.0, None)]
    assert f.avg_engagement_rate(rates) == pytest.approx(5.5)
    assert f.weighted_engagement_rate(11, 1010) == pytest.approx(1100 / 1010)
    assert f.avg_engagement_rate([]) == 0.0


def test_round2_rounds_half_away_from_zero_only_at_the_edge() -> None:
    assert f.round2(1.005) == 1.01
    assert f.round2(2.675) == 2.68  # binary floats would give 2.67 with round()
    assert f.round2(-1.005) == -1.01
    assert f.round2(None) is None
    # Summing unrounded rates then rounding differs from summing rounded ones.
    parts = [0.333, 0.333, 0.333]
    assert f.round2(sum(parts)) == 1.0
    assert sum(f.round2(p) or 0 for p in parts) == pytest.approx(0.99)


CASES = [
    # likes, comments, shares, impressions, clicks
    (10, 2, 3, 1200, 14),
    (None, None, None, None, None),
    (5, None, 1, 0, 3),
    (0, 0, 0, 7, 0),
    (123456789, 1, 2, 987654321, 555),
    (1, 1, 1, None, 1),
]


@pytest.mark.integration
async def test_sql_builders_agree_with_python(db: asyncpg.Connection) -> None:
    rate = f.sql_engagement_rate("likes", "comments", "shares", "impressions")
    ctr = f.sql_click_through_rate("clicks", "impressions")
    eng = f.sql_engagement("likes", "comments", "shares")
    rows = await db.fetch(
        f"""
        SELECT {eng} AS engagement, {rate} AS rate, {ctr} AS ctr
        FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[])
             WITH ORDINALITY AS t(likes, comments, shares, impressions, clicks, ord)
        ORDER BY ord
        """,
        *[list(col) for col in zip(*CASES, strict=True)],
    )
    for (likes, comments, shares, impressions, clicks), row in zip(CASES, rows, strict=True):
        assert row["engagement"] == f.engagement(likes, comments, shares)
        assert row["rate"] == pytest.approx(f.engagement_rate(likes, comments, shares, impressions))
        assert row["ctr"] == pytest.approx(f.click_through_rate(clicks, impressions))


@pytest.mark.integration
async def test_sql_aggregates_agree_with_python(db: asyncpg.Connection) -> None:
    per_post = [(10, 0, 0, 100), (1, 0, 0, 1000), (3, 0, 0, None), (0, 0, 0, 0)]
    rate = f.sql_engagement_rate("likes", "comments", "shares", "impressions")
    row = await db.fetchrow(
        f"""
        WITH posts AS (
            SELECT *, {rate} AS rate
            FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[])
                 AS t(likes, comments, shares, impressions))
        SELECT {f.sql_avg_engagement_rate("rate", "impressions")} AS avg_rate,
               {
            f.sql_weighted_engagement_rate(
                f"SUM({f.sql_engagement('likes', 'comments', 'shares')})", "SUM(impressions)"
            )
        } AS weighted
        FROM posts
        """,
        *[list(col) for col in zip(*per_post, strict=True)],
    )
    expected_avg = f.avg_engagement_rate(
        (f.engagement_rate(li, c, s, i), i) for li, c, s, i in per_post
    )
    total_engagement = sum(f.engagement(li, c, s) for li, c, s, _ in per_post)
    total_impressions = sum(i or 0 for *_, i in per_post)
    assert row is not None
    assert row["avg_rate"] == pytest.approx(expected_avg)
    assert row["weighted"] == pytest.approx(
        f.weighted_engagement_rate(total_engagement, total_impressions)
    )
