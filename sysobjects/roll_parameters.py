"""Roll parameters: which contract months are held and priced, and when to roll.

Month letters are the exchange convention ``FGHJKMNQUVXZ`` (January .. December).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from syscore.exceptions import InvalidData

MONTH_LETTERS = "FGHJKMNQUVXZ"


def validate_roll_cycle(cycle: str, what: str = "roll cycle") -> str:
    """Return ``cycle`` if it is a non-empty, ordered set of month letters."""
    if not isinstance(cycle, str) or not cycle:
        raise InvalidData(f"{what} must be a non-empty string of month letters, got {cycle!r}")
    bad = [c for c in cycle if c not in MONTH_LETTERS]
    if bad:
        raise InvalidData(f"{what} {cycle!r} has letters not in {MONTH_LETTERS}: {bad}")
    if len(set(cycle)) != len(cycle):
        raise InvalidData(f"{what} {cycle!r} repeats a month")
    order = [MONTH_LETTERS.index(c) for c in cycle]
    if order != sorted(order):
        raise InvalidData(f"{what} {cycle!r} is not in calendar order")
    return cycle


@dataclass(frozen=True)
class RollParameters:
    """How an instrument rolls.

    - ``hold_roll_cycle``: months we hold positions in.
    - ``priced_roll_cycle``: months we have prices for (superset of the hold cycle).
    - ``roll_offset_days``: calendar days relative to expiry at which we normally roll (negative =
      before expiry).
    - ``carry_offset``: -1 (carry contract is the previous priced contract) or +1 (the next one).
    - ``expiry_offset``: approximate expiry day of the month minus one; used to build approximate
      expiries when the broker has given none.
    """

    hold_roll_cycle: str
    priced_roll_cycle: str
    roll_offset_days: int = 0
    carry_offset: int = -1
    expiry_offset: int = 0

    def __post_init__(self) -> None:
        validate_roll_cycle(self.hold_roll_cycle, "hold roll cycle")
        validate_roll_cycle(self.priced_roll_cycle, "priced roll cycle")
        missing = set(self.hold_roll_cycle) - set(self.priced_roll_cycle)
        if missing:
            raise InvalidData(
                f"hold roll cycle {self.hold_roll_cycle!r} has months {sorted(missing)} not in "
                f"priced roll cycle {self.priced_roll_cycle!r}"
            )
        if self.carry_offset not in (-1, 1):
            raise InvalidData(f"carry_offset must be -1 or +1, got {self.carry_offset!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RollParameters:
        return cls(
            hold_roll_cycle=data["hold_roll_cycle"],
            priced_roll_cycle=data["priced_roll_cycle"],
            roll_offset_days=int(data.get("roll_offset_days", 0)),
            carry_offset=int(data.get("carry_offset", -1)),
            expiry_offset=int(data.get("expiry_offset", 0)),
        )
