"""Two-leg (calendar) spread orders: our legged orders as a broker spread, and back.

Pure rules, no I/O. Our contract and broker orders keep their legs in order (a force roll:
the priced contract first, the forward second) with signed trades that net to zero. At the
broker (:meth:`sysbrokers.broker.Broker.place_spread_order`) a spread is two
:class:`~sysbrokers.objects.SpreadLeg` with ratios (leg 1 positive, leg 2 negative) and a
signed number of units. The mapping keeps the leg order:

* ``g = gcd(|trade 1|, |trade 2|)``; ratios ``(|trade 1| / g, -|trade 2| / g)``;
  units ``sign(trade 1) * g``. Example: a roll of a long 3 (``priced -3, forward +3``) is
  ``-3`` units of ``(priced +1, forward -1)``: selling the spread.
* **Price convention**: the price of one unit is ``ratio1 * price1 + ratio2 * price2``, i.e.
  **leg 1's price minus leg 2's** for a 1:1 calendar, at every level (a contract order's spread
  ``limit_price``, a broker order's, the broker's average fill price). Buying the spread buys
  leg 1 and sells leg 2, so its synthetic ask is ``ask1 - bid2`` and its bid ``bid1 - ask2``.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sysbrokers.objects import SpreadLeg
from syscore.exceptions import InvalidData


@dataclass(frozen=True)
class BrokerSpread:
    """A spread as the broker takes it: the two legs with their ratios and the signed units."""

    legs: tuple[SpreadLeg, SpreadLeg]
    units: int

    def leg_trades(self, units: int | None = None) -> tuple[int, int]:
        """Contracts per leg for ``units`` (default all of them)."""
        units = self.units if units is None else units
        return (units * self.legs[0].ratio, units * self.legs[1].ratio)


def broker_spread(contract_dates: Sequence[str], trades: Sequence[int]) -> BrokerSpread:
    """The broker spread for two legs' signed ``trades`` (see module docstring);
    :class:`InvalidData` unless there are two non-zero trades of opposite signs."""
    if len(trades) != 2 or len(contract_dates) != 2:
        raise InvalidData(f"a spread has two legs, got trades {list(trades)} in "
                          f"{list(contract_dates)}")
    t1, t2 = (int(t) for t in trades)
    if t1 == 0 or t2 == 0 or (t1 > 0) == (t2 > 0):
        raise InvalidData(f"a spread's legs trade in opposite directions, got {t1} and {t2}")
    g = math.gcd(abs(t1), abs(t2))
    legs = (SpreadLeg(contract_dates[0], abs(t1) // g), SpreadLeg(contract_dates[1], -abs(t2) // g))
    return BrokerSpread(legs, g if t1 > 0 else -g)


def units_for(spread: BrokerSpread, trades: Sequence[int]) -> int | None:
    """Whole units of ``spread`` that ``trades`` (one per leg, e.g. an order's remaining) are,
    or ``None`` when they are not a whole multiple of the legs' ratios (one leg's fills booked
    before the other's)."""
    r1, r2 = spread.legs[0].ratio, spread.legs[1].ratio
    t1, t2 = trades
    if t1 % r1 or t2 % r2 or t1 // r1 != t2 // r2:
        return None
    return t1 // r1


def synthetic_quote(legs: Sequence[SpreadLeg], bids: Sequence[float], asks: Sequence[float]
                    ) -> tuple[float, float]:
    """``(bid, ask)`` of one spread unit from each leg's touch: buying takes each bought leg's
    ask and each sold leg's bid."""
    ask = sum(leg.ratio * (a if leg.ratio > 0 else b) for leg, b, a in zip(legs, bids, asks,
                                                                            strict=True))
    bid = sum(leg.ratio * (b if leg.ratio > 0 else a) for leg, b, a in zip(legs, bids, asks,
                                                                            strict=True))
    return float(bid), float(ask)
