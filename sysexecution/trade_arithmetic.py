"""The arithmetic of order generation: buffered trades, overrides, position limits, netting.

Pure functions on whole contracts (signed ints: + long, − short), tested by property. They
decide *how many* contracts an instrument order asks for; the stack handler decides how.

- :func:`buffered_trade`: pysystemtrade's classic buffering: below the lower buffer trade to
  ``round(lower)``, above the upper to ``round(upper)``, inside no trade. Rounding is half away
  from zero (2.5 → 3, −2.5 → −3), not Python's banker's rounding.
- :class:`Override`: a position multiplier in [0, 1], or close, reduce-only, no-trading.
  Overrides combine as pysystemtrade combines them: no-trading beats close, close beats
  reduce-only, reduce-only beats a multiplier; multipliers multiply.
- :func:`apply_position_limits`: the most conservative of several limits on ``|position|``.
  Decision (differs from pysystemtrade, which can turn a buy into a sell to reach a limit): a
  limit only ever *shrinks* a trade towards zero — it never reverses its direction — and a
  trade that reduces ``|position|`` always passes whole.
- :func:`net_against_working`: what to do with the unfilled instrument orders already on the
  stack: nothing, a top-up order, or cancel them (then place anew) — never a duplicate.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

from syscore.exceptions import InvalidData


def round_half_away(value: float) -> int:
    """Round to the nearest integer, halves away from zero."""
    if not math.isfinite(value):
        raise InvalidData(f"cannot round {value!r} to a whole number of contracts")
    return int(math.floor(abs(value) + 0.5)) * (1 if value >= 0 else -1)


def buffered_trade(position: int, lower: float, upper: float) -> int:
    """Trade (contracts) that brings ``position`` inside ``[lower, upper]``: to
    ``round(lower)`` when below, ``round(upper)`` when above, else 0."""
    if not (math.isfinite(lower) and math.isfinite(upper)) or lower > upper:
        raise InvalidData(f"buffer must be finite with lower <= upper, got {lower}..{upper}")
    if position < lower:
        return round_half_away(lower) - position
    if position > upper:
        return round_half_away(upper) - position
    return 0


class OverrideKind(Enum):
    MULTIPLIER = "multiplier"
    REDUCE_ONLY = "reduce only"
    CLOSE = "close"
    NO_TRADING = "no trading"


_PRECEDENCE = {OverrideKind.MULTIPLIER: 0, OverrideKind.REDUCE_ONLY: 1, OverrideKind.CLOSE: 2,
               OverrideKind.NO_TRADING: 3}


@dataclass(frozen=True)
class Override:
    """An override. ``factor`` matters only for MULTIPLIER (1 = no override)."""

    kind: OverrideKind = OverrideKind.MULTIPLIER
    factor: float = 1.0

    def __post_init__(self) -> None:
        if self.kind is OverrideKind.MULTIPLIER and not (0.0 <= self.factor <= 1.0):
            raise InvalidData(f"override multiplier must be in [0, 1], got {self.factor}")

    @classmethod
    def none(cls) -> Override:
        return cls()

    @classmethod
    def multiplier(cls, factor: float) -> Override:
        return cls(OverrideKind.MULTIPLIER, float(factor))

    def combine(self, other: Override) -> Override:
        """The stronger override wins; two multipliers multiply."""
        if self.kind is OverrideKind.MULTIPLIER and other.kind is OverrideKind.MULTIPLIER:
            return Override.multiplier(self.factor * other.factor)
        return self if _PRECEDENCE[self.kind] >= _PRECEDENCE[other.kind] else other

    def apply(self, position: int, trade: int) -> int:
        """The trade after this override, given the position held before it.

        - multiplier f: the new position is ``(position + trade) × f`` truncated towards zero
          (never rounded up into a bigger position); 0 closes;
        - reduce only: a trade that would flip the sign stops at flat; one that increases
          ``|position|`` becomes 0;
        - close: trade to flat; no trading: 0."""
        if self.kind is OverrideKind.NO_TRADING:
            return 0
        if self.kind is OverrideKind.CLOSE:
            return -position
        if self.kind is OverrideKind.REDUCE_ONLY:
            return reduce_only(position, trade)
        target = position + trade
        return int(math.trunc(target * self.factor)) - position


def combine_overrides(*overrides: Override) -> Override:
    result = Override.none()
    for override in overrides:
        result = result.combine(override)
    return result


def reduce_only(position: int, trade: int) -> int:
    """The part of ``trade`` that only reduces ``|position|``: a trade that would flip the
    sign stops at flat; one that would increase ``|position|`` (or open from flat) is 0."""
    new = position + trade
    if position == 0 or abs(new) > abs(position):
        return 0
    if new != 0 and (new > 0) != (position > 0):
        return -position
    return trade


def limit_trade(position: int, trade: int, limit: int) -> int:
    """The trade cut (towards zero, same direction) so ``|position + trade| <= limit``; a
    trade that does not increase ``|position|`` passes whole."""
    if limit < 0:
        raise InvalidData(f"a position limit is >= 0, got {limit}")
    new = position + trade
    if abs(new) <= abs(position) or abs(new) <= limit:
        return trade
    if trade > 0:
        return max(0, min(trade, limit - position))
    return min(0, max(trade, -limit - position))


def apply_position_limits(trade: int, limits: list[tuple[int, int | None]]) -> int:
    """Apply every ``(position, limit)`` pair (e.g. the instrument's total position with the
    instrument limit, the strategy's with the strategy-instrument limit; limit None = none);
    the most conservative result wins."""
    result = trade
    for position, limit in limits:
        if limit is None:
            continue
        cut = limit_trade(position, trade, limit)
        if abs(cut) < abs(result):
            result = cut
    return result


class NetAction(Enum):
    NOTHING = "nothing"
    NEW = "new order"
    CANCEL = "cancel working"
    CANCEL_THEN_NEW = "cancel working, then place new"


@dataclass(frozen=True)
class Netting:
    action: NetAction
    #: the new order's quantity (NEW); for CANCEL_THEN_NEW the quantity wanted now, to be
    #: recomputed from the position once the cancels are confirmed (fills may land meanwhile)
    quantity: int = 0


def net_against_working(wanted_trade: int, working_unfilled: int) -> Netting:
    """``wanted_trade``: required position − current position; ``working_unfilled``: the
    signed unfilled remainder of the instrument orders already on the stack for this strategy
    and instrument. Orders already working that go the wrong way or too far are cancelled
    (they cannot be shrunk safely while a broker may be filling them); a shortfall in the same
    direction is topped up by a new order for the difference. Never places an order against
    a working one (it would cross our own orders at the broker and pay the spread twice)."""
    if wanted_trade == working_unfilled:
        return Netting(NetAction.NOTHING)
    if working_unfilled == 0:
        return Netting(NetAction.NEW, wanted_trade)
    same_direction = (wanted_trade > 0) == (working_unfilled > 0) and wanted_trade != 0
    if same_direction and abs(wanted_trade) > abs(working_unfilled):
        return Netting(NetAction.NEW, wanted_trade - working_unfilled)
    if wanted_trade == 0:
        return Netting(NetAction.CANCEL)
    return Netting(NetAction.CANCEL_THEN_NEW, wanted_trade)
