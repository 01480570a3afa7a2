"""The time-series CSV reader refuses damaged files with file, line and reason, reads time zones
row by row, and parses floats either as pysystemtrade does or exactly (our own backups)."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from syscore.exceptions import InvalidData
from sysdata.csv.timeseries_csv import (
    FloatParsing,
    ValueRule,
    read_timeseries_csv,
    write_timeseries_csv,
)


def _read(tmp_path, text: str | bytes, columns=("price",), **kwargs) -> pd.DataFrame:
    path = tmp_path / "X.csv"
    if isinstance(text, str):
        text = text.encode()
    path.write_bytes(text)
    return read_timeseries_csv(path, "DATETIME", list(columns), **kwargs)


def _rejects(tmp_path, text, match, **kwargs):
    with pytest.raises(InvalidData, match=match) as info:
        _read(tmp_path, text, **kwargs)
    assert "X.csv" in str(info.value)
    assert "\n" not in str(info.value)  # one line
    return str(info.value)


def test_clean_file_reads_as_utc(tmp_path):
    frame = _read(tmp_path, "DATETIME,price\n2020-01-01 23:00:00,1.5\n2020-01-02 23:00:00,\n")
    assert list(frame.index) == [pd.Timestamp("2020-01-01 23:00", tz="UTC"),
                                 pd.Timestamp("2020-01-02 23:00", tz="UTC")]
    assert frame["price"].iloc[0] == 1.5 and np.isnan(frame["price"].iloc[1])


def test_line_cut_mid_timestamp_is_refused(tmp_path):
    # pandas reads the cut line as a row of NaN prices at a coerced or missing timestamp
    _rejects(tmp_path, "DATETIME,price\n2020-01-01 23:00:00,1.5\n2020-01-0\n", r"line 3: ")


def test_line_cut_in_the_middle_of_the_file_is_refused(tmp_path):
    _rejects(tmp_path, "DATETIME,a,b\n2020-01-01 23:00:00,1.5,2\n2020-01-02 23:00:00,1.5\n"
                       "2020-01-03 23:00:00,1.5,2\n", r"line 3: 2 fields, the header has 3",
             columns=("a", "b"))


def test_last_line_without_line_end_is_refused(tmp_path):
    # "1.5" cut to "1" would otherwise be read as a valid price
    _rejects(tmp_path, "DATETIME,price\n2020-01-01 23:00:00,1.5\n2020-01-02 23:00:00,1",
             r"line 3: no line end")


@pytest.mark.parametrize("line", ["2020-01-02 23:00:00,1\x002.5", "2020-01-02 23:00:00,\x00",
                                  "2020-01-02 23:\x0000:00,1.5"])
def test_nul_byte_is_refused(tmp_path, line):
    # pandas' C parser stops a field at a NUL byte: "1\x002.5" reads as the number 1
    _rejects(tmp_path, f"DATETIME,price\n2020-01-01 23:00:00,1.5\n{line}\n",
             r"line 3: NUL byte")


def test_each_row_offset_is_read_and_naive_is_utc(tmp_path):
    frame = _read(tmp_path, "DATETIME,price\n2020-01-01 23:00:00+01:00,1\n"
                            "2020-01-02 22:00:00,2\n2020-01-03 17:00:00-05:00,3\n"
                            "2020-01-04T22:00:00Z,4\n")
    assert list(frame.index) == [pd.Timestamp(f"2020-01-0{d} 22:00", tz="UTC")
                                 for d in (1, 2, 3, 4)]


def test_duplicate_instant_hidden_by_mixed_offsets_is_refused(tmp_path):
    message = _rejects(tmp_path, "DATETIME,price\n2020-01-01 23:00:00+01:00,1\n"
                                 "2020-01-01 22:00:00,2\n", r"line 3: same instant as line 2")
    assert "2020-01-01 22:00:00 UTC" in message


def test_plain_duplicate_timestamp_is_refused(tmp_path):
    _rejects(tmp_path, "DATETIME,price\n2020-01-01 23:00:00,1\n2020-01-02 23:00:00,1\n"
                       "2020-01-01 23:00:00,2\n", r"line 4: same instant as line 2")


@pytest.mark.parametrize("stamp", ["2020-01-02 23:0", "2020-13-02 23:00:00", "2020-02-30",
                                   "yesterday", "02/01/2020 23:00:00"])
def test_unreadable_timestamp_is_refused(tmp_path, stamp):
    _rejects(tmp_path, f"DATETIME,price\n2020-01-01 23:00:00,1\n{stamp},2\n",
             r"line 3: cannot read .* as a timestamp")


def test_line_numbers_count_blank_lines(tmp_path):
    _rejects(tmp_path, "DATETIME,price\n\n2020-01-01 23:00:00,1\n\n2020-01-02 23:00:00,x\n",
             r"line 5: column price has non-numeric value 'x'")


def test_value_rule_names_line_column_and_value(tmp_path):
    rule = ValueRule(("price",), "is not finite", lambda v: np.isinf(v.to_numpy()))
    message = _rejects(tmp_path, "DATETIME,price\n2020-01-01 23:00:00,1\n2020-01-02 23:00:00,inf\n"
                                 "2020-01-03 23:00:00,-inf\n",
                       r"line 3: column price: value 'inf' is not finite \(and 1 more\)",
                       rules=(rule,))
    assert "line 4" not in message


def test_header_only_file_reads_as_empty(tmp_path):
    # an empty stored series must survive backup and restore; import refuses it separately
    assert _read(tmp_path, "DATETIME,price\n").empty


# floats -----------------------------------------------------------------------------------
NEAR = 2.6310000000000002  # one unit in the last place above 2.631


def test_pysystemtrade_parsing_reads_both_spellings_as_one_double(tmp_path):
    assert NEAR != 2.631
    frame = _read(tmp_path, f"DATETIME,PRICE,CARRY\n2020-01-01 23:00:00,2.631,{NEAR!r}\n",
                  columns=("PRICE", "CARRY"), floats=FloatParsing.PYSYSTEMTRADE)
    assert frame["PRICE"].iloc[0] - frame["CARRY"].iloc[0] == 0.0
    exact = _read(tmp_path, f"DATETIME,PRICE,CARRY\n2020-01-01 23:00:00,2.631,{NEAR!r}\n",
                  columns=("PRICE", "CARRY"))
    assert exact["CARRY"].iloc[0] == NEAR


def test_pandas_default_parser_is_not_round_trip_safe():
    """Why backups are read with FloatParsing.EXACT: no text the writer could choose makes the
    default parser return every double (it misreads shortest and 17-digit forms alike)."""
    for text in (repr(NEAR), "%.17g" % NEAR, "%.25g" % NEAR):
        assert pd.read_csv(io.StringIO(f"x\n{text}\n"))["x"].iloc[0] != NEAR, text


def test_writer_and_exact_reader_round_trip_bit_identical(tmp_path):
    rng = np.random.default_rng(7)
    values = np.concatenate([[NEAR, 0.1 + 0.2, -1e-300, 5e-324, 1.7976931348623157e308],
                             rng.uniform(-5000, 5000, 5000)])
    index = pd.date_range("2000-01-01", periods=len(values), freq="h", tz="UTC")
    frame = pd.DataFrame({"price": values}, index=index)
    path = write_timeseries_csv(frame, tmp_path / "X.csv", "DATETIME")
    back = read_timeseries_csv(path, "DATETIME", ["price"])
    assert back.index.equals(frame.index)
    assert np.array_equal(back["price"].to_numpy().view(np.int64), values.view(np.int64))


@pytest.mark.parametrize("header", ["DATETIME,price,price", "DATETIME,price,DATETIME",
                                    "\ufeffDATETIME,price,price"])
def test_a_column_named_twice_in_the_header_is_refused(tmp_path, header):
    """pandas renames the second ``price`` to ``price.1`` and the reader kept only the first:
    which of the two is the price is a guess, so the file is refused."""
    message = _rejects(tmp_path, f"{header}\r\n2020-01-01 00:00:00,10.5,3\r\n",
                       "line 1: column .* appears twice in the header")
    assert ("'price'" in message) or ("'DATETIME'" in message)
