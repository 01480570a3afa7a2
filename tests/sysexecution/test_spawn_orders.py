"""Spawning contract orders from instrument orders on real stores: roll states, waiting,
adoption of children after a crash, never two sets of children."""
from __future__ import annotations

import pandas as pd
import pytest

from sysexecution.spawn_orders import spawn_contract_orders, spawn_one
from sysobjects.orders.orders import ContractOrder, InstrumentOrder, Leg
from sysobjects.orders.status import OrderEventType, OrderStatus
from tests.blob_helpers import make_blob

NOW = pd.Timestamp("2024-01-02 12:00", tz="UTC")
PRICED, FORWARD = "202403", "202405"  # as stored (a YYYYMM00 date is a month)


def contracts(data, code):
    return "20240300", "20240500"  # as multiple prices give them


@pytest.fixture(params=["sqlite", "mongodb"])
def data(request, tmp_path):
    url = request.getfixturevalue("mongo_url") if request.param == "mongodb" else None
    blob = make_blob(tmp_path / "home", request.param, url)
    yield blob
    blob.close()


def add(data, trade, **kw):
    stack = data.order_stack("instrument")
    order = InstrumentOrder(order_id=stack.new_order_id(), strategy_name="trend",
                            instrument_code="CORN", trade=trade, reference_price=455.0, **kw)
    return stack.add_order(order, NOW)


def children(data, parent_id):
    return [tuple((leg.contract_date, leg.trade) for leg in c.legs)
            for c in data.order_stack("contract").orders({"parent_id": parent_id})]


def test_no_roll_goes_to_priced_and_parent_is_sent(data):
    order = add(data, 3)
    spawned = spawn_contract_orders(data, contracts)
    assert children(data, order.order_id) == [((PRICED, 3),)]
    parent = data.order_stack("instrument").get_order(order.order_id)
    assert parent.status is OrderStatus.WORKING and parent.children == spawned[order.order_id]
    assert spawn_contract_orders(data, contracts) == {}  # spawned once
    assert len(children(data, order.order_id)) == 1


def test_passive_zero_crossing_splits(data):
    data.roll_states.set("CORN", "Passive")
    data.positions.set_contract_position("CORN", PRICED, 2, NOW)
    order = add(data, -5)
    spawn_contract_orders(data, contracts)
    assert sorted(children(data, order.order_id)) == [((PRICED, -2),), ((FORWARD, -3),)]


def test_passive_increase_goes_forward(data):
    data.roll_states.set("CORN", "Passive")
    data.positions.set_contract_position("CORN", PRICED, 2, NOW)
    order = add(data, 1)
    spawn_contract_orders(data, contracts)
    assert children(data, order.order_id) == [((FORWARD, 1),)]


@pytest.mark.parametrize("state", ["Force", "Roll_Adjusted"])
def test_waiting_states_leave_the_order(data, state):
    data.roll_states.set("CORN", state)
    data.positions.set_contract_position("CORN", PRICED, 2, NOW)
    order = add(data, 1)
    assert spawn_contract_orders(data, contracts) == {}
    assert data.order_stack("instrument").get_order(order.order_id).status \
        is OrderStatus.INITIALIZED


def test_close_only_reduces(data):
    data.roll_states.set("CORN", "Close")
    data.positions.set_contract_position("CORN", PRICED, 2, NOW)
    order = add(data, -5)
    spawn_contract_orders(data, contracts)
    assert children(data, order.order_id) == [((PRICED, -2),)]


def test_locked_and_zero_orders_are_skipped(data):
    locked = add(data, 2)
    data.order_stack("instrument").lock(locked.order_id, NOW, "operator")
    add(data, 0, roll_order=True)
    assert spawn_contract_orders(data, contracts) == {}


def test_crash_between_children_adopts_and_completes(data):
    """A crash after the first child of a zero-crossing split: the rerun adopts it and spawns
    only the rest, in the forward (the priced leg already closes the priced position)."""
    data.roll_states.set("CORN", "Passive")
    data.positions.set_contract_position("CORN", PRICED, 2, NOW)
    order = add(data, -5)
    cstack = data.order_stack("contract")
    cstack.add_order(ContractOrder(order_id=cstack.new_order_id(), strategy_name="trend",
                                   instrument_code="CORN", parent_id=order.order_id,
                                   legs=(Leg(PRICED, -2),)), NOW)
    ids = spawn_one(data, data.order_stack("instrument").get_order(order.order_id), contracts)
    assert len(ids) == 2
    assert sorted(children(data, order.order_id)) == [((PRICED, -2),), ((FORWARD, -3),)]


def test_crash_after_all_children_only_adopts(data):
    order = add(data, 4)
    cstack = data.order_stack("contract")
    cstack.add_order(ContractOrder(order_id=cstack.new_order_id(), strategy_name="trend",
                                   instrument_code="CORN", parent_id=order.order_id,
                                   legs=(Leg(PRICED, 4),)), NOW)
    spawn_contract_orders(data, contracts)
    assert children(data, order.order_id) == [((PRICED, 4),)]
    assert data.order_stack("instrument").get_order(order.order_id).status \
        is OrderStatus.WORKING


def test_a_spawn_racing_a_cancel_leaves_no_live_child(data):
    """The handler read the order; the order generator cancelled it; the handler's spawn then
    must not stand: its children are cancelled, nothing is sent, and the parent stays
    cancelled with no children."""
    stale = add(data, 3)  # what the handler read
    stack = data.order_stack("instrument")
    stack.apply_event(stale.order_id, OrderEventType.CANCELLED, NOW,
                      reason="order generator: wanted 0")
    assert spawn_one(data, stale, contracts) == ()
    made = data.order_stack("contract").orders({"parent_id": stale.order_id},
                                               include_completed=True)
    assert made and all(c.status is OrderStatus.CANCELLED for c in made)
    parent = stack.get_order(stale.order_id)
    assert parent.status is OrderStatus.CANCELLED and parent.children == ()


def test_a_spawn_racing_a_change_is_redone_from_fresh_data(data):
    """The order was modified (e.g. locked then unlocked) between the read and the spawn: the
    stale spawn is undone and the next spawn makes the children once, not twice."""
    stale = add(data, 2)
    stack = data.order_stack("instrument")
    stack.lock(stale.order_id, NOW, "operator")
    stack.unlock(stale.order_id, NOW, "operator")
    assert spawn_one(data, stale, contracts) == ()
    assert spawn_contract_orders(data, contracts) != {}
    live = [c for c in data.order_stack("contract").orders({"parent_id": stale.order_id})
            if c.status is not OrderStatus.CANCELLED]
    assert [tuple((leg.contract_date, leg.trade) for leg in c.legs) for c in live] \
        == [((PRICED, 2),)]
    assert stack.get_order(stale.order_id).status is OrderStatus.WORKING


def test_children_of_a_cancelled_parent_are_cancelled_by_the_cancel_step(data):
    """A crash right after a lost race leaves an INITIALIZED child under a cancelled parent:
    propagate_cancels cancels it before any broker order can be made for it."""
    from sysexecution.order_completion import propagate_cancels

    order = add(data, 1)
    cstack = data.order_stack("contract")
    child = cstack.add_order(ContractOrder(order_id=cstack.new_order_id(), strategy_name="trend",
                                           instrument_code="CORN", parent_id=order.order_id,
                                           legs=(Leg(PRICED, 1),)), NOW)
    data.order_stack("instrument").apply_event(order.order_id, OrderEventType.CANCELLED, NOW,
                                               reason="order generator")
    assert propagate_cancels(data) >= 1
    assert cstack.get_order(child.order_id).status in (OrderStatus.PENDING_CANCEL,
                                                      OrderStatus.CANCELLED)
