"""Fast CSV writing of wide float frames (``DATETIME`` index, 10 significant digits)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

_ROWS_PER_CHUNK = 1024  # bounds the temporary strings of wide frames
_UNIQUE_SHARE = 0.5  # format distinct values once when fewer than this share are distinct


def _value_texts(values: np.ndarray, field: str) -> tuple:
    """``field % v`` for every value of a 1-d float array (no NaN), as a tuple of strings.

    Backtest outputs repeat values a lot (weights, rounded positions, capped forecasts), so
    when under :data:`_UNIQUE_SHARE` of them are distinct each distinct value is formatted once.
    Distinctness is by bit pattern, so ``-0.0`` keeps its own text."""
    if values.size > 64:
        bits = values.view(np.int64)
        uniques, inverse = np.unique(bits, return_inverse=True)
        if uniques.size < _UNIQUE_SHARE * values.size:
            texts = np.array([field % v for v in uniques.view(np.float64).tolist()], dtype=object)
            return tuple(texts[inverse].tolist())
    return tuple(field % v for v in values.tolist())


def _format_chunk(dates: list[str], values: np.ndarray, digits: int) -> str:
    """Lines ``date,v1,v2,...`` with ``%.<digits>g`` values and empty fields for NaN.

    Consecutive rows with the same pattern of present values share one %-template (patterns
    change rarely: instruments start and end on few dates); the values' texts are made by
    :func:`_value_texts` and placed by a single C-level ``%``."""
    present = ~np.isnan(values)
    if not len(dates):
        return ""
    # runs of consecutive rows with the same pattern share one template
    changes = np.flatnonzero((present[1:] != present[:-1]).any(axis=1)) + 1
    bounds = [0, *changes.tolist(), len(dates)]
    parts = []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        template = ",".join("%s" if p else "" for p in present[lo].tolist()) + "\n"
        parts.append("".join([f"{date},{template}" for date in dates[lo:hi]]))
    return "".join(parts) % _value_texts(np.ascontiguousarray(values[present]), f"%.{digits}g")


def _date_texts(index: pd.DatetimeIndex) -> list[str]:
    """``YYYY-MM-DD`` when every stamp is at midnight, else ``YYYY-MM-DD HH:MM:SS``."""
    stamps = index.values.astype("datetime64[ns]")
    if (stamps == stamps.astype("datetime64[D]")).all():
        return np.datetime_as_string(stamps, unit="D").tolist()
    return [text.replace("T", " ") for text in np.datetime_as_string(stamps, unit="s").tolist()]


def write_wide_csv(frame: pd.DataFrame, path: str | Path, digits: int = 10) -> None:
    """Write ``frame`` with a ``DATETIME`` first column (``YYYY-MM-DD`` for midnight stamps)
    and ``%.<digits>g`` floats; NaN is written as an empty field."""
    dates = _date_texts(pd.DatetimeIndex(frame.index))
    values = frame.to_numpy(dtype=np.float64)
    header = ",".join(["DATETIME"] + [str(c) for c in frame.columns])
    with open(path, "w") as out:
        out.write(header + "\n")
        for lo in range(0, len(dates), _ROWS_PER_CHUNK):
            hi = lo + _ROWS_PER_CHUNK
            out.write(_format_chunk(dates[lo:hi], values[lo:hi], digits))
