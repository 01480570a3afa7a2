"""Broker orders through the gate to the simulated broker, on real stores: sent once, gate
denials recorded with their reason, a crashed submission adopted by client_ref, then fills."""
from __future__ import annotations

import pandas as pd
import pytest

from sysexecution.algo_orders import ExecutionSettings
from sysexecution.broker_fills import book_executions
from sysexecution.broker_orders import GATE, create_broker_orders
from sysexecution.pretrade_gate import TradingState
from sysobjects.orders.orders import BrokerOrder, ContractOrder, InstrumentOrder, Leg, client_ref
from sysobjects.orders.status import OrderLevel, OrderStatus
from tests.blob_helpers import SIM_START

T0 = SIM_START  # the sim_broker_env clock's start
CODE, CONTRACT = "SP500_micro", "202403"
MARKET = ExecutionSettings(default_algo="market")  # orders placed as market orders


@pytest.fixture
def env(sim_broker_env):
    return sim_broker_env


def contract_order(data, trade):
    istack, cstack = data.order_stack("instrument"), data.order_stack("contract")
    parent = istack.add_order(InstrumentOrder(order_id=istack.new_order_id(),
                                              strategy_name="trend", instrument_code=CODE,
                                              trade=trade), T0)
    return cstack.add_order(ContractOrder(order_id=cstack.new_order_id(), strategy_name="trend",
                                          instrument_code=CODE, parent_id=parent.order_id,
                                          legs=(Leg(CONTRACT, trade),)), T0)


def stacked_broker_order(data, corder, trade=1):
    """A broker order of ``trade`` contracts for ``corder`` on our stack, never sent (as a
    crash between its creation and its placing leaves it): ``(order id, client_ref)``."""
    bstack = data.order_stack("broker")
    bid = bstack.new_order_id()
    ref = client_ref(OrderLevel.BROKER, bid)
    bstack.add_order(BrokerOrder(order_id=bid, strategy_name="trend", instrument_code=CODE,
                                 parent_id=corder.order_id, legs=(Leg(CONTRACT, trade),),
                                 client_ref=ref), T0)
    return bid, ref


def test_sent_once_then_filled(env):
    data, clock = env
    order = contract_order(data, 2)
    result = create_broker_orders(data, execution=MARKET)
    assert len(result.sent) == 1 and not result.denied
    assert create_broker_orders(data, execution=MARKET).sent == []  # a live child: nothing more
    [sent] = data.order_stack("broker").orders()
    assert sent.status is OrderStatus.SUBMITTED and sent.broker_order_id
    assert [o.order_id for o in data.broker.find_orders(sent.client_ref)] == [
        sent.broker_order_id]
    clock.advance(pd.Timedelta(minutes=5))
    book_executions(data, data.broker.get_executions())
    assert data.order_stack("contract").get_order(order.order_id).filled == (2,)
    assert data.positions.get_strategy_position("trend", CODE) == 2


def test_a_new_order_asks_the_broker_once(env, monkeypatch):
    """One quote for the gate per new broker order, and no look-up by client_ref for an
    order just created (only a crashed submission is looked up)."""
    data, clock = env
    contract_order(data, 2)
    calls = []
    for name in ("get_bid_ask", "find_orders"):
        real = getattr(data.broker, name)
        monkeypatch.setattr(data.broker, name,
                            lambda *a, _real=real, _name=name, **k: calls.append(_name)
                            or _real(*a, **k))
    assert len(create_broker_orders(data).sent) == 1
    assert calls == ["get_bid_ask"]


@pytest.mark.parametrize("setup,reason", [
    (lambda data: data.locks.lock(CODE, T0, "break"), "locked: break"),
    (None, "HALTED"),
])
def test_gate_denials_are_recorded(env, setup, reason):
    data, clock = env
    contract_order(data, 2)
    if setup:
        setup(data)
    state = TradingState.HALTED if reason == "HALTED" else TradingState.ACTIVE
    [order] = data.order_stack("contract").orders()
    for _ in range(3):  # a lasting denial: one event, not one per loop
        result = create_broker_orders(data, trading_state=state)
        assert result.sent == [] and len(result.denied) == 1
    denied = data.order_stack("contract").get_order(order.order_id)
    assert denied.status is OrderStatus.INITIALIZED
    assert denied.reason.startswith(GATE) and reason in denied.reason
    events = data.order_stack("contract").events(order.order_id)
    assert [e.reason for e in events].count(denied.reason) == 1
    assert data.order_stack("broker").orders() == [] and data.broker.get_orders() == []


def test_reducing_state_denies_an_opening_order(env):
    data, clock = env
    contract_order(data, 2)
    result = create_broker_orders(data, trading_state=TradingState.REDUCING)
    assert "REDUCING" in next(iter(result.denied.values()))


def test_crash_after_placing_is_adopted_not_placed_twice(env):
    """The broker has the order (placed with our client_ref) but our stack never got SENT."""
    data, clock = env
    corder = contract_order(data, 1)
    bstack = data.order_stack("broker")
    bid, ref = stacked_broker_order(data, corder)
    data.broker.place_order(CODE, CONTRACT, 1, client_ref=ref)
    result = create_broker_orders(data)
    assert result.adopted == [bid] and result.sent == []
    [theirs] = data.broker.find_orders(ref)
    adopted = bstack.get_order(bid)
    assert adopted.status is OrderStatus.SUBMITTED
    assert (adopted.broker_order_id, adopted.account) == (theirs.order_id, theirs.account)


def test_crash_before_placing_places_once(env):
    data, clock = env
    corder = contract_order(data, 1)
    bid, ref = stacked_broker_order(data, corder)
    result = create_broker_orders(data)
    assert result.sent == [bid]
    assert len(data.broker.find_orders(ref)) == 1
    assert len(data.broker.get_orders()) == 1


def test_crash_before_the_parent_event_links_the_parent(env):
    """Killed between the broker order's creation and its contract order's SENT: the rerun
    gives the contract order its SENT (so its fills can complete it), and sends once."""
    data, clock = env
    corder = contract_order(data, 1)
    bid, _ = stacked_broker_order(data, corder)
    create_broker_orders(data)
    parent = data.order_stack("contract").get_order(corder.order_id)
    assert parent.status is OrderStatus.WORKING and parent.children == (bid,)
    assert len(data.broker.get_orders()) == 1


def test_crashed_submission_denied_by_the_gate_is_rejected_with_its_reason(env):
    """A broker order left unsent by a crash meets a gate that now denies it: it is recorded
    REJECTED with the gate's reason and never placed; its contract order stays to retry."""
    data, clock = env
    corder = contract_order(data, 1)
    bid, ref = stacked_broker_order(data, corder)
    data.locks.lock(CODE, T0, "break")
    result = create_broker_orders(data)
    assert result.sent == [] and result.adopted == [] and "locked: break" in result.denied[bid]
    rejected = data.order_stack("broker").get_order(bid)
    assert rejected.status is OrderStatus.REJECTED
    assert rejected.reason == GATE + result.denied[bid]
    assert data.broker.find_orders(ref) == [] and data.broker.get_orders() == []


def test_a_resize_by_the_gate_is_recorded_on_the_broker_order(env):
    data, clock = env
    ask_size = data.broker.get_bid_ask(CODE, CONTRACT).ask_size
    contract_order(data, ask_size + 100)  # more than the touch: cut to the visible size
    [bid] = create_broker_orders(data, execution=MARKET).sent
    bstack = data.order_stack("broker")
    assert bstack.get_order(bid).legs[0].trade == ask_size
    created = bstack.events(bid)[0]
    assert created.reason.startswith(GATE)
    assert f"liquidity: {ask_size + 100} cut to {ask_size}" in created.reason
