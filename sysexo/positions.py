"""EXO positions: legs in futures and options, transactions, and their P&L.

Quantities are signed contracts (fractions allowed: an EXO is a synthetic series, its position
is scaled later by the alpha's exposure). Prices are in the futures' price units; P&L in the
account currency = price change × quantity × ``point_value`` (the product's value of one price
point per contract, already converted to the account currency).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

from syscore.exceptions import InvalidData
from sysobjects.black76 import OptionRight


@dataclass(frozen=True)
class Instrument:
    """A future (``right`` None) or an option on a future."""

    future_id: str                      #: YYYYMM of the future (the underlying for options)
    expiry: dt.date                     #: the future's or the option's expiry
    right: OptionRight | None = None
    strike: float | None = None
    option_code: str = ""

    def __post_init__(self) -> None:
        if (self.right is None) != (self.strike is None):
            raise InvalidData("an option needs both right and strike; a future neither")

    @property
    def is_option(self) -> bool:
        return self.right is not None

    def __str__(self) -> str:
        if not self.is_option:
            return f"F{self.future_id}"
        return f"{self.right.value}{self.strike:g}/{self.future_id}@{self.expiry:%Y%m%d}"


@dataclass(frozen=True)
class Transaction:
    day: dt.date
    instrument: Instrument
    quantity: float
    price: float
    opening: bool


@dataclass(frozen=True)
class Position:
    """Open legs (instrument → (quantity, average entry price)) and realised P&L."""

    legs: dict[Instrument, tuple[float, float]] = field(default_factory=dict)
    realised: float = 0.0

    def apply(self, tx: Transaction, point_value: float) -> Position:
        """The position after ``tx``; closing quantity realises P&L against the entry."""
        quantity, entry = self.legs.get(tx.instrument, (0.0, 0.0))
        new_quantity = quantity + tx.quantity
        realised = self.realised
        if quantity != 0 and (quantity > 0) != (tx.quantity > 0):
            closed = min(abs(tx.quantity), abs(quantity)) * (1 if quantity > 0 else -1)
            realised += closed * (tx.price - entry) * point_value
        legs = dict(self.legs)
        if abs(new_quantity) < 1e-12:
            legs.pop(tx.instrument, None)
        elif quantity == 0 or (quantity > 0) != (new_quantity > 0):
            legs[tx.instrument] = (new_quantity, tx.price)   # opened or flipped: new entry
        elif abs(new_quantity) > abs(quantity):
            average = (quantity * entry + tx.quantity * tx.price) / new_quantity
            legs[tx.instrument] = (new_quantity, average)
        else:
            legs[tx.instrument] = (new_quantity, entry)      # reduced: entry unchanged
        return replace(self, legs=legs, realised=realised)

    def unrealised(self, prices: dict[Instrument, float], point_value: float) -> float:
        missing = [str(i) for i in self.legs if i not in prices]
        if missing:
            raise InvalidData(f"no price for {', '.join(missing)}")
        return sum(q * (prices[i] - e) * point_value for i, (q, e) in self.legs.items())

    def value(self, prices: dict[Instrument, float], point_value: float) -> float:
        return self.realised + self.unrealised(prices, point_value)

    def delta(self, deltas: dict[Instrument, float]) -> float:
        """Futures-equivalent delta: futures count 1 per contract."""
        return sum(q * (1.0 if not i.is_option else deltas[i]) for i, (q, _) in self.legs.items())

    def closing_transactions(self, day: dt.date, prices: dict[Instrument, float]
                             ) -> list[Transaction]:
        return [Transaction(day, i, -q, prices[i], opening=False)
                for i, (q, _) in sorted(self.legs.items(), key=lambda kv: str(kv[0]))]
