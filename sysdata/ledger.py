"""The money ledger: an append-only log of immutable records, and the projections derived from it.

**The ledger is the truth.** Collection ``ledger``, one document per record (see
:mod:`sysobjects.orders.records`): fills, commission reports, order events, position
adjustments. Each record is inserted once and never changed or deleted:

* its key is its *sequence number* ``seq`` (zero-padded), allocated as "last sequence + 1" by
  the insert itself: two writers racing for the same number get one insert each, the loser
  tries the next number. So there are no gaps, and a record is only ever inserted after every
  lower sequence number is already stored (*prefix property*);
* its ``uid`` (``fill:<exec_id>``, ``event:<level>/<id>/<n>``, ...) has a unique index: booking
  the same record twice is a no-op on every backend; booking a *different* record under a uid
  already used is refused (:class:`ExistingData`) — an execution id never changes its content.

A single-record insert is atomic on SQLite and MongoDB, so nothing that carries money needs a
multi-record transaction.

**Projections are caches.** Order fill totals (three levels), strategy and contract positions and
the orders themselves (a fold of their events) are derived from the ledger. Each cached document
carries ``covered_seq``: it includes exactly the records of its subject with ``seq <=
covered_seq``, and ``covered_count``, how many records of its subject that is. Bringing one up to
date reads the ledger head ``H`` first (every record up to ``H`` is then stored, by the prefix
property), folds the subject's records in ``(covered_seq, H]`` and writes the result
*conditionally on the cached document's revision*; a writer that lost the race re-reads. This is
idempotent and happens on every read and after every append, so a process killed between a
ledger insert and its projection update leaves nothing that the next read does not finish.
:meth:`LedgerData.check_projections` recomputes every cache from scratch; a mismatch is a
CRITICAL log (an alert) and a rebuild, never a silent overwrite.
:meth:`LedgerData.rebuild_projections` rebuilds them all.

**Record numbers per subject.** Every record also carries, for each subject it touches, its
number among that subject's records (field ``n_<subject field>``, value ``<subject>#<n>``, a
unique index): the first fill of an order is ``#1`` for that order, the next ``#2``. A writer
takes ``n`` as the ``covered_count`` of the cache it read, plus one. If any record of the
subject is missing from that cache (another writer's, or a killed writer's), that record already
holds number ``n`` and the insert is refused by the index: the writer catches the cache up from
the ledger and tries again. So an insert that succeeds *proves* that the cache it read lacked
nothing, and the writer advances the cache by folding its own record alone, with no query of
the ledger. (Ledgers written before record numbers existed are recognised by their first record
and handled by querying as before, subject by subject, until each cache has a count.)

Reading one projection (a position) costs a document read, the head read and one indexed query,
whatever the ledger's size. Booking a fill costs the cache reads (one per collection), the head
read, the insert and the cache writes (one per collection), whatever the ledger's size.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from syscore.exceptions import (
    ConcurrencyError,
    ExistingData,
    InvalidData,
    LedgerBehindProjections,
    MissingData,
)
from sysdata.state.base import Index, Insert, Operation, Put, Replace, StateStore, Versioned
from sysobjects.orders.orders import ORDER_CLASSES, order_from_doc
from sysobjects.orders.records import (
    RECORD_CLASSES,
    CommissionReport,
    Fill,
    LedgerRecord,
    OrderEvent,
    PositionAdjustment,
    RecordKind,
)
from sysobjects.orders.status import CREATION_EVENTS, OrderLevel, initial_status

LEDGER = "ledger"
ORDER_FILLS = "order_fills"
STRATEGY_POSITIONS = "strategy_positions"
CONTRACT_POSITIONS = "contract_positions"
ORDER_COLLECTIONS = {level: f"{level.value}_orders" for level in OrderLevel}
SWEEPS = "ledger_sweeps"
RETRIES = 100
FORMAT = 2  # ledger documents carrying record numbers per subject ("n_*" fields)
_COVER_FIELDS = ("covered_seq", "covered_count")

log = logging.getLogger("systrade.ledger")


class _Unread:
    """Marker: a cache not read yet."""


_UNREAD = _Unread()


def seq_key(seq: int) -> str:
    return f"{seq:015d}"


# ---------------------------------------------------------------------------------- folds
def _fold_position(state: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    record = doc["record"]
    return {**state, "position": state["position"] + record["quantity"],
            "timestamp": record["timestamp"]}


def _fold_order_fills(state: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    record = doc["record"]
    state = {**state, "filled": dict(state["filled"]), "value": dict(state["value"])}
    if doc["kind"] == RecordKind.FILL.value:
        leg = record["contract_date"]
        state["filled"][leg] = state["filled"].get(leg, 0) + record["quantity"]
        state["value"][leg] = state["value"].get(leg, 0.0) + record["quantity"] * record["price"]
        state["commission"] += record["commission"] or 0.0
        state["fills"] += 1
        state["fill_datetime"] = max(state["fill_datetime"] or "", record["timestamp"])
    elif doc["kind"] == RecordKind.COMMISSION.value:
        # the report is the execution's commission: it replaces what its fill carried
        state["commission"] += record["commission"] - (doc.get("replaces") or 0.0)
    return state


def _fold_order(state: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    event = OrderEvent.from_doc(doc["record"])
    if event.event in CREATION_EVENTS:
        status = initial_status(event.level, event.event)
        order = order_from_doc({**event.changes, "level": event.level.value,
                                "status": status.value, "events": 1, "reason": event.reason})
    else:
        if event.number != state.get("events", 0) + 1:
            raise InvalidData(f"order {event.order_ref}: event {event.number} follows event "
                              f"{state.get('events')} (ledger out of order)")
        # the state is a record document already: applied as a document, validated once
        cls = ORDER_CLASSES[OrderLevel(state["level"])]
        order = cls.from_doc(cls.applied_doc(state, event.event, event.reason, event.changes))
    return order.record_doc()


@dataclass(frozen=True)
class Projection:
    """One kind of projection: the ledger field naming its subject, where the caches live and
    how a record changes one (``fold``); ``kinds`` are the record kinds that can affect it."""

    name: str
    field: str
    collection: str
    key_prefix: str
    kinds: tuple[RecordKind, ...]
    initial: Callable[[str], dict[str, Any]]
    fold: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]

    def key(self, subject: str) -> str:
        return self.key_prefix + subject

    @property
    def number_field(self) -> str:
        """The ledger field holding a record's number among this subject's records."""
        return "n" + self.field[1:]


def numbered(subject: str, number: int) -> str:
    """The value of a record-number field: ``<subject>#<n>`` (unique in the ledger)."""
    return f"{subject}#{number}"


def _position_initial(labels: Callable[[str], dict[str, str]]):
    return lambda subject: {"position": 0, "timestamp": None, **labels(subject)}


def _order_fills_initial(subject: str) -> dict[str, Any]:
    level, order_id = subject.split("/")
    return {"level": level, "order_id": int(order_id), "filled": {}, "value": {},
            "commission": 0.0, "fills": 0, "fill_datetime": None}


_FILL_KINDS = (RecordKind.FILL, RecordKind.COMMISSION)
PROJECTIONS: dict[str, Projection] = {p.name: p for p in [
    Projection("strategy_position", "p_strategy", STRATEGY_POSITIONS, "",
               (RecordKind.FILL, RecordKind.ADJUSTMENT),
               _position_initial(lambda s: dict(zip(("strategy_name", "instrument_code"),
                                                    s.split("/"), strict=True))),
               _fold_position),
    Projection("contract_position", "p_contract", CONTRACT_POSITIONS, "",
               (RecordKind.FILL, RecordKind.ADJUSTMENT),
               _position_initial(lambda s: dict(zip(("instrument_code", "contract_date"),
                                                    s.split("/"), strict=True))),
               _fold_position),
    *[Projection(f"{level.value}_order_fills", f"p_{level.value}_order", ORDER_FILLS,
                 f"{level.value}/", _FILL_KINDS,
                 lambda s, lv=level: _order_fills_initial(f"{lv.value}/{s}"), _fold_order_fills)
      for level in OrderLevel],
    *[Projection(f"{level.value}_order", f"p_{level.value}_event", ORDER_COLLECTIONS[level], "",
                 (RecordKind.EVENT,), lambda s: {}, _fold_order)
      for level in OrderLevel],
]}


def order_key(order_id: int) -> str:
    if isinstance(order_id, bool) or not isinstance(order_id, int) or order_id <= 0:
        raise InvalidData(f"order id must be a positive integer, got {order_id!r}")
    return f"{order_id:012d}"


def subjects_of(record: LedgerRecord, fill_doc: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The projection subject fields a record carries (``{ledger field: subject}``)."""
    out: dict[str, str] = {}
    if isinstance(record, (Fill, PositionAdjustment)):
        if record.strategy_name is not None:
            out["p_strategy"] = f"{record.strategy_name}/{record.instrument_code}"
        if record.contract_date is not None:
            out["p_contract"] = f"{record.instrument_code}/{record.contract_date}"
    if isinstance(record, Fill):
        for level, order_id in ((OrderLevel.BROKER, record.broker_order_id),
                                (OrderLevel.CONTRACT, record.contract_order_id),
                                (OrderLevel.INSTRUMENT, record.instrument_order_id)):
            if order_id is not None:
                out[f"p_{level.value}_order"] = order_key(order_id)
    if isinstance(record, CommissionReport) and fill_doc is not None:
        out.update({k: v for k, v in fill_doc.items()
                    if k.startswith("p_") and k.endswith("_order")})
    if isinstance(record, OrderEvent):
        out[f"p_{record.level.value}_event"] = order_key(record.order_id)
    return out


@dataclass(frozen=True)
class Booked:
    """Result of an append: the record's sequence number; ``duplicate`` if it was already in
    the ledger (nothing written)."""

    seq: int
    duplicate: bool


@dataclass(frozen=True)
class ProjectionView:
    """A projection's state and the ledger head ``covered_seq`` it is up to date with;
    ``count``: how many records of its subject that is (None: unknown). ``rev``: the revision
    of the stored cache this state was computed from (None: unknown, e.g. the view was just
    written); ``absent``: there was no cache. For a writer that advances the cache from this
    view by a compare-and-set."""

    state: dict[str, Any]
    covered_seq: int
    rev: str | None = field(default=None, compare=False, repr=False)
    absent: bool = field(default=False, compare=False, repr=False)
    count: int | None = field(default=None, compare=False, repr=False)

    @property
    def advanceable(self) -> bool:
        """Whether a writer can append after this view and advance the cache from it: the
        number of records it covers is known, and so is the stored cache's revision."""
        return self.count is not None and (self.rev is not None or self.absent)


@dataclass(frozen=True)
class Mismatch:
    """A projection whose cached value differs from what the ledger gives: ``projection``
    (its name), ``subject`` (order id or position key), the ``cached`` document (``None`` when
    missing) and the ``ledger`` value. Quantities signed contracts; read-only report."""

    projection: str
    subject: str
    cached: dict[str, Any] | None
    ledger: dict[str, Any]


class LedgerData:
    """The ledger and its projections in one state store (see the module docstring).

    Record timestamps are tz-aware UTC; quantities signed contracts. Thread- and
    process-safe: every write is a single-record insert or a compare-and-set.
    """

    def __init__(self, store: StateStore):
        self.store = store
        store.ensure_index(Index(LEDGER, ("uid",), unique=True))
        store.ensure_index(Index(LEDGER, ("kind", "seq")))
        for projection in PROJECTIONS.values():
            store.ensure_index(Index(LEDGER, (projection.field, "seq")))
            store.ensure_index(Index(LEDGER, (projection.number_field,), unique=True))
        first = store.get(LEDGER, seq_key(1))
        #: whether every record carries its record numbers (a ledger begun before they existed
        #: may hold records without them: a subject without a cache is then caught up from
        #: the ledger before a record of it is numbered)
        self.numbered_from_start = first is None or first.get("format", 1) >= FORMAT

    # --------------------------------------------------------------------------- the log
    def head(self) -> int:
        """The last sequence number (0 for an empty ledger)."""
        last = self.store.find(LEDGER, order_by=None, descending=True, limit=1)
        return int(last[0][0]) if last else 0

    def append(self, record: LedgerRecord, expected_head: int | None = None,
               update_projections: bool = True) -> Booked:
        """Insert ``record`` once. A record with the same uid and content already there is a
        no-op (``duplicate``); with different content, ExistingData. ``expected_head``: insert
        only if the ledger's last sequence number is still that (else ConcurrencyError), for
        writes decided on a projection read at that head."""
        return self.append_and_view(record, expected_head, update_projections)[0]

    def append_and_view(self, record: LedgerRecord, expected_head: int | None = None,
                        update_projections: bool = True, read_at: int | None = None,
                        known: Mapping[str, ProjectionView] | None = None,
                        ) -> tuple[Booked, dict[str, ProjectionView]]:
        """:meth:`append`, also returning the views (by projection name) of the subjects the
        record touches, up to date with its sequence number or later (empty if
        ``update_projections`` is false).

        The caches of the record's subjects are read first (one read per collection; those in
        ``known``, views the caller has just read, are not read again), the record is inserted
        numbered after them (module docstring), and each cache is advanced by folding the
        record alone (a compare-and-set on the revision read; a conflict falls back to the
        usual catch-up). ``read_at``: a ledger head the caller read just before (every record
        up to it is stored): the insert is first tried at ``read_at + 1`` without reading the
        head again, and falls back to the usual "head + 1 or retry" if that number is taken.

        On a store with cheap multi-record changes (SQLite) the reads, the insert and the
        projection updates are one transaction (one commit); elsewhere (MongoDB) the insert is
        its own atomic write and each projection update another. A projection update that
        fails with anything but a conflict does not undo the insert: the record is booked, the
        error is raised after it is stored, and the next read catches the cache up."""
        extra: dict[str, Any] = {}
        if isinstance(record, CommissionReport):
            fill = self.find_uid(f"fill:{record.exec_id}")
            if fill is None:
                raise MissingData(f"commission report for execution {record.exec_id!r}, which "
                                  "is not booked yet: book the fill first")
            extra = fill
        content = record.to_doc()
        doc = {"uid": record.uid, "kind": record.kind.value, "format": FORMAT, "record": content,
               **subjects_of(record, extra)}
        if extra and extra["record"].get("commission") is not None:
            doc["replaces"] = extra["record"]["commission"]  # the fill's, already counted
        targets = [(p, doc[p.field]) for p in PROJECTIONS.values() if doc.get(p.field) is not None]
        failed: Exception | None = None
        self.store.checkpoint(due_only=True)  # in a long batch: let other writers in
        with self.store.atomic():
            before = self._read_before(targets, known or {})
            booked, stored, before = self._insert(record, doc, content, targets, before,
                                                  expected_head, read_at)
            views: dict[str, ProjectionView] = {}
            if update_projections:
                try:
                    views = self._advance(targets, stored, booked, before)
                except Exception as exc:  # noqa: BLE001 - raised below, once the record is stored
                    failed = exc
        if failed is not None:
            raise failed
        return booked, views

    def _insert(self, record: LedgerRecord, doc: dict[str, Any], content: dict[str, Any],
                targets: list[tuple[Projection, str]], before: dict[str, ProjectionView],
                expected_head: int | None, read_at: int | None,
                ) -> tuple[Booked, dict[str, Any], dict[str, ProjectionView]]:
        """Insert the ledger document ``doc`` at the next sequence number, numbered after the
        caches ``before``; returns the booking, the document as stored (the earlier one for a
        duplicate) and the caches it was numbered after (read again if they were behind)."""
        guess = read_at if expected_head is None else None
        caught_up_at = recounted_at = None
        for _ in range(RETRIES):
            if expected_head is not None:
                head = expected_head
            elif guess is not None:
                head, guess = guess, None
            else:
                head = self.head()
            seq = head + 1
            if any(before[p.name].covered_seq >= seq for p, _ in targets):
                now = self.head()  # a cache read covers ``seq``: taken, unless the cache is ahead
                if now < seq:
                    raise self._ahead(record.uid, targets, before, now)
                if expected_head is not None:
                    raise ConcurrencyError(
                        f"the ledger moved past sequence {expected_head} since it was read; "
                        "re-read and decide again")
                guess = now
                continue
            numbers = {p.number_field: numbered(subject, before[p.name].count + 1)
                       for p, subject in targets}
            full = {**doc, **numbers, "seq": seq}
            try:
                self.store.apply([Insert(LEDGER, seq_key(seq), full)])
            except ExistingData:  # the sequence number or a record number is taken, or the uid
                existing = self.find_uid(record.uid)
                if existing is not None:
                    if existing["record"] != content:
                        raise ExistingData(
                            f"{record.uid} is already in the ledger with different content "
                            f"(seq {existing['seq']}): {existing['record']} vs {content}") from None
                    return Booked(existing["seq"], True), existing, before
                now = self.head()
                if expected_head is not None and now != expected_head:
                    raise ConcurrencyError(
                        f"the ledger moved past sequence {expected_head} since it was read; "
                        "re-read and decide again") from None
                if now < seq:  # the sequence number is free: a cache read lacks a record
                    if caught_up_at == now:  # refused again after catching up at this head
                        if recounted_at == now:  # and after recounting from the ledger
                            raise self._gap(record.uid, targets, before) from None
                        self._recount_targets(record.uid, targets)
                        recounted_at = now
                    before, caught_up_at = self._caught_up(targets), now
                guess = now  # else the number was taken: next one (numbers checked again)
                continue
            return Booked(seq, False), full, before
        raise ConcurrencyError(f"could not append {record.uid}: too many concurrent writers")

    @staticmethod
    def _ahead(uid: str, targets: list[tuple[Projection, str]],
               before: Mapping[str, ProjectionView], head: int) -> LedgerBehindProjections:
        """A cache read covers a sequence number the ledger does not hold (records are never
        deleted, so the ledger was restored from an older backup than the caches, or emptied).
        Numbering a record after such a cache would give it a number the ledger's own records
        will reach later, and the subject could then never be booked again: refuse, CRITICAL."""
        ahead = [f"{p.name} {subject} (covers seq {before[p.name].covered_seq})"
                 for p, subject in targets if before[p.name].covered_seq > head]
        message = (f"ledger head is {head} but the caches of {', '.join(ahead)} are ahead of the "
                   f"ledger: it was restored from an older backup than its caches, or emptied; "
                   f"{uid} not booked. Restore the ledger, or rebuild the caches from it "
                   f"deliberately (docs/execution.md)")
        log.critical("%s", message)
        return LedgerBehindProjections(message)

    @staticmethod
    def _gap(uid: str, targets: list[tuple[Projection, str]],
             before: Mapping[str, ProjectionView]) -> LedgerBehindProjections:
        """Refused with every cache recounted from the ledger at this head: a record of a
        subject holds a number above the subject's record count (its numbers have a gap: a
        record numbered after a cache that covered records the ledger lost). No retry helps."""
        message = (f"{uid} not booked: a record number of "
                   f"{', '.join(f'{p.name} {s} (#{before[p.name].count + 1})' for p, s in targets)}"
                   f" is taken although the ledger holds fewer records of it: the record numbers "
                   f"have a gap (the ledger lost records its caches had covered, e.g. restored "
                   f"from an older backup; docs/execution.md)")
        log.critical("%s", message)
        return LedgerBehindProjections(message)

    def find_uid(self, uid: str) -> dict[str, Any] | None:
        rows = self.store.find(LEDGER, {"uid": uid}, limit=1)
        return rows[0][1] if rows else None

    def records(self, after: int = 0, until: int | None = None,
                where: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Ledger documents with ``after < seq <= until``, in sequence order."""
        seq: dict[str, Any] = {"$gt": after}
        if until is not None:
            seq["$lte"] = until
        return [doc for _, doc in self.store.find(LEDGER, {**(where or {}), "seq": seq},
                                                  order_by="seq")]

    @staticmethod
    def record_of(doc: Mapping[str, Any]) -> LedgerRecord:
        return RECORD_CLASSES[RecordKind(doc["kind"])].from_doc(doc["record"])

    # -------------------------------------------------------------------- conveniences
    def book_fill(self, fill: Fill) -> Booked:
        return self.append(fill)

    def book_commission(self, report: CommissionReport) -> Booked:
        return self.append(report)

    def book_adjustment(self, adjustment: PositionAdjustment,
                        expected_head: int | None = None) -> Booked:
        return self.append(adjustment, expected_head=expected_head)

    # ------------------------------------------------------------------- projections
    def _read_before(self, targets: list[tuple[Projection, str]],
                     known: Mapping[str, ProjectionView]) -> dict[str, ProjectionView]:
        """The caches of ``targets`` as they are now, by projection name, each with its record
        count and revision (one read per collection; ``known`` views are taken as read). A
        cache whose count is unknown (written before record numbers) is caught up first."""
        before = {p.name: known[p.name] for p, _ in targets
                  if p.name in known and known[p.name].advanceable}
        wanted: dict[str, list[str]] = {}  # one read per collection
        for p, subject in targets:
            if p.name not in before:
                wanted.setdefault(p.collection, []).append(p.key(subject))
        caches = {(collection, key): versioned for collection, keys in wanted.items()
                  for key, versioned in self.store.get_many_versioned(collection, keys).items()}
        for p, subject in targets:
            if p.name not in before:
                view = _view_of(p, subject, caches.get((p.collection, p.key(subject))))
                if view.count is None or (view.absent and not self.numbered_from_start):
                    view = self._fresh(p, subject)
                before[p.name] = view
        return before

    def _caught_up(self, targets: list[tuple[Projection, str]]) -> dict[str, ProjectionView]:
        return {p.name: self._fresh(p, subject) for p, subject in targets}

    def _recount_targets(self, uid: str, targets: list[tuple[Projection, str]]) -> None:
        """A record numbered after caches just caught up was refused again: one of their
        record counts disagrees with the ledger (it never should). CRITICAL, and rebuilt."""
        log.critical("ledger: %s was refused twice with its caches up to date: a cached record "
                     "count differs from the ledger; rebuilding %s", uid,
                     [f"{p.name} {subject}" for p, subject in targets])
        for p, subject in targets:
            self._rebuild_one(p, subject)

    def _fresh(self, projection: Projection, subject: str) -> ProjectionView:
        """The cache of ``subject`` caught up with the ledger head, with its record count and
        the revision of the stored cache (re-read if the catch-up wrote it)."""
        for _ in range(RETRIES):
            view, wrote = self._write_caught_up(projection, subject, None)
            if not wrote:
                return view
            stored = self.store.get_versioned(projection.collection, projection.key(subject))
            view = _view_of(projection, subject, stored)
            if view.advanceable and not view.absent:
                return view
        raise ConcurrencyError(f"{projection.name} {subject}: too many concurrent updates")

    def _write_caught_up(self, projection: Projection, subject: str,
                         head: int | None) -> tuple[ProjectionView, bool]:
        """Catch the cache of ``subject`` up to ``head`` (default: the head now) and write it,
        conditionally on the revision read, retried if another writer won; returns the view
        and whether this call wrote the cache."""
        for _ in range(RETRIES):
            op, view = self._catch_up(projection, subject, head)
            if op is None:
                return view, False
            try:
                self.store.apply([op])
            except (ConcurrencyError, ExistingData):
                continue  # another process advanced it: read again
            return view, True
        raise ConcurrencyError(f"{projection.name} {subject}: too many concurrent updates")

    def _advance(self, targets: list[tuple[Projection, str]], doc: Mapping[str, Any],
                 booked: Booked, before: Mapping[str, ProjectionView],
                 ) -> dict[str, ProjectionView]:
        """Bring the caches of ``targets`` up to the record ``doc`` just booked; returns their
        views by projection name. A new record was numbered after ``before`` and accepted, so
        each cache lacked nothing: it is advanced by folding ``doc`` alone. On a store where a
        multi-record change is one cheap transaction (SQLite) all the caches are written in
        one change; otherwise (and after a conflict) one by one, each conditional."""
        if booked.duplicate:  # booked before: its caches are usually past it already
            return {p.name: before[p.name] if before[p.name].covered_seq >= booked.seq
                    else self.view(p, subject, head=booked.seq) for p, subject in targets}
        planned: list[tuple[Operation, ProjectionView]] = []
        for p, subject in targets:
            was = before[p.name]
            state, count = p.fold(was.state, doc), was.count + 1
            stored = {**state, "covered_seq": booked.seq, "covered_count": count}
            key = p.key(subject)
            op = Insert(p.collection, key, stored) if was.absent else \
                Replace(p.collection, key, stored, was.rev)
            planned.append((op, ProjectionView(state, booked.seq, count=count)))
        if self.store.cheap_multi_record_changes:
            try:
                self.store.apply([op for op, _ in planned])
                return {p.name: view for (p, _), (_, view) in zip(targets, planned, strict=True)}
            except (ConcurrencyError, ExistingData):
                pass  # another process moved one of them: fall back to one by one
            return {p.name: self.view(p, subject, head=booked.seq) for p, subject in targets}
        written = self.store.apply_each([op for op, _ in planned])
        views = {}
        for (projection, subject), (_, view), done in zip(targets, planned, written, strict=True):
            if not done:  # refused, or not known to be written: re-read and catch up
                view = self.view(projection, subject, head=booked.seq)
            views[projection.name] = view
        return views

    def _catch_up(self, projection: Projection, subject: str, head: int | None,
                  cached: Versioned | None | _Unread = _UNREAD,
                  ) -> tuple[Operation | None, ProjectionView]:
        """The write that brings one cache up to ``head`` (None if nothing to write) and the
        resulting view (carrying the revision of the cache it was computed from). ``cached``:
        the cache as just read (None: there is none); read here if not given. A cache written
        before record numbers gets its count (one count query) and is written back with it."""
        key = projection.key(subject)
        if isinstance(cached, _Unread):
            cached = self.store.get_versioned(projection.collection, key)
        covered = cached.doc["covered_seq"] if cached else 0
        rev = cached.rev if cached else None
        state = projection_state(cached.doc) if cached else projection.initial(subject)
        count = cached.doc.get("covered_count") if cached else 0
        uncounted = count is None
        if uncounted:
            count = self.store.count(LEDGER, {projection.field: subject,
                                              "seq": {"$lte": covered}})
        upto = self.head() if head is None else head
        if head is None and covered > upto:  # read after the cache: it covers lost records
            message = (f"ledger head is {upto} but the cache of {projection.name} {subject} "
                       f"covers seq {covered}: the caches are ahead of the ledger (restored "
                       f"from an older backup than its caches, or emptied). Restore the ledger, "
                       f"or rebuild the caches from it deliberately (docs/execution.md)")
            log.critical("%s", message)
            raise LedgerBehindProjections(message)
        new = self.records(covered, upto, {projection.field: subject}) if upto > covered else []
        if not new and not uncounted:
            return None, ProjectionView(state, max(upto, covered), rev, cached is None, count)
        for doc in new:
            state = projection.fold(state, doc)
        count += len(new)
        upto = max(upto, covered)
        stored = {**state, "covered_seq": upto, "covered_count": count}
        op = Replace(projection.collection, key, stored, cached.rev) if cached else \
            Insert(projection.collection, key, stored)
        return op, ProjectionView(state, upto, count=count)

    def view(self, projection: Projection | str, subject: str,
             head: int | None = None) -> ProjectionView:
        """The projection of ``subject``, brought up to date with the ledger (idempotent;
        written back conditionally on the cache's revision, retried if another writer won).
        ``head``: a sequence number known to be stored (default: read the head)."""
        if isinstance(projection, str):
            projection = PROJECTIONS[projection]
        return self._write_caught_up(projection, subject, head)[0]

    def cached(self, projection: Projection | str, subject: str) -> dict[str, Any] | None:
        """The cached projection document as stored (no catching up)."""
        if isinstance(projection, str):
            projection = PROJECTIONS[projection]
        return self.store.get(projection.collection, projection.key(subject))

    def swept_states(self, projection: Projection | str,
                     subjects: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The projections of ``subjects`` as cached, read in one batch, for use right after
        :meth:`sweep` of that projection: a sweep leaves every cache up to date with the head
        it covered (a subject with no cache has no records: its initial state)."""
        if isinstance(projection, str):
            projection = PROJECTIONS[projection]
        subjects = list(subjects)
        keys = {subject: projection.key(subject) for subject in subjects}
        cached = self.store.get_many_versioned(projection.collection, keys.values())
        return {subject: (projection_state(cached[key].doc) if key in cached
                          else projection.initial(subject))
                for subject, key in keys.items()}

    def sweep(self, names: Iterable[str] | None = None) -> int:
        """Bring every projection of ``names`` (default all) up to date with the whole ledger,
        including subjects that have no cache yet (their writer died before writing it).
        Reads only the records since the previous sweep; returns the head covered."""
        head = self.head()
        for projection in [PROJECTIONS[n] for n in (names or PROJECTIONS)]:
            mark = self.store.get_versioned(SWEEPS, projection.name)
            done = mark.doc["seq"] if mark else 0
            if done > head:  # restored from a newer backup than the ledger: trust nothing
                log.critical("ledger sweep mark of %s is at seq %d but the ledger head is %d "
                             "(restored from an older backup than its caches?): sweeping the "
                             "whole ledger", projection.name, done, head)
                done = 0
            elif done and not self.store.find(projection.collection, limit=1) and \
                    self.store.find(LEDGER, {projection.field: {"$gt": ""},
                                             "seq": {"$lte": done}}, limit=1):
                log.critical("ledger sweep mark of %s is at seq %d but its caches (%s) are "
                             "gone: sweeping the whole ledger", projection.name, done,
                             projection.collection)
                done = 0
            if done >= head:
                continue
            subjects: set[str] = set()
            for kind in projection.kinds:
                for doc in self.records(done, head, {"kind": kind.value}):
                    if doc.get(projection.field) is not None:
                        subjects.add(doc[projection.field])
            for subject in sorted(subjects):
                self.view(projection, subject, head=head)
            try:
                if mark:
                    self.store.apply([Replace(SWEEPS, projection.name, {"seq": head}, mark.rev)])
                else:
                    self.store.apply([Insert(SWEEPS, projection.name, {"seq": head})])
            except (ConcurrencyError, ExistingData):
                pass  # another process swept at the same time: either mark is correct
        return head

    def recompute(self, projection: Projection, subject: str, upto: int) -> dict[str, Any]:
        """The projection of ``subject`` computed from scratch from the ledger up to ``upto``."""
        return self._recount(projection, subject, upto)[0]

    def _recount(self, projection: Projection, subject: str,
                 upto: int) -> tuple[dict[str, Any], int]:
        """:meth:`recompute`, and how many records of ``subject`` that is."""
        state = projection.initial(subject)
        docs = self.records(0, upto, {projection.field: subject})
        for doc in docs:
            state = projection.fold(state, doc)
        return state, len(docs)

    def check_projections(self, repair: bool = True) -> list[Mismatch]:
        """Compare every cached projection with the ledger (recomputed from scratch up to the
        sequence the cache claims to cover, and its record count), and every ledger subject
        has a cache. Each mismatch is logged CRITICAL and, with ``repair``, the cache is
        rebuilt."""
        self.sweep()
        mismatches = []
        for projection in PROJECTIONS.values():
            subjects = {doc[projection.field] for kind in projection.kinds
                        for doc in self.records(0, None, {"kind": kind.value})
                        if doc.get(projection.field) is not None}
            cached_docs = {key[len(projection.key_prefix):]: doc for key, doc in
                           self.store.find(projection.collection)
                           if key.startswith(projection.key_prefix)}
            for subject in sorted(subjects | set(cached_docs)):
                cached = cached_docs.get(subject)
                covered = cached["covered_seq"] if cached else self.head()
                truth, count = self._recount(projection, subject, covered)
                if cached is not None and projection_state(cached) == truth \
                        and cached.get("covered_count", count) == count:
                    continue
                mismatches.append(Mismatch(projection.name, subject, cached, truth))
                log.critical("ledger projection %s %s differs from the ledger (cached %s, "
                             "ledger %s, %d records)%s", projection.name, subject, cached, truth,
                             count, ": rebuilt" if repair else "")
                if repair:
                    self._rebuild_one(projection, subject)
        return mismatches

    def _rebuild_one(self, projection: Projection, subject: str) -> None:
        head = self.head()
        state, count = self._recount(projection, subject, head)
        self.store.apply([Put(projection.collection, projection.key(subject),
                              {**state, "covered_seq": head, "covered_count": count})])

    def rebuild_projections(self) -> int:
        """Recompute every projection from the ledger alone (one pass over it); returns the
        number of cached documents written. Caches of subjects the ledger does not have are
        deleted. Safe while other processes write (they compare-and-set against the caches)."""
        head = self.head()
        states: dict[tuple[str, str], dict[str, Any]] = {}
        counts: dict[tuple[str, str], int] = {}
        for doc in self.records(0, head):
            for projection in PROJECTIONS.values():
                subject = doc.get(projection.field)
                if subject is None:
                    continue
                slot = (projection.name, subject)
                state = states.get(slot) or projection.initial(subject)
                states[slot] = projection.fold(state, doc)
                counts[slot] = counts.get(slot, 0) + 1
        collections = {p.collection for p in PROJECTIONS.values()}
        for collection in collections:
            self.store.drop(collection)
        self.store.drop(SWEEPS)
        ops = [Put(PROJECTIONS[name].collection, PROJECTIONS[name].key(subject),
                   {**state, "covered_seq": head, "covered_count": counts[(name, subject)]})
               for (name, subject), state in states.items()]
        for start in range(0, len(ops), 500):
            self.store.apply(ops[start:start + 500])
        for name in PROJECTIONS:
            self.store.put(SWEEPS, name, {"seq": head})
        log.warning("ledger projections rebuilt from %d ledger records (%d caches)", head,
                    len(ops))
        return len(ops)


def projection_state(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A cached projection document without what it covers (``covered_seq``,
    ``covered_count``): the projection's state."""
    return {k: v for k, v in doc.items() if k not in _COVER_FIELDS}


def _view_of(projection: Projection, subject: str, cached: Versioned | None) -> ProjectionView:
    """The view a stored cache gives as it is (not caught up); count None if it has none."""
    if cached is None:
        return ProjectionView(projection.initial(subject), 0, None, True, 0)
    return ProjectionView(projection_state(cached.doc), cached.doc["covered_seq"], cached.rev,
                          False, cached.doc.get("covered_count"))
