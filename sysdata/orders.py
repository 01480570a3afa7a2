"""The three order stacks (instrument, contract, broker) on the ledger.

An order is never written directly: every change is an :class:`OrderEvent` appended to the
ledger (``created``, ``sent``, ``acknowledged``, ``modified``, ``cancel_requested``,
``cancelled``, ``rejected``, ``filled``, ``completed``, ``locked``, ...), checked against the
level's transition table first. Event *n* of an order has a unique ledger id, so of two writers
that read the same order and both append event *n*, the second is refused
(:class:`ConcurrencyError`) and must re-read: a stale copy can never overwrite a newer one.

The order documents in ``<level>_orders`` (keyed by the zero-padded id; fields of
:meth:`Order.record_doc` plus ``covered_seq``) are projections of those events, and an order's
``filled``/``fill_price``/``fill_datetime``/``commission`` are projections of its fills
(``order_fills``): both brought up to date on every read. A completed order stays in its
collection with status ``COMPLETED`` (history); the stack is the orders not completed.

Order ids are allocated atomically per level (counter ``<level>_order_id``).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from syscore.exceptions import ConcurrencyError, ExistingData, InvalidData, MissingData
from sysdata.ledger import (
    ORDER_COLLECTIONS,
    PROJECTIONS,
    LedgerData,
    ProjectionView,
    order_key,
    projection_state,
)
from sysdata.state.base import Index, StateStore
from sysobjects.orders.orders import ORDER_CLASSES, Order, order_from_doc
from sysobjects.orders.records import OrderEvent
from sysobjects.orders.status import OrderEventType, OrderLevel, OrderStatus

STACKS = tuple(level.value for level in OrderLevel)
EVENT_RETRIES = 20

# the stack handler's queries: active orders by status, children of a parent, orders of an
# instrument (and strategy), a broker order by our reference or the broker's id
ORDER_INDEXES = (("status",), ("parent_id",), ("instrument_code", "status"),
                 ("strategy_name", "instrument_code"), ("client_ref",), ("broker_order_id",))

__all__ = ["OrderStackData", "STACKS", "order_key"]


@dataclass(frozen=True)
class _Read:
    """The projection views an order was read from, at one ledger head."""

    order: ProjectionView
    fills: ProjectionView


class OrderStackData:
    """One level's orders. Timestamps of events are tz-aware UTC (the caller's clock)."""

    def __init__(self, store: StateStore, stack: str | OrderLevel,
                 ledger: LedgerData | None = None):
        try:
            self.level = OrderLevel(stack)
        except ValueError:
            raise InvalidData(f"unknown order stack {stack!r}; expected one of {STACKS}") from None
        self.store = store
        self.stack = self.level.value
        self.ledger = ledger if ledger is not None else LedgerData(store)
        self.collection = ORDER_COLLECTIONS[self.level]
        self.order_class = ORDER_CLASSES[self.level]
        self._orders = PROJECTIONS[f"{self.stack}_order"]
        self._fills = PROJECTIONS[f"{self.stack}_order_fills"]
        self._decoded: dict[int, tuple[int, Order]] = {}  # order id -> (events, order)
        for fields in ORDER_INDEXES:
            if fields == ("client_ref",) or fields == ("broker_order_id",):
                if self.level is not OrderLevel.BROKER:
                    continue
            store.ensure_index(Index(self.collection, fields))

    def new_order_id(self) -> int:
        """Allocate an id no other process will ever get (ids may have gaps)."""
        return self.store.next_id(f"{self.stack}_order_id")

    # ---------------------------------------------------------------------------- writing
    def add_order(self, order: Order, timestamp, reason: str = "created") -> Order:
        """Put a new order on the stack (its ``created`` event); ExistingData if the id is
        taken. ``order`` must be fresh (status INITIALIZED, no events)."""
        self._check_type(order)
        if order.events or order.status is not OrderStatus.INITIALIZED:
            raise InvalidData(f"{self.stack} order {order.order_id} is not a new order")
        return self._create(order, OrderEventType.CREATED, timestamp, reason)

    def discover_order(self, order: Order, timestamp,
                       reason: str = "found at the broker, not placed by us") -> Order:
        """Record an order found at the broker that we did not place (broker level only)."""
        self._check_type(order)
        return self._create(order, OrderEventType.DISCOVERED, timestamp, reason)

    def _create(self, order: Order, event: OrderEventType, timestamp, reason: str) -> Order:
        record = OrderEvent(self.level, order.order_id, 1, event, timestamp, reason,
                            order.record_doc())
        try:
            booked, views = self.ledger.append_and_view(record)
        except ExistingData:
            booked = None
        if booked is None or booked.duplicate:
            raise ExistingData(f"{self.stack} order {order.order_id} already exists")
        return self._with_fills(order_from_doc(views[self._orders.name].state), head=booked.seq)

    def apply_event(self, order: Order | int, event: OrderEventType, timestamp,
                    reason: str = "", changes: Mapping[str, Any] | None = None) -> Order:
        """Append ``event`` to an order and return the order after it.

        ``order`` as an :class:`Order` (read earlier): the event is conditional on the order
        being unchanged since that read (:class:`ConcurrencyError` otherwise: re-read, decide
        again). As an id: read fresh and retried on conflicts. Illegal transitions raise
        :class:`InvalidTransition` before anything is written."""
        if isinstance(order, Order):
            self._check_type(order)
            return self._append_event(order, event, timestamp, reason, changes)
        for _ in range(EVENT_RETRIES):
            try:
                current, read = self._read(order)
                return self._append_event(current, event, timestamp, reason, changes, read)
            except ConcurrencyError:
                continue
        raise ConcurrencyError(f"{self.stack} order {order}: too many concurrent changes")

    def _append_event(self, order: Order, event: OrderEventType, timestamp, reason: str,
                      changes: Mapping[str, Any] | None, read: _Read | None = None) -> Order:
        """Append the next event; ``read``: the views ``order`` was just read from (then the
        insert is tried right after the head they cover, and the order returned is built from
        them when nothing else entered the ledger in between)."""
        order.apply(event, reason, changes)  # InvalidTransition before anything is written
        record = OrderEvent(self.level, order.order_id, order.events + 1, event, timestamp,
                            reason, dict(changes or {}))
        try:
            booked, views = self.ledger.append_and_view(
                record, read_at=None if read is None else read.order.covered_seq,
                known=None if read is None else {self._orders.name: read.order})
        except ExistingData:  # event n+1 exists with other content: the order changed
            raise ConcurrencyError(
                f"{self.stack} order {order.order_id} changed since it was read (event "
                f"{record.number} exists); re-read it and decide again") from None
        if booked.duplicate:
            return self.get_order(order.order_id)
        if read is None or booked.seq != read.order.covered_seq + 1:
            # the order projection just written is the order after this event; its fills
            # are read up to the same ledger head
            return self._with_fills(order_from_doc(views[self._orders.name].state),
                                    head=booked.seq)
        # nothing else entered the ledger between the read and this event: the order's fills
        # are the ones read, the order is the event projection just written
        return self._merge_fills(order_from_doc(views[self._orders.name].state), read.fills.state)

    # convenient names for the common events
    def lock(self, order_id: int, timestamp, reason: str) -> Order:
        return self.apply_event(order_id, OrderEventType.LOCKED, timestamp, reason)

    def unlock(self, order_id: int, timestamp, reason: str) -> Order:
        return self.apply_event(order_id, OrderEventType.UNLOCKED, timestamp, reason)

    def complete(self, order_id: int, timestamp, reason: str = "completed") -> Order:
        return self.apply_event(order_id, OrderEventType.COMPLETED, timestamp, reason)

    # ---------------------------------------------------------------------------- reading
    def get_order(self, order_id: int) -> Order:
        """The order, up to date with the ledger, with its fills merged in."""
        order, _ = self._read(order_id)
        return order

    def _read(self, order_id: int) -> tuple[Order, _Read]:
        """The order (with its fills) and the two projection views it was built from, both up
        to date with the same ledger head (``views.order.covered_seq``)."""
        view = self.ledger.view(self._orders, order_key(order_id))
        if not view.state:
            raise MissingData(f"{self.stack} order {order_id} does not exist")
        fills = self.ledger.view(self._fills, order_key(order_id), head=view.covered_seq)
        return self._merge_fills(order_from_doc(view.state), fills.state), _Read(view, fills)

    def _with_fills(self, order: Order, head: int | None = None) -> Order:
        return self._merge_fills(
            order, self.ledger.view(self._fills, order_key(order.order_id), head=head).state)

    def _merge_fills(self, order: Order, fills: dict[str, Any]) -> Order:
        filled, value = fills["filled"], fills["value"]
        common = {"fill_datetime": fills["fill_datetime"], "commission": fills["commission"]}
        if self.level is OrderLevel.INSTRUMENT:
            total = sum(filled.values())
            price = sum(value.values()) / total if total else None
            return order.with_fills(filled=total, fill_price=price, **common)
        legs = order.contract_dates
        extra = set(filled) - set(legs)
        if extra:
            raise InvalidData(f"{self.stack} order {order.order_id} has fills in contracts "
                              f"{sorted(extra)} that are not among its legs {list(legs)}")
        return order.with_fills(
            filled=tuple(filled.get(c, 0) for c in legs),
            fill_price=tuple(value[c] / filled[c] if filled.get(c) else None for c in legs),
            **common)

    def has_order(self, order_id: int) -> bool:
        try:
            self.get_order(order_id)
        except MissingData:
            return False
        return True

    def orders(self, where: dict[str, Any] | None = None,
               include_completed: bool = False) -> list[Order]:
        """Orders matching ``where`` (fields of the order record), by id; only active ones
        unless ``include_completed``."""
        self.ledger.sweep([self._orders.name, self._fills.name])
        where = dict(where or {})
        if not include_completed and "status" not in where:
            where["status"] = {"$ne": OrderStatus.COMPLETED.value}
        orders = [self._decode(projection_state(doc))
                  for _, doc in self.store.find(self.collection, where)]
        # the sweep brought every fill cache up to date: read them in one batch
        fills = self.ledger.swept_states(self._fills, [order_key(o.order_id) for o in orders])
        return [self._merge_fills(o, fills[order_key(o.order_id)]) for o in orders]

    def _decode(self, record: dict[str, Any]) -> Order:
        """The order of a stored record (without fills). An order is the fold of its events,
        so the same order id and event count is the same order: decoded once per process."""
        key, events = record.get("order_id"), record.get("events")
        known = self._decoded.get(key)
        if known is not None and known[0] == events:
            return known[1]
        order = order_from_doc(record)
        self._decoded[key] = (events, order)
        return order

    def order_ids(self, where: dict[str, Any] | None = None,
                  include_completed: bool = False) -> list[int]:
        return [o.order_id for o in self.orders(where, include_completed)]

    def historic_orders(self, where: dict[str, Any] | None = None) -> list[Order]:
        return self.orders({**(where or {}), "status": OrderStatus.COMPLETED.value})

    def find_by_client_ref(self, client_ref: str) -> list[Order]:
        """Broker orders carrying our reference ``client_ref`` (after a restart)."""
        return self.orders({"client_ref": client_ref}, include_completed=True)

    def events(self, order_id: int) -> list[OrderEvent]:
        """Every event of an order, oldest first."""
        docs = self.ledger.records(0, None, {self._orders.field: order_key(order_id)})
        return [OrderEvent.from_doc(doc["record"]) for doc in docs]

    def _check_type(self, order: Order) -> None:
        if not isinstance(order, self.order_class):
            raise InvalidData(f"the {self.stack} stack takes {self.order_class.__name__}, "
                              f"not {type(order).__name__}")
