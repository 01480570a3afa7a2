"""Force-roll orders on real stores: one spread, two outrights, close only; never twice."""
from __future__ import annotations

import pandas as pd
import pytest

from sysexecution.roll_orders import ROLL_STRATEGY, generate_force_roll_orders
from sysobjects.orders.orders import InstrumentOrder, InstrumentOrderType
from sysobjects.orders.status import OrderStatus
from tests.blob_helpers import make_blob

NOW = pd.Timestamp("2024-01-02 12:00", tz="UTC")
PRICED, FORWARD = "202403", "202405"


def contracts(data, code):
    return "20240300", "20240500"


@pytest.fixture(params=["sqlite", "mongodb"])
def data(request, tmp_path):
    url = request.getfixturevalue("mongo_url") if request.param == "mongodb" else None
    blob = make_blob(tmp_path / "home", request.param, url)
    blob.positions.set_contract_position("CORN", PRICED, 3, NOW)
    yield blob
    blob.close()


def legs(data):
    return sorted(tuple((leg.contract_date, leg.trade) for leg in c.legs)
                  for c in data.order_stack("contract").orders())


@pytest.mark.parametrize("state,expected", [
    ("Force", [((PRICED, -3), (FORWARD, 3))]),
    ("Force_Outright", [((PRICED, -3),), ((FORWARD, 3),)]),
    ("Close", [((PRICED, -3),)]),
])
def test_roll_orders_by_state_once(data, state, expected):
    data.roll_states.set("CORN", state)
    made = generate_force_roll_orders(data, contracts)
    assert list(made) == ["CORN"] and legs(data) == expected
    [parent] = data.order_stack("instrument").orders()
    assert parent.roll_order and parent.trade == 0 and parent.strategy_name == ROLL_STRATEGY
    assert parent.status is OrderStatus.WORKING and parent.children == made["CORN"]
    assert generate_force_roll_orders(data, contracts) == {}
    assert legs(data) == expected


def test_no_priced_position_no_roll(data):
    data.roll_states.set("CORN", "Force")
    data.positions.set_contract_position("CORN", PRICED, 0, NOW)
    assert generate_force_roll_orders(data, contracts) == {}
    assert data.order_stack("instrument").orders() == []


def test_other_states_no_roll(data):
    data.roll_states.set("CORN", "Passive")
    assert generate_force_roll_orders(data, contracts) == {}


def test_crash_after_parent_finishes_it(data):
    data.roll_states.set("CORN", "Force")
    stack = data.order_stack("instrument")
    stack.add_order(InstrumentOrder(order_id=stack.new_order_id(), strategy_name=ROLL_STRATEGY,
                                    instrument_code="CORN", trade=0, roll_order=True,
                                    order_type=InstrumentOrderType.ZERO_ROLL), NOW)
    generate_force_roll_orders(data, contracts)
    assert len(stack.orders()) == 1
    assert legs(data) == [((PRICED, -3), (FORWARD, 3))]
