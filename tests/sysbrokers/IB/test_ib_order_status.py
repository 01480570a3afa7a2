"""Order status from TWS facts and executions (pure logic) and the persisted order book."""
from __future__ import annotations

import pandas as pd
import pytest

from sysbrokers.errors import RejectReason
from sysbrokers.IB.orders import OrderBook, TrackedOrder, derive_status, reject_reason
from sysbrokers.objects import BrokerOrder, Execution, OrderStatus, OrderType
from sysdata.state.sqlite_store import SqliteStateStore

S = OrderStatus
T0 = pd.Timestamp("2024-01-02 15:00", tz="UTC")


@pytest.mark.parametrize("ib_status, filled, error, expected", [
    ("PreSubmitted", 0, None, S.PENDING_SUBMIT),
    ("Submitted", 0, None, S.WORKING),
    ("Submitted", 2, None, S.PARTIALLY_FILLED),
    ("Filled", 0, None, S.WORKING),  # status ahead of the executions: not filled yet
    ("Filled", 3, None, S.FILLED),
    ("Submitted", 3, None, S.FILLED),  # executions complete: filled whatever the status
    ("PendingCancel", 1, None, S.PENDING_CANCEL),
    ("Cancelled", 1, None, S.CANCELLED),
    ("Submitted", 0, 10349, S.WORKING),  # informational: still live
    ("", 0, 201, S.REJECTED),
    ("Submitted", 0, 202, S.CANCELLED),
])
def test_derive_status(ib_status, filled, error, expected):
    assert derive_status(ib_status, filled, 3, error) is expected


@pytest.mark.parametrize("ib_status, filled, error, ib_filled, expected", [
    ("Cancelled", 1, None, 2, S.PENDING_CANCEL),  # TWS counts a fill not yet executed
    ("Cancelled", 2, None, 2, S.CANCELLED),  # the executions caught up
    ("Submitted", 0, 202, 1, S.PENDING_CANCEL),
    ("Cancelled", 0, None, 0, S.CANCELLED),
])
def test_cancelled_is_final_only_once_every_fill_tws_counts_is_executed(
        ib_status, filled, error, ib_filled, expected):
    assert derive_status(ib_status, filled, 3, error, ib_filled) is expected


def test_reject_reason_from_text():
    text = "Order rejected - reason:order size above the broker's limit: 501 > 500 contracts"
    assert reject_reason(text) is RejectReason.SIZE_LIMIT
    assert reject_reason("Order rejected - reason:market closed: MES is outside its "
                         "trading hours") is RejectReason.MARKET_CLOSED
    assert reject_reason("something else") is RejectReason.EXCHANGE_REJECT


def _execution(exec_id: str, qty: int, commission=None) -> Execution:
    return Execution(exec_id, "7", "SP500_micro", "202403", qty, 4700.25, commission, "USD", T0,
                     client_ref="ref")


def test_order_book_persists_orders_and_applies_each_execution_once(tmp_path):
    store = SqliteStateStore(tmp_path / "state.sqlite")
    book = OrderBook(store)
    order = BrokerOrder("7", "SP500_micro", "202403", 3, OrderType.MARKET, None,
                        S.PENDING_SUBMIT, client_ref="ref", placed_at=T0, updated_at=T0)
    book.add(TrackedOrder(order))
    assert book.add_execution(_execution("e1", 2))
    assert not book.add_execution(_execution("e1", 2))  # the same exec id again: ignored
    t = book.refresh("7", T0, ib_status="Submitted", perm_id=99)
    assert t.order.status is S.PARTIALLY_FILLED and t.order.filled_quantity == 2
    book.set_commission("e1", 1.5, "USD")
    book.add_execution(_execution("e2", 1, 0.75))
    t = book.refresh("7", T0)
    assert t.order.status is S.FILLED and t.order.commission == pytest.approx(2.25)
    again = OrderBook(store)  # a restarted process
    assert again.orders["7"].order == t.order and again.orders["7"].perm_id == 99
    assert again.by_ib(7, 0, "ref") is again.orders["7"]
    assert again.by_ib(7, 0, "someone else's") is None


def test_order_ids_never_go_back(tmp_path):
    store = SqliteStateStore(tmp_path / "state.sqlite")
    book = OrderBook(store)
    assert book.next_order_id(1) == 1
    assert book.next_order_id(50) == 50  # TWS is ahead: follow it
    assert book.next_order_id(1) == 51  # TWS restarted at 1: never reuse
    assert OrderBook(store).next_order_id(1) == 52  # nor after a restart of ours
