"""Reading and writing time series as CSV, losslessly.

Timestamps are written naive in UTC as ``YYYY-MM-DD HH:MM:SS`` (with ``.ffffff`` only when some
timestamp has sub-second precision); naive timestamps read back are UTC. Floats are written with
Python's shortest round-trip representation and read with ``float_precision='round_trip'``, so a
round trip gives bit-identical values.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from syscore.exceptions import InvalidData


def read_timeseries_csv(
    path: Path,
    index_column: str,
    required_columns: list[str],
    text_columns: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Read a CSV with a timestamp column into a frame with a UTC index.

    Raises :class:`InvalidData` naming the file for missing columns, unparseable timestamps or
    non-numeric values in numeric columns.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidData(f"{path}: file not found")
    dtypes = {c: str for c in text_columns}
    try:
        raw = pd.read_csv(path, float_precision="round_trip", dtype=dtypes,
                          keep_default_na=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InvalidData(f"{path}: not a readable CSV: {exc}") from None
    missing = [c for c in [index_column, *required_columns] if c not in raw.columns]
    if missing:
        raise InvalidData(
            f"{path}: missing columns {missing}; found {list(raw.columns)}"
        )
    stamps = pd.to_datetime(raw[index_column], format="ISO8601", errors="coerce", utc=True)
    bad = stamps.isna()
    if bad.any():
        first = int(bad.to_numpy().nonzero()[0][0])
        raise InvalidData(
            f"{path}: line {first + 2}: cannot read {raw[index_column].iloc[first]!r} as a "
            f"timestamp in column {index_column}"
        )
    frame = raw[required_columns].copy()
    for column in required_columns:
        if column in text_columns:
            continue
        converted = pd.to_numeric(frame[column], errors="coerce")
        bad_values = converted.isna() & frame[column].notna()
        if bad_values.any():
            first = int(bad_values.to_numpy().nonzero()[0][0])
            raise InvalidData(
                f"{path}: line {first + 2}: column {column} has non-numeric value "
                f"{frame[column].iloc[first]!r}"
            )
        frame[column] = converted.astype(float)
    frame.index = pd.DatetimeIndex(stamps, name="DATETIME")
    return frame


def write_timeseries_csv(frame: pd.DataFrame, path: Path, index_label: str) -> Path:
    """Write a frame with a UTC index as CSV (naive UTC timestamps); atomic file replace."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = frame.copy()
    index = out.index
    if isinstance(index, pd.DatetimeIndex) and index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    unit = "us" if (len(index) and (index.microsecond != 0).any()) else "s"
    text = np.char.replace(np.datetime_as_string(index.values.astype("datetime64[ns]"), unit=unit),
                           "T", " ")
    out.index = pd.Index(text, name=index_label)
    tmp = path.with_name(path.name + ".tmp")
    out.to_csv(tmp, index=True)
    tmp.replace(path)
    return path
