"""The best-times model (pulse_query_api.best_times) on planted patterns: pure, no I/O.

A scenario is a business's posts as (local day, local hour, engagement rate %): noise
posts at random times (business hours more often) with log-normally spread rates, a
planted slot whose many posts do better, and a lucky post far above everything."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import pytest

from pulse_query_api import best_times as model

SEEDS = range(50)
NOISE_POSTS = 120
BASE_RATE = 2.0
NOISE_SIGMA = 0.5  # rates spread by a factor of e^0.5 = 1.6 either way (one sd)
PLANTED_POSTS = 10
PLANTED_LIFT = 2.0  # the planted slot's posts do twice as well
LUCKY_RATE = 24.0  # one post at twelve times the usual rate
HIT_RATE_FLOOR = 0.9

Post = tuple[int, int, float]


@dataclass(frozen=True)
class Scenario:
    posts: list[Post]
    planted: tuple[int, int]
    lucky: tuple[int, int]


def scenario(
    seed: int, *, noise_posts: int = NOISE_POSTS, planted_posts: int = PLANTED_POSTS
) -> Scenario:
    """Noise, a planted slot at a working hour, and a lucky post away from it with four
    ordinary posts in the hours beside it, so that its windows have enough posts."""
    r = random.Random(seed)
    hour_weights = [1 if h < 7 or h > 21 else 4 for h in range(24)]

    def ordinary() -> float:
        return BASE_RATE * r.lognormvariate(0, NOISE_SIGMA)

    posts = [
        (r.randrange(7), r.choices(range(24), hour_weights)[0], ordinary())
        for _ in range(noise_posts)
    ]
    planted = (r.randrange(7), r.randrange(8, 19))
    posts += [(*planted, ordinary() * PLANTED_LIFT) for _ in range(planted_posts)]
    lucky = planted
    while lucky[0] == planted[0] and abs(lucky[1] - planted[1]) <= 3:
        lucky = (r.randrange(7), r.randrange(1, 23))
    posts.append((*lucky, LUCKY_RATE))
    posts += [(lucky[0], lucky[1] + (-1) ** i, ordinary()) for i in range(4)]
    return Scenario(posts, planted, lucky)


def answer(posts: list[Post]) -> dict[str, Any]:
    return model.estimate(model.slots_from_posts(posts))


def top(posts: list[Post]) -> dict[str, int]:
    recommendations = answer(posts)["recommendations"]
    assert recommendations
    first: dict[str, int] = recommendations[0]
    return first


def old_per_slot_winner(posts: list[Post]) -> tuple[int, int]:
    """What query-api recommended before: each slot's mean shrunk as if 5 posts at the
    overall mean had joined it, the best slot first, whatever its number of posts."""
    mean = sum(rate for *_, rate in posts) / len(posts)
    slots: dict[tuple[int, int], list[float]] = {}
    for day, hour, rate in posts:
        slots.setdefault((day, hour), []).append(rate)
    return max(slots, key=lambda s: (sum(slots[s]) + 5 * mean) / (len(slots[s]) + 5))


def test_two_posts_by_hand() -> None:
    """Fri 01:00 at 1.5 % and Sat 12:00 at 5.0 %: mean 3.25, nothing capped (the fence is
    4.125 + 1.5 x 1.75 = 6.75). By symmetry the day and hour effects are +-e with
    e = (1.75 - e) / (1 + 20), so e = 1.75 / 22; the Saturday slot keeps
    (1.75 - 2e) / (1 + 10) of what is left."""
    a = answer([(4, 1, 1.5), (5, 12, 5.0)])
    e = 1.75 / 22
    slot = (1.75 - 2 * e) / 11
    assert a["baseline_score"] == 3.25
    assert a["by_day"][5] == {"day": 5, "posts": 1, "avg_engagement_rate": 5.0, "score": 3.33}
    assert a["by_day"][0] == {"day": 0, "posts": 0, "avg_engagement_rate": None, "score": 3.25}
    assert a["by_hour"][12]["score"] == round(3.25 + e, 2)
    cells = {(c["day"], c["hour"]): c for c in a["by_slot"]}
    assert len(cells) == 168
    assert cells[5, 12] == {
        "day": 5, "hour": 12, "posts": 1, "avg_engagement_rate": 5.0,
        "score": round(3.25 + 2 * e + slot, 2),  # 3.55
    }  # fmt: skip
    assert cells[4, 1]["score"] == round(3.25 - 2 * e - slot, 2)  # 2.95
    assert (a["recommendations"], a["best_day"], a["best_hour"]) == ([], None, None)
    assert (a["confidence_score"], a["posts_needed"]) == (0, 4)
    assert str(a["message"]).startswith("Not enough posts yet (4 more needed)")


def test_a_planted_strong_slot_among_noise_wins(capsys: pytest.CaptureFixture[str]) -> None:
    hits = old_hits = 0
    for seed in SEEDS:
        s = scenario(seed)
        first = top(s.posts)
        hits += (first["day"], first["hour"]) == s.planted
        old_hits += old_per_slot_winner(s.posts) == s.planted
    rate = hits / len(SEEDS)
    line = (
        f"best-times hit rate: {hits}/{len(SEEDS)} seeds ({rate:.0%}) put the planted slot "
        f"({PLANTED_POSTS} posts at {PLANTED_LIFT:g}x among {NOISE_POSTS} noise posts, one "
        f"lucky post at {LUCKY_RATE / BASE_RATE:g}x) first; the old per-slot estimate: "
        f"{old_hits}/{len(SEEDS)}"
    )
    with capsys.disabled():  # shown in every run's output, -s or not
        print(f"\n{line}")
    assert rate >= HIT_RATE_FLOOR, line


def test_one_lucky_post_never_wins() -> None:
    for seed in SEEDS:
        s = scenario(seed)
        first = top(s.posts)
        lucky_day, lucky_hour = s.lucky
        assert not (
            first["day"] == lucky_day and first["start_hour"] <= lucky_hour <= first["end_hour"]
        ), (seed, first)
        # With no other post within 3 hours of it, it is not recommended at all.
        alone = [
            (day, hour, rate)
            for day, hour, rate in s.posts
            if (day, hour) == s.lucky or day != lucky_day or abs(hour - lucky_hour) > 3
        ]
        for w in answer(alone)["recommendations"]:
            assert not (w["day"] == lucky_day and abs(w["hour"] - lucky_hour) <= 3), (seed, w)


def test_one_lucky_post_counts_as_a_good_post_not_as_ten() -> None:
    posts = [(0, 9, 2.0), (1, 9, 1.0), (2, 9, 3.0), (3, 9, 2.0), (4, 9, 40.0)]
    slots = {(s.day, s.hour): s for s in model.slots_from_posts(posts)}
    # Q1 2.0, Q3 3.0: the fence is 3.0 + 1.5 x 1.0 = 4.5.
    assert slots[4, 9].rate_sum == 40.0
    assert slots[4, 9].capped_sum == 4.5
    assert slots[4, 9].capped_sq_sum == 4.5**2
    assert answer(posts)["by_slot"][4 * 24 + 9]["avg_engagement_rate"] == 40.0


@pytest.mark.parametrize(
    ("posts", "needed"),
    [
        ([], 5),
        ([(1, 9, 2.0)] * 4, 1),  # four in one hour
        ([(1, 9, 2.0), (1, 10, 2.0), (1, 11, 2.0), (1, 12, 2.0)], 2),  # at most 3 in 3 hours
        ([(d, 9, 2.0) for d in range(7)] * 2, 3),  # 14 posts, 2 in any window
        ([(1, 23, 2.0), (1, 23, 2.0), (2, 0, 2.0), (2, 0, 2.0)], 3),  # not across midnight
    ],
)
def test_too_few_posts_say_how_many_more_are_needed(posts: list[Post], needed: int) -> None:
    a = answer(posts)
    assert a["recommendations"] == []
    assert (a["best_day"], a["best_hour"], a["confidence_score"]) == (None, None, 0)
    assert a["posts_needed"] == needed
    assert str(a["message"]).startswith(f"Not enough posts yet ({needed} more needed)")
    assert a["posts_considered"] == len(posts)


def test_five_posts_in_a_window_are_enough() -> None:
    posts = [(1, 9, 3.0), (1, 9, 3.5), (1, 10, 3.0), (1, 11, 3.2), (1, 11, 2.8)]
    posts += [(d, h, 1.0) for d in (0, 3, 5) for h in (8, 14, 20)]
    a = answer(posts)
    assert a["posts_needed"] == 0
    recommendations = a["recommendations"]
    assert recommendations[0]["day"] == 1
    assert recommendations[0]["posts"] == 5
    assert recommendations[0]["label"] == "Tuesday 09:00–12:00"  # noqa: RUF001
    assert (a["best_day"], a["best_hour"]) == (1, recommendations[0]["hour"])
    assert str(a["message"]).startswith("Best: Tuesday 09:00–12:00 (5 posts)")  # noqa: RUF001


def test_no_window_below_the_mean_is_recommended() -> None:
    posts = [(0, 9, 1.0), (0, 9, 1.2), (0, 10, 0.8), (0, 10, 1.0), (0, 10, 1.1)]
    posts += [(d, h, 3.0) for d in (2, 4, 6) for h in (8, 14, 20)]
    a = answer(posts)
    assert (a["recommendations"], a["best_day"], a["confidence_score"]) == ([], None, 0)
    assert a["posts_needed"] == 0
    # (5.1 + 9 x 3.0) / 14 = 2.29, nothing capped (Q1 1.125, Q3 3.0: fence 5.81)
    assert a["message"] == "No window of 5 or more posts does better than the average 2.29% yet."


def test_confidence_rises_with_evidence() -> None:
    """The same kind of business posting half, once, twice and four times as much."""
    by_scale = [
        [
            answer(scenario(seed, noise_posts=int(NOISE_POSTS * k),
                            planted_posts=int(PLANTED_POSTS * k)).posts)["confidence_score"]
            for seed in SEEDS[:10]
        ]
        for k in (0.5, 1, 2, 4)
    ]  # fmt: skip
    means = [sum(c) / len(c) for c in by_scale]
    assert means == sorted(set(means)), means  # strictly rising
    assert max(by_scale[0]) < min(by_scale[-1]), by_scale
    assert min(by_scale[0]) > 0
    assert max(by_scale[-1]) <= 100


def test_confidence_follows_the_lift_and_the_posts() -> None:
    fit = model.Fit(2.0, 1.0, (0.0,) * 7, (0.0,) * 24, ((2.0,) * 24,) * 7)

    def confidence(score: float, posts: int) -> int:
        return model.confidence(fit, model.Window(1, 9, 10, posts, score, 9))

    # erf(0.5 x sqrt(5) / sqrt(2)) x 5 / 15 = 0.736 x 0.333
    assert confidence(2.5, 5) == 25
    assert confidence(2.5, 5) < confidence(2.5, 20) < confidence(2.5, 80)
    assert confidence(2.2, 20) < confidence(2.5, 20) < confidence(3.5, 20)
    assert confidence(2.0, 500) == confidence(1.5, 500) == 0
    assert model.confidence(fit, None) == 0
    # No pattern at all: every post alike, nothing to be confident about.
    flat = [(d, h, 2.0) for d in range(7) for h in range(8, 18)] * 3
    assert answer(flat)["confidence_score"] == 0


def test_windows_are_short_apart_and_ranked_by_the_heatmaps_score() -> None:
    for seed in SEEDS[:10]:
        a = answer(scenario(seed).posts)
        cells = {(c["day"], c["hour"]): c for c in a["by_slot"]}
        recommendations = a["recommendations"]
        assert 1 <= len(recommendations) <= model.RECOMMENDATIONS
        for w in recommendations:
            assert w["score"] >= a["baseline_score"]
            assert w["end_hour"] - w["start_hour"] + 1 in model.WINDOW_HOURS
            assert w["start_hour"] <= w["hour"] <= w["end_hour"]
            hours = range(w["start_hour"], w["end_hour"] + 1)
            posts = sum(cells[w["day"], h]["posts"] for h in hours)
            assert w["posts"] == posts >= model.MIN_WINDOW_POSTS
            # Its score is the mean of its posts' cell scores: the heatmap's numbers.
            weighted = sum(cells[w["day"], h]["posts"] * cells[w["day"], h]["score"] for h in hours)
            assert w["score"] == pytest.approx(weighted / posts, abs=0.01)
            assert cells[w["day"], w["hour"]]["score"] == max(
                cells[w["day"], h]["score"] for h in hours if cells[w["day"], h]["posts"]
            )
        assert [w["score"] for w in recommendations] == sorted(
            (w["score"] for w in recommendations), reverse=True
        )
        for i, v in enumerate(recommendations):
            for w in recommendations[i + 1 :]:
                assert v["day"] != w["day"] or (
                    v["end_hour"] < w["start_hour"] or w["end_hour"] < v["start_hour"]
                )


def test_percentile_is_postgresql_percentile_cont() -> None:
    assert model.percentile([1.0, 2.0, 3.0, 4.0], 0.25) == 1.75
    assert model.percentile([1.0, 2.0, 3.0, 4.0], 0.75) == 3.25
    assert model.percentile([7.0], 0.75) == 7.0
    assert model.outlier_cap([]) is None
