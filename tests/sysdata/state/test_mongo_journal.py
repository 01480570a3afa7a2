"""The MongoDB write-ahead journal finishes a batch whose writer died part-way."""
from __future__ import annotations

import time
import uuid

from sysdata.state.mongo_store import JOURNAL, MongoStateStore


def test_half_applied_batch_is_finished_on_next_open(mongo_url):
    url = f"{mongo_url}/j{uuid.uuid4().hex[:10]}"
    first = MongoStateStore(url)
    # what a writer leaves when killed after journaling and applying only the first operation
    first._db[JOURNAL].insert_one({
        "_id": "dead-writer", "created": time.time() - 120,
        "ops": [
            {"kind": "Put", "collection": "orders", "key": "1", "doc": {"filled": 2}},
            {"kind": "Put", "collection": "positions", "key": "CORN", "doc": {"position": 2}},
            {"kind": "Delete", "collection": "pending", "key": "1"},
        ],
    })
    first.put("orders", "1", {"filled": 2})
    first.put("pending", "1", {"x": 1})
    assert first.get("positions", "CORN") is None
    second = MongoStateStore(url)
    assert second.get("positions", "CORN") == {"position": 2}
    assert second.get("orders", "1") == {"filled": 2}
    assert second.get("pending", "1") is None
    assert second._db[JOURNAL].count_documents({}) == 0
    # a fresh journal entry (a live writer mid-batch) is left alone
    second._db[JOURNAL].insert_one({"_id": "live", "created": time.time(), "ops": []})
    third = MongoStateStore(url)
    assert third._db[JOURNAL].count_documents({"_id": "live"}) == 1
    third.drop_database()
    for store in (first, second, third):
        store.close()
