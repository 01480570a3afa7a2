"""The state store: keyed JSON documents in named collections.

Every stored state type (instruments, contracts, orders, positions, locks, logs, ...) is kept as a
document ``{field: value}`` under a string key in a collection. Backends: SQLite (default, one
WAL file) and MongoDB. Values must be JSON-representable (str, int, float, bool, None, list,
dict); NaN and infinities are refused, timestamps are ISO-8601 UTC strings
(:func:`syscore.dates.iso_utc`) so that string order is time order.

Queries take a ``where`` mapping of top-level field to either a value (equality) or an operator
mapping with any of ``$eq $ne $gt $gte $lt $lte $in``.

Multi-record changes go through :meth:`StateStore.apply`, which applies a list of operations
atomically (SQLite: one transaction; MongoDB: a write-ahead journal replayed on open, so a crash
part-way leaves a change that the next open finishes).

Every document has a *revision*: an opaque string that changes on every write (a fresh random
token, so a document deleted and written again never gets an old revision back).
:meth:`StateStore.get_versioned` returns it with the document; :class:`Replace` and
:class:`DeleteAt` write only if the document is still at that revision, else the whole change
fails with :class:`ConcurrencyError` and nothing is written (compare-and-set). A read-modify-write
of a record must go through them (or :meth:`StateStore.update`): a writer holding a stale copy
is refused and re-reads.
"""
from __future__ import annotations

import contextlib
import json
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from syscore.exceptions import ConcurrencyError, ExistingData, InvalidData

OPERATORS = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in")
RESERVED_FIELDS = frozenset({"_id", "_rev"})


@dataclass(frozen=True)
class Put:
    """Insert or replace the document at ``key``."""

    collection: str
    key: str
    doc: dict[str, Any]


@dataclass(frozen=True)
class Insert:
    """Insert a document; the whole batch fails with ExistingData if ``key`` exists."""

    collection: str
    key: str
    doc: dict[str, Any]


@dataclass(frozen=True)
class Delete:
    """Delete the document at ``key`` if present."""

    collection: str
    key: str


@dataclass(frozen=True)
class Replace:
    """Replace the document at ``key`` only if it is still at revision ``rev`` (as returned by
    :meth:`StateStore.get_versioned`); otherwise the batch fails with ConcurrencyError."""

    collection: str
    key: str
    doc: dict[str, Any]
    rev: str


@dataclass(frozen=True)
class DeleteAt:
    """Delete the document at ``key`` only if it is still at revision ``rev``."""

    collection: str
    key: str
    rev: str


@dataclass(frozen=True)
class Versioned:
    """A document with the revision it was read at."""

    doc: dict[str, Any]
    rev: str


@dataclass(frozen=True)
class Index:
    """A secondary index on top-level ``fields`` of one collection. ``unique``: no two
    documents of the collection may have the same (non-missing) values; an Insert or Put that
    would break it fails with ExistingData."""

    collection: str
    fields: tuple[str, ...]
    unique: bool = False

    @property
    def name(self) -> str:
        return f"ix_{self.collection}_{'_'.join(self.fields)}{'_u' if self.unique else ''}"


Operation = Put | Insert | Delete | Replace | DeleteAt


_CHECKED_NAMES: set[str] = set()  # names found valid (a few dozen: collections, fields)


def check_name(name: str, what: str = "collection") -> str:
    if name in _CHECKED_NAMES and type(name) is str:  # checked once per process
        return name
    if not isinstance(name, str) or not name or not all(c.isalnum() or c in "_-" for c in name):
        raise InvalidData(f"invalid {what} name {name!r}")
    if len(_CHECKED_NAMES) < 10_000:
        _CHECKED_NAMES.add(name)
    return name


def check_key(key: str) -> str:
    if not isinstance(key, str) or not key:
        raise InvalidData(f"document key must be a non-empty string, got {key!r}")
    return key


def encode_doc(doc: dict[str, Any]) -> str:
    """JSON text of a document; refuses NaN/inf and non-JSON values with a clear error."""
    if not isinstance(doc, dict):
        raise InvalidData(f"document must be a mapping, got {type(doc).__name__}")
    reserved = RESERVED_FIELDS & set(doc)
    if reserved:
        raise InvalidData(f"document fields {sorted(reserved)} are reserved by the store")
    try:
        return json.dumps(doc, allow_nan=False, sort_keys=True, separators=(",", ":"))
    except ValueError as exc:
        raise InvalidData(f"document has a NaN or infinite value: {exc}") from None
    except TypeError as exc:
        raise InvalidData(f"document has a value that is not JSON: {exc}") from None


def check_where(where: dict[str, Any] | None) -> dict[str, Any]:
    where = where or {}
    for field, cond in where.items():
        check_name(field, "field")
        if isinstance(cond, dict):
            unknown = set(cond) - set(OPERATORS)
            if unknown:
                raise InvalidData(f"unknown query operators {sorted(unknown)} for field {field}")
    return where


def matches(doc: dict[str, Any], where: dict[str, Any]) -> bool:
    """Pure-Python evaluation of a ``where`` mapping (used by tests and fallbacks)."""
    for field, cond in where.items():
        value = doc.get(field)
        conditions = cond if isinstance(cond, dict) else {"$eq": cond}
        for op, target in conditions.items():
            if op == "$eq" and value != target:
                return False
            if op == "$ne" and value == target:
                return False
            if op == "$in" and value not in target:
                return False
            if op in ("$gt", "$gte", "$lt", "$lte"):
                if value is None:
                    return False
                if op == "$gt" and not value > target:
                    return False
                if op == "$gte" and not value >= target:
                    return False
                if op == "$lt" and not value < target:
                    return False
                if op == "$lte" and not value <= target:
                    return False
    return True


def is_finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


class StateStore(ABC):
    """Abstract keyed-document store. Implementations must be safe for several processes."""

    url: str
    #: whether a multi-record :meth:`apply` costs about one single write (SQLite: one
    #: transaction) rather than several round trips (MongoDB: a journalled change)
    cheap_multi_record_changes: bool = False

    @abstractmethod
    def get(self, collection: str, key: str) -> dict[str, Any] | None:
        """The document at ``key``, or None."""

    @abstractmethod
    def get_versioned(self, collection: str, key: str) -> Versioned | None:
        """The document at ``key`` with its revision, or None."""

    def get_many_versioned(self, collection: str, keys: Iterable[str]) -> dict[str, Versioned]:
        """The documents at ``keys`` with their revisions, by key (missing keys left out).
        MongoDB: one round trip; the default reads them one by one."""
        found = {}
        for key in dict.fromkeys(keys):
            versioned = self.get_versioned(collection, key)
            if versioned is not None:
                found[key] = versioned
        return found

    @abstractmethod
    def ensure_index(self, index: Index) -> None:
        """Create ``index`` if it does not exist (idempotent, cheap to repeat)."""

    @abstractmethod
    def find(
        self,
        collection: str,
        where: dict[str, Any] | None = None,
        order_by: str | None = None,
        descending: bool = False,
        limit: int | None = None,
    ) -> list[tuple[str, dict[str, Any]]]:
        """Matching ``(key, document)`` pairs, ordered by ``order_by`` (default: key)."""

    @abstractmethod
    def count(self, collection: str, where: dict[str, Any] | None = None) -> int:
        """How many documents match."""

    @abstractmethod
    def apply(self, operations: Iterable[Operation]) -> None:
        """Apply all operations as one change, in order. SQLite: one transaction. MongoDB: all or
        nothing against other writers (conditional writes, put back on conflict) and finished
        by recovery if the writer dies; readers may see it half-applied for an instant.
        :class:`Replace`/:class:`DeleteAt` at a revision that is no longer current (or of a
        missing document) raise ConcurrencyError and nothing is written."""

    @abstractmethod
    def next_id(self, counter: str, start: int = 1) -> int:
        """Atomically allocate the next integer of a named counter (first value ``start``)."""

    @abstractmethod
    def set_counter_at_least(self, counter: str, value: int) -> None:
        """Make sure the next id of ``counter`` is greater than ``value`` (used by restores)."""

    @abstractmethod
    def counters(self) -> dict[str, int]:
        """Last allocated value of every counter."""

    @abstractmethod
    def collections(self) -> list[str]:
        """Names of non-empty collections."""

    @abstractmethod
    def drop(self, collection: str) -> None:
        """Delete a whole collection."""

    @abstractmethod
    def update(self, collection: str, key: str,
               change: Callable[[dict[str, Any] | None], dict[str, Any] | None]) -> dict[str, Any] | None:
        """Atomically replace the document at ``key`` with ``change(current)`` (``current`` is
        None when absent; returning None deletes it). No other writer's change in between is
        lost: SQLite holds the write lock, MongoDB compares revisions and retries, so ``change``
        may run several times and must have no side effects (nor use the store)."""

    @abstractmethod
    def home_identity(self) -> dict[str, Any] | None:
        """The identity of the systrade home this store belongs to (see
        :mod:`sysdata.home_record`), or None. Kept apart from the collections: never listed,
        dumped, backed up or wiped with them."""

    @abstractmethod
    def claim_home_identity(self, identity: dict[str, Any]) -> dict[str, Any]:
        """Record ``identity`` if the store has none (atomically); returns the identity the
        store holds afterwards (an earlier one wins)."""

    @abstractmethod
    def reset_counters(self) -> None:
        """Forget every counter (only for wiping a store before a restore)."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""

    def apply_each(self, operations: Iterable[Operation]) -> list[bool]:
        """Apply each operation as its own atomic change (not all-or-nothing: the others are
        applied whatever happens to one). Returns, per operation, True if it was applied and
        False if it was refused (a :class:`Replace`/:class:`DeleteAt` at a stale revision, an
        :class:`Insert` of an existing key or unique value) *or may have been*: a caller seeing
        False re-reads before relying on it. MongoDB: one round trip per collection and kind of
        write; the default applies them one by one."""
        done = []
        for op in operations:
            try:
                self.apply([op])
            except (ConcurrencyError, ExistingData):
                done.append(False)
            else:
                done.append(True)
        return done

    @contextlib.contextmanager
    def atomic(self) -> Iterator[None]:
        """Group the reads and writes made inside the block into one change where the backend
        does that cheaply (see :attr:`cheap_multi_record_changes`). SQLite: one ``BEGIN
        IMMEDIATE`` transaction (other writers wait; reads inside see every committed change and
        this block's own writes; one commit, so one fsync, at the end; each :meth:`apply` inside
        is a savepoint, so a failed one undoes only itself). An exception leaving the block rolls
        the whole block back; a crash inside it leaves nothing of it. Elsewhere (MongoDB) a no-op:
        each write stays its own atomic change. Code inside must be correct either way."""
        yield

    @contextlib.contextmanager
    def batch(self, max_seconds: float = 0.5, max_records: int = 1000) -> Iterator[None]:
        """Group the *independent* changes made inside the block into as few commits as the
        backend makes cheap, for throughput (the stack handler's steps). Unlike
        :meth:`atomic`, a batch promises no all-or-nothing: every change inside must be one
        that was safe to commit on its own (each ledger record, each counter), so that
        committing any prefix of them is a state the code already recovers from.

        SQLite: one ``BEGIN IMMEDIATE`` transaction, committed at the end of the block (also
        when the block raises: every change made is whole, as each :meth:`apply` inside is a
        savepoint), and earlier at each :meth:`checkpoint`; the ledger checkpoints before a
        record once the transaction is ``max_seconds`` old [0.5] or has ``max_records``
        records [1000], bounding how long other writers wait. A crash inside loses the changes
        since the last commit, exactly as if it had come before them. Elsewhere (MongoDB) a
        no-op: each write is its own atomic change. Inside :meth:`atomic` (or another batch)
        the block is part of that change."""
        yield

    def checkpoint(self, due_only: bool = False) -> None:  # noqa: B027 - SQLite overrides
        """Inside a :meth:`batch`: commit the changes made so far (then go on batching).
        Call it before any action outside the store that relies on them (placing a broker
        order whose ``client_ref`` must be durable first). ``due_only``: only if the batch's
        transaction has been open longer than its ``max_seconds`` or has ``max_records``
        records (bounding how long other writers wait); the ledger calls it so before each
        record. Outside a batch, or inside
        :meth:`atomic`, a no-op."""

    def clear_pending_changes(self) -> None:  # noqa: B027 - only journalled backends override
        """Forget unfinished multi-record changes (only when wiping a store: a replay after the
        wipe must not re-create documents). Backends without a journal have nothing to do."""

    def snapshot(self) -> tuple[dict[str, dict[str, dict[str, Any]]], dict[str, int]]:
        """Every document and counter. SQLite reads them in one transaction (a consistent
        snapshot); MongoDB reads collection by collection (pause writers for a consistent copy)."""
        return self.dump(), self.counters()

    # conveniences built on the primitives -------------------------------------------------
    def put(self, collection: str, key: str, doc: dict[str, Any]) -> None:
        self.apply([Put(collection, key, doc)])

    def insert(self, collection: str, key: str, doc: dict[str, Any]) -> None:
        self.apply([Insert(collection, key, doc)])

    def delete(self, collection: str, key: str) -> None:
        self.apply([Delete(collection, key)])

    def keys(self, collection: str, where: dict[str, Any] | None = None) -> list[str]:
        return [key for key, _ in self.find(collection, where)]

    def exists(self, collection: str, key: str) -> bool:
        return self.get(collection, key) is not None

    def dump(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Every document of every collection: ``{collection: {key: doc}}``."""
        return {name: dict(self.find(name)) for name in self.collections()}

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
