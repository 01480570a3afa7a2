"""The data a backtest reads: a small interface any store can implement.

All time series have naive UTC ``DatetimeIndex``es, sorted, without duplicates. Prices are in
the instrument's price units; FX rates are "units of base currency per one unit of currency".
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pandas as pd

from sysobjects.instruments import InstrumentConfig as StoredInstrumentConfig

MULTIPLE_PRICE_COLUMNS = ("PRICE", "CARRY", "PRICE_CONTRACT", "CARRY_CONTRACT")

# the FX rate between a currency and itself: one point, forward-filled by the engine
ONE = pd.Series([1.0], index=pd.DatetimeIndex([pd.Timestamp("1900-01-01")]))


@dataclass(frozen=True)
class InstrumentConfig(StoredInstrumentConfig):
    """Static data for one instrument: :class:`sysobjects.instruments.InstrumentConfig` (point
    size, currency, spread cost, commission: the largest of per-block, percentage and per-trade
    is charged on a fill) plus ``rolls_per_year``, the number of rolls a year in the hold cycle
    (used for roll costs)."""

    rolls_per_year: int = 0


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

    def price_inputs(self, codes: list[str]) -> Iterator[tuple[pd.Series, pd.DataFrame]]:
        """``(adjusted prices, multiple prices)`` of each code, in order, as
        :meth:`get_adjusted_prices` and :meth:`get_multiple_prices` give them. Sources that
        read faster in batches (stores) override this; the caller asks for a bounded number
        of codes at a time."""
        for code in codes:
            yield self.get_adjusted_prices(code), self.get_multiple_prices(code)

    @abstractmethod
    def get_fx_rate(self, currency: str, base: str) -> pd.Series:
        """Units of ``base`` per unit of ``currency``; a constant 1.0 series when they match."""

    @abstractmethod
    def get_instrument_config(self, code: str) -> InstrumentConfig:
        """Point size, currency, costs and roll frequency of one instrument."""


def resolve_fx_rate(currency: str, base: str, stored: Callable[[str], pd.Series | None],
                    where: str) -> pd.Series:
    """Units of ``base`` per unit of ``currency`` from stored pair series: the direct pair
    (``EURUSD``), else the inverse of the reverse pair, else a cross through USD (forward-filled
    onto the union of both legs' dates); :data:`ONE` when the currencies match. ``stored(code)``
    returns a pair's series or None. Raises :class:`MissingBacktestData` naming ``where``."""
    from systems.exceptions import MissingBacktestData

    if currency == base:
        return ONE
    direct = stored(currency + base)
    if direct is not None:
        return direct
    inverse = stored(base + currency)
    if inverse is not None:
        return 1.0 / inverse
    if "USD" not in (currency, base):
        legs = [resolve_fx_rate(currency, "USD", stored, where),
                resolve_fx_rate(base, "USD", stored, where)]
        both = pd.concat(legs, axis=1).ffill().dropna()
        return both.iloc[:, 0] / both.iloc[:, 1]
    raise MissingBacktestData(f"no FX rate {currency}{base} (nor {base}{currency}) in {where}")
