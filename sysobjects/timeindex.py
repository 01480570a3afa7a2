"""Time-index helpers shared by the price objects.

Every price series in systrade is indexed by a tz-aware UTC :class:`pandas.DatetimeIndex`.
Naive timestamps (as in pysystemtrade's CSV files) are taken to be UTC; timestamps in another
time zone are converted to UTC.
"""
from __future__ import annotations

import pandas as pd

from syscore.dates import to_utc, utc_index
from syscore.exceptions import InvalidData

# One implementation for every package: syscore.dates (naive = UTC, NaT refused).
as_utc_index = utc_index
as_utc_timestamp = to_utc


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


def checked_frame_index(frame, columns, what: str) -> pd.DatetimeIndex:
    """Validate a price frame's shape and return its index as strictly increasing UTC.

    Raises :class:`InvalidData` (messages start with ``what``) if ``frame`` is not a DataFrame,
    lacks any of ``columns``, or its index is not readable, sorted and free of repeats.
    """
    if not isinstance(frame, pd.DataFrame):
        raise InvalidData(f"{what} must be a DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidData(f"{what}: missing columns {missing}")
    index = as_utc_index(frame.index, f"{what} index")
    check_strictly_increasing(index, what)
    return index
