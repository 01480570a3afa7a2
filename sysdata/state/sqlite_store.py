"""SQLite state store: one file, WAL journal, busy timeout, one transaction per change.

Safe for several processes on one machine: SQLite serialises writers; a writer killed mid-change
leaves the file as it was before the transaction (WAL recovery on next open).
"""
from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syscore.exceptions import ConcurrencyError, ExistingData, InvalidData, StoreError
from sysdata.state.base import (
    Delete,
    DeleteAt,
    Index,
    Insert,
    Operation,
    Put,
    Replace,
    StateStore,
    Versioned,
    check_key,
    check_name,
    check_where,
    encode_doc,
)

_UPSERT_DOC = ("INSERT INTO docs (collection, key, doc, rev) VALUES (?, ?, ?, ?) "
               "ON CONFLICT (collection, key) DO UPDATE SET doc = excluded.doc, rev = excluded.rev")
_INSERT_DOC = "INSERT INTO docs (collection, key, doc, rev) VALUES (?, ?, ?, ?)"
_DELETE_DOC = "DELETE FROM docs WHERE collection = ? AND key = ?"

_SQL_OPS = {"$eq": "=", "$ne": "!=", "$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}

SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    collection TEXT NOT NULL,
    key TEXT NOT NULL,
    doc TEXT NOT NULL,
    rev TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (collection, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS home_identity (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS docs_timestamp
    ON docs (collection, json_extract(doc, '$.timestamp'));
"""


class SqliteStateStore(StateStore):
    """State store in one SQLite file (created if missing).

    ``busy_timeout_seconds`` (default 30) is how long a writer waits for another process's
    transaction before failing with :class:`StoreError`. ``synchronous`` (default ``FULL``): with
    ``FULL`` a committed change survives a power cut, not only a process crash; ``NORMAL`` is
    faster but a power cut can lose the last committed changes (never corrupts the file).
    """

    cheap_multi_record_changes = True

    def __init__(self, path: Path | str, busy_timeout_seconds: float = 30.0,
                 synchronous: str = "FULL"):
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        if synchronous not in ("FULL", "NORMAL"):
            raise InvalidData(f"SQLite synchronous must be FULL or NORMAL, got {synchronous!r}")
        self._synchronous = synchronous
        if not self.path.parent.is_dir():
            raise StoreError(f"directory for state store does not exist: {self.path.parent}")
        self._lock = threading.RLock()
        self._depth = 0  # nesting of write transactions (under _lock): > 0 inside one
        self._batch: _Batch | None = None  # the open batch() (its transaction is depth 1)
        self._indexes: set[str] = set()
        try:
            self._conn = sqlite3.connect(
                str(self.path),
                timeout=busy_timeout_seconds,
                isolation_level=None,
                check_same_thread=False,
            )
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_seconds * 1000)}")
            self._initialise(busy_timeout_seconds)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open state store {self.path}: {exc}") from None

    def _initialise(self, timeout_seconds: float) -> None:
        """WAL mode and schema. Two processes creating a new file at the same instant can get
        "database is locked" at once (SQLite skips the busy handler where waiting could
        deadlock), so this is retried until the busy timeout."""
        deadline = time.monotonic() + timeout_seconds
        while True:
            try:
                self._conn.execute("PRAGMA journal_mode = WAL")
                self._conn.execute(f"PRAGMA synchronous = {self._synchronous}")
                self._conn.executescript(SCHEMA)
                columns = [r[1] for r in self._conn.execute("PRAGMA table_info(docs)")]
                if "rev" not in columns:  # a file written before revisions existed
                    self._conn.execute("ALTER TABLE docs ADD COLUMN rev TEXT NOT NULL DEFAULT ''")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    # reading --------------------------------------------------------------------------------
    def get(self, collection: str, key: str) -> dict[str, Any] | None:
        check_name(collection)
        with self._lock:
            row = self._conn.execute(
                "SELECT doc FROM docs WHERE collection = ? AND key = ?", (collection, key)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def get_versioned(self, collection: str, key: str) -> Versioned | None:
        check_name(collection)
        with self._lock:
            row = self._conn.execute(
                "SELECT doc, rev FROM docs WHERE collection = ? AND key = ?", (collection, key)
            ).fetchone()
        return Versioned(json.loads(row[0]), row[1]) if row else None

    def get_many_versioned(self, collection: str, keys: Iterable[str]) -> dict[str, Versioned]:
        """The documents at ``keys`` with their revisions (missing keys left out): one query
        per 500 keys."""
        check_name(collection)
        wanted = list(dict.fromkeys(keys))
        found: dict[str, Versioned] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            marks = ",".join("?" * len(chunk))
            with self._lock:
                rows = self._conn.execute(
                    f"SELECT key, doc, rev FROM docs WHERE collection = ? AND key IN ({marks})",
                    (collection, *chunk)).fetchall()
            for key, doc, rev in rows:
                found[key] = Versioned(json.loads(doc), rev)
        return found

    def ensure_index(self, index: Index) -> None:
        """SQLite: a partial expression index on the shared ``docs`` table, covering only this
        collection's documents (so writes elsewhere do not pay for it). Queries name the
        collection as a literal so that the planner can use it."""
        check_name(index.collection)
        if index.name in self._indexes:
            return
        exprs = ", ".join(f"json_extract(doc, '$.{check_name(f, 'field')}')" for f in index.fields)
        unique = "UNIQUE " if index.unique else ""
        sql = (f'CREATE {unique}INDEX IF NOT EXISTS "{index.name}" ON docs ({exprs}) '
               f"WHERE collection = '{index.collection}'")
        with self._lock:
            self._conn.execute(sql)
        self._indexes.add(index.name)

    def _where_sql(self, collection: str, where: dict[str, Any] | None) -> tuple[str, list]:
        where = check_where(where)
        # the (validated) collection name as a literal: partial indexes can then be used
        clauses, params = [f"collection = '{check_name(collection)}'"], []
        for field, cond in where.items():
            expr = f"json_extract(doc, '$.{field}')"
            conditions = cond if isinstance(cond, dict) else {"$eq": cond}
            for op, target in conditions.items():
                if op == "$in":
                    values = [_sql_value(v) for v in target]
                    if not values:
                        clauses.append("0")
                        continue
                    clauses.append(f"{expr} IN ({','.join('?' * len(values))})")
                    params.extend(values)
                elif target is None and op in ("$eq", "$ne"):
                    clauses.append(f"{expr} IS {'NOT ' if op == '$ne' else ''}NULL")
                else:
                    if op == "$ne":
                        clauses.append(f"({expr} IS NULL OR {expr} != ?)")
                    else:
                        clauses.append(f"{expr} {_SQL_OPS[op]} ?")
                    params.append(_sql_value(target))
        return " AND ".join(clauses), params

    def find(
        self,
        collection: str,
        where: dict[str, Any] | None = None,
        order_by: str | None = None,
        descending: bool = False,
        limit: int | None = None,
    ) -> list[tuple[str, dict[str, Any]]]:
        check_name(collection)
        clause, params = self._where_sql(collection, where)
        if order_by is None:
            order = "key"
        else:
            check_name(order_by, "field")
            order = f"json_extract(doc, '$.{order_by}')"
        sql = f"SELECT key, doc FROM docs WHERE {clause} ORDER BY {order}"
        sql += " DESC" if descending else " ASC"
        if order_by is not None:
            sql += ", key" + (" DESC" if descending else " ASC")
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._lock:
            rows = self._conn.execute(sql, params).fetchall()
        return [(key, json.loads(doc)) for key, doc in rows]

    def count(self, collection: str, where: dict[str, Any] | None = None) -> int:
        check_name(collection)
        clause, params = self._where_sql(collection, where)
        with self._lock:
            return self._conn.execute(f"SELECT COUNT(*) FROM docs WHERE {clause}", params).fetchone()[0]

    def collections(self) -> list[str]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT DISTINCT collection FROM docs ORDER BY collection"
            ).fetchall()
        return [r[0] for r in rows]

    def counters(self) -> dict[str, int]:
        with self._lock:
            rows = self._conn.execute("SELECT name, value FROM counters ORDER BY name").fetchall()
        return dict(rows)

    # writing --------------------------------------------------------------------------------
    def apply(self, operations: Iterable[Operation]) -> None:
        prepared = []
        for op in operations:
            check_name(op.collection)
            check_key(op.key)
            text = None if isinstance(op, (Delete, DeleteAt)) else encode_doc(op.doc)
            prepared.append((op, text))
        if not prepared:
            return
        with self._write_transaction():
            for op, text in prepared:
                if isinstance(op, (Put, Insert)):
                    try:
                        self._conn.execute(_UPSERT_DOC if isinstance(op, Put) else _INSERT_DOC,
                                           (op.collection, op.key, text, _new_rev()))
                    except sqlite3.IntegrityError as exc:
                        raise ExistingData(_exists_message(op, exc)) from None
                elif isinstance(op, Replace):
                    try:
                        cur = self._conn.execute(
                            "UPDATE docs SET doc = ?, rev = ? "
                            "WHERE collection = ? AND key = ? AND rev = ?",
                            (text, _new_rev(), op.collection, op.key, op.rev))
                    except sqlite3.IntegrityError as exc:
                        raise ExistingData(_exists_message(op, exc)) from None
                    if cur.rowcount != 1:
                        raise ConcurrencyError(_stale_message(op))
                elif isinstance(op, DeleteAt):
                    cur = self._conn.execute(_DELETE_DOC + " AND rev = ?",
                                             (op.collection, op.key, op.rev))
                    if cur.rowcount != 1:
                        raise ConcurrencyError(_stale_message(op))
                elif isinstance(op, Delete):
                    self._conn.execute(_DELETE_DOC, (op.collection, op.key))
                else:  # pragma: no cover - type guard
                    raise InvalidData(f"unknown operation {op!r}")

    def next_id(self, counter: str, start: int = 1) -> int:
        check_name(counter, "counter")
        with self._write_transaction():
            row = self._conn.execute(
                "INSERT INTO counters (name, value) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
                (counter, start),
            ).fetchone()
        return int(row[0])

    def set_counter_at_least(self, counter: str, value: int) -> None:
        check_name(counter, "counter")
        with self._lock:
            self._conn.execute(
                "INSERT INTO counters (name, value) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value = MAX(value, excluded.value)",
                (counter, int(value)),
            )

    def update(self, collection, key, change):
        check_name(collection)
        check_key(key)
        with self._write_transaction():
            row = self._conn.execute(
                "SELECT doc FROM docs WHERE collection = ? AND key = ?", (collection, key)
            ).fetchone()
            new = change(json.loads(row[0]) if row else None)
            if new is None:
                self._conn.execute(_DELETE_DOC, (collection, key))
            else:
                self._conn.execute(_UPSERT_DOC, (collection, key, encode_doc(new), _new_rev()))
        return new

    def snapshot(self):
        """Every document and counter read in one transaction: a consistent snapshot."""
        with self._lock:
            outer = not self._depth  # inside atomic(): already one transaction
            if outer:
                self._conn.execute("BEGIN")
            try:
                rows = self._conn.execute(
                    "SELECT collection, key, doc FROM docs ORDER BY collection, key").fetchall()
                counters = dict(self._conn.execute("SELECT name, value FROM counters").fetchall())
            finally:
                if outer:
                    self._conn.execute("COMMIT")
        dump: dict = {}
        for collection, key, doc in rows:
            dump.setdefault(collection, {})[key] = json.loads(doc)
        return dump, counters

    def home_identity(self) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute("SELECT doc FROM home_identity WHERE id = 1").fetchone()
        return json.loads(row[0]) if row else None

    def claim_home_identity(self, identity: dict[str, Any]) -> dict[str, Any]:
        text = encode_doc(identity)
        with self._write_transaction():
            self._conn.execute("INSERT OR IGNORE INTO home_identity (id, doc) VALUES (1, ?)",
                               (text,))
            row = self._conn.execute("SELECT doc FROM home_identity WHERE id = 1").fetchone()
        return json.loads(row[0])

    def reset_counters(self) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM counters")

    @contextlib.contextmanager
    def _write_transaction(self) -> Iterator[None]:
        """One ``BEGIN IMMEDIATE`` transaction under the thread lock: committed if the block
        completes, rolled back if it raises (anything, including KeyboardInterrupt). Inside
        another one (:meth:`atomic`) a savepoint instead: released if the block completes,
        rolled back alone if it raises; the outer transaction commits."""
        with self._lock:
            if self._depth:
                self._conn.execute("SAVEPOINT nested")
                self._depth += 1
                try:
                    yield
                except BaseException:
                    self._conn.execute("ROLLBACK TO nested")
                    self._conn.execute("RELEASE nested")
                    raise
                else:
                    self._conn.execute("RELEASE nested")
                finally:
                    self._depth -= 1
                return
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise StoreError(f"state store {self.path} is busy: {exc}") from None
            self._depth = 1
            try:
                yield
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            finally:
                self._depth = 0

    @contextlib.contextmanager
    def batch(self, max_seconds: float = 0.5, max_records: int = 1000) -> Iterator[None]:
        """One ``BEGIN IMMEDIATE`` transaction around the block, committed at its end and at
        each :meth:`checkpoint` (see :meth:`StateStore.batch`). The block's changes are
        committed also when it raises: each change inside is whole (a savepoint), and the
        code before batches committed each one as it was made. Inside another transaction
        (:meth:`atomic`, a batch) the block is simply part of it."""
        with self._lock:
            if self._depth:
                yield
                return
            self._begin_batch(_Batch(max_seconds, max_records))
            try:
                yield
            except BaseException:
                self._end_batch()
                raise
            self._end_batch()

    def _begin_batch(self, batch: _Batch) -> None:
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StoreError(f"state store {self.path} is busy: {exc}") from None
        self._depth = 1
        batch.began, batch.records = time.monotonic(), 0
        self._batch = batch

    def _end_batch(self) -> None:
        """Commit the batch's transaction (if one is open: a failed re-begin leaves none)."""
        self._batch = None
        if not self._depth:
            return
        try:
            self._conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")
            raise
        finally:
            self._depth = 0

    def checkpoint(self, due_only: bool = False) -> None:
        """Inside a :meth:`batch` (and nothing nested in it): commit, give other threads of
        this process a turn at the store (the lease keeper), and open the next transaction.
        ``due_only``: only once the transaction is older than the batch's ``max_seconds`` or
        has had ``max_records`` such calls (the ledger makes one before each record)."""
        with self._lock:
            batch = self._batch
            if batch is None or self._depth != 1:
                return
            if due_only:
                batch.records += 1
                if batch.records <= batch.max_records \
                        and time.monotonic() - batch.began < batch.max_seconds:
                    return
            self._end_batch()
            # this thread holds the lock twice (the batch's block and this method): let go of
            # both for a moment, so another thread blocked on the store can run
            self._lock.release()
            self._lock.release()
            try:
                time.sleep(0)
            finally:
                self._lock.acquire()
                self._lock.acquire()
            self._begin_batch(batch)
            if due_only:
                batch.records = 1  # the record about to be made is in the new transaction

    @contextlib.contextmanager
    def atomic(self) -> Iterator[None]:
        """One ``BEGIN IMMEDIATE`` transaction around the block (see
        :meth:`StateStore.atomic`): one commit, one fsync."""
        with self._write_transaction():
            yield

    def drop(self, collection: str) -> None:
        check_name(collection)
        with self._lock:
            self._conn.execute("DELETE FROM docs WHERE collection = ?", (collection,))

    def backup_to(self, destination: Path | str) -> Path:
        """Online backup of the whole file (SQLite backup API): consistent while others write."""
        destination = Path(destination)
        destination.parent.mkdir(parents=True, exist_ok=True)
        target = sqlite3.connect(str(destination))
        try:
            with self._lock:
                self._conn.backup(target)
        finally:
            target.close()
        return destination

    def close(self) -> None:
        with self._lock:
            try:
                self._conn.close()
            except sqlite3.Error:  # pragma: no cover
                pass


@dataclass
class _Batch:
    """An open :meth:`SqliteStateStore.batch`: its bounds, when its transaction began
    (monotonic seconds) and how many records were begun in it."""

    max_seconds: float
    max_records: int
    began: float = 0.0
    records: int = 0


def _new_rev() -> str:
    return uuid.uuid4().hex


def _exists_message(op, exc: Exception) -> str:
    if "docs.collection, docs.key" in str(exc):
        return f"{op.collection}: a record with key {op.key!r} already exists"
    return f"{op.collection}: record {op.key!r} duplicates a unique field of another record"


def _stale_message(op) -> str:
    return (f"{op.collection}/{op.key} is no longer at revision {op.rev!r} (changed or deleted "
            "by another writer); re-read it and retry")


def _sql_value(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (dict, list)):
        raise InvalidData("queries compare scalar values only")
    return value
