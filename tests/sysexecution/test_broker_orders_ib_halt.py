"""The disconnect policy at the pre-trade gate, on the IB broker over the fake TWS: a broker
blind for longer than ``ib.disconnect_halt_seconds`` is HALTED, every denial recorded with
the reason; back in sight, the order goes."""
from __future__ import annotations

import pandas as pd

from sysbrokers.IB.broker import IBBroker
from sysbrokers.IB.fake_tws import FakeTwsThread
from sysbrokers.sim.broker import SimBroker
from sysbrokers.sim.market import default_market
from syscore.clock import SimulatedClock
from sysexecution.broker_orders import GATE, create_broker_orders
from sysobjects.orders.orders import ContractOrder, InstrumentOrder, Leg
from sysobjects.orders.status import OrderStatus
from tests.blob_helpers import SIM_START, make_blob
from tests.sysbrokers.ib_helpers import ib_config, ib_mapping

CODE, CONTRACT = "SP500_micro", "202403"


def _contract_order(data, trade):
    istack, cstack = data.order_stack("instrument"), data.order_stack("contract")
    parent = istack.add_order(InstrumentOrder(order_id=istack.new_order_id(),
                                              strategy_name="trend", instrument_code=CODE,
                                              trade=trade), SIM_START)
    return cstack.add_order(ContractOrder(order_id=cstack.new_order_id(), strategy_name="trend",
                                          instrument_code=CODE, parent_id=parent.order_id,
                                          legs=(Leg(CONTRACT, trade),)), SIM_START)


def test_a_broker_blind_too_long_is_halted_at_the_gate_with_the_reason(tmp_path):
    market = default_market()
    clock = SimulatedClock(tmp_path / "exchange", start=SIM_START)
    tws = FakeTwsThread(market, clock,
                        broker_factory=lambda: SimBroker(clock, tmp_path / "exchange", market))
    tws.start()
    data = make_blob(tmp_path / "ib", clock=clock, broker_factory=lambda blob: IBBroker(
        ib_config(tws.port, disconnect_halt_seconds=120.0, reconnect_attempts=1), clock,
        blob.state, ib_mapping(market), owner="testhost:1", sleep=lambda _s: None))
    try:
        order = _contract_order(data, 2)
        assert data.broker.halt_reason() == ""
        tws.call(lambda f: f.go_down())  # the socket drops and the Gateway stays down
        first = create_broker_orders(data)
        assert first.sent == [] and "HALTED" not in first.denied[order.order_id]
        clock.advance(pd.Timedelta(seconds=121))
        cstack = data.order_stack("contract")
        for _ in range(3):  # every loop denied; a lasting denial is one event
            result = create_broker_orders(data)
            assert result.sent == []
            denial = result.denied[order.order_id]
            assert denial.startswith("trading state HALTED: broker ib blind for ")
            assert "ib.disconnect_halt_seconds 120" in denial
        denied = cstack.get_order(order.order_id)
        assert denied.status is OrderStatus.INITIALIZED and denied.reason == GATE + denial
        assert [e.reason for e in cstack.events(order.order_id)].count(denied.reason) == 1
        assert data.order_stack("broker").orders() == []
    finally:
        data.close()
        tws.stop()
    # the Gateway back (a new server on the same simulated broker book): the order goes
    with FakeTwsThread(market, clock, broker_factory=lambda: SimBroker(
            clock, tmp_path / "exchange", market)) as back:
        data = make_blob(tmp_path / "ib", clock=clock, broker_factory=lambda blob: IBBroker(
            ib_config(back.port, disconnect_halt_seconds=120.0), clock, blob.state,
            ib_mapping(market), owner="testhost:1", sleep=lambda _s: None))
        try:
            assert data.broker.halt_reason() == ""
            assert len(create_broker_orders(data).sent) == 1
        finally:
            data.close()
