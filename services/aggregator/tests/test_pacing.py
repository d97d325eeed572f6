"""How often the summary refresh may run while events flow, and when the stream has paused."""

from __future__ import annotations

from pulse_aggregator.consumer import RefreshPacing, StreamPause


def test_a_refresh_waits_its_interval_and_rests_to_keep_its_share_of_the_time() -> None:
    pacing = RefreshPacing(interval_s=5.0, max_share=0.2)
    assert pacing.over(100.0)  # none yet
    pacing.started, pacing.ended = 100.0, 103.0  # took 3 s: rests 12 s
    assert not pacing.over(105.0)  # the interval is over, the rest is not
    assert not pacing.over(114.9)
    assert pacing.over(115.0)


def test_a_quick_refresh_is_held_to_the_interval() -> None:
    pacing = RefreshPacing(interval_s=5.0, max_share=0.2)
    pacing.started, pacing.ended = 100.0, 100.1  # rests 0.4 s
    assert not pacing.over(104.9)
    assert pacing.over(105.0)


def test_the_stream_has_paused_only_after_a_second_without_records() -> None:
    pause = StreamPause(after_s=1.0)
    assert pause.paused(100.0)  # nothing seen since the start
    pause.saw_records(100.0)
    assert not pause.paused(100.2)  # an empty poll between two batches
    assert not pause.paused(100.99)
    assert pause.paused(101.0)
    pause.saw_records(101.5)
    assert not pause.paused(102.0)
