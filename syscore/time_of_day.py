"""Wall-clock times of day (``"HH:MM"``) and time-zone names: parsed and checked in one place.

:func:`parse_hhmm` and :func:`zone` are the checks; :data:`HHMM` and :data:`TimeZoneName` are
the same checks as pydantic field types, so a config model validates them once, at load, and
its error names the key (``ConfigError``: file, key, expected, found).
"""
from __future__ import annotations

import datetime as dt
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator

from syscore.exceptions import ConfigError, InvalidData


def parse_hhmm(text: str) -> dt.time:
    """``"HH:MM"`` (24 h) to a time; anything else raises InvalidData."""
    parts = str(text).split(":")
    if len(parts) != 2 or not all(p.isdigit() and 1 <= len(p) <= 2 for p in parts):
        raise InvalidData(f"expected a time as HH:MM, found {text!r}")
    hours, minutes = int(parts[0]), int(parts[1])
    if not (0 <= hours <= 23 and 0 <= minutes <= 59):
        raise InvalidData(f"expected HH:MM with hours 0-23 and minutes 0-59, found {text!r}")
    return dt.time(hours, minutes)


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (``"Europe/London"``); ConfigError if unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"unknown time zone {name!r}") from exc


def _checked_hhmm(value: str) -> str:
    try:
        time = parse_hhmm(value)
    except InvalidData:
        raise ValueError("expected a time as HH:MM (hours 0-23, minutes 0-59)") from None
    return f"{time.hour:02d}:{time.minute:02d}"


def _checked_zone(value: str) -> str:
    try:
        zone(value)
    except ConfigError:
        raise ValueError("expected an IANA time zone name such as Europe/London") from None
    return value


#: A config field holding ``"HH:MM"`` (checked at load, kept as zero-padded text: ``7:00`` -> ``07:00``).
HHMM = Annotated[str, AfterValidator(_checked_hhmm)]
#: A config field holding an IANA time-zone name (kept as text, checked at load).
TimeZoneName = Annotated[str, AfterValidator(_checked_zone)]
