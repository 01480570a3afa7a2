"""Cash FX trades through the IB broker on the fake TWS: found again by client_ref after a
crash, the pair IB does not list refused with the one to use."""
from __future__ import annotations

import pandas as pd
import pytest

from sysbrokers.errors import OrderRejected
from sysbrokers.IB.fake_tws import FakeTwsThread
from sysbrokers.sim.broker import SimBroker
from sysbrokers.sim.market import default_market
from syscore.clock import SimulatedClock
from tests.sysbrokers.ib_helpers import ib_broker


@pytest.fixture
def setup(tmp_path):
    clock = SimulatedClock(tmp_path / "tws_home", start=pd.Timestamp("2024-01-09 15:00", tz="UTC"))
    market = default_market()
    with FakeTwsThread(market, clock,
                       broker_factory=lambda: SimBroker(clock, tmp_path / "tws_home", market)
                       ) as tws:
        yield tws, clock, market


def test_trade_done_before_a_crash_is_found_by_client_ref_in_a_new_process(setup, tmp_path):
    tws, clock, market = setup
    first = ib_broker(tws.port, clock, tmp_path / "ib_home", market)
    trade = first.trade_fx("EUR", "USD", 2500.0, client_ref="systrade/fx/1")
    first.close()
    # a restarted process with an empty state store (the crash came before anything was kept)
    second = ib_broker(tws.port, clock, tmp_path / "other_home", market)
    try:
        assert second.get_fx_trades("systrade/fx/1") == [trade]
        assert second.get_fx_trades("systrade/fx/2") == []
        assert second.get_positions() == []  # a cash trade is not a futures position
        assert second.get_executions() == []  # nor a futures execution
    finally:
        second.close()
    [sim_trade] = tws.call(lambda f: f.broker.get_fx_trades("systrade/fx/1"))
    assert (trade.quantity, trade.rate) == (sim_trade.quantity, pytest.approx(sim_trade.rate))


def test_the_direction_ib_does_not_list_is_refused_naming_the_pair(setup, tmp_path):
    tws, clock, market = setup
    broker = ib_broker(tws.port, clock, tmp_path / "ib_home", market)
    try:
        with pytest.raises(OrderRejected, match=r"EUR\.USD"):
            broker.trade_fx("USD", "EUR", 1000.0)
        assert broker.get_fx_trades() == []
    finally:
        broker.close()
    assert tws.call(lambda f: f.broker.get_fx_trades()) == []


def test_a_corrected_fx_execution_replaces_the_original(setup, tmp_path):
    tws, clock, market = setup
    broker = ib_broker(tws.port, clock, tmp_path / "ib_home", market)
    try:
        trade = broker.trade_fx("EUR", "USD", 2500.0, client_ref="systrade/fx/9")
        [exec_id] = list(broker.fx_book.executions)
        tws.call(lambda f: f.correct_execution(exec_id, price=trade.rate + 0.001))
        broker.sync()
        [corrected] = broker.get_fx_trades("systrade/fx/9")
        assert corrected.quantity == 2500.0  # not 5000: the correction replaces the original
        assert corrected.rate == pytest.approx(trade.rate + 0.001)
    finally:
        broker.close()
