"""Numeric columns of a frame as float64, without a per-column ``pd.to_numeric`` pass when the
columns are numeric already (the usual case: bars read back from the store or built by code)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def float_columns(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """A new frame of ``frame[columns]`` as float64: what
    ``frame[columns].apply(pd.to_numeric, errors="raise").astype(float)`` gives, with the same
    errors (``TypeError`` / ``ValueError`` for a value that is not a number). Columns that are
    numpy bool, integer or float already are converted directly (same values: ``to_numeric``
    leaves them unchanged); any other column (object, extension types) goes through
    ``pd.to_numeric``."""
    selected = frame[list(columns)]
    if all(isinstance(dtype, np.dtype) and dtype.kind in "biuf" for dtype in selected.dtypes):
        return selected.astype(float)
    return selected.apply(pd.to_numeric, errors="raise").astype(float)
