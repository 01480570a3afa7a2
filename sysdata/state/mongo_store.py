"""MongoDB state store (pymongo).

One MongoDB collection per state collection; a document's key is its ``_id`` and every document
carries a revision token ``_rev`` (hidden from callers), changed on each write.

Multi-record changes (:meth:`MongoStateStore.apply` with several keys) need no replica set:

1. the batch is simulated on the keys' current documents (an ``Insert`` of an existing key
   fails here, before anything is written);
2. a journal document records, per key, the revision before and the final document and
   revision after (one single-document write, atomic in MongoDB);
3. each key is written *conditionally* on its revision being unchanged since step 1; if another
   writer got in first, the keys already written are put back and :class:`ConcurrencyError` is
   raised, leaving nothing changed;
4. the journal document is removed.

If the writer dies between 2 and 4, the next store to open (or any later multi-record change)
replays journal entries older than ``replay_after_seconds`` (default 60): a key still at its
"before" revision gets its final document; a key already at its "after" revision is done; a key
changed since by someone else is left alone (the later write wins) and reported in the log.
Readers may see a multi-record change half-applied for the instant it takes to write it.

:meth:`MongoStateStore.update` is an atomic read-modify-write: compare-and-set on the revision,
retried on conflict with exponential back-off and random jitter (tenacity) for up to
``UPDATE_TIMEOUT_SECONDS`` in total, so a busy machine or many writers slow it down rather than
make it fail.
"""
from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlparse

import pymongo
import tenacity
from bson.errors import InvalidDocument
from pymongo.errors import (
    BulkWriteError,
    ConnectionFailure,
    DuplicateKeyError,
    PyMongoError,
    ServerSelectionTimeoutError,
)

from syscore.exceptions import (
    ConcurrencyError,
    ExistingData,
    InvalidData,
    StoreError,
    StoreUnavailable,
)
from syscore.redaction import redact_url, redact_with_url
from sysdata.state.base import (
    Delete,
    DeleteAt,
    Index,
    Insert,
    Operation,
    Replace,
    StateStore,
    Versioned,
    check_key,
    check_name,
    check_where,
    encode_doc,
)

JOURNAL = "_journal"
COUNTERS = "_counters"
REV = "_rev"
HOME_IDENTITY = "_home"
_INTERNAL = (JOURNAL, COUNTERS, HOME_IDENTITY)
UPDATE_TIMEOUT_SECONDS = 30.0  # how long update() keeps retrying a conflicting write
UPDATE_MAX_WAIT_SECONDS = 0.1  # longest pause between two attempts
PENDING, REPLAYING, COMMITTED = "pending", "replaying", "committed"
log = logging.getLogger("sysdata.state.mongo")


@contextlib.contextmanager
def _store_errors(what: str):
    """Driver errors become :class:`StoreError` naming the operation."""
    try:
        yield
    except (ConnectionFailure, ServerSelectionTimeoutError) as exc:
        reason = str(exc).split(", Timeout:")[0].split(" Topology Description")[0]
        raise StoreUnavailable(f"MongoDB {what} failed: server unreachable: {reason}") from None
    except (PyMongoError, InvalidDocument) as exc:
        raise StoreError(f"MongoDB {what} failed: {exc}") from None


class _Conflict(Exception):
    """Another writer changed the record between our read and our write (internal)."""


def _new_rev() -> str:
    return uuid.uuid4().hex


def _stale_message(op) -> str:
    return (f"{op.collection}/{op.key} is no longer at revision {op.rev!r} (changed or deleted "
            "by another writer); re-read it and retry")


def _filter(where: dict[str, Any] | None) -> dict[str, Any]:
    """The MongoDB filter of a ``where`` mapping. An equality on a value is sent as ``{"$eq":
    value}``: the same query for MongoDB, but servers that translate filters to SQL (nx-27017 on
    SQLite) otherwise add a clause for array fields that keeps compound indexes from being used,
    so a ledger query by subject and sequence scanned the whole ledger."""
    return {field: cond if isinstance(cond, dict) or cond is None else {"$eq": cond}
            for field, cond in check_where(where).items()}


class MongoStateStore(StateStore):
    """State store in a MongoDB database named by the URL path (``mongodb://host:port/dbname``
    or ``mongodb+srv://...``). ``server_timeout_ms`` (default 5000) bounds how long a call waits
    for the server before it fails with :class:`StoreError`."""

    def __init__(self, url: str, server_timeout_ms: int = 5000,
                 replay_after_seconds: float = 60.0):
        parsed = urlparse(url)
        if parsed.scheme not in ("mongodb", "mongodb+srv"):
            raise InvalidData(f"not a mongodb:// URL: {redact_url(url)}")
        dbname = parsed.path.lstrip("/") or "systrade"
        check_name(dbname, "database")
        self.url = redact_url(url)
        self.replay_after_seconds = replay_after_seconds
        self._indexes: set[str] = set()
        self._collections: dict[str, Any] = {}  # pymongo Collection objects, made once
        try:
            self._client = pymongo.MongoClient(url, serverSelectionTimeoutMS=server_timeout_ms,
                                               connectTimeoutMS=server_timeout_ms, tz_aware=True)
            self._db = self._client[dbname]
            self._client.admin.command("ping")  # once at open: an unreachable server fails here
        except PyMongoError as exc:
            reason = str(exc).split(", Timeout:")[0].split(" Topology Description")[0]
            raise StoreUnavailable(f"cannot reach MongoDB at {self.url} within "
                             f"{server_timeout_ms / 1000:g} s: {redact_with_url(reason, url)}"
                             ) from None
        self.replay_journal(older_than_seconds=replay_after_seconds)

    def _col(self, collection: str):
        col = self._collections.get(collection)
        if col is None:
            col = self._collections[collection] = self._db[check_name(collection)]
        return col

    @staticmethod
    def _strip(doc: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        doc = dict(doc)
        key = doc.pop("_id")
        doc.pop(REV, None)
        return str(key), doc

    # reading --------------------------------------------------------------------------------
    def get(self, collection: str, key: str) -> dict[str, Any] | None:
        with _store_errors("read"):
            doc = self._col(collection).find_one({"_id": key})
        return self._strip(doc)[1] if doc else None

    def get_versioned(self, collection: str, key: str) -> Versioned | None:
        with _store_errors("read"):
            doc, rev = self._current(collection, key)
        return None if doc is None else Versioned(doc, rev)

    def get_many_versioned(self, collection: str, keys: Iterable[str]) -> dict[str, Versioned]:
        """One ``$in`` query on ``_id``."""
        keys = list(dict.fromkeys(keys))
        if not keys:
            return {}
        with _store_errors("read"):
            docs = list(self._col(collection).find({"_id": {"$in": keys}}))
        return {str(doc["_id"]): Versioned(self._strip(doc)[1], str(doc.get(REV, "")))
                for doc in docs}

    def apply_each(self, operations: Iterable[Operation]) -> list[bool]:
        """:class:`Insert` and :class:`Replace` operations go to the server as one unordered
        bulk write per collection (one round trip per collection; a plain single write when the
        collection has only one); others one by one. A bulk in which fewer replacements matched
        than were sent reports all its replacements as not known to be applied (False): the
        caller re-reads."""
        ops = list(operations)
        for op in ops:
            check_name(op.collection)
            check_key(op.key)
            if not isinstance(op, (Delete, DeleteAt)):
                encode_doc(op.doc)
        done = [False] * len(ops)
        bulks: dict[str, list[int]] = {}
        for i, op in enumerate(ops):
            if isinstance(op, (Insert, Replace)):
                bulks.setdefault(op.collection, []).append(i)
            else:
                try:
                    self.apply([op])
                    done[i] = True
                except (ConcurrencyError, ExistingData):
                    pass
        with _store_errors("write"):
            for collection, indexes in bulks.items():
                if len(indexes) == 1:  # one write: no bulk machinery (cheaper on the client)
                    done[indexes[0]] = self._write_one(ops[indexes[0]])
                    continue
                requests = [pymongo.InsertOne({"_id": ops[i].key, **ops[i].doc, REV: _new_rev()})
                            if isinstance(ops[i], Insert) else
                            pymongo.ReplaceOne({"_id": ops[i].key, REV: ops[i].rev},
                                               {"_id": ops[i].key, **ops[i].doc, REV: _new_rev()})
                            for i in indexes]
                replaces = [i for i in indexes if isinstance(ops[i], Replace)]
                try:
                    result = self._col(collection).bulk_write(requests, ordered=False)
                    failed, matched = set(), result.matched_count
                except BulkWriteError as exc:
                    failed = {indexes[e["index"]] for e in exc.details.get("writeErrors", [])}
                    matched = exc.details.get("nMatched", 0)
                unsure = set(replaces) if matched != len(replaces) else set()
                for i in indexes:
                    done[i] = i not in failed and i not in unsure
        return done

    def _write_one(self, op: Insert | Replace) -> bool:
        """One :class:`Insert` or :class:`Replace` as its own write; False if refused."""
        col = self._col(op.collection)
        try:
            if isinstance(op, Insert):
                col.insert_one({"_id": op.key, **op.doc, REV: _new_rev()})
                return True
            return col.replace_one({"_id": op.key, REV: op.rev},
                                   {"_id": op.key, **op.doc, REV: _new_rev()}).matched_count == 1
        except DuplicateKeyError:
            return False

    def ensure_index(self, index: Index) -> None:
        if index.name in self._indexes:
            return
        keys = [(check_name(f, "field"), pymongo.ASCENDING) for f in index.fields]
        options: dict[str, Any] = {"name": index.name}
        if index.unique:  # documents without the fields are not constrained
            options.update(unique=True, partialFilterExpression={
                f: {"$exists": True} for f in index.fields})
        with _store_errors("index creation"):
            self._col(index.collection).create_index(keys, **options)
        self._indexes.add(index.name)

    def find(self, collection, where=None, order_by=None, descending=False, limit=None):
        direction = pymongo.DESCENDING if descending else pymongo.ASCENDING
        sort = [("_id", direction)] if order_by is None else [
            (check_name(order_by, "field"), direction), ("_id", direction)]
        with _store_errors("read"):
            cursor = self._col(collection).find(_filter(where)).sort(sort)
            if limit is not None:
                cursor = cursor.limit(int(limit))
            return [self._strip(doc) for doc in cursor]

    def count(self, collection: str, where: dict[str, Any] | None = None) -> int:
        with _store_errors("read"):
            return self._col(collection).count_documents(_filter(where))

    def collections(self) -> list[str]:
        with _store_errors("read"):
            names = [n for n in self._db.list_collection_names() if n not in _INTERNAL]
            return sorted(n for n in names if self._db[n].count_documents({}, limit=1))

    def counters(self) -> dict[str, int]:
        with _store_errors("read"):
            return {str(doc["_id"]): int(doc["value"])
                    for doc in self._db[COUNTERS].find({}).sort("_id", pymongo.ASCENDING)}

    # conditional single-document writes -------------------------------------------------------
    def _current(self, collection: str, key: str) -> tuple[dict[str, Any] | None, str | None]:
        doc = self._col(collection).find_one({"_id": key})
        if doc is None:
            return None, None
        return self._strip(doc)[1], str(doc.get(REV, ""))

    def _cas(self, collection: str, key: str, expected_rev: str | None,
             doc: dict[str, Any] | None, new_rev: str) -> bool:
        """Write ``doc`` (None: delete) if the key is still at ``expected_rev`` (None: absent)."""
        col = self._col(collection)
        if expected_rev is None:
            if doc is None:
                return col.count_documents({"_id": key}, limit=1) == 0
            try:
                col.insert_one({"_id": key, **doc, REV: new_rev})
                return True
            except DuplicateKeyError:
                return False
        condition = {"_id": key, REV: expected_rev} if expected_rev else \
            {"_id": key, REV: {"$exists": False}}
        if doc is None:
            return col.delete_one(condition).deleted_count == 1
        return col.replace_one(condition, {"_id": key, **doc, REV: new_rev}).matched_count == 1

    # writing --------------------------------------------------------------------------------
    def apply(self, operations: Iterable[Operation]) -> None:
        ops = list(operations)
        for op in ops:
            check_name(op.collection)
            check_key(op.key)
            if not isinstance(op, (Delete, DeleteAt)):
                encode_doc(op.doc)  # same validation as every backend
        if not ops:
            return
        with _store_errors("write"):
            if len(ops) == 1:
                self._apply_single(ops[0])
            else:
                self._apply_batch(ops)

    def _apply_single(self, op: Operation) -> None:
        col = self._col(op.collection)
        if isinstance(op, Delete):
            col.delete_one({"_id": op.key})
        elif isinstance(op, Replace):
            try:
                done = col.replace_one({"_id": op.key, REV: op.rev},
                                       {"_id": op.key, **op.doc, REV: _new_rev()}).matched_count
            except DuplicateKeyError:
                raise ExistingData(f"{op.collection}: record {op.key!r} duplicates a unique field "
                                   "of another record") from None
            if done != 1:
                raise ConcurrencyError(_stale_message(op))
        elif isinstance(op, DeleteAt):
            if col.delete_one({"_id": op.key, REV: op.rev}).deleted_count != 1:
                raise ConcurrencyError(_stale_message(op))
        elif isinstance(op, Insert):
            try:
                col.insert_one({"_id": op.key, **op.doc, REV: _new_rev()})
            except DuplicateKeyError:
                raise ExistingData(f"{op.collection}: a record with key {op.key!r} already exists") from None
        else:
            col.replace_one({"_id": op.key}, {"_id": op.key, **op.doc, REV: _new_rev()}, upsert=True)

    def _apply_batch(self, ops: list[Operation]) -> None:
        self._replay_if_due()
        keys = list(dict.fromkeys((op.collection, op.key) for op in ops))
        before = {k: self._current(*k) for k in keys}
        final: dict[tuple[str, str], dict[str, Any] | None] = {k: before[k][0] for k in keys}
        touched: set[tuple[str, str]] = set()
        for op in ops:  # simulate: every check before any write
            slot = (op.collection, op.key)
            if isinstance(op, Insert) and final[slot] is not None:
                raise ExistingData(f"{op.collection}: a record with key {op.key!r} already exists")
            if isinstance(op, (Replace, DeleteAt)):
                if slot in touched:
                    raise InvalidData(f"{op.collection}/{op.key}: a conditional write must be the "
                                      "first operation on its key in a change")
                if before[slot][1] != op.rev:
                    raise ConcurrencyError(_stale_message(op))
            touched.add(slot)
            final[slot] = None if isinstance(op, (Delete, DeleteAt)) else op.doc
        after_rev = {k: _new_rev() for k in keys}
        entry_id = uuid.uuid4().hex
        self._db[JOURNAL].insert_one({"_id": entry_id, "created": time.time(), "state": PENDING,
                                      "keys": [
            {"collection": c, "key": k, "before": before[(c, k)][1], "after": after_rev[(c, k)],
             "doc": final[(c, k)]} for c, k in keys]})
        written: list[tuple[str, str]] = []
        for slot in keys:
            if self._cas(slot[0], slot[1], before[slot][1], final[slot], after_rev[slot]) \
                    or self._current(*slot)[1] == after_rev[slot]:  # recovery wrote it for us
                written.append(slot)
                continue
            self._abort(entry_id, slot, written, before, final, after_rev)
        try:  # committed: recovery must not touch these keys again
            self._db[JOURNAL].update_one({"_id": entry_id}, {"$set": {"state": COMMITTED}})
            self._db[JOURNAL].delete_one({"_id": entry_id})
        except PyMongoError as exc:  # the change is complete; a leftover entry is harmless
            log.error("journal entry %s not cleared after a complete change: %s", entry_id, exc)

    def _abort(self, entry_id, slot, written, before, final, after_rev) -> None:
        """Another writer changed ``slot``: undo the keys already written, then raise."""
        # take the entry away from recovery first, so it can never roll this change forward
        if self._db[JOURNAL].delete_one({"_id": entry_id, "state": PENDING}).deleted_count == 0:
            raise ConcurrencyError(
                f"{slot[0]}/{slot[1]} was changed by another writer while recovery was completing "
                "this change; re-read the records before retrying")
        not_undone = []
        for undo in reversed(written):
            if not self._put_back(undo, before[undo][0], final[undo], after_rev[undo]):
                not_undone.append(f"{undo[0]}/{undo[1]}")
        if not_undone:
            log.critical("multi-record change could not be fully undone: %s changed again by "
                         "other writers", not_undone)
            raise ConcurrencyError(
                f"{slot[0]}/{slot[1]} was changed by another writer; the change could not be fully "
                f"undone for {not_undone} (changed again since): check them")
        raise ConcurrencyError(
            f"{slot[0]}/{slot[1]} was changed by another writer during a multi-record change; "
            "nothing was written")

    def _put_back(self, slot, before_doc, written_doc, written_rev) -> bool:
        """Restore a key this change wrote, unless someone changed it since; True if restored."""
        collection, key = slot
        if written_doc is None:  # this change deleted it: bring it back if still absent
            if before_doc is None:
                return True
            try:
                self._col(collection).insert_one({"_id": key, **before_doc, REV: _new_rev()})
                return True
            except DuplicateKeyError:
                return False
        return self._cas(collection, key, written_rev, before_doc, _new_rev())

    def _replay_if_due(self) -> None:
        cutoff = time.time() - self.replay_after_seconds
        if self._db[JOURNAL].count_documents({"created": {"$lte": cutoff}}, limit=1):
            self.replay_journal(self.replay_after_seconds)

    def replay_journal(self, older_than_seconds: float = 60.0) -> int:
        """Finish multi-record changes left by dead writers (module docstring); returns how
        many journal entries were replayed. Each entry is claimed atomically, so two processes
        never replay the same one, and a writer that is only slow sees the claim and stops."""
        cutoff = time.time() - older_than_seconds
        replayed = 0
        journal = self._db[JOURNAL]
        with _store_errors("journal replay"):
            journal.delete_many({"state": COMMITTED})
            for entry in list(journal.find({"created": {"$lte": cutoff}})):
                claimed = journal.find_one_and_update(
                    {"_id": entry["_id"], "$or": [
                        {"state": PENDING},
                        {"state": REPLAYING, "claimed_at": {"$lte": cutoff}}]},
                    {"$set": {"state": REPLAYING, "claimed_at": time.time()}})
                if claimed is None:
                    continue
                for item in claimed.get("keys", []):
                    collection, key = item["collection"], item["key"]
                    _, rev = self._current(collection, key)
                    if rev == item["after"] or (rev is None and item["doc"] is None):
                        continue
                    if rev == item["before"]:
                        self._cas(collection, key, rev, item["doc"], item["after"])
                        continue
                    log.error("journal %s: %s/%s changed by a later write; left as it is",
                              claimed["_id"], collection, key)
                journal.delete_one({"_id": claimed["_id"]})
                replayed += 1
        return replayed

    def update(self, collection, key, change):
        """Atomic read-modify-write: ``change(current)`` is applied and written only if the
        record is unchanged since it was read; on a conflict it is read again and ``change``
        called again (so ``change`` must have no side effects). Retries wait a random time up to
        1 ms × 2^attempt, at most ``UPDATE_MAX_WAIT_SECONDS`` (exponential back-off with full
        jitter), until ``UPDATE_TIMEOUT_SECONDS`` (30 s) have passed: then
        :class:`ConcurrencyError`."""
        check_name(collection)
        check_key(key)

        def attempt():
            current, rev = self._current(collection, key)
            new = change(current)
            if new is not None:
                encode_doc(new)
            if not self._cas(collection, key, rev, new, _new_rev()):
                raise _Conflict
            return new

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_Conflict),
            wait=tenacity.wait_random_exponential(multiplier=0.001, max=UPDATE_MAX_WAIT_SECONDS),
            stop=tenacity.stop_after_delay(UPDATE_TIMEOUT_SECONDS),
            reraise=True)
        with _store_errors("write"):
            try:
                return retrying(attempt)
            except _Conflict:
                pass
        raise ConcurrencyError(
            f"{collection}/{key}: changed by other writers on every attempt for "
            f"{UPDATE_TIMEOUT_SECONDS:g} s; try again")

    def next_id(self, counter: str, start: int = 1) -> int:
        check_name(counter, "counter")
        with _store_errors("counter"):
            doc = self._db[COUNTERS].find_one_and_update(
                {"_id": counter}, {"$inc": {"value": 1}},
                return_document=pymongo.ReturnDocument.AFTER)
            if doc is None:
                try:
                    self._db[COUNTERS].insert_one({"_id": counter, "value": start})
                    return start
                except DuplicateKeyError:
                    return self.next_id(counter, start)
            return int(doc["value"])

    def set_counter_at_least(self, counter: str, value: int) -> None:
        check_name(counter, "counter")
        with _store_errors("write"):
            if self._db[COUNTERS].find_one({"_id": counter}) is None:
                try:
                    self._db[COUNTERS].insert_one({"_id": counter, "value": int(value)})
                    return
                except DuplicateKeyError:
                    pass
            self._db[COUNTERS].update_one({"_id": counter}, {"$max": {"value": int(value)}})

    def home_identity(self) -> dict[str, Any] | None:
        with _store_errors("read"):
            doc = self._db[HOME_IDENTITY].find_one({"_id": "identity"})
        return self._strip(doc)[1] if doc else None

    def claim_home_identity(self, identity: dict[str, Any]) -> dict[str, Any]:
        encode_doc(identity)
        with _store_errors("write"):
            try:
                self._db[HOME_IDENTITY].insert_one({"_id": "identity", **identity})
            except DuplicateKeyError:
                pass
        stored = self.home_identity()
        if stored is None:  # pragma: no cover - deleted in between by an operator
            raise StoreError(f"home identity of {self.url} vanished while being recorded")
        return stored

    def reset_counters(self) -> None:
        with _store_errors("write"):
            self._db[COUNTERS].delete_many({})

    def clear_pending_changes(self) -> None:
        with _store_errors("write"):
            self._db[JOURNAL].delete_many({})

    def drop(self, collection: str) -> None:
        with _store_errors("write"):
            self._col(collection).delete_many({})

    def drop_database(self) -> None:
        """Delete every collection of this store's database (tests and restores)."""
        with _store_errors("write"):
            for name in self._db.list_collection_names():
                self._db[name].delete_many({})

    def snapshot(self):
        with _store_errors("read"):
            return super().snapshot()

    def close(self) -> None:
        self._client.close()
