"""Optimal (buffered) positions per strategy and instrument (library ``optimal_positions``).

Each row: ``lower`` and ``upper`` position in contracts, ``reference_price`` (price units),
``reference_contract`` (``YYYYMMDD`` text) and ``reference_date`` (ISO UTC text), indexed by
the time the backtest produced it.
"""
from __future__ import annotations

import math

import pandas as pd

from syscore.dates import iso_utc, to_utc
from syscore.exceptions import InvalidData
from sysdata.positions import strategy_instrument_key
from sysdata.timeseries.arctic_store import TimeSeriesStore
from sysobjects.instruments import validate_instrument_code

COLUMNS = ["lower", "upper", "reference_price", "reference_contract", "reference_date"]


class OptimalPositionData:
    """Optimal (buffered) positions per strategy and instrument (library
    ``optimal_positions``, symbol ``strategy/instrument``): ``lower``/``upper`` in contracts,
    ``reference_price`` in price units, indexed by tz-aware UTC timestamps. Each :meth:`add` is
    one append of one row (atomic per symbol; one writer per symbol family)."""

    library = "optimal_positions"

    def __init__(self, store: TimeSeriesStore):
        self.store = store

    symbol = staticmethod(strategy_instrument_key)

    def add(self, strategy_name: str, instrument_code: str, timestamp, lower: float, upper: float,
            reference_price: float, reference_contract: str, reference_date) -> None:
        if any(math.isnan(v) for v in (lower, upper)) or lower > upper:
            raise InvalidData(
                f"optimal position {strategy_name}/{instrument_code}: need lower <= upper, "
                f"got {lower}, {upper}"
            )
        row = pd.DataFrame(
            {"lower": [float(lower)], "upper": [float(upper)],
             "reference_price": [float(reference_price)],
             "reference_contract": [str(reference_contract)],
             "reference_date": [iso_utc(reference_date)]},
            index=pd.DatetimeIndex([to_utc(timestamp)]),
        )
        self.store.append(self.library, self.symbol(strategy_name, instrument_code), row)

    def last_timestamp(self, strategy_name: str, instrument_code: str) -> pd.Timestamp | None:
        """UTC time of the last stored row (one tail read), or None if there is none."""
        return self.store.last_timestamp(self.library, self.symbol(strategy_name, instrument_code))

    def history(self, strategy_name: str, instrument_code: str) -> pd.DataFrame:
        return self.store.read(self.library, self.symbol(strategy_name, instrument_code))

    def current(self, strategy_name: str, instrument_code: str) -> pd.Series:
        return self.history(strategy_name, instrument_code).iloc[-1]

    def list_keys(self) -> list[tuple[str, str]]:
        return [tuple(s.split("/", 1)) for s in self.store.symbols(self.library)]  # type: ignore[misc]


class SpreadData:
    """Sampled bid/ask spreads per instrument (library ``spreads``, column ``spread`` in
    price points)."""

    library = "spreads"

    def __init__(self, store: TimeSeriesStore):
        self.store = store

    def add(self, instrument_code: str, timestamp, spread: float) -> None:
        if not (isinstance(spread, (int, float)) and math.isfinite(spread) and spread >= 0):
            raise InvalidData(f"spread for {instrument_code} must be a number >= 0, got {spread!r}")
        row = pd.DataFrame({"spread": [float(spread)]}, index=pd.DatetimeIndex([to_utc(timestamp)]))
        self.store.append(self.library, validate_instrument_code(instrument_code), row)

    def history(self, instrument_code: str) -> pd.Series:
        return self.store.read(self.library, instrument_code)["spread"]

    def list_codes(self) -> list[str]:
        return self.store.symbols(self.library)
