"""A small scenario on real stores (SQLite + ArcticDB/LMDB) with hand-computed answers.

Base currency USD. Daily adjusted prices at 00:00 UTC, 2024-01-01 … 2024-01-05:

* CORN (USD, point size 50, Ags):     100, 102, 101, 105, 104
* GILT (GBP, point size 1000, Bonds): 100, 100.5, 100.25, 100.25, 101; GBPUSD 1.25 from
  2024-01-01, 1.30 from 2024-01-03 18:00 (between two price times).

Strategy s1: CORN +2 from 2024-01-01 12:00, -1 from 2024-01-03 12:00; GILT +1 from 2023-12-31.
Contract positions: CORN 20240300 -1 (agrees), GILT 20240300 +2 (a break).
Total capital acc_pnl: 1000 at 2023-12-31 23:00, 1500 and 1600 on 2024-01-02, 2800 on 2024-01-05.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from sysobjects.contracts import FuturesContract
from sysobjects.instruments import InstrumentConfig
from tests.blob_helpers import FixedClock, make_blob

DAYS = pd.DatetimeIndex(pd.date_range("2024-01-01", periods=5, freq="D"), tz="UTC")
START = pd.Timestamp("2024-01-01 00:00", tz="UTC")
END = pd.Timestamp("2024-01-05 23:59", tz="UTC")


def _capital(blob, when, acc):
    blob.capital.add_total(when, total=100_000.0 + acc, broker=100_000.0 + acc,
                           max=100_000.0 + acc, acc_pnl=acc, margin=0.0)


def build_scenario(blob):
    blob.instruments.add(InstrumentConfig("CORN", pointsize=50.0, currency="USD",
                                          asset_class="Ags"))
    blob.instruments.add(InstrumentConfig("GILT", pointsize=1000.0, currency="GBP",
                                          asset_class="Bonds"))
    blob.adjusted_prices.write("CORN", pd.Series([100.0, 102.0, 101.0, 105.0, 104.0],
                                                 index=DAYS, name="price"))
    blob.adjusted_prices.write("GILT", pd.Series([100.0, 100.5, 100.25, 100.25, 101.0],
                                                 index=DAYS, name="price"))
    blob.fx_prices.write("GBPUSD", pd.Series([1.25, 1.30], index=pd.DatetimeIndex(
        ["2024-01-01", "2024-01-03 18:00"], tz="UTC")))
    positions = blob.positions
    positions.set_strategy_position("s1", "GILT", 1, pd.Timestamp("2023-12-31", tz="UTC"))
    positions.set_strategy_position("s1", "CORN", 2, pd.Timestamp("2024-01-01 12:00", tz="UTC"))
    positions.set_strategy_position("s1", "CORN", -1, pd.Timestamp("2024-01-03 12:00", tz="UTC"))
    positions.set_contract_position("CORN", "20240300", -1, pd.Timestamp("2024-01-03 12:00",
                                                                          tz="UTC"))
    positions.set_contract_position("GILT", "20240300", 2, pd.Timestamp("2024-01-01", tz="UTC"))
    _capital(blob, pd.Timestamp("2023-12-31 23:00", tz="UTC"), 1000.0)
    _capital(blob, pd.Timestamp("2024-01-02 10:00", tz="UTC"), 1500.0)
    _capital(blob, pd.Timestamp("2024-01-02 20:00", tz="UTC"), 1600.0)
    _capital(blob, pd.Timestamp("2024-01-05 10:00", tz="UTC"), 2800.0)
    blob.optimal_positions.add("s1", "CORN", START, -2.0, 0.0, 104.0, "20240300", START)
    blob.optimal_positions.add("s1", "GILT", START, 2.0, 3.0, 101.0, "20240300", START)
    blob.contracts.add(FuturesContract("CORN", "20240300", expiry_date=dt.date(2024, 3, 14)))
    blob.roll_states.set("CORN", "Passive")
    blob.multiple_prices.write("CORN", pd.DataFrame(
        {"PRICE": [104.0], "PRICE_CONTRACT": ["20240300"], "FORWARD": [106.0],
         "FORWARD_CONTRACT": ["20240500"], "CARRY": [104.0], "CARRY_CONTRACT": ["20240300"]},
        index=DAYS[-1:]))
    blob.contract_prices.write("CORN", "20240300", pd.DataFrame(
        {"OPEN": [104.0], "HIGH": [105.0], "LOW": [103.0], "FINAL": [104.0], "VOLUME": [900.0]},
        index=DAYS[-1:]))
    blob.contract_prices.write("CORN", "20240500", pd.DataFrame(
        {"OPEN": [106.0], "HIGH": [106.0], "LOW": [106.0], "FINAL": [106.0], "VOLUME": [300.0]},
        index=DAYS[-1:]))
    return blob


@pytest.fixture
def blob(tmp_path):
    data = make_blob(tmp_path / "home", clock=FixedClock("2024-01-06 08:00"))
    yield build_scenario(data)
    data.close()
