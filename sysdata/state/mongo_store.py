"""MongoDB state store (pymongo).

One MongoDB collection per state collection; a document's key is its ``_id``. Multi-document
changes use a write-ahead journal: the whole batch is first written as one document to
``_journal`` (a single-document write, atomic in MongoDB), then applied with idempotent
operations, then the journal entry is removed. A process that dies part-way leaves the journal
entry; the next :class:`MongoStateStore` to open replays entries older than
``replay_after_seconds`` (default 60), which finishes the change. This needs no replica set.
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlparse

import pymongo
from pymongo.errors import DuplicateKeyError, PyMongoError

from syscore.exceptions import ExistingData, InvalidData, StoreError
from sysdata.state.base import (
    Delete,
    Insert,
    Operation,
    Put,
    StateStore,
    check_key,
    check_name,
    check_where,
    encode_doc,
)

JOURNAL = "_journal"
COUNTERS = "_counters"
_INTERNAL = (JOURNAL, COUNTERS)


def _redact(url: str) -> str:
    parsed = urlparse(url)
    if parsed.password:
        return url.replace(f":{parsed.password}@", ":***@")
    return url


class MongoStateStore(StateStore):
    """State store in a MongoDB database named by the URL path (``mongodb://host:port/dbname``).

    ``server_timeout_ms`` (default 5000) bounds how long a call waits for the server before it
    fails with :class:`StoreError`.
    """

    def __init__(
        self,
        url: str,
        server_timeout_ms: int = 5000,
        replay_after_seconds: float = 60.0,
    ):
        parsed = urlparse(url)
        if parsed.scheme != "mongodb":
            raise InvalidData(f"not a mongodb:// URL: {_redact(url)}")
        dbname = parsed.path.lstrip("/") or "systrade"
        check_name(dbname, "database")
        self.url = _redact(url)
        self._client = pymongo.MongoClient(
            url, serverSelectionTimeoutMS=server_timeout_ms, tz_aware=True
        )
        self._db = self._client[dbname]
        try:
            self._client.admin.command("ping")
        except PyMongoError as exc:
            raise StoreError(f"cannot reach MongoDB at {self.url}: {exc}") from None
        self.replay_journal(older_than_seconds=replay_after_seconds)

    def _col(self, collection: str):
        return self._db[check_name(collection)]

    @staticmethod
    def _strip(doc: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        doc = dict(doc)
        key = doc.pop("_id")
        return str(key), doc

    # reading --------------------------------------------------------------------------------
    def get(self, collection: str, key: str) -> dict[str, Any] | None:
        try:
            doc = self._col(collection).find_one({"_id": key})
        except PyMongoError as exc:
            raise StoreError(f"MongoDB read failed: {exc}") from None
        return self._strip(doc)[1] if doc else None

    @staticmethod
    def _query(where: dict[str, Any] | None) -> dict[str, Any]:
        return dict(check_where(where))

    def find(
        self,
        collection: str,
        where: dict[str, Any] | None = None,
        order_by: str | None = None,
        descending: bool = False,
        limit: int | None = None,
    ) -> list[tuple[str, dict[str, Any]]]:
        direction = pymongo.DESCENDING if descending else pymongo.ASCENDING
        sort = [("_id", direction)] if order_by is None else [
            (check_name(order_by, "field"), direction), ("_id", direction)
        ]
        try:
            cursor = self._col(collection).find(self._query(where)).sort(sort)
            if limit is not None:
                cursor = cursor.limit(int(limit))
            return [self._strip(doc) for doc in cursor]
        except PyMongoError as exc:
            raise StoreError(f"MongoDB read failed: {exc}") from None

    def count(self, collection: str, where: dict[str, Any] | None = None) -> int:
        try:
            return self._col(collection).count_documents(self._query(where))
        except PyMongoError as exc:
            raise StoreError(f"MongoDB read failed: {exc}") from None

    def collections(self) -> list[str]:
        names = [n for n in self._db.list_collection_names() if n not in _INTERNAL]
        return sorted(n for n in names if self._db[n].count_documents({}, limit=1))

    def counters(self) -> dict[str, int]:
        return {
            str(doc["_id"]): int(doc["value"])
            for doc in self._db[COUNTERS].find({}).sort("_id", pymongo.ASCENDING)
        }

    # writing --------------------------------------------------------------------------------
    def _apply_one(self, op: Operation, replay: bool = False) -> None:
        col = self._col(op.collection)
        if isinstance(op, Delete):
            col.delete_one({"_id": op.key})
        elif isinstance(op, Insert) and not replay:
            try:
                col.insert_one({"_id": op.key, **op.doc})
            except DuplicateKeyError:
                raise ExistingData(
                    f"{op.collection}: a record with key {op.key!r} already exists"
                ) from None
        else:
            col.replace_one({"_id": op.key}, {"_id": op.key, **op.doc}, upsert=True)

    def apply(self, operations: Iterable[Operation]) -> None:
        ops = list(operations)
        for op in ops:
            check_name(op.collection)
            check_key(op.key)
            if not isinstance(op, Delete):
                encode_doc(op.doc)  # same validation as every backend
        if not ops:
            return
        try:
            if len(ops) == 1:
                self._apply_one(ops[0])
                return
            # refuse before writing anything, judging each Insert as the batch so far leaves it
            present: dict[tuple[str, str], bool] = {}
            for op in ops:
                slot = (op.collection, op.key)
                if isinstance(op, Insert):
                    exists = present.get(slot)
                    if exists is None:
                        exists = self._col(op.collection).find_one({"_id": op.key}) is not None
                    if exists:
                        raise ExistingData(
                            f"{op.collection}: a record with key {op.key!r} already exists"
                        )
                present[slot] = not isinstance(op, Delete)
            entry_id = uuid.uuid4().hex
            self._db[JOURNAL].insert_one(
                {"_id": entry_id, "created": time.time(), "ops": [_op_to_doc(op) for op in ops]}
            )
            for op in ops:
                self._apply_one(op, replay=True)
            self._db[JOURNAL].delete_one({"_id": entry_id})
        except PyMongoError as exc:
            raise StoreError(f"MongoDB write failed: {exc}") from None

    def replay_journal(self, older_than_seconds: float = 60.0) -> int:
        """Finish changes left half-applied by a dead process; returns how many were replayed."""
        cutoff = time.time() - older_than_seconds
        replayed = 0
        for entry in self._db[JOURNAL].find({"created": {"$lte": cutoff}}):
            for raw in entry["ops"]:
                self._apply_one(_op_from_doc(raw), replay=True)
            self._db[JOURNAL].delete_one({"_id": entry["_id"]})
            replayed += 1
        return replayed

    def next_id(self, counter: str, start: int = 1) -> int:
        check_name(counter, "counter")
        try:
            doc = self._db[COUNTERS].find_one_and_update(
                {"_id": counter},
                {"$inc": {"value": 1}},
                return_document=pymongo.ReturnDocument.AFTER,
            )
            if doc is None:
                try:
                    self._db[COUNTERS].insert_one({"_id": counter, "value": start})
                    return start
                except DuplicateKeyError:
                    return self.next_id(counter, start)
            return int(doc["value"])
        except PyMongoError as exc:
            raise StoreError(f"MongoDB counter failed: {exc}") from None

    def set_counter_at_least(self, counter: str, value: int) -> None:
        check_name(counter, "counter")
        current = self._db[COUNTERS].find_one({"_id": counter})
        if current is None:
            try:
                self._db[COUNTERS].insert_one({"_id": counter, "value": int(value)})
                return
            except DuplicateKeyError:
                pass
        self._db[COUNTERS].update_one({"_id": counter}, {"$max": {"value": int(value)}})

    def drop(self, collection: str) -> None:
        self._col(collection).delete_many({})

    def drop_database(self) -> None:
        """Delete every collection of this store's database (tests and restores)."""
        for name in self._db.list_collection_names():
            self._db[name].delete_many({})

    def close(self) -> None:
        self._client.close()


def _op_to_doc(op: Operation) -> dict[str, Any]:
    kind = type(op).__name__
    out = {"kind": kind, "collection": op.collection, "key": op.key}
    if not isinstance(op, Delete):
        out["doc"] = op.doc
    return out


def _op_from_doc(raw: dict[str, Any]) -> Operation:
    if raw["kind"] == "Delete":
        return Delete(raw["collection"], raw["key"])
    if raw["kind"] in ("Put", "Insert"):
        return Put(raw["collection"], raw["key"], raw["doc"])
    raise InvalidData(f"unknown journal operation {raw['kind']!r}")
