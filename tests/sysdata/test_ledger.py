"""The money ledger on SQLite and MongoDB: unique fills, late commissions, stale writers refused
(the lost-fill reproduction), projections checked and rebuilt."""
from __future__ import annotations

import logging

import pytest

from syscore.exceptions import ConcurrencyError, ExistingData, MissingData
from sysdata.ledger import LEDGER, LedgerData
from sysdata.orders import OrderStackData
from sysdata.positions import PositionData
from sysobjects.orders.orders import BrokerOrder, Leg
from sysobjects.orders.records import CommissionReport, Fill
from sysobjects.orders.status import OrderEventType, OrderStatus

E = OrderEventType


def fill(exec_id, qty, price=100.0, order=1, strategy="trend", contract="202403", **kw):
    return Fill(exec_id, "CORN", contract, qty, price, "2024-01-02 10:00", strategy,
                broker_order_id=order, contract_order_id=order, instrument_order_id=order, **kw)


@pytest.fixture
def ledger(state_store):
    return LedgerData(state_store)


def working_broker_order(stack, quantity=5):
    order = BrokerOrder(order_id=stack.new_order_id(), strategy_name="trend",
                        instrument_code="CORN", legs=(Leg("202403", quantity),))
    stack.add_order(order, "2024-01-02 09:00")
    stack.apply_event(order.order_id, E.SENT, "2024-01-02 09:00", "sent")
    return stack.apply_event(order.order_id, E.ACKNOWLEDGED, "2024-01-02 09:00", "ack",
                             {"broker_order_id": "IB-77"})


def test_a_fill_delivered_twice_is_booked_once(ledger, state_store):
    first = ledger.book_fill(fill("0001.01", 3))
    again = ledger.book_fill(fill("0001.01", 3))
    assert (first.duplicate, again.duplicate, again.seq) == (False, True, first.seq)
    assert state_store.count(LEDGER) == 1
    assert PositionData(state_store, ledger).get_strategy_position("trend", "CORN") == 3
    with pytest.raises(ExistingData, match="different content"):
        ledger.book_fill(fill("0001.01", 4))  # same execution id, other content: refused
    assert PositionData(state_store, ledger).get_contract_position("CORN", "202403") == 3


def test_commission_arrives_later_keyed_by_execution_id(ledger, state_store):
    stack = OrderStackData(state_store, "broker", ledger)
    order = working_broker_order(stack)
    with pytest.raises(MissingData, match="not booked yet"):
        ledger.book_commission(CommissionReport("0002.01", 2.5, "USD", "2024-01-02 10:00"))
    ledger.book_fill(fill("0002.01", 2, price=101.0, order=order.order_id))
    ledger.book_fill(fill("0002.02", 1, price=104.0, order=order.order_id, commission=1.0,
                          commission_currency="USD"))
    ledger.book_commission(CommissionReport("0002.01", 2.5, "USD", "2024-01-02 10:00"))
    ledger.book_commission(CommissionReport("0002.01", 2.5, "USD", "2024-01-02 10:00"))
    got = stack.get_order(order.order_id)
    assert got.filled == (3,) and got.fill_price == (pytest.approx(102.0),)
    assert got.commission == pytest.approx(3.5)


def test_a_commission_report_for_a_fill_that_carried_one_is_not_counted_twice(ledger,
                                                                              state_store):
    """The simulated broker (like IB when execDetails has it) delivers the commission both on
    the execution and in its own report: the order's commission is the execution's, once
    (the demo showed 4.96 for a 2.48 commission). A report that differs replaces it."""
    stack = OrderStackData(state_store, "broker", ledger)
    order = working_broker_order(stack)
    ledger.book_fill(fill("0003.01", 4, order=order.order_id, commission=2.48,
                          commission_currency="USD"))
    ledger.book_commission(CommissionReport("0003.01", 2.48, "USD", "2024-01-02 10:00"))
    assert stack.get_order(order.order_id).commission == pytest.approx(2.48)
    ledger.book_fill(fill("0003.02", 1, order=order.order_id, commission=0.62,
                          commission_currency="USD"))
    ledger.book_commission(CommissionReport("0003.02", 0.70, "USD", "2024-01-02 10:00"))
    assert stack.get_order(order.order_id).commission == pytest.approx(2.48 + 0.70)
    assert ledger.check_projections(repair=False) == []
    ledger.rebuild_projections()
    assert stack.get_order(order.order_id).commission == pytest.approx(2.48 + 0.70)


def test_lost_fill_reproduction_on_an_order(state_store):
    """A reads broker order 1; B books a fill of 3 on it (fill + its status event); A writes
    its stale view back (a cancel request): refused; A retries on fresh data; the fill
    survives."""
    ledger = LedgerData(state_store)
    stack = OrderStackData(state_store, "broker", ledger)
    working_broker_order(stack)
    a_view = stack.get_order(1)
    b_stack = OrderStackData(state_store, "broker", LedgerData(state_store))  # process B
    b_stack.ledger.book_fill(fill("0003.01", 3))
    b_stack.apply_event(b_stack.get_order(1), E.PARTIALLY_FILLED, "2024-01-02 10:00", "fill 3")
    with pytest.raises(ConcurrencyError, match="changed since it was read"):
        stack.apply_event(a_view, E.CANCEL_REQUESTED, "2024-01-02 10:01", "end of day")
    order = stack.apply_event(stack.get_order(1), E.CANCEL_REQUESTED, "2024-01-02 10:01",
                              "end of day")
    assert order.status is OrderStatus.PENDING_CANCEL and order.filled == (3,)
    assert [e.event for e in stack.events(1)] == [
        E.CREATED, E.SENT, E.ACKNOWLEDGED, E.PARTIALLY_FILLED, E.CANCEL_REQUESTED]


def test_lost_fill_reproduction_on_a_position(state_store):
    """A reads the position to set it; B books a fill of 3; A's decision on the stale read is
    refused; re-read and retried, the fill is still counted."""
    positions = PositionData(state_store)
    a_read = positions.read_strategy_position("trend", "CORN")
    LedgerData(state_store).book_fill(fill("0004.01", 3))  # process B
    with pytest.raises(ConcurrencyError, match="moved"):
        positions.adjust_position("CORN", 5 - a_read.position, "2024-01-02", "set to 5",
                                  strategy_name="trend", based_on=a_read)
    assert positions.get_strategy_position("trend", "CORN") == 3
    positions.set_strategy_position("trend", "CORN", 5, "2024-01-02", "set to 5")
    assert positions.get_strategy_position("trend", "CORN") == 5
    assert [h["quantity"] for h in positions.history("strategy_positions", "trend/CORN")] == [3, 2]


def test_projection_mismatch_is_critical_and_rebuilt(ledger, state_store, caplog):
    for i in range(4):
        ledger.book_fill(fill(f"0005.{i}", 1 + i))
    assert ledger.check_projections() == []
    cached = state_store.get("strategy_positions", "trend/CORN")
    state_store.put("strategy_positions", "trend/CORN", {**cached, "position": 99})
    with caplog.at_level(logging.CRITICAL, logger="systrade.ledger"):
        mismatches = ledger.check_projections()
    assert [(m.projection, m.subject, m.ledger["position"]) for m in mismatches] == [
        ("strategy_position", "trend/CORN", 10)]
    assert any(r.levelno == logging.CRITICAL for r in caplog.records)
    assert PositionData(state_store, ledger).get_strategy_position("trend", "CORN") == 10
    assert ledger.check_projections() == []


def test_rebuild_from_scratch_equals_the_incremental_projections(ledger, state_store):
    stack = OrderStackData(state_store, "broker", ledger)
    order = working_broker_order(stack)
    ledger.book_fill(fill("0006.01", 2, order=order.order_id))
    ledger.book_fill(fill("0006.02", -1, contract="202406", strategy=None, order=77))
    positions = PositionData(state_store, ledger)
    before = (positions.all_strategy_positions(), positions.all_contract_positions(),
              stack.get_order(order.order_id))
    for name in ("strategy_positions", "contract_positions", "order_fills", "broker_orders"):
        state_store.drop(name)
    assert ledger.rebuild_projections() > 0
    after = (positions.all_strategy_positions(), positions.all_contract_positions(),
             stack.get_order(order.order_id))
    assert after == before
    assert before[1] == {("CORN", "202403"): 2, ("CORN", "202406"): -1}
    assert before[0] == {("trend", "CORN"): 2}  # a fill without strategy moves none


def test_a_killed_writer_leaves_the_record_and_the_next_read_finishes(ledger, state_store):
    ledger.append(fill("0007.01", 4), update_projections=False)  # died before projections
    assert state_store.get("strategy_positions", "trend/CORN") is None
    assert PositionData(state_store, ledger).all_strategy_positions() == {("trend", "CORN"): 4}
    ledger.append(fill("0007.02", 1), update_projections=False)
    assert PositionData(state_store, ledger).get_contract_position("CORN", "202403") == 5


def test_stack_queries_by_status_parent_instrument_and_client_ref(state_store):
    stack = OrderStackData(state_store, "broker")
    for i in range(1, 4):
        stack.add_order(BrokerOrder(order_id=i, strategy_name="trend", instrument_code="CORN",
                                    legs=(Leg("202403", 1),), parent_id=10 + i % 2,
                                    client_ref=f"systrade/broker/{i}"), "2024-01-02")
    stack.apply_event(2, E.SENT, "2024-01-02", "sent")
    assert stack.order_ids({"status": "SUBMITTED"}) == [2]
    assert stack.order_ids({"parent_id": 11}) == [1, 3]
    assert stack.order_ids({"instrument_code": "CORN", "status": "INITIALIZED"}) == [1, 3]
    assert [o.order_id for o in stack.find_by_client_ref("systrade/broker/3")] == [3]
    discovered = stack.discover_order(BrokerOrder(order_id=100,
                                                  strategy_name="", instrument_code="CORN",
                                                  legs=(Leg("202403", -1),)), "2024-01-02")
    assert discovered.status is OrderStatus.WORKING
    assert "found at the broker" in discovered.reason
