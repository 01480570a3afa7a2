"""The stack handler's end of day: cancel what is working, wait for the broker, book, complete.

Run at the stack handler's stop time or on STOP (a completion method of ``run_stack_handler``,
see docs/execution.md), so that nothing is left working at the broker overnight and the stacks
start the next day empty:

1. every active instrument order (roll orders included) gets a cancel request; one never
   spawned is cancelled at once (nothing can fill it);
2. rounds, until no broker order of ours is live or ``max_wait`` of clock time has passed:
   the cancels are passed down to contract and broker orders (cancelled at the broker), the
   broker's executions are booked (once per execution id), broker statuses are taken from the
   broker (a status never runs ahead of the fills), fills and cancels are passed up; between
   rounds ``sleep(poll_seconds)``;
3. contract positions are reconciled with the broker's (a break locks the instrument);
4. finished families are completed, partly filled and unfilled ones alike (their fills stay
   booked): the completed orders are the history.

What is still live after the wait (the broker never confirmed the cancel, or the order or its
parent is locked) is listed in :attr:`EndOfDayResult.still_working`; the next start's
passes carry on with it.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sysdata.data_blob import DataBlob
from sysexecution.broker_fills import book_events, book_executions
from sysexecution.order_completion import (
    FINISHED,
    LIVE_AT_BROKER,
    complete_families,
    pass_statuses,
    propagate_cancels,
)
from sysexecution.position_reconciliation import reconcile_positions
from sysobjects.orders.status import OrderEventType as E
from sysobjects.orders.status import OrderStatus as S

STACKS = ("instrument", "contract", "broker")


@dataclass(frozen=True)
class EndOfDayResult:
    """``cancel_requested``: instrument orders asked to cancel; ``fills_booked``; ``rounds`` of
    waiting; ``completed``: instrument orders moved to the history; ``still_working``: per
    stack, the ids of orders not finished after the wait (empty: the stacks are clear);
    ``locked``: instruments newly locked by a position break."""

    cancel_requested: tuple[int, ...]
    fills_booked: int
    rounds: int
    completed: tuple[int, ...]
    still_working: dict[str, tuple[int, ...]]
    locked: tuple[str, ...] = ()

    @property
    def clear(self) -> bool:
        return not any(self.still_working.values())

    def __str__(self) -> str:
        left = ", ".join(f"{stack} {list(ids)}" for stack, ids in self.still_working.items()
                         if ids) or "none"
        return (f"end of day: {len(self.cancel_requested)} instrument orders cancelled, "
                f"{self.fills_booked} fills booked, {self.rounds} rounds, "
                f"{len(self.completed)} families completed, still working: {left}")


def request_cancels(data: DataBlob) -> list[int]:
    """A cancel request for every active instrument order; one never spawned is cancelled."""
    stack, now, asked = data.order_stack("instrument"), data.now(), []
    cstack = data.order_stack("contract")
    for order in stack.orders():
        if order.status not in (S.INITIALIZED, S.WORKING):
            continue
        # children found by parent_id too: spawning creates them before the parent's SENT
        spawned = bool(order.children) or bool(
            cstack.orders({"parent_id": order.order_id}, include_completed=True))
        event = (E.CANCELLED if order.status is S.INITIALIZED and not spawned
                 else E.CANCEL_REQUESTED)
        stack.apply_event(order, event, now, "end of day")
        asked.append(order.order_id)
    return asked


def _live_broker_orders(data: DataBlob) -> list[int]:
    return [o.order_id for o in data.order_stack("broker").orders()
            if o.status in (S.INITIALIZED,) + LIVE_AT_BROKER]


def still_working(data: DataBlob) -> dict[str, tuple[int, ...]]:
    """Per stack, the ids of orders that are neither finished nor completed."""
    return {level: tuple(o.order_id for o in data.order_stack(level).orders()
                         if o.status not in FINISHED)
            for level in STACKS}


def end_of_day(data: DataBlob, sleep: Callable[[float], None],
               max_wait: dt.timedelta = dt.timedelta(seconds=60),
               poll_seconds: float = 1.0) -> EndOfDayResult:
    """See module docstring. ``max_wait``: clock time to wait for the broker's confirmations;
    ``sleep(seconds)``: how to wait between rounds (it must let the clock move on)."""
    asked = request_cancels(data)
    deadline = data.now() + max_wait
    booked, rounds = 0, 0
    while True:
        rounds += 1
        propagate_cancels(data)
        booked += len(book_events(data, data.broker.drain_events()).booked)
        booked += len(book_executions(data, data.broker.get_executions()).booked)
        pass_statuses(data)
        if not _live_broker_orders(data) or data.now() >= deadline:
            break
        sleep(poll_seconds)
    propagate_cancels(data)  # a contract order whose last broker order just ended
    recon = reconcile_positions(data)
    completed = complete_families(data)
    return EndOfDayResult(tuple(asked), booked, rounds, tuple(completed), still_working(data),
                          tuple(recon.changes.lock))
