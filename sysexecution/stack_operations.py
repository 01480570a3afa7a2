"""Operator actions on the order stacks (the order-stack console calls these; tests too).

Every change is an order event in the ledger with the operator's reason (or a lock record), so
nothing is lost and the history says who did what and why. "Deleting" an order never erases
it: the ledger is append-only. A deleted order is cancelled (if not finished) and completed
with the reason, so it leaves the stack and stays in the history; a fill that arrives for it
later is still booked (fills are matched by ``client_ref``, completed orders included).

* :func:`cancel_broker_order`: cancel one of our broker orders at the broker (``CANCEL_REQUESTED``;
  the status follows from the broker). Its contract order is not cancelled: the stack handler
  sends a new broker order for the rest next loop unless the contract order is locked or its
  instrument order cancelled.
* :func:`net_instrument_orders`: instrument orders of one strategy and instrument not yet
  spawned are merged into the oldest one (the others cancelled, the oldest's trade changed);
  a zero net cancels all of them.
* :func:`lock_order` / :func:`unlock_order`; :func:`lock_instrument` / :func:`unlock_instrument`;
  :func:`lock_all_instruments` / :func:`unlock_all_instruments`.
* :func:`remove_algo_lock`: free a contract order from the algo that controls it
  (``algo_state`` cleared), e.g. after the algo's process died.
* :func:`delete_order` / :func:`delete_stack`.
"""
from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field

from sysbrokers.errors import BrokerError, UnknownOrder
from syscore.exceptions import ConcurrencyError, InvalidData
from sysdata.data_blob import DataBlob
from sysdata.leases import LeaseData, describe_holder
from sysdata.orders import STACKS
from sysexecution.broker_orders import adopt
from sysexecution.order_completion import FINISHED, LIVE_AT_BROKER
from sysobjects.instruments import validate_instrument_code
from sysobjects.orders.orders import InstrumentOrder, Order
from sysobjects.orders.status import OrderEventType as E
from sysobjects.orders.status import OrderStatus as S


def _reason(reason: str) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidData("give a reason: it is recorded with the change")
    return reason.strip()


def _stack(data: DataBlob, level: str):
    if level not in STACKS:
        raise InvalidData(f"unknown stack {level!r}; expected one of {', '.join(STACKS)}")
    return data.order_stack(level)


# --------------------------------------------------------------------------- cancel at broker
def cancel_broker_order(data: DataBlob, order_id: int, reason: str) -> Order:
    """Cancel our broker order ``order_id`` at the broker; returns the order after its event.
    One left ``INITIALIZED`` (never confirmed sent) is looked up at the broker by its
    ``client_ref``: cancelled at once if the broker does not have it, else adopted and
    cancelled there. InvalidData if it is not live."""
    reason = _reason(reason)
    bstack, now = data.order_stack("broker"), data.now()
    order = bstack.get_order(order_id)
    if order.status is S.INITIALIZED:
        found = data.broker.find_orders(order.client_ref) if order.client_ref else []
        if not found:
            return bstack.apply_event(order, E.CANCELLED, now, f"never sent; {reason}")
        order = adopt(data, order, found[0])
    if order.status not in LIVE_AT_BROKER:
        raise InvalidData(f"broker order {order_id} is {order.status.value}: nothing to cancel")
    if order.status is S.PENDING_CANCEL:
        return order
    try:
        data.broker.cancel_order(order.broker_order_id)
    except BrokerError as exc:
        raise InvalidData(f"broker order {order_id} (broker id {order.broker_order_id}): "
                          f"{exc}") from None
    return bstack.apply_event(order, E.CANCEL_REQUESTED, now, f"cancelled by hand: {reason}")


# --------------------------------------------------------------------------- netting
@dataclass
class Netted:
    """``kept``: order id -> its new trade (0: cancelled too); ``cancelled``: ids merged away."""

    kept: dict[int, int] = field(default_factory=dict)
    cancelled: list[int] = field(default_factory=list)
    added: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        if not self.kept:
            return "nothing to net"
        return "; ".join(f"order {k}: trade now {t}" for k, t in self.kept.items()) + \
            f"; cancelled {', '.join(map(str, self.cancelled)) or 'none'}"


#: the lease the stack handler process holds while it runs (sysproduction.leases.process_lease)
STACK_HANDLER_LEASE = "process/run_stack_handler"


def _nettable(data: DataBlob, order: InstrumentOrder) -> bool:
    if order.status is not S.INITIALIZED or order.locked or order.children \
            or order.roll_order or order.manual_trade or order.trade == 0:
        return False
    return not data.order_stack("contract").orders({"parent_id": order.order_id},
                                                   include_completed=True)


def net_instrument_orders(data: DataBlob, leases: LeaseData | None = None) -> Netted:
    """Merge the unspawned instrument orders of each strategy and instrument (see the module
    docstring). The others are cancelled first, each only if unchanged since read (one
    spawned meanwhile is left alone); then the oldest takes their trades. If the oldest was
    spawned in between, a new order carries the trades merged away, so nothing is lost.
    Refused (:class:`ConcurrencyError`, nothing changed) while the stack handler runs: it may
    have read an order and be spawning it with the trade it had before the netting.
    ``leases``: reads the stack handler's lease; pass one with the host name the handler's
    lease records (process control's, ``SYSTRADE_HOST``), so that a handler that died on
    this host is seen as gone [default: ``LeaseData(data.state)``, the OS host name]."""
    leases = leases or LeaseData(data.state)
    holder = leases.holder(STACK_HANDLER_LEASE)
    if holder is not None and not leases.holder_is_gone(holder, time.time()):
        raise ConcurrencyError(f"{describe_holder(holder)}: stop the stack handler before "
                               "netting (it may be spawning an order being netted); nothing "
                               "changed")
    istack, now = data.order_stack("instrument"), data.now()
    groups: dict[tuple[str, str], list[InstrumentOrder]] = defaultdict(list)
    for order in istack.orders({"status": S.INITIALIZED.value}):
        if _nettable(data, order):
            groups[(order.strategy_name, order.instrument_code)].append(order)
    result = Netted()
    for orders in groups.values():
        if len(orders) < 2:
            continue
        keep, *others = sorted(orders, key=lambda o: o.order_id)
        merged = []
        for other in others:
            try:
                istack.apply_event(other, E.CANCELLED, now, f"netted into order {keep.order_id}")
            except ConcurrencyError:
                continue  # changed meanwhile (spawned): left as it is
            merged.append(other)
        extra = sum(o.trade for o in merged)
        if not merged:
            continue
        result.cancelled += [o.order_id for o in merged]
        new_trade = keep.trade + extra
        why = f"netted with orders {', '.join(str(o.order_id) for o in merged)}"
        try:
            if new_trade == 0 or not _nettable(data, keep):
                raise ConcurrencyError("changed")
            istack.apply_event(keep, E.MODIFIED, now, why, {"trade": new_trade})
            result.kept[keep.order_id] = new_trade
        except ConcurrencyError:
            if new_trade == 0 and _nettable(data, keep):
                try:
                    istack.apply_event(keep, E.CANCELLED, now, f"{why}: net zero")
                    result.kept[keep.order_id] = 0
                    continue
                except ConcurrencyError:
                    pass
            if extra:  # the oldest moved on: the merged trades go in a new order
                added = istack.add_order(InstrumentOrder(
                    order_id=istack.new_order_id(), strategy_name=keep.strategy_name,
                    instrument_code=keep.instrument_code, trade=extra,
                    order_type=keep.order_type, generated_datetime=now), now,
                    f"{why} (order {keep.order_id} changed meanwhile)")
                result.added.append(added.order_id)
    return result


# --------------------------------------------------------------------------- locks
def lock_order(data: DataBlob, level: str, order_id: int, reason: str) -> Order:
    """Lock an order: nothing acts on it (spawning, sending, netting, completion) until
    unlocked."""
    return _stack(data, level).lock(order_id, data.now(), f"locked by hand: {_reason(reason)}")


def unlock_order(data: DataBlob, level: str, order_id: int, reason: str) -> Order:
    return _stack(data, level).unlock(order_id, data.now(),
                                      f"unlocked by hand: {_reason(reason)}")


def lock_instrument(data: DataBlob, instrument_code: str, reason: str) -> None:
    """An operator's lock: the gate sends nothing for the instrument; the stack handler never
    lifts it (it lifts only its own break locks)."""
    data.locks.lock(validate_instrument_code(instrument_code), data.now(), _reason(reason))
    data.log.warning("instrument %s locked by hand: %s", instrument_code, reason)


def unlock_instrument(data: DataBlob, instrument_code: str) -> None:
    """Lift a lock (any: an unlocked break is locked again by the next pass while it lasts)."""
    data.locks.unlock(validate_instrument_code(instrument_code))
    data.log.warning("instrument %s unlocked by hand", instrument_code)


def instruments_in_use(data: DataBlob) -> list[str]:
    """Configured instruments, and any with a position or an active order."""
    codes = set(data.instruments.list_codes())
    codes |= {code for code, _ in data.positions.all_contract_positions()}
    codes |= {code for _, code in data.positions.all_strategy_positions()}
    for level in STACKS:
        codes |= {o.instrument_code for o in data.order_stack(level).orders()}
    return sorted(codes)


def lock_all_instruments(data: DataBlob, reason: str) -> list[str]:
    """Lock every instrument in use (see :func:`instruments_in_use`); returns the codes."""
    reason = _reason(reason)
    codes = instruments_in_use(data)
    for code in codes:
        if not data.locks.is_locked(code):
            data.locks.lock(code, data.now(), reason)
    data.log.warning("all instruments locked by hand: %s", reason)
    return codes


def unlock_all_instruments(data: DataBlob) -> list[str]:
    codes = data.locks.locked_instruments()
    for code in codes:
        data.locks.unlock(code)
    data.log.warning("all instruments unlocked by hand: %s", ", ".join(codes) or "none")
    return codes


def remove_algo_lock(data: DataBlob, contract_order_id: int, reason: str) -> Order:
    """Clear ``algo_state`` of a contract order so another algo instance may take it."""
    reason = _reason(reason)
    cstack = data.order_stack("contract")
    order = cstack.get_order(contract_order_id)
    if order.algo_state is None:
        raise InvalidData(f"contract order {contract_order_id} is not controlled by an algo")
    return cstack.apply_event(order, E.MODIFIED, data.now(),
                              f"algo lock removed by hand ({order.algo_state}): {reason}",
                              {"algo_state": None})


# --------------------------------------------------------------------------- delete
def delete_order(data: DataBlob, level: str, order_id: int, reason: str) -> Order:
    """Take an order off its stack: cancelled (if not finished) then completed, with the
    reason (see the module docstring). A broker order still live at the broker is refused
    (InvalidData): cancel it first, a deleted order is never cancelled at the broker."""
    reason = _reason(reason)
    stack, now = _stack(data, level), data.now()
    order = stack.get_order(order_id)
    if order.status is S.COMPLETED:
        raise InvalidData(f"{level} order {order_id} is already completed (history)")
    if level == "broker" and order.status in (S.INITIALIZED,) + LIVE_AT_BROKER:
        try:
            if order.broker_order_id:
                theirs = [data.broker.get_order(order.broker_order_id)]
            else:  # never confirmed sent: a crash after placing leaves it at the broker
                theirs = data.broker.find_orders(order.client_ref) if order.client_ref else []
        except UnknownOrder:
            theirs = []  # the broker does not know it
        except BrokerError as exc:  # disconnected, ...: it may well be live there
            raise InvalidData(f"broker order {order_id}: cannot ask the broker whether it is "
                              f"live ({exc}); nothing changed, try again when connected") from None
        live = [o.order_id for o in theirs if not o.is_terminal]
        if live:
            raise InvalidData(f"broker order {order_id} is live at the broker (id "
                              f"{', '.join(live)}): cancel it first")
    why = f"deleted by hand: {reason}"
    if order.status not in FINISHED:
        order = stack.apply_event(order, E.CANCELLED, now, why)
    return stack.complete(order.order_id, now, why)


@dataclass
class DeletedStack:
    deleted: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)

    def __str__(self) -> str:
        refused = "; ".join(f"{k}: {v}" for k, v in self.refused.items()) or "none"
        return f"deleted {len(self.deleted)} orders; refused: {refused}"


def delete_stack(data: DataBlob, level: str, reason: str) -> DeletedStack:
    """:func:`delete_order` for every order on the stack; refusals listed, not raised."""
    reason = _reason(reason)
    out = DeletedStack()
    for order in _stack(data, level).orders():
        try:
            delete_order(data, level, order.order_id, reason)
            out.deleted.append(order.order_id)
        except (InvalidData, ConcurrencyError) as exc:
            out.refused[order.order_id] = str(exc)
    return out
