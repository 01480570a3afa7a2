"""Trading hours from IB contract details, and the end-of-bar labels that follow from them.

IB gives a contract's sessions for about a week (``tradingHours``:
``20240102:1700-20240103:1600;20240104:CLOSED`` in the exchange zone ``timeZoneId``). Sessions
outside that week are taken to repeat the same weekly pattern (same local open and close times
on the same weekdays); exchange holidays are not known beyond the week IB reports.

Bars: IB dates a daily bar with the exchange-local trading date and an intraday bar with its
start; systrade labels every bar with the time it ended (the end of the hour or the session
close, whichever is earlier; a day with the trading day's last session close), see
:meth:`sysbrokers.broker.Broker.get_historical_bars`.
"""
from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pandas as pd

from sysbrokers.objects import TradingHours, TradingSession

HOUR = pd.Timedelta(hours=1)


def parse_trading_hours(text: str, zone: str) -> list[TradingSession]:
    """Sessions (UTC) of an IB ``tradingHours`` string in time zone ``zone``, sorted."""
    tz = ZoneInfo(zone)
    out = []
    for part in (p.strip() for p in text.split(";")):
        if not part or part.endswith("CLOSED"):
            continue
        start, _, end = part.partition("-")
        if not end:
            raise ValueError(f"unreadable trading hours {part!r}")
        open_ = pd.Timestamp(dt.datetime.strptime(start, "%Y%m%d:%H%M"), tz=tz)
        close = pd.Timestamp(dt.datetime.strptime(end, "%Y%m%d:%H%M"), tz=tz)
        if close > open_:
            out.append(TradingSession(open_.tz_convert("UTC"), close.tz_convert("UTC")))
    return sorted(set(out), key=lambda s: s.open)


@dataclass(frozen=True)
class _Slot:
    weekday: int  # local weekday of the open
    open: dt.time
    days: int  # local date of the close minus local date of the open
    close: dt.time


@dataclass(frozen=True)
class WeeklyHours:
    """The weekly pattern of one contract's sessions in its exchange zone."""

    zone: str
    slots: tuple[_Slot, ...]

    @classmethod
    def from_ib(cls, text: str, zone: str) -> WeeklyHours:
        tz = ZoneInfo(zone)
        slots = set()
        for s in parse_trading_hours(text, zone):
            lo, lc = s.open.tz_convert(tz), s.close.tz_convert(tz)
            slots.add(_Slot(lo.weekday(), lo.time(), (lc.date() - lo.date()).days, lc.time()))
        if not slots:
            raise ValueError("no trading session in the contract's trading hours")
        return cls(zone, tuple(sorted(slots, key=lambda x: (x.weekday, x.open))))

    def sessions(self, start: pd.Timestamp, end: pd.Timestamp) -> list[TradingSession]:
        """Sessions overlapping ``[start, end]`` (UTC), sorted."""
        tz = ZoneInfo(self.zone)
        first = start.tz_convert(tz).date() - dt.timedelta(days=7)
        last = end.tz_convert(tz).date() + dt.timedelta(days=1)
        out = []
        day = first
        while day <= last:
            for slot in self.slots:
                if slot.weekday != day.weekday():
                    continue
                o = pd.Timestamp(dt.datetime.combine(day, slot.open)).tz_localize(tz)
                c = pd.Timestamp(dt.datetime.combine(day + dt.timedelta(days=slot.days),
                                                     slot.close)).tz_localize(tz)
                o, c = o.tz_convert("UTC"), c.tz_convert("UTC")
                if c > o and c > start and o <= end:
                    out.append(TradingSession(o, c))
            day += dt.timedelta(days=1)
        return sorted(set(out), key=lambda s: s.open)

    def trading_hours(self, code: str, start: pd.Timestamp, end: pd.Timestamp) -> TradingHours:
        return TradingHours(code, tuple(self.sessions(start, end)))

    def daily_labels(self, days: list[dt.date]) -> list[pd.Timestamp]:
        """:meth:`daily_label` of each day (sessions generated once)."""
        if not days:
            return []
        tz = ZoneInfo(self.zone)
        lo = pd.Timestamp(dt.datetime.combine(min(days), dt.time(0))).tz_localize(tz)
        hi = pd.Timestamp(dt.datetime.combine(max(days), dt.time(23))).tz_localize(tz)
        last: dict[dt.date, pd.Timestamp] = {}
        for s in self.sessions(lo - pd.Timedelta(days=1), hi + pd.Timedelta(days=1)):
            d = s.close.tz_convert(tz).date()
            last[d] = max(last.get(d, s.close), s.close)
        return [last[d] if d in last else self.daily_label(d) for d in days]

    def intraday_labels(self, starts: list[pd.Timestamp]) -> list[pd.Timestamp]:
        """End of each hourly bar starting at ``starts`` (UTC): the end of its clock hour or the
        close of its session, whichever is earlier (sessions generated once)."""
        if not starts:
            return []
        sessions = self.sessions(min(starts) - pd.Timedelta(days=2), max(starts) + HOUR)
        opens = [s.open for s in sessions]
        out = []
        for start in starts:
            end = start.floor("h") + HOUR
            i = bisect.bisect_right(opens, start) - 1
            if i >= 0 and start < sessions[i].close:
                end = min(end, sessions[i].close)
            out.append(end)
        return out

    def daily_label(self, day: dt.date) -> pd.Timestamp:
        """The last session close (UTC) of the exchange-local trading date ``day``."""
        tz = ZoneInfo(self.zone)
        noon = pd.Timestamp(dt.datetime.combine(day, dt.time(12))).tz_localize(tz)
        closes = [s.close for s in self.sessions(noon - pd.Timedelta(days=2),
                                                  noon + pd.Timedelta(days=2))
                  if s.close.tz_convert(tz).date() == day]
        if closes:
            return max(closes)
        last = max(self.slots, key=lambda x: x.close).close  # a day IB trades but we did not expect
        return pd.Timestamp(dt.datetime.combine(day, last)).tz_localize(tz).tz_convert("UTC")
