"""Our book of IB orders: ids, persisted records, and status from executions and TWS messages.

* **Order ids are never reused.** The next id is the larger of TWS's next valid id and a counter
  in the state store (``ib_order_id``), and the counter is moved past every id used, so a
  restart, a TWS restart or another client id never hands out an id twice.
* **Records survive restarts.** Every order we place is stored (collection ``ib_orders``, key
  the order id) with its contract, quantity, type, limit, ``client_ref`` (sent as IB's
  ``orderRef``), account, permId and last known state; a restarted process finds what it placed
  (``find_orders``) and reconciles it with TWS's open orders and executions.
* **Fills come from executions** (``execDetails``, keyed by execId, each applied once and
  persisted in ``ib_executions``; a correction, same stem and a higher last part, replaces the
  original; the commission report may come later and is joined by execId). The filled quantity and average
  price of an order are computed from its executions, never from orderStatus.
* **Status** (:func:`derive_status`): TWS's orderStatus text, corrected by the executions
  (complete executions mean FILLED whatever the status said; a "Filled" status without the
  executions stays working until they arrive) and by errors: 201 rejects, 202 cancels; every
  other error code on an order (10349 "TIF set to DAY", 399, 404 ...) is informational and does
  not end a live order, although ib_async marks the trade Cancelled.
"""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field

import pandas as pd

from sysbrokers.errors import InvalidOrderState, RejectReason
from sysbrokers.objects import (
    BrokerOrder,
    Execution,
    OrderStatus,
    OrderType,
    SpreadLeg,
    check_transition,
)
from sysdata.state.base import StateStore

log = logging.getLogger(__name__)

ORDERS = "ib_orders"
ORDER_ID_COUNTER = "ib_order_id"
EXECUTIONS = "ib_executions"
REJECTING_CODES = frozenset({103, 200, 201})
CANCELLING_CODES = frozenset({202})


def exec_stem(exec_id: str) -> str:
    """IB's execId without its last part, which a correction increments
    (``0000e0d5.6554f3f0.01.01`` -> ``0000e0d5.6554f3f0.01``); an id without one is its own
    stem."""
    head, sep, tail = exec_id.rpartition(".")
    return head if sep and head and tail.isdigit() else exec_id


def derive_status(ib_status: str, filled: int, quantity: int, error_code: int | None,
                  ib_filled: int = 0) -> OrderStatus:
    """Our status from TWS's orderStatus text, the executed quantity and an order error.

    ``ib_filled`` is the (unsigned) filled quantity TWS's orderStatus reported: an order TWS
    calls cancelled while more is filled than the executions received is PENDING_CANCEL
    until they arrive (finishing it earlier would let its rest be sent again before the
    fills are booked)."""
    if filled and abs(filled) >= abs(quantity):
        return OrderStatus.FILLED
    if ib_filled > abs(filled) and (
            error_code in REJECTING_CODES | CANCELLING_CODES
            or ib_status in ("Cancelled", "ApiCancelled", "Inactive")):
        return OrderStatus.PENDING_CANCEL
    if error_code in REJECTING_CODES:
        return OrderStatus.CANCELLED if filled else OrderStatus.REJECTED
    if error_code in CANCELLING_CODES or ib_status in ("Cancelled", "ApiCancelled", "Inactive"):
        return OrderStatus.CANCELLED
    if ib_status == "PendingCancel":
        return OrderStatus.PENDING_CANCEL
    if filled:
        return OrderStatus.PARTIALLY_FILLED
    if ib_status in ("Submitted", "Filled"):  # Filled without the executions yet: still working
        return OrderStatus.WORKING
    return OrderStatus.PENDING_SUBMIT


def reject_reason(text: str) -> RejectReason:
    """The :class:`RejectReason` named in a TWS rejection text (default: exchange reject)."""
    low = text.lower()
    for reason in RejectReason:
        if reason.value in low:
            return reason
    if "market closed" in low or "outside" in low:
        return RejectReason.MARKET_CLOSED
    if "price" in low or "tick" in low:
        return RejectReason.INVALID_PRICE
    return RejectReason.EXCHANGE_REJECT


@dataclass
class TrackedOrder:
    """One order as we track it; :attr:`order` is the current view."""

    order: BrokerOrder
    perm_id: int = 0
    ib_status: str = ""
    error_code: int | None = None
    error_text: str = ""
    exec_ids: list[str] = field(default_factory=list)
    #: the IB client id it was placed under (only that one can modify or cancel it); None:
    #: not known (a record from before it was kept, until TWS lists the order)
    client_id: int | None = None
    #: the filled quantity (unsigned) TWS's last orderStatus reported
    ib_filled: int = 0

    def to_doc(self) -> dict:
        o = self.order
        return {
            "order_id": o.order_id, "instrument_code": o.instrument_code,
            "contract_date": o.contract_date, "quantity": o.quantity,
            "order_type": o.order_type.value, "limit_price": o.limit_price,
            "status": o.status.value, "filled_quantity": o.filled_quantity,
            "avg_fill_price": o.avg_fill_price, "commission": o.commission, "reason": o.reason,
            "client_ref": o.client_ref, "account": o.account,
            "placed_at": o.placed_at.isoformat() if o.placed_at is not None else None,
            "updated_at": o.updated_at.isoformat() if o.updated_at is not None else None,
            "perm_id": self.perm_id, "ib_status": self.ib_status,
            "error_code": self.error_code, "error_text": self.error_text,
            "client_id": self.client_id, "ib_filled": self.ib_filled,
            **({"legs": [[leg.contract_date, leg.ratio] for leg in o.legs]} if o.legs else {}),
        }

    @classmethod
    def from_doc(cls, doc: dict) -> TrackedOrder:
        def ts(value):
            return pd.Timestamp(value).tz_convert("UTC") if value else None

        order = BrokerOrder(
            order_id=doc["order_id"], instrument_code=doc["instrument_code"],
            contract_date=doc["contract_date"], quantity=int(doc["quantity"]),
            order_type=OrderType(doc["order_type"]), limit_price=doc["limit_price"],
            status=OrderStatus(doc["status"]), filled_quantity=int(doc["filled_quantity"]),
            avg_fill_price=doc["avg_fill_price"], commission=float(doc["commission"]),
            reason=doc["reason"], client_ref=doc["client_ref"], account=doc["account"],
            placed_at=ts(doc["placed_at"]), updated_at=ts(doc["updated_at"]),
            legs=tuple(SpreadLeg(c, int(r)) for c, r in doc.get("legs") or ()))
        client_id = doc.get("client_id")
        return cls(order, int(doc.get("perm_id") or 0), doc.get("ib_status") or "",
                   doc.get("error_code"), doc.get("error_text") or "",
                   client_id=int(client_id) if client_id is not None else None,
                   ib_filled=int(doc.get("ib_filled") or 0))


def _execution_to_doc(e: Execution) -> dict:
    doc = dataclasses.asdict(e)
    doc["timestamp"] = e.timestamp.isoformat()
    return doc


def _execution_from_doc(doc: dict) -> Execution:
    values = dict(doc)
    values["timestamp"] = pd.Timestamp(doc["timestamp"]).tz_convert("UTC")
    values["quantity"] = int(doc["quantity"])
    values["price"] = float(doc["price"])
    return Execution(**values)


class OrderBook:
    """Orders we placed and the executions IB reported, persisted in ``store``."""

    def __init__(self, store: StateStore):
        self.store = store
        self.orders: dict[str, TrackedOrder] = {}
        self.executions: dict[str, Execution] = {}
        self._corrections_seen: set[str] = set()
        for _, doc in store.find(ORDERS):
            tracked = TrackedOrder.from_doc(doc)
            self.orders[tracked.order.order_id] = tracked
        for _, doc in store.find(EXECUTIONS):
            execution = _execution_from_doc(doc)
            self.executions[execution.exec_id] = execution
            tracked = self.orders.get(execution.order_id)
            if tracked is not None:
                tracked.exec_ids.append(execution.exec_id)

    # ------------------------------------------------------------------ ids
    def next_order_id(self, tws_next_valid_id: int) -> int:
        """An id above every id used before (ours, in the store) and TWS's next valid id."""
        candidate = self.store.next_id(ORDER_ID_COUNTER)
        if candidate < tws_next_valid_id:
            self.store.set_counter_at_least(ORDER_ID_COUNTER, tws_next_valid_id)
            candidate = tws_next_valid_id
        return candidate

    def last_order_id(self) -> int:
        """The highest order id used so far (0 if none)."""
        ids = [int(i) for i in self.orders if i.isdigit()]
        return max([self.store.counters().get(ORDER_ID_COUNTER, 0), *ids])

    # ------------------------------------------------------------------ records
    def add(self, tracked: TrackedOrder) -> None:
        self.orders[tracked.order.order_id] = tracked
        self._save(tracked)

    def _save(self, tracked: TrackedOrder) -> None:
        self.store.put(ORDERS, tracked.order.order_id, tracked.to_doc())

    def by_ib(self, order_id: int, perm_id: int, order_ref: str) -> TrackedOrder | None:
        """The order TWS means by (orderId, permId, orderRef)."""
        if perm_id:
            for t in self.orders.values():
                if t.perm_id == perm_id:
                    return t
        t = self.orders.get(str(order_id))
        if t is not None and (not order_ref or not t.order.client_ref
                              or order_ref == t.order.client_ref):
            return t
        return None

    # ------------------------------------------------------------------ updates
    def add_execution(self, execution: Execution) -> Execution | None:
        """Record a new execution and return what to report and book, or None if the exec id
        is known (commission already known for it is kept).

        A **correction** (IB's execId with the stem of one recorded before and a higher last
        part, ``....01.01`` -> ``....01.02``) replaces that execution: only the difference
        in quantity is recorded, as an execution with the correction's id (the ledger has the
        original already); a correction of the price alone changes no quantity and is logged
        as an error for the operator (the ledger keeps the original price)."""
        old = self.executions.get(execution.exec_id)
        if old is not None or execution.exec_id in self._corrections_seen:
            if old is not None and old.commission is None and execution.commission is not None:
                self._put_execution(dataclasses.replace(
                    old, commission=execution.commission,
                    commission_currency=execution.commission_currency))
            return None
        stem = exec_stem(execution.exec_id)
        earlier = [e for e in self.executions.values() if exec_stem(e.exec_id) == stem]
        if earlier:
            booked = sum(e.quantity for e in earlier)
            delta = execution.quantity - booked
            log.error("IB execution %s corrects %s: quantity %d -> %d, price %s -> %s",
                      execution.exec_id, earlier[-1].exec_id, booked, execution.quantity,
                      earlier[-1].price, execution.price)
            if delta == 0:
                self._corrections_seen.add(execution.exec_id)
                return None
            execution = dataclasses.replace(execution, quantity=delta)
        self._put_execution(execution)
        tracked = self.orders.get(execution.order_id)
        if tracked is not None and execution.exec_id not in tracked.exec_ids:
            tracked.exec_ids.append(execution.exec_id)
        return execution

    def set_commission(self, exec_id: str, commission: float, currency: str) -> Execution | None:
        ex = self.executions.get(exec_id)
        if ex is None:
            return None
        ex = dataclasses.replace(ex, commission=commission,
                                 commission_currency=currency or ex.commission_currency)
        self._put_execution(ex)
        return ex

    def _put_execution(self, execution: Execution) -> None:
        """Keep ``execution`` in memory and in the store (collection ``ib_executions``): IB
        reports only the day's executions, and a restarted process must still know what it
        recorded (a correction of it, an order's fills from earlier days)."""
        self.store.put(EXECUTIONS, execution.exec_id, _execution_to_doc(execution))
        self.executions[execution.exec_id] = execution

    def refresh(self, order_id: str, now: pd.Timestamp, **ib_facts) -> TrackedOrder:
        """Recompute one order from its executions and TWS facts (``ib_status``, ``perm_id``,
        ``error_code``/``error_text``, ``client_id``, ``quantity``, ``limit_price``); persist if
        it changed."""
        t = self.orders[order_id]
        before = t.to_doc()
        for key in ("ib_status", "perm_id", "error_code", "error_text", "client_id",
                    "ib_filled"):
            if ib_facts.get(key) is not None:
                setattr(t, key, ib_facts[key])
        o = t.order
        execs = [e for e in self.executions.values() if e.order_id == order_id]
        quantity = ib_facts.get("quantity") or o.quantity
        if o.legs:  # a BAG order: units filled on every leg, the spread price (leg 1 - leg 2)
            filled, avg = spread_fills(o.legs, execs, quantity)
            if abs(filled) > abs(quantity):
                log.error("IB order %s: executions (%d units) exceed the quantity (%d)",
                          order_id, filled, quantity)
                quantity = filled
            commission = sum(e.commission or 0.0 for e in execs)
            return self._finish_refresh(t, before, now, ib_facts, filled, avg, commission,
                                        quantity)
        filled = sum(e.quantity for e in execs)
        if abs(filled) > abs(quantity):
            log.error("IB order %s: executions (%d) exceed the quantity (%d)", order_id, filled,
                      quantity)
            quantity = filled
        avg = (sum(e.quantity * e.price for e in execs) / filled) if filled else None
        commission = sum(e.commission or 0.0 for e in execs)
        return self._finish_refresh(t, before, now, ib_facts, filled, avg, commission, quantity)

    def _finish_refresh(self, t: TrackedOrder, before: dict, now: pd.Timestamp, ib_facts: dict,
                        filled: int, avg: float | None, commission: float,
                        quantity: int) -> TrackedOrder:
        o, order_id = t.order, t.order.order_id
        status = derive_status(t.ib_status, filled, quantity, t.error_code, t.ib_filled)
        if status is not o.status:
            try:
                check_transition(o.status, status)
            except InvalidOrderState:
                # terminal to terminal on better evidence (executions complete, a rejection
                # reported after the cancel status) is accepted; anything else is kept as was
                stronger = status is OrderStatus.FILLED or (
                    status is OrderStatus.REJECTED and o.status is OrderStatus.CANCELLED)
                if not stronger:
                    log.warning("IB order %s: ignoring status %s after %s", order_id,
                                status.name, o.status.name)
                    status = o.status
        reason = o.reason
        if status in (OrderStatus.REJECTED, OrderStatus.CANCELLED) and t.error_text:
            reason = t.error_text
        limit = ib_facts.get("limit_price", o.limit_price)
        new = dataclasses.replace(
            o, quantity=quantity, limit_price=limit, status=status, filled_quantity=filled,
            avg_fill_price=avg, commission=commission, reason=reason)
        if new != o:
            t.order = dataclasses.replace(new, updated_at=now)
        if t.to_doc() != before:
            self._save(t)
        return t


def spread_fills(legs, executions, quantity: int) -> tuple[int, float | None]:
    """A BAG order's filled units (signed as ``quantity``) and average spread price from its
    legs' executions: the units every leg has filled (a leg reported before the other is not
    a unit yet), priced ``sum(ratio * average leg price)``. The BAG's own execution is never
    among them (:meth:`IBBroker._execution` skips it)."""
    per_leg = {leg.contract_date: [e for e in executions if e.contract_date == leg.contract_date]
               for leg in legs}
    sign = 1 if quantity > 0 else -1
    units = min(abs(sum(e.quantity for e in per_leg[leg.contract_date])) // abs(leg.ratio)
                for leg in legs)
    if not units:
        return 0, None
    price = 0.0
    for leg in legs:
        done = per_leg[leg.contract_date]
        contracts = sum(e.quantity for e in done)
        price += leg.ratio * (sum(e.quantity * e.price for e in done) / contracts)
    return sign * units, price
