from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from syscore.exceptions import InvalidData, MissingData
from sysdata.prices import (
    AdjustedPricesData,
    FuturesContractPriceData,
    FxPricesData,
    MultiplePricesData,
    RollCalendarData,
)


def bars(start: str, n: int) -> pd.DataFrame:
    idx = pd.date_range(start, periods=n, freq="h", tz="UTC")
    close = 100 + np.arange(n, dtype=float)
    return pd.DataFrame({"OPEN": close, "HIGH": close + 1, "LOW": close - 1, "FINAL": close,
                         "VOLUME": np.full(n, 5.0)}, index=idx)


def test_contract_prices_per_frequency(ts_store):
    data = FuturesContractPriceData(ts_store)
    data.write("CORN", "202312", bars("2023-01-02", 5), frequency="H")
    data.write("CORN", "202312", bars("2023-01-02", 2), frequency="D")
    assert len(data.read("CORN", "202312", "H")) == 5
    assert len(data.read("CORN", "202312", "D")) == 2
    assert data.append("CORN", "202312", bars("2023-01-03", 3), frequency="H") == 3
    assert data.contracts_with_prices("CORN", "H") == ["202312"]
    with pytest.raises(InvalidData, match="frequency"):
        data.read("CORN", "202312", "W")
    with pytest.raises(InvalidData, match="missing columns"):
        data.write("CORN", "202312", bars("2023-01-02", 2).drop(columns="VOLUME"))
    with pytest.raises(MissingData):
        data.read("CORN", "202403", "H")


def test_multiple_prices_contract_columns_are_text(ts_store):
    data = MultiplePricesData(ts_store)
    idx = pd.DatetimeIndex(["2021-01-04 23:00", "2021-01-05 23:00"])
    frame = pd.DataFrame({"CARRY": [1.0, np.nan], "CARRY_CONTRACT": [20210300, 20210300],
                          "PRICE": [2.0, 2.5], "PRICE_CONTRACT": ["20210600", "20210600"],
                          "FORWARD": [np.nan, 3.0], "FORWARD_CONTRACT": ["202109", "202109"]},
                         index=idx)
    data.write("EUR", frame)
    out = data.read("EUR")
    assert list(out["CARRY_CONTRACT"]) == ["20210300", "20210300"]
    assert list(out["FORWARD_CONTRACT"]) == ["20210900", "20210900"]
    assert np.isnan(out["CARRY"].iloc[1])
    bad = frame.copy()
    bad["PRICE_CONTRACT"] = ["2021", "2021"]
    with pytest.raises(InvalidData, match="YYYYMMDD"):
        data.write("EUR", bad)
    assert list(data.read("EUR")["PRICE_CONTRACT"]) == ["20210600", "20210600"]


def test_adjusted_fx_and_calendars(ts_store):
    idx = pd.date_range("2020-01-01", periods=3, freq="D", tz="UTC")
    adj = AdjustedPricesData(ts_store)
    adj.write("US10", pd.Series([1.0, np.nan, 3.0], index=idx))
    assert adj.read_series("US10").isna().tolist() == [False, True, False]
    fx = FxPricesData(ts_store)
    fx.write("GBPUSD", pd.Series([1.3, 1.31, 1.32], index=idx))
    assert fx.read_series("GBPUSD").iloc[-1] == 1.32
    with pytest.raises(InvalidData, match="six capital letters"):
        fx.write("gbpusd", pd.Series([1.0], index=idx[:1]))
    cal = RollCalendarData(ts_store)
    cal.write("CORN", pd.DataFrame({"current_contract": [20201200], "next_contract": [20211200],
                                    "carry_contract": [20200900]}, index=idx[:1]))
    assert cal.read("CORN").iloc[0]["next_contract"] == "20211200"
    assert adj.list_codes() == ["US10"] and fx.list_codes() == ["GBPUSD"]
