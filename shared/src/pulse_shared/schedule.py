"""How often a post's numbers are refreshed: young posts often, old posts rarely.

The ingest services poll on this schedule; query-api uses it to say honestly how many
posts have numbers older than the schedule promises.
"""

from __future__ import annotations

from datetime import timedelta

# (age of the post below which, poll interval)
SCHEDULE: tuple[tuple[timedelta, timedelta], ...] = (
    (timedelta(days=1), timedelta(minutes=15)),
    (timedelta(days=7), timedelta(hours=1)),
    (timedelta(days=90), timedelta(days=1)),
)
# A poll may run late by this much before the numbers count as stale.
GRACE = timedelta(minutes=10)


def poll_interval(age: timedelta) -> timedelta | None:
    """The promised interval for a post of this age; None once it is no longer polled."""
    for below, interval in SCHEDULE:
        if age < below:
            return interval
    return None


def sql_poll_interval(age: str) -> str:
    """The same as SQL over an interval expression (NULL: no longer polled)."""
    cases = " ".join(
        f"WHEN {age} < interval '{int(below.total_seconds())} seconds' "
        f"THEN interval '{int(every.total_seconds())} seconds'"
        for below, every in SCHEDULE
    )
    return f"(CASE {cases} END)"
