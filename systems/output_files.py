"""Fast CSV writing of wide float frames (``DATETIME`` index, 10 significant digits)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

_ROWS_PER_CHUNK = 4096  # bounds the temporary strings of wide frames


def _format_chunk(dates: list[str], values: np.ndarray, digits: int) -> str:
    """Lines ``date,v1,v2,...`` with ``%.<digits>g`` values and empty fields for NaN.

    Each row gets a %-template for its pattern of present values (patterns repeat: instruments
    start and end on few dates), and every present value is formatted by one C-level ``%``."""
    present = ~np.isnan(values)
    field = f"%.{digits}g"
    templates: dict[bytes, str] = {}
    lines = []
    for date, mask in zip(dates, present, strict=True):
        key = mask.tobytes()
        template = templates.get(key)
        if template is None:
            template = templates[key] = ",".join(field if p else "" for p in mask.tolist())
        lines.append(date.replace("%", "%%") + "," + template + "\n")
    return "".join(lines) % tuple(values[present].tolist())


def write_wide_csv(frame: pd.DataFrame, path: str | Path, digits: int = 10) -> None:
    """Write ``frame`` with a ``DATETIME`` first column (``YYYY-MM-DD`` for midnight stamps)
    and ``%.<digits>g`` floats; NaN is written as an empty field."""
    index = pd.DatetimeIndex(frame.index)
    fmt = "%Y-%m-%d" if (index == index.normalize()).all() else "%Y-%m-%d %H:%M:%S"
    dates = index.strftime(fmt).tolist()
    values = frame.to_numpy(dtype=np.float64)
    header = ",".join(["DATETIME"] + [str(c) for c in frame.columns])
    with open(path, "w") as out:
        out.write(header + "\n")
        for lo in range(0, len(dates), _ROWS_PER_CHUNK):
            hi = lo + _ROWS_PER_CHUNK
            out.write(_format_chunk(dates[lo:hi], values[lo:hi], digits))
