"""``SimData`` reading pysystemtrade's CSV layout.

Layout under one directory::

    adjusted_prices_csv/<CODE>.csv     DATETIME,price
    multiple_prices_csv/<CODE>.csv     DATETIME,CARRY,CARRY_CONTRACT,PRICE,PRICE_CONTRACT,FORWARD,FORWARD_CONTRACT
    fx_prices_csv/<CCY1><CCY2>.csv     DATETIME,PRICE   (units of CCY2 per CCY1)
    csvconfig/instrumentconfig.csv     Instrument,Description,Pointsize,Currency,AssetClass,[Slippage,]PerBlock,Percentage,PerTrade[,Region]
    csvconfig/spreadcosts.csv          Instrument,SpreadCost (newer layout; overrides Slippage)
    csvconfig/rollconfig.csv           Instrument,HoldRollCycle,... (rolls a year = len(HoldRollCycle))

Naive timestamps are UTC. Duplicate timestamps keep the last row. Files are read once and cached.
"""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from systems.exceptions import MissingBacktestData
from systems.sim_data import MULTIPLE_PRICE_COLUMNS, InstrumentConfig, SimData, resolve_fx_rate

# pandas' default float parser (as pysystemtrade reads its CSVs): the same doubles as
# pysystemtrade, e.g. "2.631" and "2.6310000000000002" read as one double, so a price equal to
# its carry price after parsing gives a zero roll (NaN carry) in both systems
FLOAT_PRECISION = None


def _read_series_csv(path: Path, columns: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Read a DATETIME-indexed CSV (only ``columns`` when given, as floats)."""
    if columns is not None:
        wanted = {"DATETIME", *columns}
        dtypes = {c: "float64" for c in columns}
        dtypes["DATETIME"] = "str"
        frame = pd.read_csv(
            path, usecols=lambda c: c in wanted, dtype=dtypes, float_precision=FLOAT_PRECISION,
            low_memory=False,
        )
    else:
        frame = pd.read_csv(path)
    if "DATETIME" not in frame.columns:
        raise MissingBacktestData(f"{path}: no DATETIME column")
    # naive stamps are UTC; stamps with an offset are converted to UTC
    index = pd.DatetimeIndex(pd.to_datetime(frame.pop("DATETIME"), format="ISO8601", utc=True)).tz_convert(None)
    frame.index = index
    if not (index.is_monotonic_increasing and index.is_unique):
        frame = frame[~frame.index.duplicated(keep="last")].sort_index()
    return frame


def _float_or_zero(value) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if math.isnan(number) else number


class CsvSimData(SimData):
    """Backtest data from a pysystemtrade-layout CSV directory."""

    def __init__(self, directory: str | Path):
        self._dir = Path(directory)
        if not self._dir.is_dir():
            raise MissingBacktestData(f"data directory {self._dir} does not exist")
        self._cache_adjusted: dict[str, pd.Series] = {}
        self._cache_multiple: dict[str, pd.DataFrame] = {}
        self._cache_fx: dict[tuple[str, str], pd.Series] = {}
        self._instruments: pd.DataFrame | None = None
        self._rolls: pd.DataFrame | None = None

    @property
    def directory(self) -> Path:
        return self._dir

    def instrument_list(self) -> list[str]:
        folder = self._dir / "adjusted_prices_csv"
        if not folder.is_dir():
            return []
        return sorted(p.stem for p in folder.glob("*.csv"))

    def get_adjusted_prices(self, code: str) -> pd.Series:
        if code not in self._cache_adjusted:
            path = self._dir / "adjusted_prices_csv" / f"{code}.csv"
            if not path.is_file():
                raise MissingBacktestData(f"no adjusted prices for {code} ({path})")
            frame = _read_series_csv(path, ("price",))
            if "price" not in frame.columns:
                frame = _read_series_csv(path)
            column = "price" if "price" in frame.columns else frame.columns[0]
            self._cache_adjusted[code] = frame[column].astype(float)
        return self._cache_adjusted[code]

    def get_multiple_prices(self, code: str) -> pd.DataFrame:
        if code not in self._cache_multiple:
            path = self._dir / "multiple_prices_csv" / f"{code}.csv"
            if not path.is_file():
                raise MissingBacktestData(f"no multiple prices for {code} ({path})")
            frame = _read_series_csv(path, MULTIPLE_PRICE_COLUMNS)
            missing = sorted(set(MULTIPLE_PRICE_COLUMNS) - set(frame.columns))
            if missing:
                raise MissingBacktestData(f"{path}: missing columns {missing}")
            self._cache_multiple[code] = frame
        return self._cache_multiple[code]

    def _fx_file(self, pair: str) -> pd.Series | None:
        path = self._dir / "fx_prices_csv" / f"{pair}.csv"
        if not path.is_file():
            return None
        frame = _read_series_csv(path)
        column = "PRICE" if "PRICE" in frame.columns else frame.columns[0]
        return frame[column].astype(float)

    def get_fx_rate(self, currency: str, base: str) -> pd.Series:
        key = (currency, base)
        if key in self._cache_fx:
            return self._cache_fx[key]
        result = resolve_fx_rate(currency, base, self._fx_file, str(self._dir / "fx_prices_csv"))
        self._cache_fx[key] = result
        return result

    def _instrument_table(self) -> pd.DataFrame:
        if self._instruments is not None:
            return self._instruments
        path = self._dir / "csvconfig" / "instrumentconfig.csv"
        if not path.is_file():
            raise MissingBacktestData(f"instrument configuration {path} not found")
        table = pd.read_csv(path).set_index("Instrument")
        spreads = self._dir / "csvconfig" / "spreadcosts.csv"
        if spreads.is_file():
            spread_table = pd.read_csv(spreads).set_index("Instrument")["SpreadCost"]
            table["Slippage"] = spread_table.reindex(table.index)
        self._instruments = table
        return table

    def _roll_table(self) -> pd.DataFrame | None:
        if self._rolls is None:
            path = self._dir / "csvconfig" / "rollconfig.csv"
            self._rolls = pd.read_csv(path).set_index("Instrument") if path.is_file() else pd.DataFrame()
        return None if self._rolls.empty else self._rolls

    def get_instrument_config(self, code: str) -> InstrumentConfig:
        table = self._instrument_table()
        if code not in table.index:
            raise MissingBacktestData(f"{code} is not in csvconfig/instrumentconfig.csv")
        row = table.loc[code]
        rolls = 0
        roll_table = self._roll_table()
        if roll_table is not None and code in roll_table.index:
            cycle = roll_table.loc[code, "HoldRollCycle"]
            rolls = len(str(cycle)) if isinstance(cycle, str) else 0
        return InstrumentConfig(
            instrument_code=code,
            pointsize=_float_or_zero(row.get("Pointsize")),
            currency=str(row.get("Currency")),
            spread_cost=_float_or_zero(row.get("Slippage")),
            per_block=_float_or_zero(row.get("PerBlock")),
            percentage=_float_or_zero(row.get("Percentage")),
            per_trade=_float_or_zero(row.get("PerTrade")),
            rolls_per_year=rolls,
            asset_class=str(row.get("AssetClass", "")),
            description=str(row.get("Description", "")),
        )
