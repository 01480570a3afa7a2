"""float_columns: the same frame, values (bit for bit), labels and errors as a per-column
``pd.to_numeric`` pass followed by ``astype(float)``."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sysobjects.numeric import float_columns

COLUMNS = ["OPEN", "HIGH", "LOW", "FINAL", "VOLUME"]
INDEX = pd.date_range("2024-01-01", periods=4, tz="UTC", name="DATETIME")


def reference(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[COLUMNS].apply(pd.to_numeric, errors="raise").astype(float)


@pytest.mark.parametrize("frame", [
    pd.DataFrame({"VOLUME": [1, 2, 3, 4], "OPEN": [1.0, np.nan, -0.0, 2.5],
                  "HIGH": [2, 3, 4, 5], "LOW": [True, False, True, True],
                  "FINAL": np.float32([1.5, 2, 3, 4]), "X": list("abcd")}, index=INDEX),
    pd.DataFrame({c: pd.Series(dtype=float) for c in COLUMNS},
                 index=pd.DatetimeIndex([], tz="UTC", name="DATETIME")),
    pd.DataFrame({"OPEN": ["1", 2, 3.0, None], **{c: [1, 2, 3, 4] for c in COLUMNS[1:]}},
                 index=INDEX),
], ids=["numeric, reordered, extra column", "empty", "text and None"])
def test_same_frame_as_a_to_numeric_pass(frame):
    expected, got = reference(frame), float_columns(frame, COLUMNS)
    assert got.equals(expected)
    assert got.columns.equals(expected.columns) and got.index.equals(expected.index)
    assert got.index.name == expected.index.name and (got.dtypes == expected.dtypes).all()
    assert np.array_equal(got.to_numpy().view("u8"), expected.to_numpy().view("u8"))
    assert got is not frame


@pytest.mark.parametrize("frame, error", [
    (pd.DataFrame({c: [1.0] for c in COLUMNS[:4]}), KeyError),
    (pd.DataFrame({**{c: [1.0] for c in COLUMNS[:4]}, "VOLUME": ["x"]}), ValueError),
])
def test_same_errors(frame, error):
    with pytest.raises(error):
        reference(frame)
    with pytest.raises(error):
        float_columns(frame, COLUMNS)
