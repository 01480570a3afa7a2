"""Trading sessions in UTC from recurring local-time session specifications.

Sessions are computed in the exchange's time zone, so they follow its daylight-saving changes
(a local time that does not exist is shifted forward; an ambiguous one is taken as standard
time). Weekday rules only: exchange holidays are not modelled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sysbrokers.sim.universe import HoursSpec

DAY_NS = 86_400_000_000_000


@dataclass(frozen=True)
class SessionArrays:
    """Sessions sorted by open: ``open_ns``/``close_ns`` (int64 ns UTC) and ``trading_day``
    (the exchange-local date of the close, as days since 1970-01-01)."""

    open_ns: np.ndarray
    close_ns: np.ndarray
    trading_day: np.ndarray

    def __len__(self) -> int:
        return len(self.open_ns)

    def open_mask(self, t_ns: np.ndarray) -> np.ndarray:
        """True where ``t`` is inside a session (open inclusive, close exclusive)."""
        t = np.asarray(t_ns, dtype=np.int64)
        i = np.searchsorted(self.open_ns, t, side="right") - 1
        valid = i >= 0
        inside = np.zeros(t.shape, dtype=bool)
        inside[valid] = t[valid] < self.close_ns[i[valid]]
        return inside


def _localize(naive: pd.DatetimeIndex, tz: str) -> np.ndarray:
    local = naive.tz_localize(
        tz, ambiguous=np.zeros(len(naive), dtype=bool), nonexistent="shift_forward"
    )
    return local.tz_convert("UTC").asi8


def sessions_between(hours: HoursSpec, start_ns: int, end_ns: int) -> SessionArrays:
    """Sessions that overlap ``[start_ns, end_ns)``."""
    first = (
        pd.Timestamp(start_ns - 2 * DAY_NS, tz="UTC")
        .tz_convert(hours.tz)
        .normalize()
        .tz_localize(None)
    )
    last = (
        pd.Timestamp(end_ns + DAY_NS, tz="UTC").tz_convert(hours.tz).normalize().tz_localize(None)
    )
    dates = pd.date_range(first, last, freq="D")
    weekday = dates.weekday.to_numpy()
    opens, closes, days = [], [], []
    for session in hours.sessions:
        chosen = dates[np.isin(weekday, session.days)]
        if len(chosen) == 0:
            continue
        open_offset = pd.Timedelta(hours=session.open.hour, minutes=session.open.minute)
        close_offset = pd.Timedelta(
            days=1 if session.overnight else 0,
            hours=session.close.hour,
            minutes=session.close.minute,
        )
        close_naive = chosen + close_offset
        opens.append(_localize(chosen + open_offset, hours.tz))
        closes.append(_localize(close_naive, hours.tz))
        days.append(close_naive.asi8 // DAY_NS)
    open_ns = np.concatenate(opens)
    close_ns = np.concatenate(closes)
    trading_day = np.concatenate(days)
    order = np.argsort(open_ns, kind="stable")
    open_ns, close_ns, trading_day = open_ns[order], close_ns[order], trading_day[order]
    keep = (close_ns > start_ns) & (open_ns < end_ns) & (close_ns > open_ns)
    return SessionArrays(open_ns[keep], close_ns[keep], trading_day[keep])


class SessionCache:
    """Sessions per (hours spec, UTC year of the open), computed once and sliced on demand."""

    def __init__(self) -> None:
        self._years: dict[tuple[HoursSpec, int], SessionArrays] = {}

    def _year(self, hours: HoursSpec, year: int) -> SessionArrays:
        key = (hours, year)
        cached = self._years.get(key)
        if cached is None:
            y0 = pd.Timestamp(year=year, month=1, day=1, tz="UTC").value
            y1 = pd.Timestamp(year=year + 1, month=1, day=1, tz="UTC").value
            s = sessions_between(hours, y0 - 3 * DAY_NS, y1 + 3 * DAY_NS)
            keep = (s.open_ns >= y0) & (s.open_ns < y1)
            cached = SessionArrays(s.open_ns[keep], s.close_ns[keep], s.trading_day[keep])
            self._years[key] = cached
        return cached

    def between(self, hours: HoursSpec, start_ns: int, end_ns: int) -> SessionArrays:
        """Same result as :func:`sessions_between`."""
        first = pd.Timestamp(start_ns - 3 * DAY_NS, tz="UTC").year
        last = pd.Timestamp(end_ns, tz="UTC").year
        parts = [self._year(hours, y) for y in range(first, last + 1)]
        open_ns = np.concatenate([p.open_ns for p in parts])
        close_ns = np.concatenate([p.close_ns for p in parts])
        trading_day = np.concatenate([p.trading_day for p in parts])
        keep = (close_ns > start_ns) & (open_ns < end_ns)
        return SessionArrays(open_ns[keep], close_ns[keep], trading_day[keep])


def weekly_session_hours(hours: HoursSpec) -> float:
    """Nominal open hours per week (ignoring daylight saving)."""
    total = 0.0
    for session in hours.sessions:
        o = session.open.hour + session.open.minute / 60.0
        c = session.close.hour + session.close.minute / 60.0
        length = c - o if not session.overnight else 24.0 - o + c
        total += length * len(session.days)
    return total
