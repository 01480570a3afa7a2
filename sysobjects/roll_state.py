"""Roll states of an instrument and which changes are allowed.

The allowed next states depend on the current state and on whether a position is held in the
currently *priced* contract (pysystemtrade semantics). The first entry of each row is the
recommended next state. The key rule: ``Roll_Adjusted`` (roll the multiple and adjusted prices
to the forward contract) is only reachable with **no** position in the priced contract, since
afterwards that contract is no longer priced; with a position, you first get out of it (Passive,
Force, Force_Outright, Close, No_Open).
"""
from __future__ import annotations

from enum import Enum

from syscore.exceptions import InvalidData


class RollState(Enum):
    """Values are pysystemtrade's names (as stored)."""

    NO_ROLL = "No_Roll"
    PASSIVE = "Passive"
    FORCE = "Force"
    FORCE_OUTRIGHT = "Force_Outright"
    ROLL_ADJUSTED = "Roll_Adjusted"
    CLOSE = "Close"
    NO_OPEN = "No_Open"

    @classmethod
    def from_name(cls, name: str) -> RollState:
        """Parse a stored name (``"No_Roll"``) or a member name (``"NO_ROLL"``)."""
        for state in cls:
            if name in (state.value, state.name):
                return state
        raise InvalidData(f"unknown roll state {name!r}; known: {[s.value for s in cls]}")

    @property
    def explanation(self) -> str:
        return _EXPLANATIONS[self]

    @property
    def is_forced(self) -> bool:
        """Force or Force_Outright: the roll trade is generated now, not waited for."""
        return self in (RollState.FORCE, RollState.FORCE_OUTRIGHT)

    @property
    def is_active_roll(self) -> bool:
        """A forced roll or the price roll itself."""
        return self.is_forced or self is RollState.ROLL_ADJUSTED

    @property
    def may_open_in_priced_contract(self) -> bool:
        """Whether new positions may be opened (or increased) in the priced contract."""
        return self in (RollState.NO_ROLL,)


DEFAULT_ROLL_STATE = RollState.NO_ROLL

_EXPLANATIONS = {
    RollState.NO_ROLL: "No rolling: trade only the priced contract.",
    RollState.PASSIVE: "Roll naturally: reducing trades in the priced contract, increasing "
    "trades in the forward contract.",
    RollState.FORCE: "Roll now with a calendar spread order (priced -> forward).",
    RollState.FORCE_OUTRIGHT: "Roll now with two outright orders (close priced, open forward).",
    RollState.ROLL_ADJUSTED: "Roll the multiple and adjusted prices to the forward contract; "
    "then the state returns to No_Roll automatically.",
    RollState.CLOSE: "Close the position in the priced contract (position limit set to zero); "
    "open nothing in the forward.",
    RollState.NO_OPEN: "Only reducing trades in the priced contract; nothing in the forward "
    "(forward not liquid yet).",
}

_S = RollState
# (current state, has a position in the priced contract) -> allowed next states, recommended first
ROLL_STATE_TRANSITIONS: dict[tuple[RollState, bool], tuple[RollState, ...]] = {
    (_S.NO_ROLL, False): (_S.ROLL_ADJUSTED, _S.PASSIVE, _S.NO_ROLL, _S.NO_OPEN),
    (_S.NO_ROLL, True): (_S.PASSIVE, _S.FORCE, _S.FORCE_OUTRIGHT, _S.NO_ROLL, _S.CLOSE,
                         _S.NO_OPEN),
    (_S.PASSIVE, False): (_S.ROLL_ADJUSTED, _S.PASSIVE, _S.NO_ROLL, _S.NO_OPEN),
    (_S.PASSIVE, True): (_S.FORCE, _S.FORCE_OUTRIGHT, _S.PASSIVE, _S.NO_ROLL, _S.CLOSE,
                         _S.NO_OPEN),
    (_S.FORCE, False): (_S.ROLL_ADJUSTED, _S.PASSIVE),
    (_S.FORCE, True): (_S.FORCE, _S.FORCE_OUTRIGHT, _S.PASSIVE, _S.NO_ROLL, _S.CLOSE,
                       _S.NO_OPEN),
    (_S.FORCE_OUTRIGHT, False): (_S.ROLL_ADJUSTED, _S.PASSIVE),
    (_S.FORCE_OUTRIGHT, True): (_S.FORCE, _S.FORCE_OUTRIGHT, _S.PASSIVE, _S.NO_ROLL, _S.CLOSE,
                                _S.NO_OPEN),
    (_S.CLOSE, False): (_S.ROLL_ADJUSTED, _S.PASSIVE),
    (_S.CLOSE, True): (_S.CLOSE, _S.FORCE, _S.FORCE_OUTRIGHT, _S.PASSIVE, _S.NO_ROLL,
                       _S.NO_OPEN),
    (_S.NO_OPEN, False): (_S.ROLL_ADJUSTED, _S.PASSIVE, _S.NO_OPEN, _S.NO_ROLL),
    (_S.NO_OPEN, True): (_S.NO_OPEN, _S.CLOSE, _S.FORCE, _S.FORCE_OUTRIGHT, _S.PASSIVE,
                         _S.NO_ROLL),
    (_S.ROLL_ADJUSTED, False): (_S.NO_ROLL,),
    (_S.ROLL_ADJUSTED, True): (_S.ROLL_ADJUSTED,),
}


class InvalidRollStateTransition(InvalidData):
    """A requested roll-state change is not in the transition table."""


def allowed_roll_states(current: RollState, has_priced_position: bool) -> tuple[RollState, ...]:
    """Allowed next states, recommended first."""
    return ROLL_STATE_TRANSITIONS[(current, bool(has_priced_position))]


def recommended_roll_state(current: RollState, has_priced_position: bool) -> RollState:
    return allowed_roll_states(current, has_priced_position)[0]


def check_roll_state_transition(
    current: RollState, requested: RollState, has_priced_position: bool
) -> RollState:
    """Return ``requested`` if allowed, else raise :class:`InvalidRollStateTransition`."""
    allowed = allowed_roll_states(current, has_priced_position)
    if requested not in allowed:
        held = "a position" if has_priced_position else "no position"
        raise InvalidRollStateTransition(
            f"roll state {current.value} -> {requested.value} is not allowed with {held} in "
            f"the priced contract; allowed: {[s.value for s in allowed]}"
        )
    return requested
