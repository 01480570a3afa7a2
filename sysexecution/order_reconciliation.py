"""Stack handler step: our orders and fills against the broker's, and our books against
themselves.

Run at start-up and on every pass (rules in :mod:`sysexecution.reconcile`):

* :func:`recover_executions`: the broker's executions that our ledger has not booked (fills
  that came while the handler was dead or disconnected) are booked, each once (the ledger's
  unique key is the execution id). On the first pass of a broker connection and after a
  reconnect (:func:`recovery_due`) a complete recovery: those since one day before the previous
  complete recovery started (:func:`recovery_since`; all of them the first time ever), or
  since the oldest live order of ours was sent if that is earlier; otherwise those since the
  oldest live order of ours was sent (a missed event is caught within a pass).
* :func:`reconcile_orders`: the broker's open orders against the broker orders we think are
  working:

  - an open order carrying the ``client_ref`` of one of our broker orders still
    ``INITIALIZED`` (we died between stacking and sending it) is **adopted** (``SENT``);
  - any other open order we do not work is an **orphan**: one made with our reference but
    that we think is finished or never made (a store restored from an older backup), a second
    order with the reference of a live one, or an order not ours at all (placed by hand at the
    broker). Orphans are **cancelled** at the broker (``ExecutionSettings.cancel_orphans``,
    default true; false: left alone) and each raises an alert. Their fills, if any, are booked
    when the reference is ours, and otherwise show as a position break (the instrument locks);
  - an order we think is live and the broker does not know at all (:class:`UnknownOrder`) has
    **vanished**: its executions are recovered first, then it is marked ``CANCELLED`` (reason
    ``unknown to the broker``) with an alert, so its contract order's rest can be sent again.

* :func:`reconcile_internal`: per instrument, the sum of strategy positions against the sum of
  contract positions. A break locks the instrument (reason
  :data:`INTERNAL_BREAK_LOCK_REASON`, one alert); the lock lifts itself when the break
  clears. Instruments with a roll order in flight are skipped (a roll's legs move contract
  positions only, so they differ until both legs fill).
"""
from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from sysbrokers.errors import BrokerError, UnknownOrder
from sysbrokers.objects import BrokerOrder as BrokerOrderAtBroker
from sysbrokers.objects import ConnectionEvent
from syscore.dates import iso_utc, to_utc
from sysdata.data_blob import DataBlob
from sysexecution.broker_fills import BookingResult, book_executions
from sysexecution.broker_orders import adopt
from sysexecution.order_completion import LIVE_AT_BROKER
from sysexecution.reconcile import (
    InternalBreak,
    LockChanges,
    OpenOrder,
    internal_breaks,
    lock_changes,
    order_differences,
)
from sysobjects.orders.orders import client_ref as make_client_ref
from sysobjects.orders.status import OrderEventType as E
from sysobjects.orders.status import OrderLevel
from sysobjects.orders.status import OrderStatus as S

INTERNAL_BREAK_LOCK_REASON = "internal position break"
OUR_PREFIX = make_client_ref(OrderLevel.BROKER, 1)[:-1]  # "systrade/broker/"

#: broker connections whose executions have been recovered since they (re)connected
_recovered: weakref.WeakSet = weakref.WeakSet()


def is_our_ref(ref: str) -> bool:
    return bool(ref) and ref.startswith(OUR_PREFIX)


def recovery_due(data: DataBlob, events: Iterable[object]) -> bool:
    """Whether every execution the broker reports must be checked: the first pass on this
    broker connection, or the drained ``events`` include a reconnect."""
    broker = data.broker
    reconnected = any(isinstance(e, ConnectionEvent) and e.connected for e in events)
    try:
        first = broker not in _recovered
    except TypeError:  # a broker object that cannot be weakly referenced: always recover
        first = True
    return first or reconnected


#: where the time of the last complete recovery is kept (state store collection, key)
RECOVERY_COLLECTION, RECOVERY_KEY = "execution_recovery", "recovered_through"
#: a complete recovery reads back this far before the previous one (late reports, corrections)
RECOVERY_OVERLAP = dt.timedelta(days=1)


def recovery_since(data: DataBlob) -> pd.Timestamp | None:
    """Where a complete recovery starts reading (UTC): one :data:`RECOVERY_OVERLAP` before the
    previous complete recovery started, or earlier if an order of ours live at the broker was
    sent before that; ``None`` (everything) when no recovery was ever completed."""
    stored = (data.state.get(RECOVERY_COLLECTION, RECOVERY_KEY) or {}).get("at")
    if not stored:
        return None
    since = to_utc(stored, "recovered through") - RECOVERY_OVERLAP
    live = [to_utc(o.submit_datetime, "submitted") for o in data.order_stack("broker").orders()
            if o.status in LIVE_AT_BROKER and o.submit_datetime is not None]
    return min([since, *live])


def recover_executions(data: DataBlob, full: bool) -> BookingResult:
    """Book the broker's executions we have not booked (see module docstring)."""
    broker = data.broker
    if full:
        started = data.now()
        executions = broker.get_executions(since=recovery_since(data))
    else:
        live = [o.submit_datetime for o in data.order_stack("broker").orders()
                if o.status in LIVE_AT_BROKER and o.submit_datetime is not None]
        if not live:
            return BookingResult()
        executions = broker.get_executions(since=min(live))
    result = book_executions(data, sorted(executions, key=lambda e: (e.timestamp, e.exec_id)))
    if full:
        # everything up to the start of this recovery is booked: the next reads from there
        data.state.put(RECOVERY_COLLECTION, RECOVERY_KEY, {"at": iso_utc(started)})
        try:
            _recovered.add(broker)
        except TypeError:
            pass
    return result


@dataclass
class OrderReconciliation:
    """Broker order ids adopted, orphans cancelled or left (with why), our orders vanished."""

    adopted: list[str] = field(default_factory=list)
    orphans: dict[str, str] = field(default_factory=dict)
    cancelled: list[str] = field(default_factory=list)
    vanished: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        return (f"{len(self.adopted)} adopted, {len(self.orphans)} orphans "
                f"({len(self.cancelled)} cancelled), {len(self.vanished)} vanished")


def reconcile_orders(data: DataBlob, cancel_orphans: bool = True) -> OrderReconciliation:
    """Our working broker orders against the broker's open orders (see module docstring).
    The caller alerts on :attr:`OrderReconciliation.orphans` and ``vanished``."""
    result = OrderReconciliation()
    bstack = data.order_stack("broker")
    ours = bstack.orders()
    working = {o.broker_order_id: o.client_ref for o in ours
               if o.status in LIVE_AT_BROKER and o.broker_order_id}
    open_at_broker = {o.order_id: o for o in data.broker.get_orders(open_only=True)}
    differences = order_differences(
        working, [OpenOrder(o.order_id, o.client_ref) for o in open_at_broker.values()],
        is_our_ref)
    for orphan in differences.adopt + differences.foreign:
        theirs = open_at_broker[orphan.broker_order_id]
        if is_our_ref(orphan.client_ref):
            # read again: another process (the console) may have stacked or sent it since
            known = [o for o in bstack.find_by_client_ref(orphan.client_ref)
                     if o.status is S.INITIALIZED
                     or (o.status in LIVE_AT_BROKER and o.broker_order_id == theirs.order_id)]
            if known and known[0].status is S.INITIALIZED:
                adopt(data, known[0], theirs)
                result.adopted.append(orphan.broker_order_id)
                continue
            if known:
                continue  # sent meanwhile: ours, working
        result.orphans[orphan.broker_order_id] = _why_orphan(data, theirs)
        if cancel_orphans:
            try:
                data.broker.cancel_order(orphan.broker_order_id)
                result.cancelled.append(orphan.broker_order_id)
            except BrokerError:
                pass  # finished meanwhile: nothing working to cancel
    for order in ours:
        if order.status not in LIVE_AT_BROKER or not order.broker_order_id \
                or order.broker_order_id in open_at_broker:
            continue
        try:
            data.broker.get_order(order.broker_order_id)
        except UnknownOrder:
            _vanished(data, order)
            result.vanished.append(order.order_id)
        except BrokerError:
            continue
    return result


def _why_orphan(data: DataBlob, theirs: BrokerOrderAtBroker) -> str:
    where = (f"{theirs.instrument_code} {theirs.contract_date} {theirs.quantity:+d} "
             f"({theirs.order_type.value}, ref {theirs.client_ref or 'none'})")
    if not is_our_ref(theirs.client_ref):
        return f"not placed by systrade: {where}"
    known = data.order_stack("broker").find_by_client_ref(theirs.client_ref)
    if not known:
        return f"our reference, but no such broker order on our stack: {where}"
    return (f"our reference, but our broker order {known[0].order_id} is "
            f"{known[0].status.value} as broker order {known[0].broker_order_id}: {where}")


def _vanished(data: DataBlob, order) -> None:
    """An order the broker does not know: its executions first, then ``CANCELLED``."""
    book_executions(data, [e for e in data.broker.get_executions(since=order.submit_datetime)
                           if e.client_ref == order.client_ref])
    order = data.order_stack("broker").get_order(order.order_id)
    if order.status in LIVE_AT_BROKER:
        data.order_stack("broker").apply_event(order, E.CANCELLED, data.now(),
                                               "unknown to the broker")


@dataclass(frozen=True)
class InternalReconciliation:
    changes: LockChanges
    breaks: tuple[InternalBreak, ...]

    def describe(self, instrument_code: str) -> str:
        return "; ".join(f"strategies {b.strategies}, contracts {b.contracts}"
                         for b in self.breaks if b.instrument_code == instrument_code)


def reconcile_internal(data: DataBlob) -> InternalReconciliation:
    """Strategy positions against contract positions per instrument (see module docstring)."""
    rolling = {o.instrument_code for o in data.order_stack("contract").orders() if o.roll_order}
    breaks = [b for b in internal_breaks(data.positions.all_strategy_positions(),
                                         data.positions.all_contract_positions())
              if b.instrument_code not in rolling]
    locks = {code: data.locks.reason(code) or "" for code in data.locks.locked_instruments()}
    changes = lock_changes(breaks, locks, INTERNAL_BREAK_LOCK_REASON)
    now = data.now()
    for code in changes.lock:
        data.locks.lock(code, now, INTERNAL_BREAK_LOCK_REASON)
    for code in changes.unlock:
        data.locks.unlock(code)
    return InternalReconciliation(changes, tuple(breaks))
