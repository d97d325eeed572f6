"""When to post: a pooled estimate of the engagement rate by local day of week and hour,
and the posting windows it recommends. Pure (no I/O): ``queries.SLOT_EVIDENCE`` gathers the
evidence per (day, hour), ``estimate`` turns it into the best-times answer.

The model, in the engagement rate's own unit (percent), for every one of the 168 slots:

    score(day, hour) = mean + day_effect[day] + hour_effect[hour] + slot_effect[day, hour]

- Each post's rate counts at most up to the period's outlier fence, Q3 + 1.5 x IQR of the
  period's rates (Tukey), so a viral post counts as one very good post, not as ten.
- The day and hour effects are fitted together, each on what the other leaves (the
  fixed point of backfitting, solved directly), each shrunk toward the mean as if
  ``DAY_PRIOR_POSTS`` / ``HOUR_PRIOR_POSTS`` more posts at the mean had gone out then.
  An hour also takes its two neighbours' evidence at ``NEIGHBOUR_WEIGHT`` (circularly:
  23:00 neighbours 00:00): audiences do not change on the hour.
- What a slot's posts show beyond its day and hour effects is kept shrunk as if
  ``SLOT_PRIOR_POSTS`` more posts had matched those effects: a slot stands apart from its
  day and hour only on many posts.
- A window is 2 or 3 consecutive hours of one day (not across midnight). Its score is the
  mean score of the posts published in it (each at its slot's score), its evidence their
  number. Only windows of at least ``MIN_WINDOW_POSTS`` posts that score above the mean
  are recommended: the 3 best that do not overlap, each with its best hour (of the hours
  with posts).
- The confidence (0-100) follows the best window's evidence: erf(z / sqrt 2), how surely
  its score is above the mean, with z = (score - mean) / (sd / sqrt(posts)), times
  posts / (posts + ``CONFIDENCE_HALF_AT``), for the window's posts and the sd of every
  post's (capped) rate.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pulse_query_api import insights
from pulse_shared import formulas

T = TypeVar("T")
Grid = list[list[T]]  # [day][hour]

DAYS = 7
HOURS = 24

# Fewest posts (with impressions) a recommended window must hold: below it, a window's
# figure is one or two posts' luck.
MIN_WINDOW_POSTS = 5
# The lengths, in hours, a recommended window may have: short enough to act on, long
# enough to gather evidence.
WINDOW_HOURS = (2, 3)
RECOMMENDATIONS = 3
# How many posts' worth of the overall mean each estimate starts from (its prior weight).
DAY_PRIOR_POSTS = 20.0
HOUR_PRIOR_POSTS = 20.0
SLOT_PRIOR_POSTS = 10.0
# The weight of each neighbouring hour's evidence in an hour's effect.
NEIGHBOUR_WEIGHT = 0.5
# A post's rate counts at most up to Q3 + OUTLIER_FENCE_IQR x (Q3 - Q1) of the period's.
OUTLIER_FENCE_IQR = 1.5
# Posts in the best window at which the evidence part of the confidence is one half.
CONFIDENCE_HALF_AT = 10.0


@dataclass(frozen=True)
class SlotEvidence:
    """The posts with impressions published in one local (day, hour): how many, the sum of
    their engagement rates, and the sums of their rates capped at the outlier fence."""

    day: int
    hour: int
    posts: int
    rate_sum: float
    capped_sum: float
    capped_sq_sum: float


@dataclass(frozen=True)
class Fit:
    mean: float
    sd: float
    day_effect: tuple[float, ...]
    hour_effect: tuple[float, ...]
    score: tuple[tuple[float, ...], ...]  # [day][hour]


@dataclass(frozen=True)
class Window:
    day: int
    start_hour: int
    end_hour: int  # included
    posts: int
    score: float
    best_hour: int


def percentile(ordered: Sequence[float], q: float) -> float:
    """PostgreSQL's percentile_cont over ascending values: linear between neighbours."""
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def outlier_cap(rates: Iterable[float]) -> float | None:
    """Q3 + OUTLIER_FENCE_IQR x IQR of ``rates``; None when there are none."""
    ordered = sorted(rates)
    if not ordered:
        return None
    q1, q3 = percentile(ordered, 0.25), percentile(ordered, 0.75)
    return q3 + OUTLIER_FENCE_IQR * (q3 - q1)


def slots_from_posts(posts: Iterable[tuple[int, int, float]]) -> list[SlotEvidence]:
    """The evidence ``queries.SLOT_EVIDENCE`` computes, from (day, hour, rate) per post."""
    posts = list(posts)
    cap = outlier_cap(rate for _, _, rate in posts)
    sums: dict[tuple[int, int], list[float]] = {}
    for day, hour, rate in posts:
        capped = rate if cap is None else min(rate, cap)
        s = sums.setdefault((day, hour), [0, 0.0, 0.0, 0.0])
        s[0] += 1
        s[1] += rate
        s[2] += capped
        s[3] += capped * capped
    return [
        SlotEvidence(day, hour, int(s[0]), s[1], s[2], s[3])
        for (day, hour), s in sorted(sums.items())
    ]


def _weight(hour: int, other: int) -> float:
    """How much ``other``'s posts count toward ``hour``'s effect."""
    if hour == other:
        return 1.0
    return NEIGHBOUR_WEIGHT if (hour - other) % HOURS in (1, HOURS - 1) else 0.0


def _solve(matrix: list[list[float]], rhs: list[float]) -> list[float]:
    """Gaussian elimination. The effects' system is strictly diagonally dominant (each
    row's prior weight), so it needs no pivoting and always has its one solution."""
    size = len(rhs)
    a = [[*row, b] for row, b in zip(matrix, rhs, strict=True)]
    for i in range(size):
        for k in range(i + 1, size):
            factor = a[k][i] / a[i][i]
            if factor:
                a[k] = [x - factor * y for x, y in zip(a[k], a[i], strict=True)]
    out = [0.0] * size
    for i in reversed(range(size)):
        out[i] = (a[i][size] - sum(a[i][j] * out[j] for j in range(i + 1, size))) / a[i][i]
    return out


def _effects(n: Grid[int], excess: Grid[float]) -> tuple[list[float], list[float]]:
    """The day and hour effects fitted together: each day's is the shrunk mean of what the
    hour effects leave of its posts, each hour's the shrunk, neighbour-weighted mean of
    what the day effects leave (backfitting's fixed point, solved as one 31 x 31 system):

        (posts[d] + DAY_PRIOR) day[d] + sum_h n[d][h] hour[h] = sum_h excess[d][h]
        sum_j w(h, j) sum_d n[d][j] day[d] + (pooled[h] + HOUR_PRIOR) hour[h]
            = sum_j w(h, j) sum_d excess[d][j]
    """
    weight = [[_weight(h, j) for j in range(HOURS)] for h in range(HOURS)]
    matrix, rhs = [], []
    for d in range(DAYS):
        row = [0.0] * DAYS + [float(n[d][h]) for h in range(HOURS)]
        row[d] = sum(n[d]) + DAY_PRIOR_POSTS
        matrix.append(row)
        rhs.append(sum(excess[d]))
    for h in range(HOURS):
        row = [sum(weight[h][j] * n[d][j] for j in range(HOURS)) for d in range(DAYS)]
        pooled = sum(weight[h][j] * n[d][j] for j in range(HOURS) for d in range(DAYS))
        row += [0.0] * HOURS
        row[DAYS + h] = pooled + HOUR_PRIOR_POSTS
        matrix.append(row)
        rhs.append(sum(weight[h][j] * excess[d][j] for j in range(HOURS) for d in range(DAYS)))
    solved = _solve(matrix, rhs)
    return solved[:DAYS], solved[DAYS:]


def fit(slots: Sequence[SlotEvidence]) -> Fit:
    """The fitted effects and every (day, hour)'s score (all 168, posts or not)."""
    total = sum(s.posts for s in slots)
    mean = sum(s.capped_sum for s in slots) / total if total else 0.0
    variance = sum(s.capped_sq_sum for s in slots) / total - mean * mean if total else 0.0
    n = [[0] * HOURS for _ in range(DAYS)]
    excess = [[0.0] * HOURS for _ in range(DAYS)]  # capped rates' sum minus posts x mean
    for s in slots:
        n[s.day][s.hour] += s.posts
        excess[s.day][s.hour] += s.capped_sum - s.posts * mean
    day, hour = _effects(n, excess)
    score = tuple(
        tuple(
            mean + day[d] + hour[h]
            + (excess[d][h] - n[d][h] * (day[d] + hour[h])) / (n[d][h] + SLOT_PRIOR_POSTS)
            for h in range(HOURS)
        )
        for d in range(DAYS)
    )  # fmt: skip
    return Fit(mean, math.sqrt(max(variance, 0.0)), tuple(day), tuple(hour), score)


def windows(model: Fit, slots: Sequence[SlotEvidence]) -> list[Window]:
    """Every window of WINDOW_HOURS consecutive hours of one day, best first."""
    posts = [[0] * HOURS for _ in range(DAYS)]
    for s in slots:
        posts[s.day][s.hour] += s.posts
    out = []
    for day in range(DAYS):
        for length in WINDOW_HOURS:
            for start in range(HOURS - length + 1):
                hours = range(start, start + length)
                count = sum(posts[day][h] for h in hours)
                if not count:
                    continue
                score = sum(posts[day][h] * model.score[day][h] for h in hours) / count
                posted = [h for h in hours if posts[day][h]]
                best = max(posted, key=lambda h: (model.score[day][h], -h))
                out.append(Window(day, start, start + length - 1, count, score, best))
    out.sort(key=lambda w: (-w.score, -w.posts, w.day, w.start_hour, w.end_hour))
    return out


def recommend(candidates: Sequence[Window], mean: float) -> list[Window]:
    """The RECOMMENDATIONS best windows of MIN_WINDOW_POSTS posts that score above the
    mean, none overlapping."""
    chosen: list[Window] = []
    for w in candidates:
        if w.posts < MIN_WINDOW_POSTS or w.score <= mean:
            continue
        if any(
            c.day == w.day and c.start_hour <= w.end_hour and w.start_hour <= c.end_hour
            for c in chosen
        ):
            continue
        chosen.append(w)
        if len(chosen) == RECOMMENDATIONS:
            break
    return chosen


def posts_needed(candidates: Sequence[Window]) -> int:
    """How many more posts the busiest window needs before one can be recommended."""
    busiest = max((w.posts for w in candidates), default=0)
    return max(MIN_WINDOW_POSTS - busiest, 0)


def confidence(model: Fit, best: Window | None) -> int:
    """0-100: how surely the best window beats the mean, times how much evidence it has."""
    if best is None or best.score <= model.mean:
        return 0
    se = model.sd / math.sqrt(best.posts)
    sure = 1.0 if se == 0 else math.erf((best.score - model.mean) / se / math.sqrt(2))
    return round(100 * sure * best.posts / (best.posts + CONFIDENCE_HALF_AT))


def window_label(w: Window) -> str:
    return insights.window_label(w.day, w.start_hour, w.end_hour)


def message(model: Fit, chosen: Sequence[Window], needed: int) -> str:
    """The answer in a sentence: the best window, or why there is none."""
    if chosen:
        best = chosen[0]
        return insights.best_window_sentence(window_label(best), best.posts, best.score, model.mean)
    if needed:
        return insights.not_enough_posts_sentence(needed, MIN_WINDOW_POSTS, max(WINDOW_HOURS))
    return insights.nothing_above_mean_sentence(MIN_WINDOW_POSTS, model.mean)


def _axis(
    key: str, size: int, slots: Sequence[SlotEvidence], effects: Sequence[float], mean: float
) -> list[dict[str, Any]]:
    """by_day or by_hour: posts, raw mean rate (null without posts), mean + effect."""
    posts, rates = [0] * size, [0.0] * size
    for s in slots:
        i = getattr(s, key)
        posts[i] += s.posts
        rates[i] += s.rate_sum
    return [
        {
            key: i,
            "posts": posts[i],
            "avg_engagement_rate": formulas.round2(rates[i] / posts[i]) if posts[i] else None,
            "score": formulas.round2(mean + effects[i]),
        }
        for i in range(size)
    ]


def _cells(model: Fit, slots: Sequence[SlotEvidence]) -> list[dict[str, Any]]:
    """The heatmap: all 168 (day, hour), day-major, each with the score windows rank by."""
    seen = {(s.day, s.hour): s for s in slots}
    out = []
    for day in range(DAYS):
        for hour in range(HOURS):
            s = seen.get((day, hour))
            out.append(
                {
                    "day": day,
                    "hour": hour,
                    "posts": s.posts if s else 0,
                    "avg_engagement_rate": formulas.round2(s.rate_sum / s.posts) if s else None,
                    "score": formulas.round2(model.score[day][hour]),
                }
            )
    return out


def _recommendation(w: Window) -> dict[str, Any]:
    return {
        "day": w.day,
        "hour": w.best_hour,
        "start_hour": w.start_hour,
        "end_hour": w.end_hour,
        "posts": w.posts,
        "score": formulas.round2(w.score),
        "label": window_label(w),
    }


def estimate(slots: Sequence[SlotEvidence]) -> dict[str, Any]:
    """The best-times answer (DESIGN.md, "Best times") from the evidence per slot."""
    model = fit(slots)
    candidates = windows(model, slots)
    chosen = recommend(candidates, model.mean)
    best = chosen[0] if chosen else None
    needed = 0 if chosen else posts_needed(candidates)
    return {
        "by_day": _axis("day", DAYS, slots, model.day_effect, model.mean),
        "by_hour": _axis("hour", HOURS, slots, model.hour_effect, model.mean),
        "by_slot": _cells(model, slots),
        "recommendations": [_recommendation(w) for w in chosen],
        "best_day": best.day if best else None,
        "best_hour": best.best_hour if best else None,
        "confidence_score": confidence(model, best),
        "posts_considered": sum(s.posts for s in slots),
        "baseline_score": formulas.round2(model.mean),
        "min_window_posts": MIN_WINDOW_POSTS,
        "posts_needed": needed,
        "message": message(model, chosen, needed),
    }
