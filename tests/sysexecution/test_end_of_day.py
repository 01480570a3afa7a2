"""End of day on real stores and the simulated broker: working orders cancelled at the broker,
partial fills booked once, every family completed (partly, fully and never filled), the wait
bounded when the broker does not confirm."""
from __future__ import annotations

import pandas as pd
import pytest

from sysbrokers.objects import OrderStatus as BrokerStatus
from sysbrokers.sim.broker import SimBroker, SimBrokerConfig
from sysbrokers.sim.market import default_market
from syscore.clock import SimulatedClock
from sysexecution.broker_orders import create_broker_orders
from sysexecution.end_of_day import end_of_day
from sysobjects.orders.orders import InstrumentOrder
from sysobjects.orders.status import OrderStatus
from tests.blob_helpers import make_blob
from tests.sysexecution.test_broker_orders import (
    CODE,
    CONTRACT,
    T0,
    contract_order,
    stacked_broker_order,
)

STACKS = ("instrument", "contract", "broker")


@pytest.fixture
def env(sim_broker_env):
    return sim_broker_env


def sleeper(clock):
    return lambda seconds: clock.advance(pd.Timedelta(seconds=seconds))


def broker_positions(data):
    return {(p.instrument_code, p.contract_date[:6]): p.quantity
            for p in data.broker.get_positions()}


def test_partial_zero_and_unspawned_families_are_completed(env):
    data, clock = env
    # a part-filled order: larger than the touch, placed and adopted, then some fills
    partial = contract_order(data, 200)
    bid, ref = stacked_broker_order(data, partial, 200)
    data.broker.place_order(CODE, CONTRACT, 200, client_ref=ref)
    assert create_broker_orders(data).adopted == [bid]
    clock.advance(pd.Timedelta(seconds=6))
    # a zero-filled one: sent, still in flight at the broker (latency) when the day ends
    zero = contract_order(data, -1)
    assert len(create_broker_orders(data).sent) == 1
    # and an instrument order never spawned
    istack = data.order_stack("instrument")
    lonely = istack.add_order(InstrumentOrder(order_id=istack.new_order_id(),
                                              strategy_name="trend", instrument_code=CODE,
                                              trade=4), T0)
    result = end_of_day(data, sleeper(clock))
    assert result.clear, result
    assert sorted(result.cancel_requested) == sorted(
        [partial.parent_id, zero.parent_id, lonely.order_id])
    assert sorted(result.completed) == sorted(result.cancel_requested)
    assert all(data.order_stack(s).orders() == [] for s in STACKS)  # the stacks are clear
    assert not data.broker.get_orders(open_only=True)  # nothing working at the broker
    theirs = data.broker.find_orders(ref)[0]
    assert theirs.status is BrokerStatus.CANCELLED and 0 < theirs.filled_quantity < 200
    # the fills are in every position, once: strategy = contract = broker
    filled = theirs.filled_quantity
    assert data.positions.get_strategy_position("trend", CODE) == filled
    assert data.positions.get_contract_position(CODE, CONTRACT) == filled
    assert broker_positions(data) == {(CODE, CONTRACT): filled}
    history = {o.order_id: o for o in istack.historic_orders()}
    assert history[partial.parent_id].filled == filled
    assert history[zero.parent_id].filled == 0 and history[lonely.order_id].filled == 0
    # run again: nothing to do, nothing booked twice
    again = end_of_day(data, sleeper(clock))
    assert again.clear and again.cancel_requested == () and again.fills_booked == 0
    assert data.positions.get_contract_position(CODE, CONTRACT) == filled


def test_the_wait_is_bounded_when_the_broker_does_not_confirm(systrade_home):
    clock = SimulatedClock(systrade_home, start=T0)
    slow = SimBrokerConfig(latency=pd.Timedelta(minutes=10))  # cancels take ten minutes
    brokers = []

    def factory(blob):
        brokers.append(SimBroker(clock, systrade_home, default_market(), slow))
        return brokers[-1]

    data = make_blob(systrade_home, clock=clock, broker_factory=factory)
    try:
        order = contract_order(data, 1)
        assert len(create_broker_orders(data).sent) == 1
        result = end_of_day(data, sleeper(clock), max_wait=pd.Timedelta(seconds=5))
        assert not result.clear and result.rounds == 6  # 0..5 s, one round a second
        assert result.still_working["instrument"] == (order.parent_id,)
        [live] = data.order_stack("broker").orders()
        assert live.status is OrderStatus.PENDING_CANCEL
        clock.advance(pd.Timedelta(minutes=30))  # the broker confirms at last
        later = end_of_day(data, sleeper(clock))
        assert later.clear, later
        assert data.positions.get_contract_position(CODE, CONTRACT) == \
            broker_positions(data).get((CODE, CONTRACT), 0)
    finally:
        data.close()
        for broker in brokers:
            broker.close()
