"""The data a backtest reads: a small interface any store can implement.

All time series have naive UTC ``DatetimeIndex``es, sorted, without duplicates. Prices are in
the instrument's price units; FX rates are "units of base currency per one unit of currency".
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

MULTIPLE_PRICE_COLUMNS = ("PRICE", "CARRY", "PRICE_CONTRACT", "CARRY_CONTRACT")


@dataclass(frozen=True)
class InstrumentConfig:
    """Static data for one instrument.

    point_size: value of a one-point price move for one contract, in the instrument currency.
    spread_cost: expected slippage per contract traded, in price units (half the bid-ask spread).
    per_block: commission per contract, instrument currency.
    percentage: commission as a fraction of traded notional value.
    per_trade: commission per trade (per fill), instrument currency.
    Commission charged on a fill is the largest of the three commission figures.
    rolls_per_year: number of rolls a year in the hold cycle (used for roll costs).
    """

    code: str
    point_size: float
    currency: str
    spread_cost: float = 0.0
    per_block: float = 0.0
    percentage: float = 0.0
    per_trade: float = 0.0
    rolls_per_year: int = 0
    asset_class: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        if not self.point_size > 0:
            raise ValueError(f"{self.code}: point size must be positive, got {self.point_size}")
        if not self.currency:
            raise ValueError(f"{self.code}: currency is empty")


class SimData(ABC):
    """Backtest data source. Implementations must be deterministic and side-effect free."""

    @abstractmethod
    def instrument_list(self) -> list[str]:
        """Every instrument code with price data."""

    @abstractmethod
    def get_adjusted_prices(self, code: str) -> pd.Series:
        """Back-adjusted price series (intraday or daily stamps, naive UTC)."""

    @abstractmethod
    def get_multiple_prices(self, code: str) -> pd.DataFrame:
        """Multiple prices with at least the columns PRICE, CARRY, PRICE_CONTRACT and
        CARRY_CONTRACT (contracts as yyyymmdd numbers, day 00 allowed)."""

    @abstractmethod
    def get_fx_rate(self, currency: str, base: str) -> pd.Series:
        """Units of ``base`` per unit of ``currency``; a constant 1.0 series when they match."""

    @abstractmethod
    def get_instrument_config(self, code: str) -> InstrumentConfig:
        """Point size, currency, costs and roll frequency of one instrument."""


def resolve_fx_rate(currency: str, base: str, stored: Callable[[str], pd.Series | None],
                    one: pd.Series, where: str) -> pd.Series:
    """Units of ``base`` per unit of ``currency`` from stored pair series: the direct pair
    (``EURUSD``), else the inverse of the reverse pair, else a cross through USD (forward-filled
    onto the union of both legs' dates); ``one`` when the currencies match. ``stored(code)``
    returns a pair's series or None. Raises :class:`MissingBacktestData` naming ``where``."""
    from systems.exceptions import MissingBacktestData

    if currency == base:
        return one
    direct = stored(currency + base)
    if direct is not None:
        return direct
    inverse = stored(base + currency)
    if inverse is not None:
        return 1.0 / inverse
    if "USD" not in (currency, base):
        legs = [resolve_fx_rate(currency, "USD", stored, one, where),
                resolve_fx_rate(base, "USD", stored, one, where)]
        both = pd.concat(legs, axis=1).ffill().dropna()
        return both.iloc[:, 0] / both.iloc[:, 1]
    raise MissingBacktestData(f"no FX rate {currency}{base} (nor {base}{currency}) in {where}")
