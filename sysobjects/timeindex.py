"""Time-index helpers shared by the price objects.

Every price series in systrade is indexed by a tz-aware UTC :class:`pandas.DatetimeIndex`.
Naive timestamps (as in pysystemtrade's CSV files) are taken to be UTC; timestamps in another
time zone are converted to UTC.
"""
from __future__ import annotations

import pandas as pd

from syscore.exceptions import InvalidData


def as_utc_index(index: pd.Index, what: str = "index") -> pd.DatetimeIndex:
    """Return ``index`` as a tz-aware UTC :class:`~pandas.DatetimeIndex`.

    Naive timestamps are localised to UTC; aware ones are converted to UTC. Raises
    :class:`InvalidData` if the index cannot be read as timestamps or has NaT.
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


def as_utc_timestamp(value, what: str = "timestamp") -> pd.Timestamp:
    """Return ``value`` as a tz-aware UTC :class:`~pandas.Timestamp` (naive = UTC)."""
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise InvalidData(f"{what}: cannot read {value!r} as a timestamp ({exc})") from None
    if ts is pd.NaT:
        raise InvalidData(f"{what}: is NaT")
    if ts.tzinfo is None:
        return ts.tz_localize("UTC")
    return ts.tz_convert("UTC")


def check_strictly_increasing(index: pd.DatetimeIndex, what: str) -> None:
    """Raise :class:`InvalidData` unless ``index`` is strictly increasing (sorted, no repeats)."""
    if len(index) < 2:
        return
    values = index.asi8
    bad = values[1:] <= values[:-1]
    if bad.any():
        pos = int(bad.argmax()) + 1
        raise InvalidData(
            f"{what}: timestamps must be strictly increasing; {index[pos]} follows {index[pos - 1]}"
        )
