"""MongoDB update(): conflicts are retried with back-off for a bounded time, not a fixed count."""
from __future__ import annotations

import uuid

import pytest

from syscore.exceptions import ConcurrencyError
from sysdata.state import mongo_store
from sysdata.state.mongo_store import REV, MongoStateStore


@pytest.fixture
def store(mongo_url):
    store = MongoStateStore(f"{mongo_url}/r{uuid.uuid4().hex[:10]}")
    yield store
    store.drop_database()
    store.close()


def other_writer_wins(store, monkeypatch, times):
    """Before each of our first ``times`` conditional writes another writer bumps the record."""
    real_cas = store._cas
    raced = []

    def racing_cas(collection, key, expected, doc, new_rev):
        if len(raced) < times:
            raced.append(1)
            current = store._db[collection].find_one({"_id": key})
            store._db[collection].replace_one(
                {"_id": key}, {"_id": key, "used": current["used"] + 100, REV: uuid.uuid4().hex})
        return real_cas(collection, key, expected, doc, new_rev)

    monkeypatch.setattr(store, "_cas", racing_cas)
    return raced


def test_update_outlasts_many_conflicts(store, monkeypatch):
    store.put("limits", "CORN", {"used": 0})
    calls = []

    def add_one(doc):
        calls.append(doc["used"])
        return {"used": doc["used"] + 1}

    other_writer_wins(store, monkeypatch, times=60)  # more than the old 50 attempts
    assert store.update("limits", "CORN", add_one) == {"used": 6001}
    monkeypatch.undo()
    assert store.get("limits", "CORN") == {"used": 6001}  # no increment lost, ours on top
    assert len(calls) == 61 and calls[-1] == 6000


def test_update_gives_up_after_its_time_bound(store, monkeypatch):
    store.put("limits", "CORN", {"used": 0})
    monkeypatch.setattr(mongo_store, "UPDATE_TIMEOUT_SECONDS", 0.3)
    raced = other_writer_wins(store, monkeypatch, times=10**9)  # the other writer always wins
    with pytest.raises(ConcurrencyError, match="changed by other writers on every attempt"):
        store.update("limits", "CORN", lambda doc: {"used": doc["used"] + 1})
    monkeypatch.undo()
    assert len(raced) > 1  # it did retry
    assert store.get("limits", "CORN") == {"used": 100 * len(raced)}  # ours never written
