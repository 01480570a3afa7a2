"""The CSV reader: stamps read from the bytes equal pandas' parsing; other layouts fall back."""
from __future__ import annotations

import pandas as pd

from systems.csv_sim_data import CsvSimData, _fixed_width_stamps, _read_general, _read_series_csv

ROWS = (
    "DATETIME,price\n"
    "1972-10-18 23:00:00,142.75\n"
    "2000-02-29 15:31:43,1.0000000000000002\n"
    "2021-11-12 23:00:00,\n"
    "2021-11-12 23:00:01,269.6000000000001\n"
)


def test_fixed_width_stamps_equal_pandas(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text(ROWS)
    fast = _read_series_csv(path, ("price",))
    general = _read_general(path, path, ("price",))
    pd.testing.assert_frame_equal(fast, general, check_exact=True)
    assert _fixed_width_stamps(path.read_bytes()) is not None


def test_other_stamp_layouts_fall_back_to_pandas(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("DATETIME,price\n2021-11-12,1.5\n2021-11-15 05:00:00+05:00,2.5\n")
    assert _fixed_width_stamps(path.read_bytes()) is None
    frame = _read_series_csv(path, ("price",))
    assert list(frame.index) == [pd.Timestamp("2021-11-12"), pd.Timestamp("2021-11-15 00:00:00")]
    assert list(frame["price"]) == [1.5, 2.5]


def test_windows_line_endings_and_no_final_newline(tmp_path):
    folder = tmp_path / "adjusted_prices_csv"
    folder.mkdir()
    (folder / "X.csv").write_bytes(b"DATETIME,price\r\n2021-11-12 23:00:00,1.5\r\n2021-11-15 23:00:00,2.5")
    series = CsvSimData(tmp_path).get_adjusted_prices("X")
    assert list(series) == [1.5, 2.5]
    assert series.index[1] == pd.Timestamp("2021-11-15 23:00:00")
