"""Historical bars from IB with IB's pacing rules kept on our side.

IB's historical-data pacing (a violation is error 162 "pacing violation" and a penalty box):
no more than ``history_requests_per_window`` requests (60) in ``history_window_seconds``
(600 s), and no identical request within ``history_identical_gap_seconds`` (15 s).
:class:`PacingLimiter` waits before a request would break either rule. If IB still answers 162
with "pacing violation" the request is retried after ``history_retry_seconds``, doubling, up to
``history_retries`` times, then :class:`PacingViolation`. 162 "no data" is an empty answer;
200 is :class:`UnknownContract`.

Requests: ``formatDate`` 2 (UTC), ``useRTH`` off, futures ``TRADES``, FX ``MIDPOINT``; daily bars
in one request, hourly bars in windows of at most 30 days, newest first, stopping at the first
window without data (before the contract was listed).
"""
from __future__ import annotations

import collections
import logging
import math
import time
from collections.abc import Callable, Hashable

import pandas as pd
from ib_async import Contract, RequestError

from sysbrokers.broker import BAR_COLUMNS
from sysbrokers.errors import BrokerError, PacingViolation, UnknownContract
from sysbrokers.IB.connection import IBConnection
from sysbrokers.IB.hours import WeeklyHours
from syscore.config_models import IBConfig

log = logging.getLogger(__name__)

HISTORICAL_DATA_ERROR = 162
INTRADAY_CHUNK = pd.Timedelta(days=30)


class PacingLimiter:
    """Keeps requests within IB's pacing rules by waiting (``sleep``) before each one.
    ``monotonic`` and ``sleep`` are injectable (seconds)."""

    def __init__(self, max_requests: int, window: float, identical_gap: float,
                 monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.max_requests = max_requests
        self.window = window
        self.identical_gap = identical_gap
        self.monotonic = monotonic
        self.sleep = sleep
        self._times: collections.deque[float] = collections.deque()
        self._last: dict[Hashable, float] = {}
        self.waited = 0.0  # total seconds waited, for reports and tests

    def delay(self, key: Hashable) -> float:
        """Seconds to wait before a request ``key`` may be sent now."""
        now = self.monotonic()
        while self._times and self._times[0] <= now - self.window:
            self._times.popleft()
        wait = 0.0
        if len(self._times) >= self.max_requests:
            wait = self._times[len(self._times) - self.max_requests] + self.window - now
        if key in self._last:
            wait = max(wait, self._last[key] + self.identical_gap - now)
        return max(wait, 0.0)

    def acquire(self, key: Hashable) -> None:
        """Wait as long as needed, then record the request."""
        wait = self.delay(key)
        if wait > 0:
            log.info("IB pacing: waiting %.1f s before the next historical-data request", wait)
            self.sleep(wait)
            self.waited += wait
        now = self.monotonic()
        self._times.append(now)
        self._last[key] = now


def duration_text(start: pd.Timestamp, end: pd.Timestamp) -> str:
    """IB ``durationStr`` covering ``[start, end]``: days up to a year, then years."""
    days = max(1, math.ceil((end - start) / pd.Timedelta(days=1)) + 1)
    return f"{days} D" if days <= 365 else f"{math.ceil(days / 365)} Y"


class HistoryService:
    """Bars through one connection with one pacing limiter."""

    def __init__(self, connection: IBConnection, config: IBConfig,
                 limiter: PacingLimiter | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.connection = connection
        self.config = config
        self.sleep = sleep
        self.limiter = limiter or PacingLimiter(
            config.history_requests_per_window, config.history_window_seconds,
            config.history_identical_gap_seconds, sleep=sleep)

    def _request(self, contract: Contract, end_text: str, duration: str, bar_size: str,
                 what_to_show: str, describe: str) -> list:
        key = (contract.conId, end_text, duration, bar_size, what_to_show)
        delay = self.config.history_retry_seconds
        for attempt in range(self.config.history_retries + 1):
            self.limiter.acquire(key)
            try:
                return self.connection.run(lambda: self.connection.ib.reqHistoricalDataAsync(
                        contract, endDateTime=end_text, durationStr=duration,
                        barSizeSetting=bar_size, whatToShow=what_to_show, useRTH=False,
                        formatDate=2, timeout=0),
                    f"historical data of {describe}")
            except RequestError as exc:
                text = exc.message.lower()
                if exc.code == 200:
                    raise UnknownContract(f"IB has no contract {describe} (200)") from None
                if exc.code != HISTORICAL_DATA_ERROR:
                    raise BrokerError(f"IB error {exc.code} for historical data of "
                                      f"{describe}: {exc.message}") from None
                if "pacing" not in text:
                    return []  # "HMDS query returned no data" and the like: nothing there
                if attempt == self.config.history_retries:
                    break
                log.warning("IB pacing violation (162) for %s; retrying in %.1f s",
                            describe, delay)
                self.sleep(delay)
                delay *= 2
        raise PacingViolation(f"IB refused historical data of {describe} for pacing (162) "
                              f"after {self.config.history_retries} retries")

    def bars(self, contract: Contract, hours: WeeklyHours, frequency: str,
             start: pd.Timestamp, end: pd.Timestamp, now: pd.Timestamp, what_to_show: str,
             describe: str) -> pd.DataFrame:
        """Bars labelled with their end (see :mod:`sysbrokers.IB.hours`) in
        ``[start, min(end, now)]``, columns :data:`BAR_COLUMNS`, UTC index."""
        end = min(end, now)
        if end < start:
            return empty_bars()
        windows: list[tuple[pd.Timestamp, pd.Timestamp]] = []
        if frequency == "D":
            windows.append((start, end))
        else:
            w_end = end
            while w_end > start:
                windows.append((max(start, w_end - INTRADAY_CHUNK), w_end))
                w_end -= INTRADAY_CHUNK
        bar_size = "1 day" if frequency == "D" else "1 hour"
        labels, rows = [], []
        for w_start, w_end in windows:  # newest first: stop at the first window without data
            end_text = "" if w_end >= now else w_end.strftime("%Y%m%d-%H:%M:%S")
            bars = self._request(contract, end_text, duration_text(w_start, w_end), bar_size,
                                 what_to_show, describe)
            if not bars and frequency != "D":
                break  # before the contract's listing: older windows are empty too
            if frequency == "D":
                labels += hours.daily_labels([pd.Timestamp(b.date).date() for b in bars])
            else:
                labels += hours.intraday_labels(
                    [pd.Timestamp(b.date).tz_convert("UTC") for b in bars])
            rows += [(b.open, b.high, b.low, b.close, max(b.volume, 0)) for b in bars]
        frame = _frame(labels, rows)
        frame = frame[~frame.index.duplicated(keep="last")].sort_index()
        return frame[(frame.index >= start) & (frame.index <= end)]


def _frame(labels: list, rows: list) -> pd.DataFrame:
    """Bars with :data:`BAR_COLUMNS` (prices float, VOLUME int64, as the simulated broker's)
    on a UTC index, empty or not."""
    index = pd.DatetimeIndex(labels, tz="UTC") if labels else pd.DatetimeIndex([], tz="UTC")
    frame = pd.DataFrame(rows, index=index, columns=list(BAR_COLUMNS), dtype=float)
    frame["VOLUME"] = frame["VOLUME"].astype("int64")
    return frame


def empty_bars() -> pd.DataFrame:
    """No bars, in the shape of :meth:`HistoryService.bars`."""
    return _frame([], [])
