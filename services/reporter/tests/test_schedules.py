"""Which period a schedule owes at an instant (pure): weekly on Mondays and monthly on the
2nd from the local send hour, on the business's calendar, across daylight saving time and
month ends; the delivery's names; the retry backoff."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import pytest

from pulse_reporter.report_data import Period
from pulse_reporter.schedules import (
    Due,
    backoff,
    delivery_key,
    due,
    is_send_now,
    message_id,
    send_at,
    send_now_key,
)

NY, BERLIN, AUCKLAND, KOLKATA = (
    "America/New_York",
    "Europe/Berlin",
    "Pacific/Auckland",
    "Asia/Kolkata",
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def week(start: str) -> Period:
    first = date.fromisoformat(start)
    return Period(first, first + timedelta(days=6))


def month(start: str, end: str) -> Period:
    return Period(date.fromisoformat(start), date.fromisoformat(end))


# --- weekly ----------------------------------------------------------------------------


def test_a_weekly_report_is_owed_from_monday_at_the_send_hour_for_the_week_before() -> None:
    # Monday 30 Nov 2026, 08:00 in New York (EST, UTC-5) is 13:00 UTC.
    at_eight = due("weekly", NY, utc(2026, 11, 30, 13, 0), send_hour=8)
    assert at_eight == Due(week("2026-11-23"), utc(2026, 11, 30, 13, 0))


def test_before_the_send_hour_on_monday_the_week_before_last_is_still_the_one_owed() -> None:
    # 07:59 local: this Monday's report is not owed yet; last Monday's still is.
    early = due("weekly", NY, utc(2026, 11, 30, 12, 59), send_hour=8)
    assert early == Due(week("2026-11-16"), utc(2026, 11, 23, 13, 0))


@pytest.mark.parametrize(
    "now",
    [utc(2026, 12, 1, 9), utc(2026, 12, 3, 18), utc(2026, 12, 7, 4), utc(2026, 12, 7, 12, 59)],
    ids=["tuesday", "thursday", "sunday-night-local", "next-monday-before-eight"],
)
def test_through_the_week_the_same_period_stays_owed(now: datetime) -> None:
    owed = due("weekly", NY, now, send_hour=8)
    assert owed == Due(week("2026-11-23"), utc(2026, 11, 30, 13, 0))


def test_the_business_calendar_decides_not_utc() -> None:
    # 03:00 UTC on Monday 30 Nov is still Sunday 22:00 in New York: the week of 23-29 Nov
    # is not complete there, so the week before is the one owed.
    owed = due("weekly", NY, utc(2026, 11, 30, 3, 0), send_hour=8)
    assert owed == Due(week("2026-11-16"), utc(2026, 11, 23, 13, 0))
    # And 19:30 UTC on Sunday 29 Nov is already Monday 08:30 in Auckland (UTC+13).
    ahead = due("weekly", AUCKLAND, utc(2026, 11, 29, 19, 30), send_hour=8)
    assert ahead == Due(week("2026-11-23"), utc(2026, 11, 29, 19, 0))


def test_the_send_hour_follows_daylight_saving_time_in_autumn() -> None:
    # New York leaves DST on Sunday 1 Nov 2026: Monday 26 Oct 08:00 is EDT (12:00 UTC),
    # Monday 2 Nov 08:00 is EST (13:00 UTC).
    assert send_at("weekly", week("2026-10-19"), NY, 8) == utc(2026, 10, 26, 12, 0)
    assert send_at("weekly", week("2026-10-26"), NY, 8) == utc(2026, 11, 2, 13, 0)
    # 12:30 UTC on 2 Nov is 07:30 local: not yet; at 13:00 UTC it is 08:00 local.
    assert due("weekly", NY, utc(2026, 11, 2, 12, 30), send_hour=8) == Due(
        week("2026-10-19"), utc(2026, 10, 26, 12, 0)
    )
    assert due("weekly", NY, utc(2026, 11, 2, 13, 0), send_hour=8) == Due(
        week("2026-10-26"), utc(2026, 11, 2, 13, 0)
    )


def test_the_send_hour_follows_daylight_saving_time_in_spring() -> None:
    # Berlin enters DST on Sunday 29 Mar 2026: 08:00 is 07:00 UTC before, 06:00 UTC after.
    assert send_at("weekly", week("2026-03-16"), BERLIN, 8) == utc(2026, 3, 23, 7, 0)
    assert send_at("weekly", week("2026-03-23"), BERLIN, 8) == utc(2026, 3, 30, 6, 0)
    assert due("weekly", BERLIN, utc(2026, 3, 30, 6, 0), send_hour=8) == Due(
        week("2026-03-23"), utc(2026, 3, 30, 6, 0)
    )


def test_a_send_hour_skipped_by_spring_forward_is_read_with_the_offset_before() -> None:
    # Easter Island enters DST on 2 Sep 2028 at 22:00 (UTC-6 -> UTC-5): 22:00 that day
    # does not exist; it is read as UTC-6, 04:00 UTC, which is 23:00 on the new clock.
    august = month("2028-08-01", "2028-08-31")
    assert send_at("monthly", august, "Pacific/Easter", 22) == utc(2028, 9, 3, 4, 0)


# --- monthly ---------------------------------------------------------------------------


def test_a_monthly_report_is_owed_from_the_2nd_at_the_send_hour_for_the_month_before() -> None:
    owed = due("monthly", NY, utc(2026, 12, 2, 13, 0), send_hour=8)
    assert owed == Due(month("2026-11-01", "2026-11-30"), utc(2026, 12, 2, 13, 0))


@pytest.mark.parametrize(
    "now",
    [utc(2026, 12, 1, 15), utc(2026, 12, 2, 12, 59)],
    ids=["on-the-1st", "the-2nd-before-eight"],
)
def test_before_the_2nd_at_the_send_hour_the_month_before_last_is_owed(now: datetime) -> None:
    # 2 Nov 2026 08:00 in New York is EST already (13:00 UTC).
    owed = due("monthly", NY, now, send_hour=8)
    assert owed == Due(month("2026-10-01", "2026-10-31"), utc(2026, 11, 2, 13, 0))


def test_month_ends_february_of_a_leap_year_and_the_turn_of_the_year() -> None:
    leap = due("monthly", KOLKATA, utc(2028, 3, 2, 3, 0), send_hour=8)  # 08:30 IST
    assert leap == Due(month("2028-02-01", "2028-02-29"), utc(2028, 3, 2, 2, 30))
    december = due("monthly", BERLIN, utc(2027, 1, 2, 7, 0), send_hour=8)
    assert december == Due(month("2026-12-01", "2026-12-31"), utc(2027, 1, 2, 7, 0))
    thirty = due("monthly", BERLIN, utc(2027, 1, 1, 12, 0), send_hour=8)
    assert thirty == Due(month("2026-11-01", "2026-11-30"), utc(2026, 12, 2, 7, 0))


def test_a_monthly_send_across_daylight_saving_time() -> None:
    # 2 Nov 2026 is after New York left DST (13:00 UTC); 2 Oct before (12:00 UTC).
    assert send_at("monthly", month("2026-10-01", "2026-10-31"), NY, 8) == utc(2026, 11, 2, 13)
    assert send_at("monthly", month("2026-09-01", "2026-09-30"), NY, 8) == utc(2026, 10, 2, 12)


# --- a new schedule --------------------------------------------------------------------


def test_a_schedule_owes_nothing_sent_before_it_was_made() -> None:
    made = utc(2026, 12, 2, 15, 0)  # a Wednesday
    assert due("weekly", NY, utc(2026, 12, 3, 12), send_hour=8, not_before=made) is None
    first = due("weekly", NY, utc(2026, 12, 7, 13), send_hour=8, not_before=made)
    assert first == Due(week("2026-11-30"), utc(2026, 12, 7, 13))
    # Made on a Monday before the send hour: that Monday's report is its first.
    monday = utc(2026, 11, 30, 12, 0)
    assert due("weekly", NY, utc(2026, 11, 30, 13), send_hour=8, not_before=monday) == Due(
        week("2026-11-23"), utc(2026, 11, 30, 13)
    )


# --- names -----------------------------------------------------------------------------


def test_the_delivery_key_and_message_id_are_fixed_by_schedule_and_period() -> None:
    period = week("2026-11-23")
    key = delivery_key(12, period)
    assert key == "12:2026-11-23"
    assert message_id(key, "pulse.example") == "<report-12-2026-11-23@pulse.example>"
    assert not is_send_now(key)


def test_a_send_now_has_a_key_and_message_id_of_its_own() -> None:
    request = UUID("3f1e2a0c-1111-4222-8333-444455556666")
    key = send_now_key(12, week("2026-11-23"), request)
    assert key == f"12:2026-11-23:now:{request}"
    assert is_send_now(key)
    assert message_id(key, "pulse.example") == (
        f"<report-12-2026-11-23-now-{request}@pulse.example>"
    )


# --- backoff ---------------------------------------------------------------------------


def test_the_backoff_doubles_from_the_base_up_to_the_cap() -> None:
    waits = [backoff(n, 60, 3600).total_seconds() for n in range(1, 9)]
    assert waits == [60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert backoff(10_000, 60, 3600) == timedelta(hours=1)  # no overflow
    with pytest.raises(ValueError, match="from 1"):
        backoff(0, 60, 3600)
