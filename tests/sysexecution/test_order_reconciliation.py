"""Reconciliation with the simulated broker on real stores: orphan orders cancelled (or left)
with their reason, crashed submissions adopted, vanished orders closed, fills that came while
the handler was dead or disconnected booked once, strategy vs contract positions."""
from __future__ import annotations

import pandas as pd
import pytest

from sysexecution.algo_orders import ExecutionSettings
from sysexecution.broker_fills import book_events
from sysexecution.broker_orders import create_broker_orders
from sysexecution.order_reconciliation import (
    INTERNAL_BREAK_LOCK_REASON,
    reconcile_internal,
    reconcile_orders,
    recover_executions,
    recovery_due,
)
from sysobjects.orders.orders import BrokerOrder, ContractOrder, InstrumentOrder, Leg, client_ref
from sysobjects.orders.status import OrderEventType, OrderLevel, OrderStatus
from tests.blob_helpers import SIM_START, reopened

CODE, CONTRACT = "SP500_micro", "202403"
MARKET = ExecutionSettings(default_algo="market")


@pytest.fixture
def env(sim_broker_env):
    return sim_broker_env


def contract_order(data, trade, code=CODE):
    istack, cstack = data.order_stack("instrument"), data.order_stack("contract")
    parent = istack.add_order(InstrumentOrder(order_id=istack.new_order_id(),
                                              strategy_name="trend", instrument_code=code,
                                              trade=trade), SIM_START)
    return cstack.add_order(ContractOrder(order_id=cstack.new_order_id(), strategy_name="trend",
                                          instrument_code=code, parent_id=parent.order_id,
                                          legs=(Leg(CONTRACT, trade),)), SIM_START)


def ledger_fills(data):
    return [d["record"] for d in data.ledger.records(0, None) if d["kind"] == "fill"]


@pytest.mark.parametrize("ref,why", [
    ("", "not placed by systrade"),
    ("manual/7", "not placed by systrade"),
    ("systrade/broker/999", "no such broker order on our stack"),
])
def test_orphans_are_cancelled_with_their_reason(env, ref, why):
    data, clock = env
    theirs = data.broker.place_order(CODE, CONTRACT, 1, client_ref=ref)
    result = reconcile_orders(data)
    assert why in result.orphans[theirs.order_id]
    assert result.cancelled == [theirs.order_id]
    clock.advance(pd.Timedelta(seconds=1))
    assert data.broker.get_order(theirs.order_id).status.value == "CANCELLED"
    assert reconcile_orders(data).orphans == {}  # gone: not alerted again


def test_orphans_left_working_when_so_configured(env):
    data, clock = env
    theirs = data.broker.place_order(CODE, CONTRACT, 1, client_ref="manual/1")
    result = reconcile_orders(data, cancel_orphans=False)
    assert list(result.orphans) == [theirs.order_id] and result.cancelled == []
    assert not data.broker.get_order(theirs.order_id).status.is_terminal


def test_an_order_of_ours_we_think_finished_is_an_orphan(env):
    """Our broker order marked 'never sent' (CANCELLED) that the broker has working after all
    (a store restored from an older backup): cancelled, the alert names our order."""
    data, clock = env
    corder = contract_order(data, 1)
    bstack = data.order_stack("broker")
    bid = bstack.new_order_id()
    ref = client_ref(OrderLevel.BROKER, bid)
    order = bstack.add_order(BrokerOrder(order_id=bid, strategy_name="trend",
                                         instrument_code=CODE, parent_id=corder.order_id,
                                         legs=(Leg(CONTRACT, 1),), client_ref=ref), SIM_START)
    bstack.apply_event(order, OrderEventType.CANCELLED, SIM_START, "never sent")
    theirs = data.broker.place_order(CODE, CONTRACT, 1, client_ref=ref)
    result = reconcile_orders(data)
    assert f"our broker order {bid} is CANCELLED" in result.orphans[theirs.order_id]
    assert result.cancelled == [theirs.order_id]


def test_a_crashed_submission_found_at_the_broker_is_adopted(env):
    data, clock = env
    corder = contract_order(data, 1)
    bstack = data.order_stack("broker")
    bid = bstack.new_order_id()
    ref = client_ref(OrderLevel.BROKER, bid)
    bstack.add_order(BrokerOrder(order_id=bid, strategy_name="trend", instrument_code=CODE,
                                 parent_id=corder.order_id, legs=(Leg(CONTRACT, 1),),
                                 client_ref=ref), SIM_START)
    theirs = data.broker.place_order(CODE, CONTRACT, 1, client_ref=ref)
    result = reconcile_orders(data)
    assert result.adopted == [theirs.order_id] and result.orphans == {}
    adopted = bstack.get_order(bid)
    assert adopted.status is OrderStatus.SUBMITTED and adopted.broker_order_id == theirs.order_id
    assert len(data.broker.get_orders()) == 1


def test_an_order_the_broker_does_not_know_is_closed(env):
    data, clock = env
    corder = contract_order(data, 1)
    create_broker_orders(data, execution=MARKET)
    [order] = data.order_stack("broker").orders()
    # the broker forgot it (e.g. a gateway reset): our record now points at nothing
    data.order_stack("broker").apply_event(order, OrderEventType.ACKNOWLEDGED, SIM_START, "",
                                           {"broker_order_id": "987654"})
    result = reconcile_orders(data)
    assert result.vanished == [order.order_id]
    closed = data.order_stack("broker").get_order(order.order_id)
    assert (closed.status, closed.reason) == (OrderStatus.CANCELLED, "unknown to the broker")
    assert data.order_stack("contract").get_order(corder.order_id).remaining == (1,)


def test_fills_while_the_handler_is_dead_are_booked_once(env, systrade_home):
    data, clock = env
    for code, trade in (("SP500_micro", 2), ("NASDAQ_micro", -3)):
        contract_order(data, trade, code)
    create_broker_orders(data, execution=MARKET)
    data.broker.close()  # the handler dies with its orders working; the broker fills them
    clock.advance(pd.Timedelta(minutes=2))
    for attempt in range(2):  # restarted, then restarted again
        fresh = reopened(data, systrade_home, clock)
        try:
            events = fresh.broker.drain_events()
            assert not [e for e in events if type(e).__name__ == "ExecutionEvent"]
            assert recovery_due(fresh, events)
            result = recover_executions(fresh, full=True)
            assert len(result.booked) == (2 if attempt == 0 else 0)
            assert not recovery_due(fresh, fresh.broker.drain_events())
            broker = {p.instrument_code: p.quantity for p in fresh.broker.get_positions()}
            assert broker == {"SP500_micro": 2, "NASDAQ_micro": -3}
            assert fresh.positions.get_strategy_position("trend", "SP500_micro") == 2
            assert fresh.positions.get_strategy_position("trend", "NASDAQ_micro") == -3
        finally:
            fresh.close()
    assert len(ledger_fills(data)) == 2


def test_fills_during_a_disconnection_are_recovered_on_reconnect(env):
    data, clock = env
    contract_order(data, 1)
    create_broker_orders(data, execution=MARKET)
    assert recover_executions(data, full=True).booked == []  # nothing filled yet
    data.broker.disconnect("gateway restart")
    clock.advance(pd.Timedelta(minutes=1))
    data.broker.connect()
    events = data.broker.drain_events()
    assert book_events(data, events).booked == []  # the outage's fill is not an event
    assert recovery_due(data, events)  # ... but the reconnect asks for a full recovery
    assert len(recover_executions(data, full=True).booked) == 1
    assert data.positions.get_contract_position(CODE, CONTRACT) == 1


def test_a_missed_fill_event_of_a_live_order_is_caught_by_the_next_pass(env):
    data, clock = env
    contract_order(data, 400)  # more than the touch: stays live after the first fills
    create_broker_orders(data, execution=ExecutionSettings(close_buffer_seconds=10**6))
    clock.advance(pd.Timedelta(seconds=6))
    data.broker.drain_events()  # drained and lost (a crash before booking them)
    result = recover_executions(data, full=False)
    assert result.booked and data.positions.get_contract_position(CODE, CONTRACT) == sum(
        f["quantity"] for f in ledger_fills(data))


def test_internal_break_locks_then_unlocks(env):
    data, clock = env
    contract_order(data, 1)
    create_broker_orders(data, execution=MARKET)
    clock.advance(pd.Timedelta(minutes=1))
    recover_executions(data, full=True)
    assert reconcile_internal(data).breaks == ()
    # a contract position changed by hand, the strategy's not: a break
    data.positions.set_contract_position(CODE, CONTRACT, 3, data.now(), "test")
    result = reconcile_internal(data)
    assert result.changes.lock == (CODE,)
    assert data.locks.reason(CODE) == INTERNAL_BREAK_LOCK_REASON
    assert "strategies 1, contracts 3" in result.describe(CODE)
    assert reconcile_internal(data).changes.lock == ()  # locked once, alerted once
    data.positions.set_contract_position(CODE, CONTRACT, 1, data.now(), "test")
    assert reconcile_internal(data).changes.unlock == (CODE,)
    assert not data.locks.is_locked(CODE)


def test_an_operators_lock_is_not_lifted_by_internal_reconciliation(env):
    data, clock = env
    data.locks.lock(CODE, SIM_START, "operator")
    assert reconcile_internal(data).changes.unlock == ()
    assert data.locks.reason(CODE) == "operator"
