"""Execution algos as resumable state machines.

An algo never blocks: the stack handler calls :func:`step` for every working order on every
loop with the time, the latest quote, the unfilled quantity and whether the broker order is
still live; ``step`` returns the new :class:`AlgoState` (stored with the order, so a restarted
handler resumes where it was) and one :class:`AlgoAction` to carry out. So many orders are
worked at once, and a crash between loops loses nothing.

Algos (prices in the instrument's units; "side" = the price that crosses the spread, the ask
when buying; "offside" = the passive price, the bid when buying):

- ``market``: place a market order; cancel it at ``total_seconds``.
- ``limit``: place a limit at the order's limit price; never re-priced (ends by fill, the end
  of day, or a cancel).
- ``best``: start passive (a limit at the offside price) unless the book is adverse (our side
  thin: offside size over side size above ``imbalance_ratio`` and side size under
  ``imbalance_size_multiple`` × our quantity) or the close is within ``close_buffer_seconds``,
  in which case start aggressive. A passive order turns aggressive (re-priced to the side price)
  after ``passive_seconds``, on an adverse move of the offside price against the price we
  started at, on book imbalance, or near the close. Aggressive orders follow the side price.
  Everything is cancelled at ``total_seconds``; a cancel not confirmed within
  ``cancel_wait_seconds`` ends the algo with a reason (the handler alerts).
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from syscore.exceptions import InvalidData


class AlgoPhase(Enum):
    NEW = "new"
    WORKING = "working"          #: market / limit orders placed and left alone
    PASSIVE = "passive"
    AGGRESSIVE = "aggressive"
    CANCELLING = "cancelling"
    FINISHED = "finished"


ALGO_TRANSITIONS: dict[AlgoPhase, frozenset[AlgoPhase]] = {
    AlgoPhase.NEW: frozenset({AlgoPhase.WORKING, AlgoPhase.PASSIVE, AlgoPhase.AGGRESSIVE,
                              AlgoPhase.FINISHED}),
    AlgoPhase.WORKING: frozenset({AlgoPhase.CANCELLING, AlgoPhase.FINISHED}),
    AlgoPhase.PASSIVE: frozenset({AlgoPhase.AGGRESSIVE, AlgoPhase.CANCELLING,
                                  AlgoPhase.FINISHED}),
    AlgoPhase.AGGRESSIVE: frozenset({AlgoPhase.CANCELLING, AlgoPhase.FINISHED}),
    AlgoPhase.CANCELLING: frozenset({AlgoPhase.FINISHED}),
    AlgoPhase.FINISHED: frozenset(),
}


class ActionKind(Enum):
    NONE = "none"
    PLACE_MARKET = "place market"
    PLACE_LIMIT = "place limit"
    MODIFY_LIMIT = "modify limit"
    CANCEL = "cancel"
    FINISH = "finish"


@dataclass(frozen=True)
class AlgoAction:
    kind: ActionKind
    price: float | None = None
    reason: str = ""


@dataclass(frozen=True)
class Quote:
    bid: float | None
    ask: float | None
    bid_size: int = 0
    ask_size: int = 0

    @property
    def valid(self) -> bool:
        return (self.bid is not None and self.ask is not None and 0 < self.bid <= self.ask)

    def side(self, buying: bool) -> float | None:
        return self.ask if buying else self.bid

    def offside(self, buying: bool) -> float | None:
        return self.bid if buying else self.ask

    def side_size(self, buying: bool) -> int:
        return self.ask_size if buying else self.bid_size

    def offside_size(self, buying: bool) -> int:
        return self.bid_size if buying else self.ask_size


@dataclass(frozen=True)
class AlgoSettings:
    passive_seconds: float = 300.0
    total_seconds: float = 600.0
    cancel_wait_seconds: float = 60.0
    imbalance_ratio: float = 5.0
    imbalance_size_multiple: float = 3.0
    close_buffer_seconds: float = 1800.0


ALGOS = ("market", "limit", "best")


@dataclass(frozen=True)
class AlgoState:
    """What an algo remembers between loops (stored as a document with the broker order)."""

    algo: str
    quantity: int                      #: signed contracts the order asks for
    started_at: dt.datetime
    phase: AlgoPhase = AlgoPhase.NEW
    phase_since: dt.datetime | None = None
    limit_price: float | None = None   #: the working limit (limit, best)
    reference_offside: float | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        if self.algo not in ALGOS:
            raise InvalidData(f"unknown algo {self.algo!r}; known: {', '.join(ALGOS)}")
        if self.quantity == 0:
            raise InvalidData("an algo needs a non-zero quantity")

    @property
    def buying(self) -> bool:
        return self.quantity > 0

    def to_doc(self) -> dict[str, Any]:
        return {"algo": self.algo, "quantity": self.quantity,
                "started_at": self.started_at.isoformat(), "phase": self.phase.value,
                "phase_since": self.phase_since.isoformat() if self.phase_since else None,
                "limit_price": self.limit_price, "reference_offside": self.reference_offside,
                "reason": self.reason}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> AlgoState:
        return cls(algo=doc["algo"], quantity=int(doc["quantity"]),
                   started_at=dt.datetime.fromisoformat(doc["started_at"]),
                   phase=AlgoPhase(doc["phase"]),
                   phase_since=(dt.datetime.fromisoformat(doc["phase_since"])
                                if doc.get("phase_since") else None),
                   limit_price=doc.get("limit_price"),
                   reference_offside=doc.get("reference_offside"), reason=doc.get("reason", ""))


def _move(state: AlgoState, phase: AlgoPhase, now: dt.datetime, **changes) -> AlgoState:
    if phase is not state.phase and phase not in ALGO_TRANSITIONS[state.phase]:
        raise InvalidData(f"algo cannot go from {state.phase.value} to {phase.value}")
    since = now if phase is not state.phase else state.phase_since
    return replace(state, phase=phase, phase_since=since, **changes)


def _round_to_tick(price: float, tick: float, buying: bool, passive: bool) -> float:
    """Round onto the tick grid, never to a more aggressive price than asked."""
    steps = price / tick
    steps = math.floor(steps + 1e-9) if (buying == passive) else math.ceil(steps - 1e-9)
    return round(steps * tick, 10)


def _adverse_book(quote: Quote, state: AlgoState, settings: AlgoSettings) -> bool:
    side = quote.side_size(state.buying)
    offside = quote.offside_size(state.buying)
    if side <= 0:
        return True
    return (offside / side > settings.imbalance_ratio
            and side < settings.imbalance_size_multiple * abs(state.quantity))


def step(state: AlgoState, now: dt.datetime, quote: Quote, unfilled: int, order_live: bool,
         tick_size: float, seconds_to_close: float | None = None,
         settings: AlgoSettings | None = None) -> tuple[AlgoState, AlgoAction]:
    """One loop of the algo (see module docstring). ``unfilled``: contracts still to fill
    (signed like the quantity, 0 when done); ``order_live``: the broker still has our order
    working (False before placing and after a fill/cancel)."""
    settings = settings or AlgoSettings()
    if state.phase is AlgoPhase.FINISHED:
        return state, AlgoAction(ActionKind.NONE)
    if unfilled == 0:
        return _move(state, AlgoPhase.FINISHED, now, reason="filled"), AlgoAction(
            ActionKind.FINISH, reason="filled")
    elapsed = (now - state.started_at).total_seconds()
    if state.phase is AlgoPhase.CANCELLING:
        if not order_live:
            return _move(state, AlgoPhase.FINISHED, now), AlgoAction(
                ActionKind.FINISH, reason=state.reason)
        waited = (now - (state.phase_since or now)).total_seconds()
        if waited > settings.cancel_wait_seconds:
            reason = f"cancel not confirmed within {settings.cancel_wait_seconds:g} s"
            return _move(state, AlgoPhase.FINISHED, now, reason=reason), AlgoAction(
                ActionKind.FINISH, reason=reason)
        return state, AlgoAction(ActionKind.NONE)
    if state.phase is not AlgoPhase.NEW and not order_live:
        # the broker ended our order (rejected, cancelled outside): nothing left to manage
        reason = "order no longer live at the broker"
        return _move(state, AlgoPhase.FINISHED, now, reason=reason), AlgoAction(
            ActionKind.FINISH, reason=reason)
    if (elapsed >= settings.total_seconds and state.phase is not AlgoPhase.NEW
            and state.algo != "limit"):
        reason = f"timeout after {settings.total_seconds:g} s"
        return _move(state, AlgoPhase.CANCELLING, now, reason=reason), AlgoAction(
            ActionKind.CANCEL, reason=reason)
    if state.algo == "market":
        if state.phase is AlgoPhase.NEW:
            return _move(state, AlgoPhase.WORKING, now), AlgoAction(ActionKind.PLACE_MARKET)
        return state, AlgoAction(ActionKind.NONE)
    if state.algo == "limit":
        if state.phase is AlgoPhase.NEW:
            if state.limit_price is None:
                raise InvalidData("a limit algo needs a limit price")
            return _move(state, AlgoPhase.WORKING, now), AlgoAction(
                ActionKind.PLACE_LIMIT, state.limit_price)
        return state, AlgoAction(ActionKind.NONE)
    return _step_best(state, now, quote, elapsed, tick_size, seconds_to_close, settings)


def _step_best(state: AlgoState, now: dt.datetime, quote: Quote, elapsed: float,
               tick_size: float, seconds_to_close: float | None,
               settings: AlgoSettings) -> tuple[AlgoState, AlgoAction]:
    buying = state.buying
    near_close = seconds_to_close is not None and seconds_to_close < settings.close_buffer_seconds
    if not quote.valid:
        if state.phase is AlgoPhase.NEW and elapsed >= settings.total_seconds:
            reason = "no valid quote"
            return _move(state, AlgoPhase.FINISHED, now, reason=reason), AlgoAction(
                ActionKind.FINISH, reason=reason)
        return state, AlgoAction(ActionKind.NONE, reason="waiting for a valid quote")
    side = _round_to_tick(quote.side(buying), tick_size, buying, passive=False)
    offside = _round_to_tick(quote.offside(buying), tick_size, buying, passive=True)
    if state.phase is AlgoPhase.NEW:
        if near_close or _adverse_book(quote, state, settings):
            why = "near the close" if near_close else "adverse book"
            return (_move(state, AlgoPhase.AGGRESSIVE, now, limit_price=side,
                          reference_offside=offside, reason=why),
                    AlgoAction(ActionKind.PLACE_LIMIT, side, why))
        return (_move(state, AlgoPhase.PASSIVE, now, limit_price=offside,
                      reference_offside=offside),
                AlgoAction(ActionKind.PLACE_LIMIT, offside, "passive at the offside"))
    if state.phase is AlgoPhase.PASSIVE:
        moved = state.reference_offside is not None and (
            offside > state.reference_offside if buying else offside < state.reference_offside)
        passive_for = (now - (state.phase_since or state.started_at)).total_seconds()
        why = ("passive time up" if passive_for >= settings.passive_seconds else
               "adverse move" if moved else
               "near the close" if near_close else
               "adverse book" if _adverse_book(quote, state, settings) else "")
        if why:
            return (_move(state, AlgoPhase.AGGRESSIVE, now, limit_price=side, reason=why),
                    AlgoAction(ActionKind.MODIFY_LIMIT, side, why))
        return state, AlgoAction(ActionKind.NONE)
    # aggressive: stay at the side price as the market moves away
    behind = state.limit_price is None or (side > state.limit_price if buying
                                           else side < state.limit_price)
    if behind:
        return (replace(state, limit_price=side),
                AlgoAction(ActionKind.MODIFY_LIMIT, side, "following the side price"))
    return state, AlgoAction(ActionKind.NONE)
