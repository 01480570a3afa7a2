"""Spread (BAG) orders on the IB broker through real ib_async and the fake TWS: a Force roll
end to end through the stack handler's functions, the BAG's own execution never booked, the
order (with its legs) known again after a restart (what adoption by client_ref needs), the
units of a spread from its legs' executions."""
from __future__ import annotations

import pandas as pd

from sysbrokers.IB.broker import IBBroker
from sysbrokers.IB.fake_tws import FakeTwsThread
from sysbrokers.IB.orders import spread_fills
from sysbrokers.objects import Execution, OrderStatus, SpreadLeg
from sysbrokers.sim.broker import SimBroker
from sysbrokers.sim.market import default_market
from syscore.clock import SimulatedClock
from sysproduction.run_stack_handler import stack_handler_pass
from sysproduction.update_strategy_orders import update_strategy_orders
from tests.blob_helpers import SIM_START, make_blob
from tests.sysbrokers.ib_helpers import ib_broker, ib_config, ib_mapping

CODE, PRICED, FORWARD = "SP500_micro", "202403", "202406"
MARKET = {"default_algo": "market"}


def contracts(data, code):
    return PRICED, FORWARD


def _bag_fills(tws) -> list[str]:
    return tws.call(lambda f: [r.execution.exec_id for r in f.desk.fills
                               if r.wire_contract.sec_type == "BAG"])


def test_force_roll_at_ib_end_to_end(tmp_path):
    market = default_market()
    clock = SimulatedClock(tmp_path / "exchange", start=SIM_START)
    with FakeTwsThread(market, clock, broker_factory=lambda: SimBroker(
            clock, tmp_path / "exchange", market)) as tws:
        data = make_blob(tmp_path / "ib", clock=clock, broker_factory=lambda blob: IBBroker(
            ib_config(tws.port), clock, blob.state, ib_mapping(market), owner="testhost:1",
            sleep=lambda _s: None))
        try:
            def run_until_quiet():
                for _ in range(12):
                    stack_handler_pass(data, contracts=contracts, execution=MARKET)
                    if not any(data.order_stack(s).orders()
                               for s in ("instrument", "contract", "broker")):
                        return
                    clock.advance(pd.Timedelta(minutes=2))
                raise AssertionError("orders still on the stacks")

            data.optimal_positions.add("trend", CODE, SIM_START, 2, 2, 100.0, PRICED, SIM_START)
            assert update_strategy_orders(data).ok
            run_until_quiet()
            assert data.positions.get_contract_position(CODE, PRICED) == 2
            data.roll_states.set(CODE, "Force")
            run_until_quiet()
            broker = {(p.instrument_code, p.contract_date): p.quantity
                      for p in data.broker.get_positions()}
            assert broker == {(CODE, FORWARD): 2}
            assert data.positions.get_contract_position(CODE, PRICED) == 0
            assert data.positions.get_contract_position(CODE, FORWARD) == 2
            assert data.positions.get_strategy_position("trend", CODE) == 2
            rolls = [b for b in data.order_stack("broker").historic_orders() if b.roll_order]
            assert rolls and all(b.is_spread for b in rolls)
            for b in rolls:
                [theirs] = data.broker.find_orders(b.client_ref)
                assert theirs.is_spread and theirs.status is OrderStatus.FILLED
            # TWS reported each BAG fill as well as its legs': the BAG's is never booked
            bag = _bag_fills(tws)
            assert bag
            booked = [d["record"]["exec_id"] for d in data.ledger.records(0, None)
                      if d["kind"] == "fill"]
            assert not set(bag) & set(booked)
            assert sorted(booked) == sorted(e.exec_id for e in data.broker.get_executions())
            assert len(set(booked)) == len(booked)
        finally:
            data.close()


def test_a_spread_order_is_known_with_its_legs_after_a_restart(tmp_path):
    market = default_market()
    clock = SimulatedClock(tmp_path / "exchange", start=SIM_START)
    legs = (SpreadLeg(FORWARD, 1), SpreadLeg(PRICED, -1))
    with FakeTwsThread(market, clock, broker_factory=lambda: SimBroker(
            clock, tmp_path / "exchange", market)) as tws:
        broker = ib_broker(tws.port, clock, tmp_path / "ib", market)
        placed = broker.place_spread_order(CODE, legs, 1, client_ref="systrade/broker/9")
        broker.close()
        again = ib_broker(tws.port, clock, tmp_path / "ib", market)
        try:
            [found] = again.find_orders("systrade/broker/9")
            assert found.order_id == placed.order_id and found.legs == legs
        finally:
            again.close()


def test_spread_units_count_only_what_every_leg_filled():
    legs = (SpreadLeg(FORWARD, 1), SpreadLeg(PRICED, -1))
    t0 = pd.Timestamp("2024-01-09 15:00", tz="UTC")

    def ex(exec_id, date, qty, price):
        return Execution(exec_id, "7", CODE, date, qty, price, None, "USD", t0)

    one_leg = [ex("a", FORWARD, 1, 101.0)]
    assert spread_fills(legs, one_leg, -2) == (0, None)
    both = one_leg + [ex("b", PRICED, -1, 100.0), ex("c", FORWARD, 1, 103.0)]
    assert spread_fills(legs, both, 2) == (1, (101.0 + 103.0) / 2 - 100.0)
