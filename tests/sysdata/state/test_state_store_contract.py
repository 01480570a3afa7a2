"""Contract tests every state-store backend must pass (SQLite and MongoDB)."""
from __future__ import annotations

import pytest

from syscore.exceptions import ExistingData, InvalidData
from sysdata.state.base import Delete, Insert, Put


def test_put_get_roundtrip_preserves_types(state_store):
    doc = {"a": 1, "b": 2.5, "c": "x", "d": True, "e": None, "f": [1, "two"], "g": {"h": 3}}
    state_store.put("things", "k1", doc)
    assert state_store.get("things", "k1") == doc
    assert state_store.get("things", "missing") is None


def test_put_replaces_whole_document(state_store):
    state_store.put("things", "k", {"a": 1, "b": 2})
    state_store.put("things", "k", {"a": 5})
    assert state_store.get("things", "k") == {"a": 5}


def test_insert_refuses_existing_key(state_store):
    state_store.insert("things", "k", {"a": 1})
    with pytest.raises(ExistingData, match="already exists"):
        state_store.insert("things", "k", {"a": 2})
    assert state_store.get("things", "k") == {"a": 1}


def test_nan_and_non_json_refused_and_nothing_written(state_store):
    with pytest.raises(InvalidData, match="NaN"):
        state_store.put("things", "k", {"a": float("nan")})
    with pytest.raises(InvalidData, match="not JSON"):
        state_store.put("things", "k", {"a": object()})
    assert state_store.get("things", "k") is None


def test_find_with_operators_and_order(state_store):
    for i in range(10):
        state_store.put("rows", f"r{i:02d}", {"n": i, "parity": "even" if i % 2 == 0 else "odd",
                                               "flag": i > 6})
    assert state_store.keys("rows", {"parity": "odd"}) == ["r01", "r03", "r05", "r07", "r09"]
    assert [d["n"] for _, d in state_store.find("rows", {"n": {"$gte": 3, "$lt": 6}})] == [3, 4, 5]
    assert [d["n"] for _, d in state_store.find("rows", {"n": {"$in": [2, 8, 11]}})] == [2, 8]
    assert [d["n"] for _, d in state_store.find("rows", {"flag": True})] == [7, 8, 9]
    assert state_store.count("rows", {"n": {"$ne": 0}}) == 9
    top = state_store.find("rows", order_by="n", descending=True, limit=2)
    assert [d["n"] for _, d in top] == [9, 8]


def test_apply_is_all_or_nothing(state_store):
    state_store.put("a", "existing", {"v": 1})
    with pytest.raises(ExistingData):
        state_store.apply([
            Put("a", "new1", {"v": 2}),
            Delete("a", "other"),
            Insert("a", "existing", {"v": 3}),  # fails: key exists
        ])
    assert state_store.get("a", "new1") is None
    assert state_store.get("a", "existing") == {"v": 1}


def test_apply_sees_its_own_earlier_operations(state_store):
    state_store.put("a", "k", {"v": 1})
    state_store.apply([Delete("a", "k"), Insert("a", "k", {"v": 2})])
    assert state_store.get("a", "k") == {"v": 2}
    with pytest.raises(ExistingData):
        state_store.apply([Insert("a", "n", {"v": 1}), Insert("a", "n", {"v": 2})])
    assert state_store.get("a", "n") is None


def test_apply_many_operations(state_store):
    state_store.apply([Put("a", f"k{i}", {"i": i}) for i in range(50)] + [Delete("a", "k3")])
    assert state_store.count("a") == 49


def test_next_id_is_monotonic_and_independent(state_store):
    assert [state_store.next_id("orders") for _ in range(3)] == [1, 2, 3]
    assert state_store.next_id("other", start=100) == 100
    assert state_store.next_id("orders") == 4
    state_store.set_counter_at_least("orders", 50)
    assert state_store.next_id("orders") == 51
    state_store.set_counter_at_least("orders", 10)  # never goes back
    assert state_store.next_id("orders") == 52
    assert state_store.counters()["orders"] == 52


def test_collections_drop_and_dump(state_store):
    state_store.put("x", "1", {"a": 1})
    state_store.put("y", "1", {"b": 2})
    assert state_store.collections() == ["x", "y"]
    assert state_store.dump() == {"x": {"1": {"a": 1}}, "y": {"1": {"b": 2}}}
    state_store.drop("x")
    assert state_store.collections() == ["y"]


def test_bad_names_refused(state_store):
    with pytest.raises(InvalidData):
        state_store.put("bad name", "k", {})
    with pytest.raises(InvalidData):
        state_store.put("ok", "", {})
    with pytest.raises(InvalidData, match="unknown query operators"):
        state_store.find("ok", {"a": {"$regex": "x"}})


def test_update_is_read_modify_write(state_store):
    assert state_store.update("c", "k", lambda doc: {"n": 1} if doc is None else doc) == {"n": 1}
    state_store.update("c", "k", lambda doc: {"n": doc["n"] + 1})
    assert state_store.get("c", "k") == {"n": 2}
    state_store.update("c", "k", lambda doc: None)
    assert state_store.get("c", "k") is None


def test_snapshot_and_reset_counters(state_store):
    state_store.put("a", "1", {"v": 1})
    state_store.next_id("ids")
    docs, counters = state_store.snapshot()
    assert docs == {"a": {"1": {"v": 1}}} and counters == {"ids": 1}
    state_store.reset_counters()
    assert state_store.counters() == {}
    assert state_store.next_id("ids") == 1


def test_sqlite_durability_setting(tmp_path):
    from sysdata.state.sqlite_store import SqliteStateStore

    full = SqliteStateStore(tmp_path / "a.sqlite")
    normal = SqliteStateStore(tmp_path / "b.sqlite", synchronous="NORMAL")
    try:
        assert full._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert normal._conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        with pytest.raises(InvalidData, match="FULL or NORMAL"):
            SqliteStateStore(tmp_path / "c.sqlite", synchronous="OFF")
    finally:
        full.close()
        normal.close()
