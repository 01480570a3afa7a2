"""Stack handler steps: order statuses from the broker, cancels passed down, families completed.

* :func:`sync_broker_statuses`: each live broker order of ours is compared with the broker's
  view: ``ACKNOWLEDGED`` once live; ``FILLED``, ``CANCELLED`` and ``REJECTED`` only once every
  execution the broker reports for the order is in the ledger (the order's projected fill
  equals its trade, or the broker's filled quantity), so a status never runs ahead of the
  money and the rest of a cancelled order is never sent again before its fills are booked.
* :func:`propagate_fills`: a contract or instrument order whose projected fills equal its
  trade gets its ``FILLED`` event; an instrument order of trade 0 (a roll, a manual
  calendar spread) when every one of its contract orders is filled.
* :func:`propagate_cancels`: an instrument order pending a cancel passes the request to its
  contract orders, those to their live broker orders (cancelled at the broker); a broker order
  left ``INITIALIZED`` by a crash is ``CANCELLED`` only if the broker does not have it (found
  by ``client_ref``), else adopted and cancelled at the broker; an order with no live child
  left becomes ``CANCELLED`` (its fills so far stay booked).
* :func:`complete_families`: a finished instrument order (filled, cancelled, rejected) whose
  descendants are all finished is completed bottom-up (broker, contract, instrument), so a
  crash half-way is finished by the next call. Completed orders are the history.

Every step reads, decides and appends an event; a rerun after a crash sees the events already
appended and does the rest.
"""
from __future__ import annotations

from sysbrokers.errors import BrokerError
from sysbrokers.objects import OrderStatus as BrokerStatus
from syscore.exceptions import ConcurrencyError
from sysdata.data_blob import DataBlob
from sysexecution.broker_orders import adopt
from sysobjects.orders.orders import InstrumentOrder
from sysobjects.orders.status import OrderEventType as E
from sysobjects.orders.status import OrderStatus as S

LIVE_AT_BROKER = (S.SUBMITTED, S.WORKING, S.PENDING_UPDATE, S.PENDING_CANCEL)
FINISHED = (S.FILLED, S.CANCELLED, S.REJECTED, S.COMPLETED)


def _fully_filled(order) -> bool:
    if isinstance(order, InstrumentOrder):
        return order.trade != 0 and order.filled == order.trade
    return all(rest == 0 for rest in order.remaining)


def _roll_filled(order, contract_orders: dict) -> bool:
    """An instrument order of trade 0 (a roll, or a manual calendar spread: its legs net to
    zero) is filled when it has contract orders and every one of them is fully filled."""
    if not (isinstance(order, InstrumentOrder) and order.trade == 0 and order.children):
        return False
    children = [contract_orders.get(c) for c in order.children]
    return all(c is not None and _fully_filled(c) for c in children)


def _booked(order, theirs) -> bool:
    """Whether every execution the broker reports for ``theirs`` is in our ledger: our order's
    projected fills equal the broker's filled quantity (a spread: units times each leg's
    ratio, leg by leg, so one leg booked and not the other is not yet booked)."""
    if theirs.is_spread:
        wanted = theirs.leg_quantities(theirs.filled_quantity)
        return all(done == wanted.get(leg.contract_date[:6], wanted.get(leg.contract_date))
                   for leg, done in zip(order.legs, order.filled, strict=True))
    return sum(order.filled) == theirs.filled_quantity


def sync_broker_statuses(data: DataBlob) -> int:
    """Bring our live broker orders' statuses in line with the broker's; events appended."""
    bstack, now, count = data.order_stack("broker"), data.now(), 0
    live = [o for o in bstack.orders() if o.status in LIVE_AT_BROKER and o.broker_order_id]
    if not live:
        return 0
    try:  # one call for all of them; one by one for any the list leaves out
        known = {o.order_id: o for o in data.broker.get_orders()}
    except BrokerError:
        known = {}
    for order in live:
        theirs = known.get(order.broker_order_id)
        if theirs is None:
            try:
                theirs = data.broker.get_order(order.broker_order_id)
            except BrokerError:
                continue  # reconciliation deals with orders the broker does not know
        event = None
        # a finished order waits for its executions: a status never runs ahead of the money
        # (a cancelled order with unbooked fills would have its rest sent again)
        booked = _booked(order, theirs)
        if theirs.status is BrokerStatus.FILLED:
            event = E.FILLED if _fully_filled(order) else None
        elif theirs.status is BrokerStatus.CANCELLED:
            event = E.CANCELLED if booked else None
        elif theirs.status is BrokerStatus.REJECTED:
            event = E.REJECTED if booked else None
        elif order.status is S.SUBMITTED:
            event = E.ACKNOWLEDGED
        if event is not None:
            bstack.apply_event(order, event, now, f"broker: {theirs.status.value} "
                                                  f"{theirs.reason}".strip())
            count += 1
    return count


def propagate_fills(data: DataBlob) -> int:
    """``FILLED`` for contract and instrument orders whose fills equal their trade."""
    now, count = data.now(), 0
    contract_orders: dict = {}
    for level in ("contract", "instrument"):
        stack = data.order_stack(level)
        for order in stack.orders():
            if order.status in (S.WORKING, S.PENDING_CANCEL, S.CANCELLED) \
                    and (_fully_filled(order) or _roll_filled(order, contract_orders)):
                order = stack.apply_event(order, E.FILLED, now, "all fills booked")
                count += 1
            if level == "contract":
                contract_orders[order.order_id] = order
    return count


def propagate_cancels(data: DataBlob) -> int:
    """Pass cancel requests down; mark cancelled the orders with no live child left."""
    istack, cstack, bstack = (data.order_stack(s) for s in ("instrument", "contract", "broker"))
    now, count = data.now(), 0
    # a cancelled parent can have children too: a spawn that lost a race with the cancel and
    # crashed before it cancelled the children it had made (sysexecution.spawn_orders)
    cancelling = istack.orders({"status": S.PENDING_CANCEL.value}) \
        + istack.orders({"status": S.CANCELLED.value})
    for parent in cancelling:
        for child in cstack.orders({"parent_id": parent.order_id}):
            if child.status in (S.INITIALIZED, S.WORKING):
                cstack.apply_event(child, E.CANCEL_REQUESTED, now,
                                   f"instrument order {parent.order_id} cancelled")
                count += 1
    # in a batch: every contract order's cancel request durable before any broker cancel
    # (else a crash could leave an order cancelled at the broker whose contract order still
    # wants it filled, and a new broker order would be sent for it)
    data.state.checkpoint()
    for order in cstack.orders({"status": S.PENDING_CANCEL.value}):
        live = [b for b in bstack.orders({"parent_id": order.order_id})
                if b.status in (S.INITIALIZED,) + LIVE_AT_BROKER]
        for child in live:
            if child.status is S.INITIALIZED:  # a crash before SENT: placed or not?
                found = data.broker.find_orders(child.client_ref)
                if not found:
                    bstack.apply_event(child, E.CANCELLED, now, "never sent")
                    count += 1
                    continue
                child = adopt(data, child, found[0])  # then cancelled at the broker below
                data.state.checkpoint()  # in a batch: the adoption first, as before batches
            if child.status is not S.PENDING_CANCEL:
                try:
                    data.broker.cancel_order(child.broker_order_id)
                except BrokerError:
                    continue  # finished meanwhile: the status sync will tell
                bstack.apply_event(child, E.CANCEL_REQUESTED, now,
                                   f"contract order {order.order_id} cancelled")
            count += 1
        if not live and not _fully_filled(order):
            cstack.apply_event(order, E.CANCELLED, now, "no live broker order left")
            count += 1
    for parent in istack.orders({"status": S.PENDING_CANCEL.value}):
        children = cstack.orders({"parent_id": parent.order_id}, include_completed=True)
        if all(c.status in FINISHED for c in children) and not _fully_filled(parent):
            istack.apply_event(parent, E.CANCELLED, now, "no live contract order left")
            count += 1
    return count


def pass_statuses(data: DataBlob) -> int:
    """The stack handler's status step, in its order: broker statuses from the broker, fills
    up the families, cancels up and down, fills again (a cancel just passed may leave a family
    whose fills must move up). Returns the number of order events appended."""
    return sync_broker_statuses(data) + propagate_fills(data) + propagate_cancels(data) \
        + propagate_fills(data)


def _by_parent(orders) -> dict[int, list]:
    grouped: dict[int, list] = {}
    for order in orders:
        if order.parent_id is not None:
            grouped.setdefault(order.parent_id, []).append(order)
    return grouped


def complete_families(data: DataBlob) -> list[int]:
    """Complete finished families bottom-up; the instrument order ids completed."""
    istack, cstack, bstack = (data.order_stack(s) for s in ("instrument", "contract", "broker"))
    now, done = data.now(), []
    parents = [p for p in istack.orders() if p.status in FINISHED and not p.locked]
    if not parents:
        return done
    # each stack listed once; completed orders are finished and their own children completed
    # before them (bottom-up), so the active orders are all that can hold a family back
    contract_children = _by_parent(cstack.orders())
    broker_children = _by_parent(bstack.orders())
    for parent in parents:
        children = contract_children.get(parent.order_id, [])
        grandchildren = [b for c in children for b in broker_children.get(c.order_id, [])]
        if any(o.status not in FINISHED for o in children + grandchildren):
            continue
        try:
            for order, stack in [(b, bstack) for b in grandchildren] + \
                                [(c, cstack) for c in children]:
                if order.status is not S.COMPLETED:  # as read: a change since is a conflict
                    stack.apply_event(order, E.COMPLETED, now,
                                      f"family of {parent.order_id} finished")
            istack.apply_event(parent, E.COMPLETED, now, "completed")
        except ConcurrencyError:
            continue  # changed since it was listed: decided again next pass
        done.append(parent.order_id)
    return done
