"""Step 4: positions, portfolio, account values and summary from the simulated broker."""

from __future__ import annotations

import pandas as pd
import pytest
from ib_async import IB

from sysbrokers.sim.market import default_market


@pytest.fixture
def with_positions(fake_tws, clock):
    """Long 3 MES Mar-24 and short 2 FDAX-like DAX Mar-24, filled by the simulated broker."""

    def trade(fake):
        fake.broker.place_order("SP500_micro", "202403", 3)
        fake.broker.place_order("DAX", "202403", -2)

    fake_tws.call(trade)
    clock.advance(pd.Timedelta(minutes=5))
    positions = fake_tws.call(lambda f: f.broker.get_positions())
    assert {(p.instrument_code, p.quantity) for p in positions} == {("SP500_micro", 3), ("DAX", -2)}
    return {p.instrument_code: p for p in positions}


def test_no_positions_at_start(ib):
    assert ib.positions() == []
    assert ib.portfolio() == []


def test_positions_are_the_broker_positions_with_avg_cost_times_multiplier(with_positions, connect):
    ib = connect(1)
    got = {p.contract.localSymbol: p for p in ib.positions()}
    assert set(got) == {"MESH4", "DAXH4"}
    assert got["MESH4"].position == 3 and got["DAXH4"].position == -2
    assert got["MESH4"].account == "DU1234567"
    assert got["MESH4"].avgCost == pytest.approx(with_positions["SP500_micro"].average_price * 5)
    assert got["DAXH4"].avgCost == pytest.approx(with_positions["DAX"].average_price * 25)
    fresh = {p.contract.localSymbol: p.position for p in ib.reqPositions()}
    assert fresh == {"MESH4": 3, "DAXH4": -2}


def test_portfolio_is_marked_to_the_market(with_positions, connect):
    ib = connect(1)
    items = {p.contract.localSymbol: p for p in ib.portfolio()}
    assert set(items) == {"MESH4", "DAXH4"}
    mes = items["MESH4"]
    assert mes.marketValue == pytest.approx(mes.position * mes.marketPrice * 5)
    assert mes.unrealizedPNL == pytest.approx(mes.marketValue - mes.position * mes.averageCost)


def test_account_values_and_summary_agree_with_the_broker(with_positions, connect, fake_tws):
    ib = connect(1)
    av = fake_tws.call(lambda f: f.broker.get_account_value())
    values = {(v.tag, v.currency): v.value for v in ib.accountValues()}
    assert float(values[("NetLiquidation", "USD")]) == pytest.approx(av.net_liquidation, abs=0.01)
    assert float(values[("InitMarginReq", "USD")]) == pytest.approx(av.margin_used, abs=0.01)
    assert float(values[("CashBalance", "EUR")]) == pytest.approx(av.cash.get("EUR", 0.0), abs=0.01)
    assert ("ExchangeRate", "EUR") in values
    summary = {v.tag: v for v in ib.accountSummary()}
    assert float(summary["NetLiquidation"].value) == pytest.approx(av.net_liquidation, abs=0.01)
    assert summary["NetLiquidation"].currency == "USD"
    assert summary["NetLiquidation"].account == "DU1234567"
    assert "AvailableFunds" in summary and "TotalCashValue" in summary


def test_account_summary_of_a_fresh_account_is_the_initial_cash(ib):
    summary = {v.tag: float(v.value) for v in ib.accountSummary() if v.tag != "AccountType"}
    assert summary["NetLiquidation"] == pytest.approx(1_000_000.0)
    assert summary["InitMarginReq"] == 0.0


def test_data_only_server_without_broker_still_connects(clock):
    from sysbrokers.IB.fake_tws import FakeTwsThread

    with FakeTwsThread(default_market(), clock) as server:
        ib = IB()
        try:
            ib.connect("127.0.0.1", server.port, clientId=1, timeout=5)
            assert ib.positions() == [] and ib.accountSummary() == []
        finally:
            ib.disconnect()
