"""The MongoDB write-ahead journal: finishes what a dead writer left, never overwrites later
writes, and keeps Insert unique inside multi-record changes."""
from __future__ import annotations

import time
import uuid

import pytest

from syscore.exceptions import ConcurrencyError, ExistingData, InvalidData
from sysdata.state.base import Delete, Insert, Put
from sysdata.state.mongo_store import JOURNAL, REV, MongoStateStore


@pytest.fixture
def url(mongo_url):
    return f"{mongo_url}/j{uuid.uuid4().hex[:10]}"


def dead_writer_entry(store, keys):
    """What a writer leaves when killed after journaling and writing only some keys."""
    entry_id = uuid.uuid4().hex
    store._db[JOURNAL].insert_one({"_id": entry_id, "created": time.time() - 120,
                                   "state": "pending", "keys": keys})
    return entry_id


def rev_of(store, collection, key):
    doc = store._db[collection].find_one({"_id": key})
    return None if doc is None else doc.get(REV)


def test_half_applied_change_is_finished_on_next_open(url):
    first = MongoStateStore(url)
    first.put("orders", "1", {"filled": 0})
    first.put("pending", "1", {"x": 1})
    order_rev, pending_rev = rev_of(first, "orders", "1"), rev_of(first, "pending", "1")
    keys = [
        {"collection": "orders", "key": "1", "before": order_rev, "after": "a1", "doc": {"filled": 2}},
        {"collection": "positions", "key": "CORN", "before": None, "after": "a2", "doc": {"position": 2}},
        {"collection": "pending", "key": "1", "before": pending_rev, "after": "a3", "doc": None},
    ]
    first._cas("orders", "1", order_rev, {"filled": 2}, "a1")  # only the first key got written
    dead_writer_entry(first, keys)
    second = MongoStateStore(url)
    assert second.get("orders", "1") == {"filled": 2}
    assert second.get("positions", "CORN") == {"position": 2}
    assert second.get("pending", "1") is None
    assert second._db[JOURNAL].count_documents({}) == 0
    second.drop_database()
    first.close()
    second.close()


def test_replay_never_overwrites_a_later_write(url):
    # no replay on open or before a batch: the dead writer's entry waits until we replay it
    store = MongoStateStore(url, replay_after_seconds=3600)
    store.put("orders", "7", {"status": "working", "filled": 0})
    store.put("positions", "CORN", {"position": 0})
    store.put("audit", "7", {"seen": False})
    order_rev, pos_rev = rev_of(store, "orders", "7"), rev_of(store, "positions", "CORN")
    audit_rev = rev_of(store, "audit", "7")
    # writer A journals a change and dies before writing anything
    dead_writer_entry(store, [
        {"collection": "orders", "key": "7", "before": order_rev, "after": "x1",
         "doc": {"status": "working", "filled": 0, "note": "stale"}},
        {"collection": "positions", "key": "CORN", "before": pos_rev, "after": "x2",
         "doc": {"position": 0}},
        {"collection": "audit", "key": "7", "before": audit_rev, "after": "x3",
         "doc": {"seen": True}},
    ])
    # writer B then books a fill on two of its keys, with A's entry still in the journal
    store.apply([Put("orders", "7", {"status": "filled", "filled": 3}),
                 Put("positions", "CORN", {"position": 3})])
    assert store._db[JOURNAL].count_documents({}) == 1  # not replayed yet
    # only now is the dead writer's entry replayed
    assert store.replay_journal(older_than_seconds=60) == 1
    assert store.get("orders", "7") == {"status": "filled", "filled": 3}
    assert store.get("positions", "CORN") == {"position": 3}
    assert store.get("audit", "7") == {"seen": True}  # a key nobody changed is finished
    assert store._db[JOURNAL].count_documents({}) == 0
    store.drop_database()
    store.close()


def test_live_writer_entry_is_left_alone(url):
    store = MongoStateStore(url)
    store._db[JOURNAL].insert_one({"_id": "live", "created": time.time(), "state": "pending",
                                   "keys": []})
    again = MongoStateStore(url)
    assert again._db[JOURNAL].count_documents({"_id": "live"}) == 1
    again.drop_database()
    store.close()
    again.close()


def test_insert_stays_unique_when_a_concurrent_writer_wins(url):
    a, b = MongoStateStore(url), MongoStateStore(url)
    a.insert("locks", "CORN", {"owner": "a"})
    with pytest.raises(ExistingData):
        b.apply([Insert("locks", "CORN", {"owner": "b"}), Put("audit", "b", {"x": 1})])
    assert a.get("locks", "CORN") == {"owner": "a"}
    assert a.get("audit", "b") is None
    a.drop_database()
    a.close()
    b.close()


def test_conflict_during_batch_puts_back_what_was_written(url, monkeypatch):
    store = MongoStateStore(url)
    store.put("orders", "1", {"filled": 0})
    store.put("positions", "CORN", {"position": 0})
    real_cas = store._cas

    def racing_cas(collection, key, expected, doc, new_rev):
        if collection == "positions":  # someone else writes the second key just before us
            store._db["positions"].replace_one({"_id": key}, {"_id": key, "position": 9, REV: "z"})
        return real_cas(collection, key, expected, doc, new_rev)

    monkeypatch.setattr(store, "_cas", racing_cas)
    with pytest.raises(ConcurrencyError, match="positions/CORN"):
        store.apply([Put("orders", "1", {"filled": 2}), Put("positions", "CORN", {"position": 2})])
    monkeypatch.undo()
    assert store.get("orders", "1") == {"filled": 0}
    assert store.get("positions", "CORN") == {"position": 9}
    assert store._db[JOURNAL].count_documents({}) == 0
    store.drop_database()
    store.close()


def test_wipe_forgets_unfinished_changes(url):
    from sysdata.backup import wipe_state

    store = MongoStateStore(url)
    store.put("a", "1", {"v": 1})
    dead_writer_entry(store, [{"collection": "a", "key": "2", "before": None, "after": "r",
                               "doc": {"v": 2}}])
    wipe_state(store)
    again = MongoStateStore(url)  # would replay the entry if the wipe had kept it
    assert again.collections() == []
    store.close()
    again.close()



def racing_writer(store, monkeypatch, collection, value):
    """Make another writer change ``collection``'s key just before this store writes it."""
    real_cas = store._cas

    def racing_cas(coll, key, expected, doc, new_rev):
        if coll == collection:
            store._db[coll].replace_one({"_id": key}, {"_id": key, **value, REV: "other"})
        return real_cas(coll, key, expected, doc, new_rev)

    monkeypatch.setattr(store, "_cas", racing_cas)


def test_aborted_batch_restores_a_key_it_deleted(url, monkeypatch):
    store = MongoStateStore(url)
    store.put("orders", "1", {"status": "working"})
    store.put("positions", "CORN", {"position": 0})
    racing_writer(store, monkeypatch, "positions", {"position": 9})
    with pytest.raises(ConcurrencyError, match="nothing was written"):
        store.apply([Delete("orders", "1"), Put("positions", "CORN", {"position": 2})])
    monkeypatch.undo()
    assert store.get("orders", "1") == {"status": "working"}
    assert store.get("positions", "CORN") == {"position": 9}
    assert store._db[JOURNAL].count_documents({}) == 0
    store.drop_database()
    store.close()


def test_aborted_batch_is_never_rolled_forward_by_recovery(url, monkeypatch):
    store = MongoStateStore(url, replay_after_seconds=0)
    store.put("orders", "1", {"status": "working"})
    store.put("positions", "CORN", {"position": 0})
    racing_writer(store, monkeypatch, "positions", {"position": 5})
    with pytest.raises(ConcurrencyError):
        store.apply([Put("orders", "1", {"status": "filled"}),
                     Put("positions", "CORN", {"position": 3})])
    monkeypatch.undo()
    store.replay_journal(older_than_seconds=0)
    assert store.get("orders", "1") == {"status": "working"}
    assert store.get("positions", "CORN") == {"position": 5}
    store.drop_database()
    store.close()


def test_committed_entry_never_resurrects_a_later_delete(url):
    store = MongoStateStore(url)
    store.apply([Insert("locks", "CORN", {"owner": "a"}), Put("audit", "1", {"x": 1})])
    lock_rev = rev_of(store, "locks", "CORN")
    # the writer finished and marked its entry committed but died before deleting it
    store._db[JOURNAL].insert_one({"_id": "done", "created": time.time() - 120,
                                   "state": "committed", "keys": [
        {"collection": "locks", "key": "CORN", "before": None, "after": lock_rev,
         "doc": {"owner": "a"}}]})
    store.delete("locks", "CORN")  # the lock is released afterwards
    again = MongoStateStore(url)
    assert again.get("locks", "CORN") is None
    assert again._db[JOURNAL].count_documents({}) == 0
    store.drop_database()
    store.close()
    again.close()


def test_slow_writer_whose_entry_recovery_claimed_does_not_undo(url, monkeypatch):
    store = MongoStateStore(url)
    store.put("orders", "1", {"status": "working"})
    store.put("positions", "CORN", {"position": 0})
    real_cas = store._cas

    def stalled_cas(coll, key, expected, doc, new_rev):
        if coll == "positions":  # the writer stalls here; recovery claims and finishes its entry
            store._db[JOURNAL].update_many({}, {"$set": {"created": time.time() - 120}})
            MongoStateStore(url).replay_journal(older_than_seconds=60)
        return real_cas(coll, key, expected, doc, new_rev)

    monkeypatch.setattr(store, "_cas", stalled_cas)
    store.apply([Put("orders", "1", {"status": "filled"}), Put("positions", "CORN", {"position": 3})])
    monkeypatch.undo()
    assert store.get("orders", "1") == {"status": "filled"}
    assert store.get("positions", "CORN") == {"position": 3}
    store.drop_database()
    store.close()


def test_reserved_fields_refused(url):
    store = MongoStateStore(url)
    with pytest.raises(InvalidData, match="reserved"):
        store.put("orders", "X", {"_id": "Y"})
    with pytest.raises(InvalidData, match="reserved"):
        store.put("orders", "X", {"_rev": "r"})
    store.close()
