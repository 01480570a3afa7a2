"""When a process may run: a daily window in a named time zone.

A window is ``start``–``end`` local wall-clock time in ``timezone``; when ``end`` is earlier than
``start`` it crosses midnight (``22:00``–``06:00`` runs overnight). A session belongs to the
local date on which it *starts*: with ``run_on_weekends`` False, a Friday ``22:00``–``06:00``
session runs into Saturday morning, but no session starts on Saturday or Sunday. ``start ==
end`` means the whole day. Times compare as the local wall clock reads them (``zoneinfo``): on a spring-forward day a
window that starts in the skipped hour opens when the clock first reads past its start.
All inputs and outputs are timezone-aware; naive datetimes are refused.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from syscore.exceptions import InvalidData
from syscore.time_of_day import parse_hhmm, zone

__all__ = ["RunWindow", "parse_hhmm", "zone"]


@dataclass(frozen=True)
class RunWindow:
    """A daily run window (see module docstring)."""

    start: dt.time
    end: dt.time
    timezone: str = "UTC"
    run_on_weekends: bool = False

    @classmethod
    def from_text(cls, start: str, end: str, timezone: str = "UTC",
                  run_on_weekends: bool = False) -> RunWindow:
        window = cls(parse_hhmm(start), parse_hhmm(end), timezone, run_on_weekends)
        zone(timezone)  # validate now, not at first use
        return window

    @property
    def crosses_midnight(self) -> bool:
        return self.end < self.start

    def _session_bounds(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        tz = zone(self.timezone)
        opens = dt.datetime.combine(day, self.start, tzinfo=tz)
        end_day = day + dt.timedelta(days=1) if self.end <= self.start else day
        closes = dt.datetime.combine(end_day, self.end, tzinfo=tz)
        return opens, closes

    def _runs_on(self, day: dt.date) -> bool:
        return self.run_on_weekends or day.weekday() < 5

    def session_containing(self, now: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
        """``(opens, closes)`` (aware, in the window's zone) of the session containing ``now``,
        or None when ``now`` is outside every session."""
        local = _aware(now).astimezone(zone(self.timezone))
        for day in (local.date() - dt.timedelta(days=1), local.date()):
            if not self._runs_on(day):
                continue
            opens, closes = self._session_bounds(day)
            if opens <= local < closes:
                return opens, closes
        return None

    def is_open(self, now: dt.datetime) -> bool:
        return self.session_containing(now) is not None

    def closes_at(self, now: dt.datetime) -> dt.datetime:
        """When the session containing ``now`` ends; raises InvalidData outside a session."""
        session = self.session_containing(now)
        if session is None:
            raise InvalidData(f"{now} is outside the window {self}")
        return session[1]

    def next_open(self, now: dt.datetime) -> dt.datetime:
        """``now`` if the window is open, else the start of the next session."""
        if self.is_open(now):
            return _aware(now)
        local = _aware(now).astimezone(zone(self.timezone))
        for offset in range(0, 8):
            day = local.date() + dt.timedelta(days=offset)
            if not self._runs_on(day):
                continue
            opens, _ = self._session_bounds(day)
            if opens > local:
                return opens
        raise InvalidData(f"window {self} never opens")  # pragma: no cover - 7 days always hold one

    def __str__(self) -> str:
        days = "every day" if self.run_on_weekends else "weekdays"
        return f"{self.start:%H:%M}-{self.end:%H:%M} {self.timezone} ({days})"


def _aware(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidData(f"a time zone is required, found naive {value}")
    return value
