"""Broker executions from the simulated broker into the ledger, exactly once, flowing to the
three order levels and the positions (SQLite and MongoDB)."""
from __future__ import annotations

import pandas as pd
import pytest

from sysbrokers.objects import ExecutionEvent
from sysexecution.broker_fills import book_events, book_executions
from sysobjects.orders.orders import (
    BrokerOrder,
    ContractOrder,
    InstrumentOrder,
    Leg,
    client_ref,
)
from sysobjects.orders.status import OrderLevel
from tests.blob_helpers import SIM_START

T0 = SIM_START  # the sim_broker_env clock's start
CODE, CONTRACT = "SP500_micro", "202403"


@pytest.fixture
def env(sim_broker_env):
    data, clock = sim_broker_env
    return data, data.broker, clock


def family(data, trade, roll=False):
    """An instrument order, its contract order and its broker order on the stacks."""
    istack, cstack, bstack = (data.order_stack(s) for s in ("instrument", "contract", "broker"))
    strategy = "_ROLL_PSEUDO_STRATEGY" if roll else "trend"
    parent = istack.add_order(InstrumentOrder(order_id=istack.new_order_id(),
                                              strategy_name=strategy, instrument_code=CODE,
                                              trade=0 if roll else trade, roll_order=roll), T0)
    child = cstack.add_order(ContractOrder(order_id=cstack.new_order_id(), strategy_name=strategy,
                                           instrument_code=CODE, parent_id=parent.order_id,
                                           legs=(Leg(CONTRACT, trade),), roll_order=roll), T0)
    bid = bstack.new_order_id()
    order = bstack.add_order(BrokerOrder(order_id=bid, strategy_name=strategy,
                                         instrument_code=CODE, parent_id=child.order_id,
                                         legs=(Leg(CONTRACT, trade),), roll_order=roll,
                                         client_ref=client_ref(OrderLevel.BROKER, bid)), T0)
    return parent, child, order


def test_fills_flow_to_every_level_once(env):
    data, broker, clock = env
    parent, child, order = family(data, 3)
    broker.drain_events()
    broker.place_order(CODE, CONTRACT, 3, client_ref=order.client_ref)
    clock.advance(pd.Timedelta(minutes=5))
    events = broker.drain_events()
    executions = [e.execution for e in events if isinstance(e, ExecutionEvent)]
    assert sum(e.quantity for e in executions) == 3
    first = book_events(data, events)
    assert sorted(first.booked) == sorted(e.exec_id for e in executions) and not first.unknown
    # the same executions again, as after a restart (get_executions): nothing booked
    again = book_executions(data, broker.get_executions())
    assert again.booked == [] and sorted(again.duplicates) == sorted(first.booked)
    assert data.positions.get_strategy_position("trend", CODE) == 3
    assert data.positions.get_contract_position(CODE, CONTRACT) == 3
    assert data.order_stack("instrument").get_order(parent.order_id).filled == 3
    assert data.order_stack("contract").get_order(child.order_id).filled == (3,)
    assert data.order_stack("broker").get_order(order.order_id).filled == (3,)
    broker_position = {(p.instrument_code, p.contract_date): p.quantity
                       for p in broker.get_positions()}
    assert broker_position[(CODE, CONTRACT)] == 3


def test_roll_fills_move_contracts_not_strategies(env):
    data, broker, clock = env
    _, _, order = family(data, -2, roll=True)
    broker.place_order(CODE, CONTRACT, -2, client_ref=order.client_ref)
    clock.advance(pd.Timedelta(minutes=5))
    book_executions(data, broker.get_executions())
    assert data.positions.get_contract_position(CODE, CONTRACT) == -2
    assert data.positions.all_strategy_positions() == {}


def test_executions_not_ours_are_not_booked(env):
    data, broker, clock = env
    broker.place_order(CODE, CONTRACT, 1, client_ref="someone-else")
    clock.advance(pd.Timedelta(minutes=5))
    result = book_executions(data, broker.get_executions())
    assert result.unknown and not result.booked
    assert data.positions.all_contract_positions() == {}
