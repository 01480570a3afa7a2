"""Fast CSV writing of wide float frames (``DATETIME`` index, 10 significant digits)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def write_wide_csv(frame: pd.DataFrame, path: str | Path, digits: int = 10) -> None:
    """Write ``frame`` with a ``DATETIME`` first column (``YYYY-MM-DD`` for midnight stamps)
    and ``{:.<digits>g}`` floats; NaN is written as an empty field."""
    index = pd.DatetimeIndex(frame.index)
    fmt = "%Y-%m-%d" if (index == index.normalize()).all() else "%Y-%m-%d %H:%M:%S"
    dates = index.strftime(fmt).tolist()
    values = frame.to_numpy(dtype=np.float64).tolist()
    number = ("{:." + str(digits) + "g}").format
    header = ",".join(["DATETIME"] + [str(c) for c in frame.columns])
    lines = [header]
    lines.extend(
        (date + "," + ",".join(map(number, row))).replace("nan", "")
        for date, row in zip(dates, values, strict=True)
    )
    Path(path).write_text("\n".join(lines) + "\n")
