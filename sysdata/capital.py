"""Total and strategy capital history in the time-series store (library ``capital``).

Amounts are in the base currency. The total-capital frame has columns ``total`` (capital used
for sizing), ``broker`` (broker account value), ``max`` (high-water mark), ``acc_pnl``
(accumulated p&l) and ``margin``; each strategy has a symbol ``strategy/<name>`` with column
``capital``.
"""
from __future__ import annotations

import pandas as pd

from syscore.dates import to_utc
from syscore.exceptions import InvalidData, MissingData
from sysdata.positions import validate_strategy_name
from sysdata.state.base import is_finite_number
from sysdata.timeseries.arctic_store import TimeSeriesStore

TOTAL_SYMBOL = "TOTAL"
TOTAL_COLUMNS = ["total", "broker", "max", "acc_pnl", "margin"]


class CapitalData:
    """Total and strategy capital history in the time-series store (library ``capital``).

    Amounts in the base currency; rows indexed by tz-aware UTC timestamps. Each ``add_*`` is one
    append of one row (atomic per symbol; one writer per symbol family, see ARCHITECTURE.md).
    Reading before anything was written raises :class:`MissingData`."""

    library = "capital"

    def __init__(self, store: TimeSeriesStore):
        self.store = store

    def total_capital(self) -> pd.DataFrame:
        """All rows of total capital; :class:`MissingData` before initialisation."""
        return self.store.read(self.library, TOTAL_SYMBOL)

    def last_total(self) -> pd.Series:
        frame = self.total_capital()
        if frame.empty:
            raise MissingData("total capital has no values")
        return frame.iloc[-1]

    def add_total(self, timestamp, **values: float) -> None:
        """Append one row; every column of :data:`TOTAL_COLUMNS` must be a finite number."""
        missing = [c for c in TOTAL_COLUMNS if c not in values]
        if missing:
            raise InvalidData(f"total capital row is missing {missing}")
        for name, value in values.items():
            if not is_finite_number(value):
                raise InvalidData(f"total capital {name} must be a finite number, got {value!r}")
        row = pd.DataFrame({c: [float(values[c])] for c in TOTAL_COLUMNS},
                           index=pd.DatetimeIndex([to_utc(timestamp)]))
        self.store.append(self.library, TOTAL_SYMBOL, row)

    def write_total(self, frame: pd.DataFrame) -> None:
        self.store.write(self.library, TOTAL_SYMBOL, frame[TOTAL_COLUMNS].astype(float))

    def delete_total_since(self, timestamp) -> None:
        frame = self.total_capital()
        kept = frame[frame.index < to_utc(timestamp)]
        self.store.write(self.library, TOTAL_SYMBOL, kept)

    def delete_all_total(self) -> None:
        self.store.delete(self.library, TOTAL_SYMBOL)

    @staticmethod
    def _strategy_symbol(strategy_name: str) -> str:
        return f"strategy/{validate_strategy_name(strategy_name)}"

    def strategy_capital(self, strategy_name: str) -> pd.Series:
        return self.store.read(self.library, self._strategy_symbol(strategy_name))["capital"]

    def add_strategy_capital(self, strategy_name: str, timestamp, capital: float) -> None:
        if not is_finite_number(capital) or capital < 0:
            raise InvalidData(f"strategy capital must be a finite number >= 0, got {capital!r}")
        row = pd.DataFrame({"capital": [float(capital)]}, index=pd.DatetimeIndex([to_utc(timestamp)]))
        self.store.append(self.library, self._strategy_symbol(strategy_name), row)

    def strategies(self) -> list[str]:
        return [s.split("/", 1)[1] for s in self.store.symbols(self.library) if s.startswith("strategy/")]
