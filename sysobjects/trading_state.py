"""The global trading state: ACTIVE, REDUCING or HALTED, and its transition table.

Pure values (no I/O). The state is persisted by :mod:`sysdata.trading_state` and read by the
pre-trade gate (:mod:`sysexecution.pretrade_gate`) on every stack handler loop:

* ``ACTIVE``: orders go to the broker as the other checks allow;
* ``REDUCING``: only the part of an order that reduces the position in its contract is sent;
* ``HALTED``: nothing is sent.
"""
from __future__ import annotations

from enum import Enum

from syscore.exceptions import InvalidData


class TradingState(Enum):
    """Global trading state, set by the operator at run time and persisted."""

    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"

    @classmethod
    def parse(cls, text: str) -> TradingState:
        """``active``, ``REDUCING``, ... (any case); :class:`InvalidData` naming the choices."""
        try:
            return cls(str(text).strip().upper())
        except ValueError:
            raise InvalidData(f"unknown trading state {text!r}; expected one of "
                              f"{', '.join(s.value for s in cls)}") from None

    @property
    def strictness(self) -> int:
        """0 ACTIVE, 1 REDUCING, 2 HALTED: the larger, the less may be sent."""
        return _STRICTNESS[self]


_STRICTNESS = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}

#: The operator may move between any states; the table is explicit so that adding a state
#: forces a decision.
TRADING_STATE_TRANSITIONS: dict[TradingState, frozenset[TradingState]] = {
    TradingState.ACTIVE: frozenset({TradingState.REDUCING, TradingState.HALTED}),
    TradingState.REDUCING: frozenset({TradingState.ACTIVE, TradingState.HALTED}),
    TradingState.HALTED: frozenset({TradingState.ACTIVE, TradingState.REDUCING}),
}


def change_trading_state(current: TradingState, new: TradingState) -> TradingState:
    """``new`` if the table allows ``current -> new`` (staying put is always allowed)."""
    if new is not current and new not in TRADING_STATE_TRANSITIONS[current]:
        raise InvalidData(f"trading state cannot go from {current.value} to {new.value}")
    return new


def strictest(*states: TradingState) -> TradingState:
    """The most restrictive of ``states`` (HALTED over REDUCING over ACTIVE)."""
    return max(states, key=lambda s: s.strictness)
