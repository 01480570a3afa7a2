from __future__ import annotations

import pytest

from syscore.exceptions import ExistingData, InvalidData, MissingData
from sysdata.orders import OrderStackData
from sysdata.positions import CONTRACT_POSITIONS, STRATEGY_POSITIONS, PositionData


def test_strategy_and_contract_positions_with_history(state_store):
    data = PositionData(state_store)
    assert data.get_strategy_position("trend", "CORN") == 0
    data.set_strategy_position("trend", "CORN", 3, "2024-01-02", reason="fill 1")
    data.set_strategy_position("trend", "CORN", -2, "2024-01-03", reason="fill 2")
    assert data.get_strategy_position("trend", "CORN") == -2
    assert data.all_strategy_positions() == {("trend", "CORN"): -2}
    history = data.history(STRATEGY_POSITIONS, "trend/CORN")
    assert [h["position"] for h in history] == [3, -2]
    data.set_contract_position("CORN", "20240300", 4, "2024-01-03")
    assert data.get_contract_position("CORN", "202403") == 4
    assert data.all_contract_positions() == {("CORN", "202403"): 4}
    assert len(data.history(CONTRACT_POSITIONS, "CORN/202403")) == 1
    with pytest.raises(InvalidData, match="whole number"):
        data.set_contract_position("CORN", "202403", 1.5, "2024-01-03")
    assert data.get_contract_position("CORN", "202403") == 4


def test_order_stack_lifecycle(state_store):
    stack = OrderStackData(state_store, "instrument")
    ids = [stack.new_order_id() for _ in range(3)]
    assert ids == [1, 2, 3]
    stack.add_order({"order_id": ids[0], "instrument_code": "CORN", "trade": 2, "filled": 0})
    with pytest.raises(ExistingData):
        stack.add_order({"order_id": ids[0], "trade": 9})
    order = stack.get_order(ids[0])
    stack.update_order({**order, "filled": 2})
    assert stack.get_order(ids[0])["filled"] == 2
    assert stack.order_ids({"instrument_code": "CORN"}) == [1]
    stack.archive_order(ids[0])
    assert not stack.has_order(ids[0])
    assert stack.historic_order(ids[0])["filled"] == 2
    with pytest.raises(ExistingData, match="history"):
        stack.add_order({"order_id": ids[0], "trade": 1})
    with pytest.raises(MissingData):
        stack.update_order({"order_id": 99, "trade": 1})
    with pytest.raises(InvalidData):
        OrderStackData(state_store, "nonsense")


def test_stacks_have_independent_ids(state_store):
    a = OrderStackData(state_store, "contract")
    b = OrderStackData(state_store, "broker")
    assert (a.new_order_id(), b.new_order_id(), a.new_order_id()) == (1, 1, 2)
