"""The broker interface shaped for IB: string ids, client_ref and account on orders and
executions, commissions reported by execution id, find_orders, connection and drained events."""

from __future__ import annotations

import pandas as pd
import pytest

from sysbrokers.errors import BrokerDisconnected, OrderRejected, RejectReason, UnknownOrder
from sysbrokers.objects import (
    CommissionEvent,
    ConnectionEvent,
    ExecutionEvent,
    OrderStatus,
    OrderStatusEvent,
)
from sysbrokers.sim.broker import SimBroker
from sysbrokers.sim.market import default_market
from syscore.clock import SimulatedClock

T0 = pd.Timestamp("2024-01-09 15:00", tz="UTC")
CODE, CONTRACT = "SP500_micro", "202403"


@pytest.fixture
def sim(systrade_home):
    clock = SimulatedClock(systrade_home, start=T0)
    broker = SimBroker(clock, systrade_home, default_market())
    yield clock, broker
    broker.close()


def test_ids_are_strings_and_orders_carry_client_ref_and_account(sim):
    clock, broker = sim
    order = broker.place_order(CODE, CONTRACT, 3, client_ref="systrade/broker/7")
    assert isinstance(order.order_id, str) and order.account == "SIM0001"
    clock.advance(pd.Timedelta(minutes=1))
    executions = broker.get_executions()
    assert executions and all(isinstance(e.exec_id, str) for e in executions)
    assert {(e.order_id, e.client_ref, e.account) for e in executions} == {
        (order.order_id, "systrade/broker/7", "SIM0001")}
    assert len({e.exec_id for e in executions}) == len(executions)
    assert [o.order_id for o in broker.find_orders(client_ref="systrade/broker/7")] == [
        order.order_id]
    assert broker.find_orders(client_ref="nobody") == []
    with pytest.raises(UnknownOrder):
        broker.get_order("not-an-id")
    with pytest.raises(OrderRejected) as rejected:
        broker.place_order(CODE, CONTRACT, 1, account="SOMEONE_ELSE")
    assert rejected.value.reason is RejectReason.UNKNOWN_ACCOUNT


def test_drained_events_report_each_change_once_with_commission_by_exec_id(sim):
    clock, broker = sim
    broker.drain_events()
    order = broker.place_order(CODE, CONTRACT, 2, client_ref="ref-1")
    clock.advance(pd.Timedelta(minutes=1))
    events = broker.drain_events()
    assert broker.drain_events() == []  # each event once
    statuses = [e for e in events if isinstance(e, OrderStatusEvent)]
    executions = [e.execution for e in events if isinstance(e, ExecutionEvent)]
    commissions = [e.report for e in events if isinstance(e, CommissionEvent)]
    assert statuses and all(s.order.order_id == order.order_id for s in statuses)
    assert statuses[-1].order.status is OrderStatus.FILLED
    assert sum(e.quantity for e in executions) == 2
    assert sorted(c.exec_id for c in commissions) == sorted(e.exec_id for e in executions)
    by_exec = {e.exec_id: e.commission for e in executions}
    assert all(by_exec[c.exec_id] == pytest.approx(c.commission) for c in commissions)


def test_disconnect_refuses_calls_reports_it_and_reconnect_resumes(sim):
    clock, broker = sim
    assert broker.is_connected()
    order = broker.place_order(CODE, CONTRACT, 1)
    broker.drain_events()
    broker.disconnect("gateway restart")
    assert not broker.is_connected()
    with pytest.raises(BrokerDisconnected):
        broker.get_order(order.order_id)
    with pytest.raises(BrokerDisconnected):
        broker.place_order(CODE, CONTRACT, 1)
    events = broker.drain_events()
    assert [type(e) for e in events] == [ConnectionEvent] and not events[0].connected
    clock.advance(pd.Timedelta(minutes=1))
    broker.connect()
    # events of the outage are not replayed (as with IB): reconcile from the broker's state
    events = broker.drain_events()
    assert [(type(e), e.connected) for e in events] == [(ConnectionEvent, True)]
    assert broker.get_order(order.order_id).status is OrderStatus.FILLED
    assert sum(e.quantity for e in broker.get_executions()) == 1
