"""Order statuses and their transition tables, one table per order level.

A status changes only through an :class:`OrderEventType`; each level's table maps
``(status, event)`` to the next status and anything not in the table raises
:class:`~syscore.exceptions.InvalidTransition`. The tables follow nautilus_trader's order state
machine, cut down to what our three stacks need, and include the cases real brokers produce:

* a cancel that fails and leaves the order working (``CANCEL_REJECTED``);
* a fill while a cancel or a modification is pending (the order stays pending);
* a fill after the cancel took effect (``CANCELLED`` + ``FILLED`` -> ``FILLED``; a partial fill
  leaves it ``CANCELLED``): the fill itself is always booked in the ledger, whatever the status;
* a modification pending and then rejected (``MODIFY_REJECTED`` -> back to working);
* an order found at the broker that we did not place (``DISCOVERED`` creates it ``WORKING``).
* a broker order that is never sent because its fill is booked by hand (a balance trade, a
  manual fill): ``INITIALIZED`` + ``FILLED`` -> ``FILLED``.

``LOCKED``/``UNLOCKED`` and ``MODIFIED`` (on contract and instrument orders) keep the status; the
lock is a flag on the order. A ``COMPLETED`` order is archived: late fills can still arrive and
are accepted as events that keep it ``COMPLETED`` (the execution layer alerts on them).
"""
from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

from syscore.exceptions import InvalidTransition


class OrderLevel(enum.Enum):
    INSTRUMENT = "instrument"
    CONTRACT = "contract"
    BROKER = "broker"


class OrderEventType(enum.Enum):
    CREATED = "created"
    DISCOVERED = "discovered"  # found at the broker, not placed by us
    SENT = "sent"  # broker: sent to the broker; contract/instrument: children spawned
    ACKNOWLEDGED = "acknowledged"
    MODIFY_REQUESTED = "modify_requested"
    MODIFIED = "modified"
    MODIFY_REJECTED = "modify_rejected"
    CANCEL_REQUESTED = "cancel_requested"
    CANCEL_REJECTED = "cancel_rejected"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    COMPLETED = "completed"
    LOCKED = "locked"
    UNLOCKED = "unlocked"


CREATION_EVENTS = frozenset({OrderEventType.CREATED, OrderEventType.DISCOVERED})


class OrderStatus(enum.Enum):
    """Statuses of every level (each level's table uses a subset)."""

    INITIALIZED = "INITIALIZED"  # created, not yet sent / spawned
    SUBMITTED = "SUBMITTED"  # broker: sent, not yet acknowledged
    WORKING = "WORKING"  # live (broker: acknowledged; others: children working)
    PENDING_UPDATE = "PENDING_UPDATE"
    PENDING_CANCEL = "PENDING_CANCEL"
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"
    COMPLETED = "COMPLETED"  # archived

    @property
    def is_active(self) -> bool:
        return self is not OrderStatus.COMPLETED


E = OrderEventType
S = OrderStatus
_LOCKS = (E.LOCKED, E.UNLOCKED)
_LIVE_BROKER = (S.INITIALIZED, S.SUBMITTED, S.WORKING, S.PENDING_UPDATE, S.PENDING_CANCEL)


def _table(entries: dict[tuple[OrderStatus, OrderEventType], OrderStatus],
           lockable: tuple[OrderStatus, ...]) -> Mapping:
    full = dict(entries)
    for status in lockable:
        for event in _LOCKS:
            full[(status, event)] = status
    return MappingProxyType(full)


BROKER_TRANSITIONS = _table({
    (S.INITIALIZED, E.SENT): S.SUBMITTED,
    (S.INITIALIZED, E.REJECTED): S.REJECTED,  # refused before sending (risk gate, broker API)
    (S.INITIALIZED, E.CANCELLED): S.CANCELLED,  # never sent
    (S.INITIALIZED, E.FILLED): S.FILLED,  # a balance trade: booked, never sent
    (S.SUBMITTED, E.ACKNOWLEDGED): S.WORKING,
    (S.SUBMITTED, E.REJECTED): S.REJECTED,
    (S.SUBMITTED, E.PARTIALLY_FILLED): S.WORKING,  # fill before the acknowledgement arrived
    (S.SUBMITTED, E.FILLED): S.FILLED,
    (S.SUBMITTED, E.CANCEL_REQUESTED): S.PENDING_CANCEL,
    (S.SUBMITTED, E.CANCELLED): S.CANCELLED,
    (S.WORKING, E.PARTIALLY_FILLED): S.WORKING,
    (S.WORKING, E.FILLED): S.FILLED,
    (S.WORKING, E.MODIFY_REQUESTED): S.PENDING_UPDATE,
    (S.WORKING, E.CANCEL_REQUESTED): S.PENDING_CANCEL,
    (S.WORKING, E.CANCELLED): S.CANCELLED,  # cancelled by the broker (time in force, expiry)
    (S.WORKING, E.REJECTED): S.REJECTED,  # rejected by the exchange after acceptance
    (S.PENDING_UPDATE, E.MODIFIED): S.WORKING,
    (S.PENDING_UPDATE, E.MODIFY_REJECTED): S.WORKING,
    (S.PENDING_UPDATE, E.PARTIALLY_FILLED): S.PENDING_UPDATE,
    (S.PENDING_UPDATE, E.FILLED): S.FILLED,
    (S.PENDING_UPDATE, E.CANCEL_REQUESTED): S.PENDING_CANCEL,
    (S.PENDING_UPDATE, E.CANCELLED): S.CANCELLED,
    (S.PENDING_CANCEL, E.CANCELLED): S.CANCELLED,
    (S.PENDING_CANCEL, E.CANCEL_REJECTED): S.WORKING,  # cancel failed: still working
    (S.PENDING_CANCEL, E.PARTIALLY_FILLED): S.PENDING_CANCEL,  # fill while cancel pending
    (S.PENDING_CANCEL, E.FILLED): S.FILLED,
    (S.PENDING_CANCEL, E.REJECTED): S.REJECTED,
    (S.CANCELLED, E.PARTIALLY_FILLED): S.CANCELLED,  # fill after the cancel (IB TIF races)
    (S.CANCELLED, E.FILLED): S.FILLED,
    (S.FILLED, E.COMPLETED): S.COMPLETED,
    (S.CANCELLED, E.COMPLETED): S.COMPLETED,
    (S.REJECTED, E.COMPLETED): S.COMPLETED,
    (S.COMPLETED, E.PARTIALLY_FILLED): S.COMPLETED,  # a late fill of an archived order
    (S.COMPLETED, E.FILLED): S.COMPLETED,
}, lockable=_LIVE_BROKER + (S.FILLED, S.CANCELLED, S.REJECTED))

_PARENT = {
    (S.INITIALIZED, E.SENT): S.WORKING,  # children spawned
    (S.INITIALIZED, E.MODIFIED): S.INITIALIZED,
    (S.INITIALIZED, E.REJECTED): S.REJECTED,  # refused (risk gate, limits)
    (S.INITIALIZED, E.CANCEL_REQUESTED): S.PENDING_CANCEL,
    (S.INITIALIZED, E.CANCELLED): S.CANCELLED,
    (S.INITIALIZED, E.PARTIALLY_FILLED): S.INITIALIZED,  # balance trades, manual fills
    (S.INITIALIZED, E.FILLED): S.FILLED,
    (S.WORKING, E.SENT): S.WORKING,  # more children
    (S.WORKING, E.MODIFIED): S.WORKING,
    (S.WORKING, E.PARTIALLY_FILLED): S.WORKING,
    (S.WORKING, E.FILLED): S.FILLED,
    (S.WORKING, E.CANCEL_REQUESTED): S.PENDING_CANCEL,
    (S.WORKING, E.CANCELLED): S.CANCELLED,
    (S.PENDING_CANCEL, E.CANCELLED): S.CANCELLED,
    (S.PENDING_CANCEL, E.CANCEL_REJECTED): S.WORKING,
    (S.PENDING_CANCEL, E.PARTIALLY_FILLED): S.PENDING_CANCEL,
    (S.PENDING_CANCEL, E.FILLED): S.FILLED,
    (S.CANCELLED, E.PARTIALLY_FILLED): S.CANCELLED,
    (S.CANCELLED, E.FILLED): S.FILLED,
    (S.FILLED, E.COMPLETED): S.COMPLETED,
    (S.CANCELLED, E.COMPLETED): S.COMPLETED,
    (S.REJECTED, E.COMPLETED): S.COMPLETED,
    (S.COMPLETED, E.PARTIALLY_FILLED): S.COMPLETED,
    (S.COMPLETED, E.FILLED): S.COMPLETED,
}
_PARENT_LOCKABLE = (S.INITIALIZED, S.WORKING, S.PENDING_CANCEL, S.FILLED, S.CANCELLED,
                    S.REJECTED)
CONTRACT_TRANSITIONS = _table(_PARENT, lockable=_PARENT_LOCKABLE)
INSTRUMENT_TRANSITIONS = _table(_PARENT, lockable=_PARENT_LOCKABLE)

TRANSITIONS: Mapping[OrderLevel, Mapping] = MappingProxyType({
    OrderLevel.BROKER: BROKER_TRANSITIONS,
    OrderLevel.CONTRACT: CONTRACT_TRANSITIONS,
    OrderLevel.INSTRUMENT: INSTRUMENT_TRANSITIONS,
})

INITIAL_STATUS: Mapping[OrderLevel, Mapping[OrderEventType, OrderStatus]] = MappingProxyType({
    OrderLevel.BROKER: MappingProxyType({E.CREATED: S.INITIALIZED, E.DISCOVERED: S.WORKING}),
    OrderLevel.CONTRACT: MappingProxyType({E.CREATED: S.INITIALIZED}),
    OrderLevel.INSTRUMENT: MappingProxyType({E.CREATED: S.INITIALIZED}),
})


def initial_status(level: OrderLevel, event: OrderEventType) -> OrderStatus:
    """The status an order is born in by its first event; InvalidTransition otherwise."""
    try:
        return INITIAL_STATUS[level][event]
    except KeyError:
        raise InvalidTransition(
            f"a {level.value} order cannot begin with a {event.value!r} event") from None


def next_status(level: OrderLevel, status: OrderStatus, event: OrderEventType) -> OrderStatus:
    """The status after ``event``; InvalidTransition if the table has no such transition."""
    try:
        return TRANSITIONS[level][(status, event)]
    except KeyError:
        raise InvalidTransition(
            f"a {level.value} order in status {status.value} cannot take a {event.value!r} "
            "event") from None
