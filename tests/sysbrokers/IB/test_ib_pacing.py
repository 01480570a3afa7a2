"""The historical-data pacing limiter (pure logic, on a fake monotonic clock)."""
from __future__ import annotations

import pandas as pd

from sysbrokers.IB.history import PacingLimiter, duration_text


class FakeTime:
    def __init__(self):
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_at_most_n_requests_per_window():
    t = FakeTime()
    limiter = PacingLimiter(3, 600.0, 0.0, t.monotonic, t.sleep)
    for key in "abc":
        limiter.acquire(key)
        t.now += 1.0
    assert t.slept == []
    limiter.acquire("d")  # the fourth waits until the first leaves the window
    assert t.slept == [597.0] and t.now == 600.0
    limiter.acquire("e")  # the second (sent at 1 s) leaves it at 601 s
    assert t.slept[-1] == 1.0
    assert limiter.waited == 598.0


def test_identical_requests_are_spaced():
    t = FakeTime()
    limiter = PacingLimiter(60, 600.0, 15.0, t.monotonic, t.sleep)
    limiter.acquire(("MES", "1 day"))
    t.now += 2.0
    limiter.acquire(("MES", "1 hour"))  # a different request: no wait
    assert t.slept == []
    limiter.acquire(("MES", "1 day"))
    assert t.slept == [13.0]


def test_duration_text_days_then_years():
    start = pd.Timestamp("2024-01-01", tz="UTC")
    assert duration_text(start, start + pd.Timedelta(hours=3)) == "2 D"
    assert duration_text(start, start + pd.Timedelta(days=30)) == "31 D"
    assert duration_text(start, start + pd.Timedelta(days=800)) == "3 Y"
