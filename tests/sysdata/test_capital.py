from __future__ import annotations

import pandas as pd
import pytest

from syscore.exceptions import InvalidData, MissingData
from sysdata.capital import CapitalData
from sysdata.optimal_positions import OptimalPositionData, SpreadData


def test_total_capital_rows(ts_store):
    data = CapitalData(ts_store)
    with pytest.raises(MissingData):
        data.total_capital()
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    data.add_total(t0, total=100.0, broker=100.0, max=100.0, acc_pnl=0.0, margin=5.0)
    data.add_total(t0 + pd.Timedelta(days=1), total=110.0, broker=110.0, max=110.0, acc_pnl=10.0,
                   margin=5.0)
    assert data.last_total()["total"] == 110.0
    with pytest.raises(InvalidData, match="missing"):
        data.add_total(t0 + pd.Timedelta(days=2), total=1.0)
    with pytest.raises(InvalidData, match="finite"):
        data.add_total(t0 + pd.Timedelta(days=2), total=float("nan"), broker=1.0, max=1.0,
                       acc_pnl=0.0, margin=0.0)
    data.delete_total_since(t0 + pd.Timedelta(hours=12))
    assert len(data.total_capital()) == 1


def test_strategy_capital(ts_store):
    data = CapitalData(ts_store)
    data.add_strategy_capital("trend", "2024-01-01", 5000.0)
    data.add_strategy_capital("trend", "2024-01-02", 5100.0)
    assert data.strategy_capital("trend").tolist() == [5000.0, 5100.0]
    assert data.strategies() == ["trend"]
    with pytest.raises(InvalidData):
        data.add_strategy_capital("trend", "2024-01-03", -1.0)


def test_optimal_positions_and_spreads(ts_store):
    data = OptimalPositionData(ts_store)
    data.add("trend", "CORN", "2024-01-02 06:00", -1.4, -0.6, 455.25, "20240300", "2024-01-01 23:00")
    data.add("trend", "CORN", "2024-01-03 06:00", -2.0, -1.0, 456.0, "20240300", "2024-01-02 23:00")
    current = data.current("trend", "CORN")
    assert (current["lower"], current["upper"], current["reference_contract"]) == (-2.0, -1.0, "20240300")
    assert data.list_keys() == [("trend", "CORN")]
    with pytest.raises(InvalidData, match="lower <= upper"):
        data.add("trend", "CORN", "2024-01-04", 1.0, -1.0, 1.0, "20240300", "2024-01-03")
    spreads = SpreadData(ts_store)
    spreads.add("CORN", "2024-01-02 15:00", 0.25)
    assert spreads.history("CORN").tolist() == [0.25]
    with pytest.raises(InvalidData):
        spreads.add("CORN", "2024-01-02 16:00", -0.1)
