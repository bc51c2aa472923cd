"""The wake-up's token bucket, on fake time."""

from __future__ import annotations

from vmha.api.throttle import Throttle


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_goes_then_calls_wait_for_the_rate() -> None:
    ticks = Ticks()
    throttle = Throttle(rate=5.0, burst=3, clock=ticks)
    assert [throttle.take() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert abs(throttle.take() - 0.2) < 1e-9
    ticks.now += 0.2
    assert throttle.take() == 0.0
    assert throttle.take() > 0
    ticks.now += 3600  # a long quiet: the bucket refills to the burst, no more
    assert [throttle.take() for _ in range(4)][-1] > 0
