"""Broker statuses never run ahead of the money: an order the broker reports finished with fills
we have not booked yet stays live on our stack, so no second broker order is made for a
remainder that is in fact filled; a cancel reaches an order the broker took just before a crash
(SQLite and MongoDB, simulated broker)."""
from __future__ import annotations

import pandas as pd
import pytest

from sysexecution.broker_fills import book_executions
from sysexecution.broker_orders import create_broker_orders
from sysexecution.order_completion import propagate_cancels, sync_broker_statuses
from sysobjects.orders.status import OrderEventType, OrderStatus
from tests.sysexecution.test_broker_orders import (
    CODE,
    CONTRACT,
    T0,
    contract_order,
    stacked_broker_order,
)

TRADE = 200  # larger than the touch: the simulated broker fills it in parts


@pytest.fixture
def env(sim_broker_env):
    return sim_broker_env


def test_cancel_with_unbooked_fills_waits_for_the_executions(env):
    data, clock = env
    corder = contract_order(data, TRADE)
    bid, ref = stacked_broker_order(data, corder, TRADE)
    data.broker.place_order(CODE, CONTRACT, TRADE, client_ref=ref)
    assert create_broker_orders(data).adopted == [bid]
    clock.advance(pd.Timedelta(seconds=6))
    broker_id = data.order_stack("broker").get_order(bid).broker_order_id
    data.broker.cancel_order(broker_id)
    clock.advance(pd.Timedelta(seconds=1))
    theirs = data.broker.get_order(broker_id)
    assert theirs.status.value == "CANCELLED" and 0 < theirs.filled_quantity < TRADE

    sync_broker_statuses(data)  # the executions are not booked yet
    assert data.order_stack("broker").get_order(bid).status is not OrderStatus.CANCELLED
    assert create_broker_orders(data).sent == []  # no order for a rest that is filled

    book_executions(data, data.broker.get_executions())
    sync_broker_statuses(data)
    assert data.order_stack("broker").get_order(bid).status is OrderStatus.CANCELLED
    [sent] = create_broker_orders(data).sent
    rest = data.order_stack("broker").get_order(sent).legs[0].trade
    assert 0 < rest <= TRADE - theirs.filled_quantity


def test_cancel_of_a_crashed_submission_the_broker_has_reaches_the_broker(env):
    """Placed, then killed before SENT; the strategy then cancels. The broker order is not
    'never sent': it is adopted and cancelled at the broker, not left working there."""
    data, clock = env
    corder = contract_order(data, 1)
    bid, ref = stacked_broker_order(data, corder)
    [theirs] = [data.broker.place_order(CODE, CONTRACT, 1, client_ref=ref)]
    istack = data.order_stack("instrument")
    istack.apply_event(corder.parent_id, OrderEventType.CANCEL_REQUESTED, T0, "strategy")
    propagate_cancels(data)
    assert data.broker.get_order(theirs.order_id).status.value in ("PENDING_CANCEL",
                                                                   "CANCELLED")
    ours = data.order_stack("broker").get_order(bid)
    assert ours.broker_order_id == theirs.order_id
    assert ours.status is OrderStatus.PENDING_CANCEL


def test_cancel_of_a_crashed_submission_the_broker_lacks_needs_no_broker(env):
    data, clock = env
    corder = contract_order(data, 1)
    bid, ref = stacked_broker_order(data, corder)
    istack = data.order_stack("instrument")
    istack.apply_event(corder.parent_id, OrderEventType.CANCEL_REQUESTED, T0, "strategy")
    propagate_cancels(data)
    propagate_cancels(data)
    assert data.order_stack("broker").get_order(bid).status is OrderStatus.CANCELLED
    assert data.order_stack("contract").get_order(corder.order_id).status \
        is OrderStatus.CANCELLED
    assert data.broker.get_orders() == []
