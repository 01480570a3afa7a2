"""Timestamps and time zones.

Everything stored or compared is a tz-aware UTC ``pandas.Timestamp``. Two conversions, with
opposite rules for a naive value:

- :func:`to_utc` takes a naive timestamp (e.g. read from a pysystemtrade CSV) to be UTC;
- :func:`aware_to_utc` rejects it (setting a clock, broker times): there we never guess a zone.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd

from syscore.exceptions import InvalidData


def to_utc(value, what: str = "timestamp") -> pd.Timestamp:
    """Convert a timestamp-like value to a tz-aware UTC Timestamp (naive means UTC)."""
    if isinstance(value, pd.Timestamp) and value.tzinfo is dt.timezone.utc:
        return value  # the common case, already right: no conversion
    fraction = value.partition(".")[2] if isinstance(value, str) else ""
    if isinstance(value, str) and len(fraction) - len(fraction.lstrip("0123456789")) <= 6:
        # ISO text from a stored document (at most microseconds): parsed without pandas
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            parsed = None  # not ISO: pandas reads it below
        if parsed is not None and parsed.tzinfo is not None:
            return pd.Timestamp(parsed.astimezone(dt.timezone.utc))
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise InvalidData(f"{what}: cannot read {value!r} as a timestamp ({exc})") from None
    if ts is pd.NaT:
        raise InvalidData(f"{what}: is NaT")
    if ts.tzinfo is None:
        return ts.tz_localize("UTC")
    return ts.tz_convert("UTC")


def aware_to_utc(value) -> pd.Timestamp:
    """Return ``value`` as a tz-aware UTC timestamp; a naive value raises ``ValueError``
    (:class:`InvalidData`): a naive time is ambiguous and we never guess its zone."""
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        raise InvalidData(f"naive timestamp {ts!r}: a time zone is required (use UTC)")
    return ts.tz_convert("UTC")


def utc_index(index: pd.Index, what: str = "index") -> pd.DatetimeIndex:
    """Return ``index`` as a tz-aware UTC DatetimeIndex (naive values are taken as UTC).

    Raises :class:`InvalidData` if it cannot be read as timestamps or has NaT.
    """
    if isinstance(index, pd.DatetimeIndex):
        idx = index
    else:
        try:
            idx = pd.DatetimeIndex(index)
        except (TypeError, ValueError) as exc:
            raise InvalidData(f"{what}: cannot read timestamps ({exc})") from None
    if idx.hasnans:
        raise InvalidData(f"{what}: has missing (NaT) timestamps")
    if idx.tz is None:
        return idx.tz_localize("UTC")
    return idx.tz_convert("UTC")


def iso_utc(value) -> str:
    """A sortable ISO-8601 UTC string with microseconds, e.g. ``2024-01-02T03:04:05.000000+00:00``.

    Used for timestamps inside state-store documents so that string order is time order.
    """
    return to_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def utc_now() -> pd.Timestamp:
    return pd.Timestamp(dt.datetime.now(dt.timezone.utc))
