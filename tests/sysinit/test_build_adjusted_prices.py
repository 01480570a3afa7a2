"""build_adjusted_prices: conformance with pysystemtrade's adjusted files, through the stores.

Only the reference multiple prices and instrument configs are imported; adjusted prices are built,
exported with ``backup_db_to_csv`` and compared file by file with ``adjusted_prices_csv``:
identical rows, identical NaN positions, every value within 1e-9.
"""
from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from syscore.exceptions import InvalidData
from sysdata.csv import pysystemtrade_layout as layout
from sysinit.build_adjusted_prices import (
    adjusted_prices_from_multiple,
    build_adjusted_prices,
)
from sysinit.import_pysystemtrade_csv import import_pysystemtrade_csv
from sysobjects.multiple_prices import MultiplePrices
from sysproduction.backup_db_to_csv import backup_db_to_csv
from tests.blob_helpers import make_blob

INSTRUMENTS = ["CORN", "CRUDE_W", "EDOLLAR", "EUR", "EUROSTX", "GAS_US", "GOLD", "OAT",
               "SP500_micro", "US10", "VIX"]
DROPPED_AFTER_LAST_ROLL = {"CRUDE_W": 3, "OAT": 3, "US10": 1}


@pytest.fixture
def blob(tmp_path):
    data = make_blob(tmp_path / "home")
    yield data
    data.close()


def test_build_adjusted_prices_reproduces_reference_files(pysystemtrade_reference, tmp_path, blob):
    source = tmp_path / "src"
    shutil.copytree(pysystemtrade_reference / layout.MULTIPLE_DIR, source / layout.MULTIPLE_DIR)
    shutil.copytree(pysystemtrade_reference / layout.CONFIG_DIR, source / layout.CONFIG_DIR)
    imported = import_pysystemtrade_csv(str(source), data=blob)
    assert not imported.rejected
    assert blob.adjusted_prices.list_codes() == []

    report = build_adjusted_prices("ALL", data=blob)
    assert report.ok, str(report)
    assert sorted(report.results) == INSTRUMENTS

    exported = tmp_path / "backup"
    backup_db_to_csv(str(exported), data=blob)
    for code in INSTRUMENTS:
        ours = layout.read_adjusted_prices(exported / layout.ADJUSTED_DIR / f"{code}.csv")["price"]
        ref = layout.read_adjusted_prices(
            pysystemtrade_reference / layout.ADJUSTED_DIR / f"{code}.csv")["price"]
        assert ours.index.equals(ref.index), code  # row for row
        np.testing.assert_array_equal(ours.isna().to_numpy(), ref.isna().to_numpy(), err_msg=code)
        ok = ref.notna().to_numpy()
        error = np.max(np.abs(ours.to_numpy()[ok] - ref.to_numpy()[ok]))
        assert error <= 1e-9, f"{code}: max abs error {error}"
        result = report.results[code]
        assert result.rows == len(ref)
        assert result.dropped_after_last_roll == DROPPED_AFTER_LAST_ROLL.get(code, 0)
        assert result.last_value == pytest.approx(ref.dropna().iloc[-1], abs=1e-9)
        assert result.last_timestamp == ref.dropna().index[-1]
    assert "CORN: " in str(report) and "rows, last" in str(report)


def _multiple(rows):
    index = pd.DatetimeIndex([r[0] for r in rows], tz="UTC")
    frame = pd.DataFrame([r[1:] for r in rows], index=index,
                         columns=["PRICE", "PRICE_CONTRACT", "FORWARD", "FORWARD_CONTRACT",
                                  "CARRY", "CARRY_CONTRACT"])
    return MultiplePrices(frame)


def test_nan_rows_kept_before_last_roll_dropped_after():
    nan = np.nan
    multiple = _multiple([
        ("2021-01-01 23:00", 10.0, "202103", 11.0, "202106", nan, "202106"),
        ("2021-01-02 23:00", nan, "202103", 11.5, "202106", nan, "202106"),
        ("2021-01-03 23:00", 10.5, "202103", 12.0, "202106", nan, "202106"),
        ("2021-01-04 23:00", 12.2, "202106", nan, "202109", nan, "202109"),
        ("2021-01-05 23:00", nan, "202106", nan, "202109", nan, "202109"),
        ("2021-01-06 23:00", 12.4, "202106", nan, "202109", nan, "202109"),
        ("2021-01-07 23:00", nan, "202106", 13.0, "202109", nan, "202109"),
    ])
    adjusted, dropped = adjusted_prices_from_multiple(multiple)
    assert dropped == 2
    expected = pd.Series([11.5, nan, 12.0, 12.2, 12.4],
                         index=multiple.index[[0, 1, 2, 3, 5]])
    np.testing.assert_allclose(adjusted.data.to_numpy(), expected.to_numpy())
    assert adjusted.data.index.equals(expected.index)


def test_no_roll_drops_every_nan_row():
    nan = np.nan
    multiple = _multiple([
        ("2021-01-01 23:00", 10.0, "202103", 11.0, "202106", nan, "202106"),
        ("2021-01-02 23:00", nan, "202103", 11.5, "202106", nan, "202106"),
        ("2021-01-03 23:00", 10.5, "202103", 12.0, "202106", nan, "202106"),
    ])
    adjusted, dropped = adjusted_prices_from_multiple(multiple)
    assert dropped == 1 and list(adjusted.data) == [10.0, 10.5]


def test_failure_in_one_instrument_does_not_stop_others(blob):
    nan = np.nan
    good = _multiple([
        ("2021-01-01 23:00", 10.0, "202103", 11.0, "202106", nan, "202106"),
        ("2021-01-02 23:00", 11.2, "202106", nan, "202109", nan, "202109"),
    ])
    bad = _multiple([  # roll gap cannot be measured: FORWARD is NaN on the row before the roll
        ("2021-01-01 23:00", 10.0, "202103", nan, "202106", nan, "202106"),
        ("2021-01-02 23:00", 11.2, "202106", nan, "202109", nan, "202109"),
    ])
    blob.multiple_prices.write("AAA", good.data)
    blob.multiple_prices.write("BBB", bad.data)
    blob.adjusted_prices.write("BBB", pd.Series([1.0], index=pd.DatetimeIndex(
        ["2020-01-01"], tz="UTC")))

    report = build_adjusted_prices("ALL", data=blob)
    assert list(report.results) == ["AAA"] and list(report.failures) == ["BBB"]
    assert "cannot measure the roll gap" in report.failures["BBB"]
    assert list(blob.adjusted_prices.read_series("AAA")) == [11.0, 11.2]
    assert list(blob.adjusted_prices.read_series("BBB")) == [1.0]  # untouched
    assert [a["subject"] for a in blob.alerts.all()] == ["build_adjusted_prices failed for BBB"]

    with pytest.raises(InvalidData):
        adjusted_prices_from_multiple(bad)


def test_single_instrument_and_missing_instrument(blob):
    nan = np.nan
    blob.multiple_prices.write("AAA", _multiple([
        ("2021-01-01 23:00", 10.0, "202103", 11.0, "202106", nan, "202106"),
    ]).data)
    report = build_adjusted_prices("AAA", data=blob)
    assert report.results["AAA"].rows == 1
    report = build_adjusted_prices("ZZZ", data=blob)
    assert "no multiple prices stored for ZZZ" in report.failures["ZZZ"]
