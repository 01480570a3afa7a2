"""Which contracts an instrument trade goes to, by roll state; and the force-roll orders.

Pure rules (no I/O) on signed whole contracts. A :class:`ContractTrade` is one contract order:
one leg (an outright) or two (a calendar spread, legs in opposite directions that net to zero).

Spawning an instrument trade (``spawn_contract_trades``), with ``priced`` the position held in
the priced contract:

| roll state | contract orders |
|---|---|
| No_Roll, No_Open | the whole trade in the priced contract (No_Open's "no opening" is a reduce-only override applied upstream) |
| Passive | nothing held in priced → forward; a trade increasing the position → forward; a reducing trade that stays on the same side or flat → priced; one that crosses zero → two outrights: close the priced exactly, the rest in the forward |
| Force, Force_Outright | a trade reducing the priced position is treated as Passive; otherwise none (the roll order comes first) |
| Close | the part that reduces the priced position, in the priced contract; an increasing trade waits |
| Roll_Adjusted | none (the instrument order waits for the price roll) |

Force-roll orders (``force_roll_trades``) move the whole priced position to the forward:
Force → one two-leg spread order; Force_Outright → two outright orders; Close → close the priced
position only. No position in the priced contract → no roll order.
"""
from __future__ import annotations

from dataclasses import dataclass

from syscore.exceptions import InvalidData
from sysobjects.roll_state import RollState


@dataclass(frozen=True)
class Leg:
    contract_id: str  #: YYYYMM or YYYYMMDD
    quantity: int     #: signed contracts


@dataclass(frozen=True)
class ContractTrade:
    """One contract order: legs in order (priced first for a spread)."""

    legs: tuple[Leg, ...]

    def __post_init__(self) -> None:
        if not self.legs or any(leg.quantity == 0 for leg in self.legs):
            raise InvalidData(f"a contract order needs non-zero legs, got {self.legs}")
        if len(self.legs) == 2 and sum(leg.quantity for leg in self.legs) != 0:
            raise InvalidData(f"a spread's legs must net to zero, got {self.legs}")
        if len(self.legs) > 2:
            raise InvalidData("at most two legs")

    @property
    def is_spread(self) -> bool:
        return len(self.legs) == 2

    @classmethod
    def outright(cls, contract_id: str, quantity: int) -> ContractTrade:
        return cls((Leg(contract_id, quantity),))


def _passive(trade: int, priced: int, priced_id: str, forward_id: str) -> list[ContractTrade]:
    new = priced + trade
    if priced == 0 or (abs(new) > abs(priced) and (new > 0) == (priced > 0)):
        return [ContractTrade.outright(forward_id, trade)]
    if new == 0 or (new > 0) == (priced > 0):
        return [ContractTrade.outright(priced_id, trade)]
    return [ContractTrade.outright(priced_id, -priced), ContractTrade.outright(forward_id, new)]


def _reduces(trade: int, priced: int) -> bool:
    return priced != 0 and trade != 0 and (trade > 0) != (priced > 0)


def spawn_contract_trades(state: RollState, trade: int, priced: int, priced_id: str,
                          forward_id: str) -> list[ContractTrade]:
    """Contract orders for an instrument ``trade`` (see module docstring); [] when the
    instrument order must wait or the trade is zero."""
    if trade == 0:
        return []
    if state in (RollState.NO_ROLL, RollState.NO_OPEN):
        return [ContractTrade.outright(priced_id, trade)]
    if state is RollState.PASSIVE:
        return _passive(trade, priced, priced_id, forward_id)
    if state.is_forced:
        return _passive(trade, priced, priced_id, forward_id) if _reduces(trade, priced) else []
    if state is RollState.CLOSE:
        if not _reduces(trade, priced):
            return []
        closing = -priced if abs(trade) > abs(priced) else trade
        return [ContractTrade.outright(priced_id, closing)]
    return []  # Roll_Adjusted


def force_roll_trades(state: RollState, priced: int, priced_id: str,
                      forward_id: str) -> list[ContractTrade]:
    """The roll orders for an instrument in a forced or closing state (see module docstring)."""
    if priced == 0:
        return []
    if state is RollState.FORCE:
        return [ContractTrade((Leg(priced_id, -priced), Leg(forward_id, priced)))]
    if state is RollState.FORCE_OUTRIGHT:
        return [ContractTrade.outright(priced_id, -priced),
                ContractTrade.outright(forward_id, priced)]
    if state is RollState.CLOSE:
        return [ContractTrade.outright(priced_id, -priced)]
    return []
