"""Broker statuses never run ahead of the money: an order the broker reports finished with fills
we have not booked yet stays live on our stack, so no second broker order is made for a
remainder that is in fact filled (SQLite and MongoDB, simulated broker)."""
from __future__ import annotations

import pandas as pd
import pytest

from sysexecution.broker_fills import book_executions
from sysexecution.broker_orders import create_broker_orders
from sysexecution.order_completion import sync_broker_statuses
from sysobjects.orders.status import OrderStatus
from tests.blob_helpers import sim_broker_blob
from tests.sysexecution.test_broker_orders import (
    CODE,
    CONTRACT,
    T0,
    contract_order,
    stacked_broker_order,
)

TRADE = 200  # larger than the touch: the simulated broker fills it in parts


@pytest.fixture(params=["sqlite", "mongodb"])
def env(request, systrade_home):
    url = request.getfixturevalue("mongo_url") if request.param == "mongodb" else None
    with sim_broker_blob(systrade_home, request.param, url, start=T0) as data_and_clock:
        yield data_and_clock


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
