"""overwrite_historical_bar: the explicit path to correct one stored bar."""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from syscore.exceptions import InvalidData, MissingData
from sysproduction.overwrite_historical_bar import corrected_bar, overwrite_historical_bar
from sysproduction.update_historical_prices import write_merged
from tests.blob_helpers import make_blob

UTC = "UTC"


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=UTC)


def bars(index, finals):
    finals = np.asarray(finals, dtype=float)
    return pd.DataFrame({"OPEN": finals - 0.5, "HIGH": finals + 1.0, "LOW": finals - 1.0,
                         "FINAL": finals, "VOLUME": 7.0}, index=pd.DatetimeIndex(index))


@pytest.fixture
def blob(tmp_path):
    data = make_blob(tmp_path / "home")
    hourly = bars([ts("2024-01-02 14:00"), ts("2024-01-02 15:00"), ts("2024-01-02 23:00")],
                  [100.0, 150.0, 101.0])
    daily = bars([ts("2024-01-01 23:00"), ts("2024-01-02 23:00")], [99.0, 101.5])
    for contract in ("202403", "202406"):
        data.contract_prices.write("CORN", contract, hourly, "H")
        data.contract_prices.write("CORN", contract, daily, "D")
        write_merged(data, "CORN", contract)
    index = [ts("2024-01-01 23:00"), ts("2024-01-02 15:00"), ts("2024-01-02 23:00")]
    multiple = pd.DataFrame({
        "PRICE": [99.0, 150.0, 101.5], "PRICE_CONTRACT": "20240300",
        "FORWARD": [np.nan, 150.0, 101.5], "FORWARD_CONTRACT": "20240600",
        "CARRY": [np.nan, np.nan, np.nan], "CARRY_CONTRACT": "20240600",
    }, index=pd.DatetimeIndex(index))
    data.multiple_prices.write("CORN", multiple)
    yield data
    data.close()


def test_corrected_bar_rule():
    old = pd.Series({"OPEN": 149.5, "HIGH": 151.0, "LOW": 149.0, "FINAL": 150.0, "VOLUME": 7.0})
    assert corrected_bar(old, 100.0) == {"OPEN": 99.5, "HIGH": 101.0, "LOW": 99.0,
                                          "FINAL": 100.0, "VOLUME": 7.0}
    assert corrected_bar(old, 100.0, open=99.0, high=102.0, low=98.0, volume=3) == {
        "OPEN": 99.0, "HIGH": 102.0, "LOW": 98.0, "FINAL": 100.0, "VOLUME": 3.0}
    with pytest.raises(InvalidData, match="HIGH 99.5 is below"):
        corrected_bar(old, 100.0, high=99.5)
    with pytest.raises(InvalidData, match="LOW"):
        corrected_bar(old, 100.0, low=100.5)
    with pytest.raises(InvalidData, match="finite"):
        corrected_bar(old, float("inf"))


def test_overwrite_hourly_bar_reports_stale_multiple_prices(blob, caplog):
    when = ts("2024-01-02 15:00")
    with caplog.at_level(logging.WARNING, logger="systrade"):
        result = overwrite_historical_bar("CORN", "20240300", "2024-01-02 15:00", "H", 100.0,
                                          data=blob)
    stored = blob.contract_prices.read("CORN", "202403", "H")
    assert stored.loc[when].tolist() == [99.5, 101.0, 99.0, 100.0, 7.0]
    assert len(stored) == 3 and stored.loc[ts("2024-01-02 14:00"), "FINAL"] == 100.0
    assert blob.contract_prices.read("CORN", "202403", "merged").loc[when, "FINAL"] == 100.0
    assert blob.contract_prices.read("CORN", "202406", "H").loc[when, "FINAL"] == 150.0
    assert result.old["FINAL"] == 150.0 and result.new["FINAL"] == 100.0
    assert [(c.column, c.stored) for c in result.stale_multiple_prices] == [("PRICE", 150.0)]
    assert not result.multiple_prices_patched
    assert "still hold PRICE=150" in result.message
    assert "build_adjusted_prices --instrument_code CORN" in result.message
    assert blob.multiple_prices.read("CORN").loc[when, "PRICE"] == 150.0  # not changed
    overwritten = [r for r in caplog.records if "overwritten by hand" in r.getMessage()]
    assert overwritten and "'FINAL': 150.0" in overwritten[0].getMessage()
    assert overwritten[0].levelno == logging.WARNING
    assert overwritten[0].instrument_code == "CORN" and overwritten[0].contract_date == "202403"


def test_patch_multiple_prices_for_the_forward_contract(blob):
    when = ts("2024-01-02 15:00")
    result = overwrite_historical_bar("CORN", "202406", when, "hourly", 100.25,
                                      patch_multiple_prices=True, data=blob)
    assert result.multiple_prices_patched
    assert [c.column for c in result.stale_multiple_prices] == ["FORWARD"]
    multiple = blob.multiple_prices.read("CORN")
    assert multiple.loc[when, "FORWARD"] == 100.25 and multiple.loc[when, "PRICE"] == 150.0
    assert "patched" in result.message and "build_adjusted_prices --instrument_code CORN" in result.message


def test_hourly_bar_under_a_daily_bar_leaves_merged_and_multiple_alone(blob):
    when = ts("2024-01-02 23:00")  # a daily bar exists at the same timestamp and wins in merged
    result = overwrite_historical_bar("CORN", "202403", when, "H", 105.0, data=blob)
    assert blob.contract_prices.read("CORN", "202403", "H").loc[when, "FINAL"] == 105.0
    assert blob.contract_prices.read("CORN", "202403", "merged").loc[when, "FINAL"] == 101.5
    assert result.stale_multiple_prices == []
    assert "keeps the daily bar" in result.message

    daily = overwrite_historical_bar("CORN", "202403", when, "D", 101.75, volume=9, data=blob)
    assert daily.new["VOLUME"] == 9.0
    assert blob.contract_prices.read("CORN", "202403", "merged").loc[when, "FINAL"] == 101.75
    assert [c.column for c in daily.stale_multiple_prices] == ["PRICE"]


@pytest.mark.parametrize("args, error, message", [
    (("CORN", "202403", "2024-01-02 16:00", "H", 1.0), MissingData, "only existing bars"),
    (("CORN", "202409", "2024-01-02 15:00", "H", 1.0), MissingData, "no H prices stored"),
    (("CORN", "202403", "2024-01-02 15:00", "merged", 1.0), InvalidData, "merged series"),
    (("CORN", "202403", "yesterday-ish", "H", 1.0), InvalidData, "cannot read timestamp"),
])
def test_bad_requests_change_nothing(blob, args, error, message):
    before = blob.contract_prices.read("CORN", "202403", "H")
    with pytest.raises(error, match=message):
        overwrite_historical_bar(*args, data=blob)
    pd.testing.assert_frame_equal(blob.contract_prices.read("CORN", "202403", "H"), before)


def test_injected_prices_are_rounded_to_the_tick(blob):
    from sysobjects.instruments import InstrumentConfig

    blob.instruments.add(InstrumentConfig("CORN", tick_size=0.25))
    when = ts("2024-01-02 15:00")
    result = overwrite_historical_bar("CORN", "202403", when, "H", 100.1, high=101.37,
                                      data=blob)
    stored = blob.contract_prices.read("CORN", "202403", "H").loc[when]
    assert stored["FINAL"] == 100.0 and stored["HIGH"] == 101.25
    assert stored["OPEN"] == 99.5 and stored["LOW"] == 99.0  # shifted with the rounded FINAL
    assert result.message.startswith(
        "rounded to the tick (0.25): FINAL 100.1 -> 100, HIGH 101.37 -> 101.25")
    plain = overwrite_historical_bar("CORN", "202406", when, "H", 100.25, data=blob)
    assert "rounded" not in plain.message  # already on the tick: nothing to say
