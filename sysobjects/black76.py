"""Black-76 prices and deltas of European options on futures.

Inputs: futures price ``forward`` and ``strike`` (same units), ``years`` to expiry (ACT/365),
annualised ``vol`` (0.2 = 20 %), continuously compounded ``rate``. Prices are in the futures'
price units, discounted at ``rate``; delta is per unit of the futures price. At or after expiry
(``years`` <= 0) or with zero vol the price is the discounted intrinsic value and delta is the
discounted exercise indicator (½ exactly at the money).
"""
from __future__ import annotations

import math
from enum import Enum

from syscore.exceptions import InvalidData


class OptionRight(Enum):
    CALL = "C"
    PUT = "P"


def norm_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def _check(forward: float, strike: float, vol: float) -> None:
    if not (forward > 0 and strike > 0 and vol >= 0) or not all(
            math.isfinite(v) for v in (forward, strike, vol)):
        raise InvalidData(f"Black-76 needs forward > 0, strike > 0, vol >= 0; got "
                          f"{forward}, {strike}, {vol}")


def _d1_d2(forward: float, strike: float, years: float, vol: float) -> tuple[float, float]:
    root = vol * math.sqrt(years)
    d1 = (math.log(forward / strike) + 0.5 * vol * vol * years) / root
    return d1, d1 - root


def price(right: OptionRight, forward: float, strike: float, years: float, vol: float,
          rate: float = 0.0) -> float:
    _check(forward, strike, vol)
    discount = math.exp(-rate * max(years, 0.0))
    if years <= 0 or vol == 0:
        intrinsic = forward - strike if right is OptionRight.CALL else strike - forward
        return discount * max(intrinsic, 0.0)
    d1, d2 = _d1_d2(forward, strike, years, vol)
    if right is OptionRight.CALL:
        return discount * (forward * norm_cdf(d1) - strike * norm_cdf(d2))
    return discount * (strike * norm_cdf(-d2) - forward * norm_cdf(-d1))


def delta(right: OptionRight, forward: float, strike: float, years: float, vol: float,
          rate: float = 0.0) -> float:
    _check(forward, strike, vol)
    discount = math.exp(-rate * max(years, 0.0))
    if years <= 0 or vol == 0:
        if forward == strike:
            itm = 0.5
        else:
            itm = 1.0 if (forward > strike) == (right is OptionRight.CALL) else 0.0
        return discount * itm * (1 if right is OptionRight.CALL else -1)
    d1, _ = _d1_d2(forward, strike, years, vol)
    if right is OptionRight.CALL:
        return discount * norm_cdf(d1)
    return -discount * norm_cdf(-d1)
