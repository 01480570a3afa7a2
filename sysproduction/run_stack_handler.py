"""The stack handler's loop body (``run_stack_handler``), run by process control every loop.

One pass, in this order (each step in its own ``sysexecution`` module, each safe to rerun after
a crash at any point):

1. force-roll orders for instruments in Force / Force_Outright / Close;
2. spawn contract orders from new instrument orders by roll state;
3. book the broker's executions and commissions into the ledger (drained events; on the
   first pass of a connection and after a reconnect every execution the broker reports, so
   that fills that arrived while we were down are found) — once per execution id;
4. option legs expired at the broker leave the ledger's positions (and an exercise books the
   future it created: :mod:`sysexecution.option_expiry`); then reconciliation
   (:mod:`sysexecution.order_reconciliation`): the broker's open orders
   against ours (orphans cancelled with an alert, crashed submissions adopted, vanished
   orders closed); contract positions against the broker's and strategy positions against
   contract positions: a break locks the instrument (one alert), the lock lifts itself when
   the break clears (:mod:`sysexecution.position_reconciliation`);
5. broker order statuses from the broker; fills and cancels passed up and down the family;
6. every working broker order advanced one step by its algo (re-price, cancel at the hard
   timeout: :mod:`sysexecution.algo_orders`);
7. broker orders for contract orders that need them, through the pre-trade gate, each with
   its algo's first decision;
8. complete finished families (the history);
9. sample each instrument's bid/ask spread when due (hourly by default,
   :mod:`sysexecution.spread_sampling`).

Steps 1-3 and 5-8 run in :meth:`StateStore.batch` blocks (SQLite: their records in
few commits, each broker action preceded by a commit of what it relies on; the
``batch_records`` / ``batch_seconds`` execution settings bound a batch; "Batched commits" in
docs/execution.md).

The global trading state is read from the state store at every pass
(``systrade trading-state``, :mod:`sysdata.trading_state`); a ``trading_state`` argument (the
control config's) can only make it stricter. Returns a one-line summary per step.

:func:`stack_handler_end_of_day` is the process's completion method (at its stop time, on STOP
or SIGTERM): working orders cancelled, the broker's confirmations awaited (bounded), fills
booked, families completed (:mod:`sysexecution.end_of_day`).

    python run.py sysproduction.run_stack_handler.stack_handler_pass
    python run.py sysproduction.run_stack_handler.stack_handler_end_of_day
"""
from __future__ import annotations

import datetime as dt
import functools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from sysbrokers.errors import BrokerError
from syscore.clock import SimulatedClock
from syscore.config import validation_message
from syscore.exceptions import ConfigError
from sysdata.data_blob import DataBlob
from sysexecution.algo_orders import ExecutionSettings, work_orders
from sysexecution.broker_fills import book_events
from sysexecution.broker_orders import create_broker_orders
from sysexecution.end_of_day import EndOfDayResult, end_of_day
from sysexecution.market_view import MarketView
from sysexecution.option_expiry import book_option_expiries
from sysexecution.order_completion import complete_families, pass_statuses
from sysexecution.order_reconciliation import (
    reconcile_internal,
    reconcile_orders,
    recover_executions,
    recovery_due,
)
from sysexecution.position_reconciliation import reconcile_positions
from sysexecution.roll_orders import generate_force_roll_orders
from sysexecution.spawn_orders import Contracts, current_contracts, spawn_contract_orders
from sysexecution.spread_sampling import sample_spreads
from syslogdiag.alerts import alert
from sysobjects.trading_state import TradingState, strictest
from sysproduction.process_helpers import blob_for

PROCESS = "run_stack_handler"


class StackHandlerPass(dict):
    """What one pass did, step name -> one short text; ``str()`` is one line for people
    (``roll orders: none; spawned: 12 -> 13, 14; fills: 1 booked, 0 not ours; ...``)."""

    def __str__(self) -> str:
        return "; ".join(f"{step}: {text}" for step, text in self.items())


def _listed(items) -> str:
    """``a, b`` for a list of ids or codes; ``none`` when empty."""
    return ", ".join(str(item) for item in items) or "none"


def _mapped(mapping) -> str:
    """``key -> id, id`` per entry of a mapping of ids (``none`` when empty)."""
    return "; ".join(f"{key} -> {_listed(values)}" for key, values in mapping.items()) or "none"


def pass_trading_state(data: DataBlob, trading_state: str | None = None) -> TradingState:
    """The trading state for this pass: the persisted one (read now, so a change made while
    the handler runs applies from its next loop), made stricter by ``trading_state`` if given
    (HALTED over REDUCING over ACTIVE)."""
    state = data.trading_state.current()
    if trading_state:
        state = strictest(state, TradingState.parse(trading_state))
    return state


def stack_handler_pass(data: DataBlob | None = None, trading_state: str | None = None,
                       contracts: Contracts = current_contracts,
                       execution: Mapping[str, Any] | ExecutionSettings | None = None
                       ) -> StackHandlerPass:
    """One pass of the stack handler (see module docstring). ``trading_state`` [none]: a
    floor on the persisted trading state (see :func:`pass_trading_state`). ``execution``: the
    algos' and spread sampling's settings
    (:class:`~sysexecution.algo_orders.ExecutionSettings`; the method's
    ``arguments: {execution: {...}}`` in the control config)."""
    settings = execution_settings(execution)
    with blob_for(data, PROCESS) as blob:
        state = pass_trading_state(blob, trading_state)
        view = MarketView(blob)
        # a step's records in few commits ("Batched commits" in docs/execution.md)
        batch = functools.partial(blob.batch, settings.batch_seconds,
                                  settings.batch_records)
        with batch():
            out = StackHandlerPass({
                "roll orders": _mapped(generate_force_roll_orders(blob, contracts)),
                "spawned": _mapped(spawn_contract_orders(blob, contracts))})
        if not blob.broker.is_connected():
            try:  # a reconnect: its event makes the recovery below full
                blob.broker.connect()
            except BrokerError as exc:  # still down: the broker's own policy (halt) applies
                blob.log.warning("broker not connected: %s", exc)
        events = blob.broker.drain_events()
        with batch():
            booked = book_events(blob, events)
            late = recover_executions(blob, full=recovery_due(blob, events))
        out["fills"] = (f"{len(booked.booked) + len(late.booked)} booked"
                        f"{f' ({len(late.booked)} recovered)' if late.booked else ''}, "
                        f"{len(late.unknown)} not ours")
        expiries = book_option_expiries(blob)  # before reconciliation: no break
        if expiries:
            out["option expiries"] = str(expiries)
        orders = reconcile_orders(blob, settings.cancel_orphans)
        for broker_id, why in orders.orphans.items():
            done = "cancelled" if broker_id in orders.cancelled else "left working"
            alert(blob, f"orphan broker order {broker_id} {done}", why)
        for order_id in orders.vanished:
            alert(blob, f"broker order {order_id} vanished at the broker",
                  "marked CANCELLED after booking its executions; the rest is sent again")
        out["orders"] = str(orders)
        recon = reconcile_positions(blob)
        changes = recon.changes
        for code in changes.lock:  # once per break: an instrument already locked is not here
            alert(blob, f"position break: {code} locked", recon.describe(code))
        internal = reconcile_internal(blob)
        for code in internal.changes.lock:
            alert(blob, f"internal position break: {code} locked", internal.describe(code))
        out["reconciliation"] = (
            f"locked {_listed(changes.lock + internal.changes.lock)}, "
            f"unlocked {_listed(changes.unlock + internal.changes.unlock)}")
        with batch():
            out["statuses"] = str(pass_statuses(blob))
        with batch():
            worked = work_orders(blob, view, settings)
        for order_id in worked.cancel_unconfirmed:
            alert(blob, "stack handler: broker cancel not confirmed",
                  f"broker order {order_id}: the broker has not confirmed the algo's cancel "
                  f"within {settings.cancel_wait_seconds:g} s")
        out["algos"] = str(worked)
        with batch():
            sent = create_broker_orders(blob, state, execution=settings, view=view)
        out["broker orders"] = (f"{len(sent.sent)} sent, {len(sent.adopted)} adopted, "
                                f"{len(sent.denied)} denied")
        with batch():
            out["completed"] = _listed(complete_families(blob))
        out["spreads"] = str(sample_spreads(
            blob, view, dt.timedelta(minutes=settings.spread_sample_minutes), contracts))
        return out


def execution_settings(value: Mapping[str, Any] | ExecutionSettings | None
                       ) -> ExecutionSettings:
    """The execution settings from the method's arguments; a bad value is one
    :class:`ConfigError` naming the key."""
    if isinstance(value, ExecutionSettings):
        return value
    data = dict(value or {})
    try:
        return ExecutionSettings(**data)
    except ValidationError as exc:
        raise ConfigError(validation_message(
            exc, "control config run_stack_handler stack_handler_pass execution", data)) from None


def _wait(clock) -> Callable[[float], None]:
    if isinstance(clock, SimulatedClock):
        return lambda seconds: clock.advance(dt.timedelta(seconds=seconds))
    return time.sleep


@dataclass(frozen=True)
class EndOfDayReport:
    """:class:`EndOfDayResult` for process control: not ``ok`` (the process exits 1, an
    alert was raised) when orders are still working after the wait."""

    result: EndOfDayResult

    @property
    def ok(self) -> bool:
        return self.result.clear

    def __str__(self) -> str:
        return str(self.result)


def stack_handler_end_of_day(data: DataBlob | None = None, max_wait_seconds: float = 60.0,
                             poll_seconds: float = 1.0,
                             sleep: Callable[[float], None] | None = None) -> EndOfDayReport:
    """End of the stack handler's day (see :mod:`sysexecution.end_of_day`).
    ``max_wait_seconds`` [60]: clock time to wait for the broker's cancel confirmations,
    polling every ``poll_seconds`` [1]; ``sleep``: default a plain ``time.sleep`` (not the
    runner's signal-interruptible one: after SIGTERM that returns at once and the bounded wait
    would spin), or an advance of the simulated clock on a simulated home."""
    with blob_for(data, PROCESS) as blob:
        result = end_of_day(blob, sleep or _wait(blob.clock),
                            dt.timedelta(seconds=max_wait_seconds), poll_seconds)
        for code in result.locked:
            alert(blob, f"position break: {code} locked", "found at the end of day")
        if not result.clear:
            alert(blob, "stack handler: orders still working after the end of day",
                  str(result))
        blob.log.info("%s", result)
        return EndOfDayReport(result)
