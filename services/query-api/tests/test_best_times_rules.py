"""The best-times model's rules at their edges (pulse_query_api.best_times): no posts, one
post, rates all zero, ties between windows and between hours, a window exactly at the
mean. Pure: the planted-pattern tests are in test_best_times_model.py."""

from __future__ import annotations

import ast
import inspect
from types import ModuleType
from typing import Any

import pytest

from pulse_query_api import best_times as model
from pulse_query_api import insights, post_row

MONDAY, TUESDAY, THURSDAY = 0, 1, 3


def answer(posts: list[tuple[int, int, float]]) -> dict[str, Any]:
    return model.estimate(model.slots_from_posts(posts))


def flat_fit(
    mean: float, sd: float = 1.0, lifted: dict[tuple[int, int], float] | None = None
) -> model.Fit:
    """A fit whose every score is ``mean`` but the ``lifted`` (day, hour) cells'."""
    lifted = lifted or {}
    score = tuple(
        tuple(lifted.get((d, h), mean) for h in range(model.HOURS)) for d in range(model.DAYS)
    )
    return model.Fit(mean, sd, (0.0,) * model.DAYS, (0.0,) * model.HOURS, score)


def evidence(cells: dict[tuple[int, int], int]) -> list[model.SlotEvidence]:
    """``posts`` posts at a rate of 2.0 in each (day, hour)."""
    return [
        model.SlotEvidence(d, h, posts, 2.0 * posts, 2.0 * posts, 4.0 * posts)
        for (d, h), posts in cells.items()
    ]


def test_no_posts_give_a_flat_heatmap_and_ask_for_five() -> None:
    a = answer([])
    assert a["posts_considered"] == 0
    assert a["baseline_score"] == 0.0
    assert len(a["by_slot"]) == 168
    assert {c["score"] for c in a["by_slot"]} == {0.0}
    assert {c["avg_engagement_rate"] for c in a["by_day"]} == {None}
    assert (a["recommendations"], a["confidence_score"], a["posts_needed"]) == ([], 0, 5)
    assert a["message"] == insights.not_enough_posts_sentence(5, 5, 3)


def test_one_post_is_the_mean_everywhere() -> None:
    a = answer([(TUESDAY, 9, 4.0)])
    assert a["baseline_score"] == 4.0
    assert {c["score"] for c in a["by_slot"]} == {4.0}
    assert a["posts_needed"] == 4


def test_rates_all_zero_recommend_nothing_and_say_so() -> None:
    """Posts with impressions but no engagement (posts without impressions never reach the
    model: queries.SLOT_EVIDENCE leaves them out)."""
    a = answer([(TUESDAY, h, 0.0) for h in (9, 9, 10, 10, 11)])
    assert (a["recommendations"], a["posts_needed"], a["confidence_score"]) == ([], 0, 0)
    assert a["message"] == "No window of 5 or more posts does better than the average 0.00% yet."


def test_a_window_scoring_exactly_the_mean_is_not_recommended() -> None:
    fit = flat_fit(2.0)
    candidates = model.windows(fit, evidence({(TUESDAY, 9): 3, (TUESDAY, 10): 3}))
    assert {w.score for w in candidates} == {2.0}
    assert model.recommend(candidates, fit.mean) == []


def test_tied_windows_go_to_more_posts_then_the_earlier_day_then_the_earlier_start() -> None:
    lifted = {(d, h): 3.0 for d in (TUESDAY, THURSDAY) for h in (9, 10)}
    fit = flat_fit(2.0, lifted=lifted)
    cells = {(TUESDAY, 9): 3, (TUESDAY, 10): 3, (THURSDAY, 9): 3, (THURSDAY, 10): 3}
    chosen = model.recommend(model.windows(fit, evidence(cells)), fit.mean)
    # 08-10, 09-10 and 09-11 of a day all hold its 6 posts at 3.0: the earliest start wins,
    # and the others overlap it.
    assert [(w.day, w.start_hour, w.end_hour, w.posts) for w in chosen] == [
        (TUESDAY, 8, 10, 6),
        (THURSDAY, 8, 10, 6),
    ]


def test_a_window_with_more_posts_beats_a_tie_in_score() -> None:
    lifted = {(MONDAY, 9): 3.0, (MONDAY, 10): 3.0, (THURSDAY, 9): 3.0, (THURSDAY, 10): 3.0}
    fit = flat_fit(2.0, lifted=lifted)
    cells = {(MONDAY, 9): 3, (MONDAY, 10): 3, (THURSDAY, 9): 4, (THURSDAY, 10): 4}
    first = model.recommend(model.windows(fit, evidence(cells)), fit.mean)[0]
    assert (first.day, first.posts) == (THURSDAY, 8)


def test_a_windows_best_hour_is_the_earlier_of_equal_hours_with_posts() -> None:
    fit = flat_fit(2.0, lifted={(TUESDAY, 9): 3.0, (TUESDAY, 10): 3.0, (TUESDAY, 11): 5.0})
    cells = {(TUESDAY, 9): 3, (TUESDAY, 10): 3}  # 11:00 scores more but has no posts
    first = model.recommend(model.windows(fit, evidence(cells)), fit.mean)[0]
    assert (first.start_hour, first.best_hour) == (8, 9)


def test_recommendations_stop_at_three_and_never_overlap() -> None:
    lifted = {(d, h): 3.0 + d / 10 for d in range(model.DAYS) for h in (9, 10)}
    fit = flat_fit(2.0, lifted=lifted)
    cells = {(d, h): 3 for d in range(model.DAYS) for h in (9, 10)}
    chosen = model.recommend(model.windows(fit, evidence(cells)), fit.mean)
    assert [w.day for w in chosen] == [6, 5, 4]  # the three best days, one window each


def test_confidence_without_spread_rests_on_the_posts_alone() -> None:
    fit = flat_fit(2.0, sd=0.0)
    window = model.Window(TUESDAY, 9, 10, 10, 3.0, 9)
    assert model.confidence(fit, window) == 50  # erf(inf) x 10 / (10 + 10)


def test_posts_needed_counts_from_the_busiest_window() -> None:
    fit = flat_fit(2.0)
    assert model.posts_needed([]) == model.MIN_WINDOW_POSTS
    candidates = model.windows(fit, evidence({(MONDAY, 9): 1, (MONDAY, 11): 2, (MONDAY, 13): 1}))
    assert model.posts_needed(candidates) == 2  # 09-11 holds 3


def test_the_outlier_fence_of_equal_rates_is_that_rate() -> None:
    assert model.outlier_cap([2.0, 2.0, 2.0]) == 2.0
    assert model.outlier_cap([5.0]) == 5.0


@pytest.mark.parametrize("module", [model, insights, post_row])
def test_statistics_sentences_and_post_shaping_stay_pure(module: ModuleType) -> None:
    """No database, web framework or network client is imported where they live."""
    imported: set[str] = set()
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    io = ("sqlalchemy", "asyncpg", "fastapi", "redis", "httpx", "pulse_query_api.queries")
    assert not {m for m in imported if m.startswith(io)}, imported
