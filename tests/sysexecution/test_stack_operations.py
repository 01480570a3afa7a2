"""Operator actions on the stacks, on real stores (SQLite, MongoDB) and the simulated broker:
cancel a broker order, net instrument orders, locks, algo locks, delete orders and stacks."""
from __future__ import annotations

import pandas as pd
import pytest

from syscore.exceptions import InvalidData
from sysexecution.broker_orders import create_broker_orders
from sysexecution.manual_orders import manual_trade
from sysexecution.spawn_orders import spawn_contract_orders
from sysexecution.stack_operations import (
    cancel_broker_order,
    delete_order,
    delete_stack,
    lock_all_instruments,
    lock_instrument,
    lock_order,
    net_instrument_orders,
    remove_algo_lock,
    unlock_all_instruments,
    unlock_instrument,
    unlock_order,
)
from sysobjects.orders.orders import InstrumentOrder
from sysobjects.orders.status import OrderEventType, OrderStatus
from sysproduction.run_stack_handler import stack_handler_pass

CODE, OTHER, PRICED, FORWARD = "SP500_micro", "NASDAQ_micro", "202403", "202406"


@pytest.fixture
def env(sim_broker_env):
    return sim_broker_env


def contracts(data, code):
    return PRICED, FORWARD


def instrument_order(data, trade, code=CODE, strategy="trend"):
    stack = data.order_stack("instrument")
    return stack.add_order(InstrumentOrder(order_id=stack.new_order_id(), strategy_name=strategy,
                                           instrument_code=code, trade=trade), data.now())


def test_cancel_broker_order_reaches_the_broker(env):
    data, clock = env
    manual_trade(data, "trend", CODE, [(PRICED, 2)])
    create_broker_orders(data)
    [order] = data.order_stack("broker").orders()
    cancelled = cancel_broker_order(data, order.order_id, "wrong size")
    assert cancelled.status is OrderStatus.PENDING_CANCEL
    assert cancelled.reason == "cancelled by hand: wrong size"
    assert data.broker.get_order(order.broker_order_id).status.value in (
        "PENDING_CANCEL", "CANCELLED")
    with pytest.raises(InvalidData):
        cancel_broker_order(data, order.order_id, "")
    clock.advance(pd.Timedelta(minutes=1))
    stack_handler_pass(data, contracts=contracts)
    # whatever filled before the cancel took effect is booked, once
    filled = data.order_stack("broker").get_order(order.order_id).filled
    held = {p.contract_date: p.quantity for p in data.broker.get_positions()}
    assert held.get(PRICED, 0) == sum(filled) == data.positions.get_contract_position(CODE, PRICED)


def test_cancel_of_a_broker_order_never_sent(env):
    data, _ = env
    from tests.sysexecution.test_broker_orders import contract_order, stacked_broker_order

    bid, _ = stacked_broker_order(data, contract_order(data, 1))
    done = cancel_broker_order(data, bid, "never mind")
    assert done.status is OrderStatus.CANCELLED and data.broker.get_orders() == []


def test_net_instrument_orders(env):
    data, _ = env
    a, b, c = (instrument_order(data, t) for t in (2, -1, 3))
    other = instrument_order(data, 1, code=OTHER)
    x, y = (instrument_order(data, t, strategy="carry") for t in (2, -2))
    result = net_instrument_orders(data)
    assert result.kept == {a.order_id: 4, x.order_id: 0}
    assert sorted(result.cancelled) == [b.order_id, c.order_id, y.order_id]
    stack = data.order_stack("instrument")
    assert [(o.order_id, o.trade) for o in stack.orders({"status": "INITIALIZED"})] == [
        (a.order_id, 4), (other.order_id, 1)]
    assert stack.get_order(b.order_id).reason == f"netted into order {a.order_id}"
    assert str(net_instrument_orders(data)) == "nothing to net"


def test_net_leaves_spawned_orders_alone(env):
    data, _ = env
    first = instrument_order(data, 2)
    spawn_contract_orders(data, contracts)
    second, third = instrument_order(data, 1), instrument_order(data, 1)
    result = net_instrument_orders(data)
    assert result.kept == {second.order_id: 2} and result.cancelled == [third.order_id]
    assert data.order_stack("instrument").get_order(first.order_id).trade == 2


def test_lock_and_unlock_an_order(env):
    data, _ = env
    order = instrument_order(data, 2)
    assert lock_order(data, "instrument", order.order_id, "checking").locked
    assert spawn_contract_orders(data, contracts) == {}  # a locked order waits
    assert not unlock_order(data, "instrument", order.order_id, "checked").locked
    assert order.order_id in spawn_contract_orders(data, contracts)
    with pytest.raises(InvalidData):
        lock_order(data, "nowhere", order.order_id, "x")


def test_instrument_locks(env):
    data, _ = env
    lock_instrument(data, CODE, "roll by hand")
    assert data.locks.reason(CODE) == "roll by hand"
    stack_handler_pass(data, contracts=contracts)
    assert data.locks.is_locked(CODE)  # an operator's lock is not lifted by the handler
    unlock_instrument(data, CODE)
    assert not data.locks.is_locked(CODE)
    instrument_order(data, 1, code=OTHER)
    locked = lock_all_instruments(data, "fire drill")
    assert OTHER in locked and all(data.locks.is_locked(code) for code in locked)
    assert sorted(unlock_all_instruments(data)) == sorted(locked)
    assert data.locks.locked_instruments() == []


def test_remove_algo_lock(env):
    data, _ = env
    made = manual_trade(data, "trend", CODE, [(PRICED, 1)])
    cstack = data.order_stack("contract")
    cstack.apply_event(made.contract_order_id, OrderEventType.MODIFIED, data.now(), "algo",
                       {"algo_state": "best/host:123"})
    freed = remove_algo_lock(data, made.contract_order_id, "algo process died")
    assert freed.algo_state is None and "best/host:123" in freed.reason
    with pytest.raises(InvalidData, match="not controlled"):
        remove_algo_lock(data, made.contract_order_id, "again")


def test_delete_an_order_keeps_its_history(env):
    data, _ = env
    order = instrument_order(data, 2)
    deleted = delete_order(data, "instrument", order.order_id, "typo")
    assert deleted.status is OrderStatus.COMPLETED
    stack = data.order_stack("instrument")
    assert stack.orders() == []
    assert [e.event.value for e in stack.events(order.order_id)] == [
        "created", "cancelled", "completed"]
    assert stack.events(order.order_id)[-1].reason == "deleted by hand: typo"
    with pytest.raises(InvalidData, match="already completed"):
        delete_order(data, "instrument", order.order_id, "again")


def test_delete_a_stack_refuses_orders_live_at_the_broker(env):
    data, clock = env
    manual_trade(data, "trend", CODE, [(PRICED, 1)])
    create_broker_orders(data)
    [live] = data.order_stack("broker").orders()
    result = delete_stack(data, "broker", "clean up")
    assert result.deleted == [] and "cancel it first" in result.refused[live.order_id]
    for level in ("instrument", "contract"):  # first, or the rest is sent again
        assert len(delete_stack(data, level, "clean up").deleted) == 1
    cancel_broker_order(data, live.order_id, "clean up")
    clock.advance(pd.Timedelta(minutes=1))
    out = stack_handler_pass(data, contracts=contracts)  # statuses from the broker
    assert out["broker orders"].startswith("0 sent")
    assert delete_stack(data, "broker", "clean up").deleted == [live.order_id]
    assert all(data.order_stack(s).orders() == [] for s in ("instrument", "contract", "broker"))


def test_net_when_the_oldest_is_spawned_meanwhile_loses_nothing(env, monkeypatch):
    from sysexecution import stack_operations
    from sysexecution.spawn_orders import spawn_one

    data, _ = env
    a, b = instrument_order(data, 2), instrument_order(data, 1)
    real, calls = stack_operations._nettable, []

    def racing(data_, order):
        calls.append(order.order_id)
        if len(calls) == 3:  # the check before changing the oldest: the handler spawns it now
            spawn_one(data_, data_.order_stack("instrument").get_order(a.order_id), contracts)
        return real(data_, order)

    monkeypatch.setattr(stack_operations, "_nettable", racing)
    result = net_instrument_orders(data)
    assert result.cancelled == [b.order_id] and result.kept == {}
    [added] = result.added
    stack = data.order_stack("instrument")
    assert stack.get_order(a.order_id).trade == 2  # spawned as it was
    assert stack.get_order(added).trade == 1  # b's trade carried by a new order
    assert sum(o.trade for o in stack.orders() if o.status is not OrderStatus.CANCELLED) == 3


def test_delete_refuses_a_broker_order_placed_but_never_marked_sent(env):
    """A crash between placing and the SENT event: the broker has it under our client_ref."""
    data, _ = env
    from tests.sysexecution.test_broker_orders import contract_order, stacked_broker_order

    bid, ref = stacked_broker_order(data, contract_order(data, 1))
    data.broker.place_order(CODE, PRICED, 1, client_ref=ref)
    with pytest.raises(InvalidData, match="live at the broker"):
        delete_order(data, "broker", bid, "x")
    cancelled = cancel_broker_order(data, bid, "found after a crash")  # adopted, cancelled
    assert cancelled.status is OrderStatus.PENDING_CANCEL and cancelled.broker_order_id


def test_delete_refuses_a_broker_order_when_the_broker_cannot_be_asked(env):
    """A disconnected broker is not 'the broker does not know the order'."""
    data, _ = env
    manual_trade(data, "trend", CODE, [(PRICED, 1)])
    create_broker_orders(data)
    [live] = data.order_stack("broker").orders()
    data.broker.disconnect()
    with pytest.raises(InvalidData, match="cannot ask the broker"):
        delete_order(data, "broker", live.order_id, "clean up")
    assert data.order_stack("broker").get_order(live.order_id).status is not \
        OrderStatus.COMPLETED


def test_net_refuses_while_the_stack_handler_runs(env):
    """The handler may have read an order and be spawning it with its old trade: a netted
    order would then be traded with the trade it had before (e.g. 2 instead of 1)."""
    import os

    from syscore.exceptions import ConcurrencyError
    from sysdata.leases import LeaseData

    data, _ = env
    a, _ = instrument_order(data, 2), instrument_order(data, -1)
    handler = LeaseData(data.state, pid=os.getppid())  # a live process
    lease = handler.take("process/run_stack_handler", "run_stack_handler")
    try:
        with pytest.raises(ConcurrencyError, match="run_stack_handler is running"):
            net_instrument_orders(data)
    finally:
        handler.release(lease)
    stack = data.order_stack("instrument")
    assert [o.trade for o in stack.orders()] == [2, -1]
    assert net_instrument_orders(data).kept == {a.order_id: 1}
