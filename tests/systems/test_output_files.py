"""The wide CSV writer: every value as ``%.<digits>g``, NaN empty, the same text whether a value
is formatted once per distinct value or once per cell."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from systems.output_files import _value_texts, write_wide_csv


def _expected_text(frame: pd.DataFrame, digits: int) -> str:
    lines = ["DATETIME," + ",".join(frame.columns)]
    for stamp, row in zip(frame.index, frame.to_numpy(), strict=True):
        fields = ["" if np.isnan(v) else f"%.{digits}g" % v for v in row.tolist()]
        lines.append(stamp.strftime("%Y-%m-%d") + "," + ",".join(fields))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("repeated", [True, False])
@pytest.mark.parametrize("digits", [10, 17])
def test_write_wide_csv_matches_per_cell_formatting(tmp_path, repeated, digits):
    rng = np.random.default_rng(7)
    rows, cols = 500, 6
    if repeated:  # few distinct values: the formatted-once path
        values = rng.choice([0.0, -0.0, 1.5, -2.25, 1e-12, 123456789.123456789, 1 / 3], size=(rows, cols))
    else:
        values = rng.normal(size=(rows, cols)) * 10.0 ** rng.integers(-8, 8, size=(rows, cols))
    values[rng.random((rows, cols)) < 0.2] = np.nan
    frame = pd.DataFrame(values, index=pd.bdate_range("2020-01-01", periods=rows),
                         columns=[f"I{i}" for i in range(cols)])
    path = tmp_path / "out.csv"
    write_wide_csv(frame, path, digits=digits)
    assert path.read_text() == _expected_text(frame, digits)


def test_negative_zero_keeps_its_sign_when_values_repeat():
    values = np.array([0.0, -0.0] * 100)
    texts = _value_texts(values, "%.10g")
    assert texts[:4] == ("0", "-0", "0", "-0")
    assert len(texts) == 200


def test_distinct_values_are_formatted_per_cell():
    values = np.arange(1000, dtype=np.float64) / 7
    assert _value_texts(values, "%.10g") == tuple("%.10g" % v for v in values.tolist())
