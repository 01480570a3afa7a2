"""What one booking and one order update cost in store work (counted, not timed), and that the
shortcuts taken for it stay correct when another writer gets in between."""
from __future__ import annotations

import collections

import pymongo.monitoring
import pytest

from sysdata.ledger import LedgerData
from sysdata.orders import OrderStackData
from sysdata.positions import PositionData
from sysdata.state.mongo_store import MongoStateStore
from sysdata.state.sqlite_store import SqliteStateStore
from sysobjects.orders.orders import BrokerOrder, Leg
from sysobjects.orders.records import Fill
from sysobjects.orders.status import OrderEventType, OrderStatus

E = OrderEventType


def fill(exec_id, qty, order=1, contract="202403"):
    return Fill(exec_id, "CORN", contract, qty, 100.0, "2024-01-02 10:00", "trend",
                broker_order_id=order, contract_order_id=order, instrument_order_id=order)


def new_order(stack, order_id):
    return stack.add_order(BrokerOrder(order_id=order_id, strategy_name="trend",
                                       instrument_code="CORN", legs=(Leg("202403", 5),)),
                           "2024-01-02 09:00")


class Calls:
    """Counts the store's public calls (reads and writes) made through it."""

    NAMES = ("get", "get_versioned", "get_many_versioned", "find", "apply", "apply_each")

    def __init__(self, store, monkeypatch):
        self.counts: collections.Counter = collections.Counter()
        for name in self.NAMES:
            real = getattr(store, name)

            def counted(*args, _real=real, _name=name, **kwargs):
                self.counts[_name] += 1
                return _real(*args, **kwargs)

            monkeypatch.setattr(store, name, counted)


class Commits:
    def __init__(self, store: SqliteStateStore):
        self.statements: list[str] = []
        store._conn.set_trace_callback(self.statements.append)

    def count(self) -> int:
        return sum(s.strip().upper() == "COMMIT" for s in self.statements)


def test_sqlite_one_commit_per_fill_and_per_order_update(tmp_path):
    store = SqliteStateStore(tmp_path / "state.sqlite")
    try:
        ledger = LedgerData(store)
        stack = OrderStackData(store, "broker", ledger)
        new_order(stack, 1)
        ledger.book_fill(fill("c.01", 1))
        commits = Commits(store)
        ledger.book_fill(fill("c.02", 2))  # the insert and its five projections
        assert commits.count() == 1
        commits.statements.clear()
        stack.apply_event(1, E.SENT, "2024-01-02 09:01", "sent")
        assert commits.count() == 1
    finally:
        store.close()


def test_sqlite_a_booking_is_one_transaction_with_its_projections(tmp_path):
    """A failure after the insert inside the booking's transaction leaves neither."""
    store = SqliteStateStore(tmp_path / "state.sqlite")
    try:
        ledger = LedgerData(store)
        ledger.book_fill(fill("t.01", 1))
        with pytest.raises(KeyboardInterrupt), store.atomic():
            ledger.book_fill(fill("t.02", 2))
            raise KeyboardInterrupt  # a crash before the commit
        assert ledger.find_uid("fill:t.02") is None
        assert store.get("strategy_positions", "trend/CORN")["position"] == 1
        assert ledger.check_projections(repair=False) == []
    finally:
        store.close()


def test_an_order_update_reads_the_order_once(state_store, monkeypatch):
    ledger = LedgerData(state_store)
    stack = OrderStackData(state_store, "broker", ledger)
    new_order(stack, 1)
    ledger.book_fill(fill("r.01", 2))
    calls = Calls(state_store, monkeypatch)
    order = stack.apply_event(1, E.SENT, "2024-01-02 09:01", "sent")
    # the order and its fills read once (two caches, one head read, one catch-up query: the
    # fills cache is already at the head), the event inserted right after that head, the
    # order's cache advanced from what was read (no second read of the order)
    writes = {"apply": 2} if isinstance(state_store, SqliteStateStore) else \
        {"apply": 1, "apply_each": 1}  # SQLite: both in one transaction
    assert dict(calls.counts) == {"get_versioned": 2, "find": 2, **writes}
    assert (order.status, order.filled, order.events) == (OrderStatus.SUBMITTED, (2,), 2)
    assert order == stack.get_order(1)
    assert ledger.check_projections(repair=False) == []


def test_an_order_update_with_a_fill_in_between_returns_the_fill(state_store, monkeypatch):
    """Another writer books a fill between the read and the event: the event lands later and
    the order returned is read again, with the fill."""
    ledger = LedgerData(state_store)
    stack = OrderStackData(state_store, "broker", ledger)
    new_order(stack, 1)
    real = ledger.append_and_view
    other = LedgerData(state_store)  # the other process

    def fill_first(*args, **kwargs):
        monkeypatch.setattr(ledger, "append_and_view", real)
        other.book_fill(fill("b.01", 3))
        return real(*args, **kwargs)

    monkeypatch.setattr(ledger, "append_and_view", fill_first)
    order = stack.apply_event(1, E.SENT, "2024-01-02 09:01", "sent")
    assert (order.status, order.filled) == (OrderStatus.SUBMITTED, (3,))
    assert order == stack.get_order(1)
    assert ledger.check_projections(repair=False) == []


def test_an_order_update_after_its_cache_was_rewritten_is_not_lost(state_store, monkeypatch):
    """The order's cache is rewritten (a rebuild) between the read and the event: advancing
    it from the read is refused (stale revision) and the cache is caught up instead."""
    ledger = LedgerData(state_store)
    stack = OrderStackData(state_store, "broker", ledger)
    new_order(stack, 1)
    ledger.book_fill(fill("w.01", 1))
    real = ledger.append_and_view

    def rebuild_first(*args, **kwargs):
        monkeypatch.setattr(ledger, "append_and_view", real)
        LedgerData(state_store).rebuild_projections()
        return real(*args, **kwargs)

    monkeypatch.setattr(ledger, "append_and_view", rebuild_first)
    order = stack.apply_event(1, E.SENT, "2024-01-02 09:01", "sent")
    assert (order.status, order.events, order.filled) == (OrderStatus.SUBMITTED, 2, (1,))
    assert state_store.get("broker_orders", f"{1:012d}")["status"] == OrderStatus.SUBMITTED.value
    assert ledger.check_projections(repair=False) == []


class Filters(pymongo.monitoring.CommandListener):
    def __init__(self):
        self.filters: list[dict] = []

    def started(self, event):
        if event.command_name == "find":
            self.filters.append(event.command.get("filter"))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def test_mongo_equality_is_sent_as_eq(mongo_url, tmp_path):
    """nx-27017 (SQLite underneath) adds an array clause to a bare equality that keeps the
    compound index (subject, seq) from being used: each catch-up query scanned the ledger."""
    import uuid

    listener = Filters()
    pymongo.monitoring.register(listener)
    store = MongoStateStore(f"{mongo_url}/q{uuid.uuid4().hex[:10]}")
    try:
        ledger = LedgerData(store)
        ledger.book_fill(fill("m.01", 1))
        listener.filters.clear()
        ledger.records(0, 5, {"p_strategy": "trend/CORN"})
        assert listener.filters[-1] == {"p_strategy": {"$eq": "trend/CORN"},
                                        "seq": {"$gt": 0, "$lte": 5}}
        assert [d["uid"] for d in ledger.records(0, 5, {"p_strategy": "trend/CORN"})] == [
            "fill:m.01"]
        assert store.count("ledger", {"kind": "fill"}) == 1
        assert store.find("ledger", {"p_strategy": None}) == []
    finally:
        store.drop_database()
        store.close()


# ------------------------------------------------------------------- record numbers per subject
def numbers(ledger, field="n_strategy"):
    return [doc.get(field) for doc in ledger.records(0)]


def test_a_fill_booking_queries_no_ledger_records(state_store, monkeypatch):
    """A booking reads each cache collection once and the head, inserts, writes the caches: the
    accepted record number proves the caches lacked nothing, so no catch-up query is made."""
    ledger = LedgerData(state_store)
    stack = OrderStackData(state_store, "broker", ledger)
    new_order(stack, 1)
    ledger.book_fill(fill("q.01", 1))
    calls = Calls(state_store, monkeypatch)
    ledger.book_fill(fill("q.02", 2))
    # positions (two collections) and the three order-fill caches (one collection)
    assert calls.counts["get_many_versioned"] == 3
    assert calls.counts["find"] == 1  # the head; before: the head and five catch-up queries
    writes = {"apply": 2} if isinstance(state_store, SqliteStateStore) else \
        {"apply": 1, "apply_each": 1}  # the insert; the cache writes (SQLite: one change)
    assert {k: calls.counts[k] for k in writes} == writes
    assert numbers(ledger) == [None, "trend/CORN#1", "trend/CORN#2"]  # the order event: none
    assert numbers(ledger, "n_broker_order") == [None, f"{1:012d}#1", f"{1:012d}#2"]
    assert state_store.get("strategy_positions", "trend/CORN")["covered_count"] == 2
    assert ledger.check_projections(repair=False) == []


def test_a_booking_after_a_killed_writers_record_catches_the_caches_up(state_store):
    """A record whose writer died before its projection updates holds the next number: the
    following booking, numbered after the stale cache, is refused, catches up and lands."""
    ledger = LedgerData(state_store)
    ledger.book_fill(fill("k.01", 1))
    ledger.append(fill("k.02", 2), update_projections=False)  # killed before the caches
    assert state_store.get("strategy_positions", "trend/CORN")["position"] == 1
    booked = ledger.book_fill(fill("k.03", 4))
    assert (booked.seq, booked.duplicate) == (3, False)
    assert numbers(ledger) == ["trend/CORN#1", "trend/CORN#2", "trend/CORN#3"]
    cached = state_store.get("strategy_positions", "trend/CORN")
    assert (cached["position"], cached["covered_seq"], cached["covered_count"]) == (7, 3, 3)
    assert PositionData(state_store, ledger).get_contract_position("CORN", "202403") == 7
    assert ledger.check_projections(repair=False) == []


def test_a_fill_booked_between_the_cache_read_and_the_insert(state_store, monkeypatch):
    """Process B books a fill of the same subjects after A read the caches and before A
    inserts: A's record number is taken, A catches up and books after B; nothing lost."""
    ledger = LedgerData(state_store)
    ledger.book_fill(fill("i.01", 1))
    other = LedgerData(state_store)  # process B
    real = state_store.get_many_versioned

    def read_then_b_books(*args, **kwargs):
        result = real(*args, **kwargs)
        monkeypatch.setattr(state_store, "get_many_versioned", real)
        other.book_fill(fill("i.02", 2))
        return result

    monkeypatch.setattr(state_store, "get_many_versioned", read_then_b_books)
    assert ledger.book_fill(fill("i.03", 4)).seq == 3
    assert [doc["uid"] for doc in ledger.records(0)] == ["fill:i.01", "fill:i.02", "fill:i.03"]
    assert numbers(ledger) == ["trend/CORN#1", "trend/CORN#2", "trend/CORN#3"]
    assert PositionData(state_store, ledger).get_strategy_position("trend", "CORN") == 7
    assert ledger.check_projections(repair=False) == []


def test_a_wrong_record_count_is_a_mismatch_and_rebuilt(state_store, caplog):
    """The count a cache carries decides the next record number: check_projections compares
    it with the ledger like the state itself."""
    ledger = LedgerData(state_store)
    for i in range(3):
        ledger.book_fill(fill(f"c.0{i}", 1))
    cached = state_store.get("strategy_positions", "trend/CORN")
    state_store.put("strategy_positions", "trend/CORN", {**cached, "covered_count": 7})
    mismatches = ledger.check_projections()
    assert [(m.projection, m.subject) for m in mismatches] == [("strategy_position",
                                                                "trend/CORN")]
    assert state_store.get("strategy_positions", "trend/CORN")["covered_count"] == 3
    ledger.book_fill(fill("c.04", 1))
    assert numbers(ledger)[-1] == "trend/CORN#4"
    assert ledger.check_projections(repair=False) == []


def test_a_ledger_written_before_record_numbers(state_store):
    """Records without numbers and caches without counts (a ledger begun by the earlier
    version): a subject's cache is caught up from the ledger before a record of it is
    numbered, including a subject whose only record never reached its cache."""
    from sysdata.ledger import LEDGER, seq_key, subjects_of
    from sysdata.state.base import Insert, Put

    old = [fill("o.01", 1), fill("o.02", 2), fill("o.03", 5, contract="202406")]
    state_store.apply([Insert(LEDGER, seq_key(seq), {
        "uid": f.uid, "kind": f.kind.value, "record": f.to_doc(), **subjects_of(f), "seq": seq})
        for seq, f in enumerate(old, 1)])
    # the earlier version's caches: the strategy position up to seq 2 (no count); the
    # contract position of 202406 never written (its writer died)
    state_store.apply([Put("strategy_positions", "trend/CORN", {
        "position": 3, "timestamp": "2024-01-02T10:00:00+00:00", "strategy_name": "trend",
        "instrument_code": "CORN", "covered_seq": 2})])
    ledger = LedgerData(state_store)
    assert not ledger.numbered_from_start
    ledger.book_fill(fill("n.01", 10, contract="202406"))
    positions = PositionData(state_store, ledger)
    assert positions.get_strategy_position("trend", "CORN") == 18
    assert positions.get_contract_position("CORN", "202406") == 15
    assert positions.get_contract_position("CORN", "202403") == 3
    assert numbers(ledger) == [None, None, None, "trend/CORN#4"]
    assert numbers(ledger, "n_contract") == [None, None, None, "CORN/202406#2"]
    assert state_store.get("contract_positions", "CORN/202406")["covered_count"] == 2
    assert ledger.check_projections(repair=False) == []
