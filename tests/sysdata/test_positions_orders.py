from __future__ import annotations

import pytest

from syscore.exceptions import ExistingData, InvalidData, InvalidTransition, MissingData
from sysdata.orders import OrderStackData
from sysdata.positions import CONTRACT_POSITIONS, STRATEGY_POSITIONS, PositionData
from sysobjects.orders.orders import InstrumentOrder
from sysobjects.orders.status import OrderEventType, OrderStatus


def test_strategy_positions_of_one_instrument(state_store):
    """The order generator's position limits read one instrument's strategy positions (an
    indexed query), not every position of every instrument once per order."""
    data = PositionData(state_store)
    data.set_strategy_position("trend", "CORN", 3, "2024-01-02", reason="fill")
    data.set_strategy_position("carry", "CORN", -1, "2024-01-02", reason="fill")
    data.set_strategy_position("trend", "WHEAT", 5, "2024-01-02", reason="fill")
    data.set_strategy_position("carry", "WHEAT", 0, "2024-01-02", reason="fill")
    assert data.all_strategy_positions("CORN") == {("trend", "CORN"): 3, ("carry", "CORN"): -1}
    assert data.all_strategy_positions("WHEAT") == {("trend", "WHEAT"): 5}
    assert data.all_strategy_positions("SOYBEAN") == {}
    assert len(data.all_strategy_positions()) == 3


def test_strategy_and_contract_positions_with_history(state_store):
    data = PositionData(state_store)
    assert data.get_strategy_position("trend", "CORN") == 0
    data.set_strategy_position("trend", "CORN", 3, "2024-01-02", reason="fill 1")
    data.set_strategy_position("trend", "CORN", -2, "2024-01-03", reason="fill 2")
    assert data.get_strategy_position("trend", "CORN") == -2
    assert data.all_strategy_positions() == {("trend", "CORN"): -2}
    history = data.history(STRATEGY_POSITIONS, "trend/CORN")
    assert [h["position"] for h in history] == [3, -2]
    assert [h["quantity"] for h in history] == [3, -5]
    data.set_contract_position("CORN", "20240300", 4, "2024-01-03")
    assert data.get_contract_position("CORN", "202403") == 4
    assert data.all_contract_positions() == {("CORN", "202403"): 4}
    assert len(data.history(CONTRACT_POSITIONS, "CORN/202403")) == 1
    with pytest.raises(InvalidData, match="whole number"):
        data.set_contract_position("CORN", "202403", 1.5, "2024-01-03")
    assert data.get_contract_position("CORN", "202403") == 4
    data.set_contract_position("CORN", "202403", 4, "2024-01-04")  # already there: nothing
    assert len(data.history(CONTRACT_POSITIONS, "CORN/202403")) == 1


def _order(order_id, **kw):
    return InstrumentOrder(order_id=order_id, strategy_name="trend", instrument_code="CORN",
                           trade=2, **kw)


def test_order_stack_lifecycle(state_store):
    stack = OrderStackData(state_store, "instrument")
    ids = [stack.new_order_id() for _ in range(3)]
    assert ids == [1, 2, 3]
    stack.add_order(_order(ids[0]), "2024-01-01")
    with pytest.raises(ExistingData):
        stack.add_order(_order(ids[0], reference_price=3.0), "2024-01-01")
    order = stack.apply_event(ids[0], OrderEventType.SENT, "2024-01-01", "spawned",
                              {"children": [7]})
    assert order.status is OrderStatus.WORKING and order.children == (7,)
    assert stack.order_ids({"instrument_code": "CORN"}) == [1]
    with pytest.raises(InvalidTransition):
        stack.complete(ids[0], "2024-01-02")  # working: cannot be completed
    assert stack.get_order(ids[0]).status is OrderStatus.WORKING  # nothing written
    stack.apply_event(ids[0], OrderEventType.CANCELLED, "2024-01-02", "end of day")
    stack.complete(ids[0], "2024-01-02")
    assert stack.order_ids() == []
    assert [o.order_id for o in stack.historic_orders()] == [1]
    assert [e.event for e in stack.events(ids[0])] == [
        OrderEventType.CREATED, OrderEventType.SENT, OrderEventType.CANCELLED,
        OrderEventType.COMPLETED]
    with pytest.raises(MissingData):
        stack.get_order(99)
    with pytest.raises(InvalidData):
        OrderStackData(state_store, "nonsense")


def test_stacks_have_independent_ids(state_store):
    a = OrderStackData(state_store, "contract")
    b = OrderStackData(state_store, "broker")
    assert (a.new_order_id(), b.new_order_id(), a.new_order_id()) == (1, 1, 2)
