"""How often the summary refresh may run while events flow."""

from __future__ import annotations

from pulse_aggregator.consumer import RefreshPacing


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
