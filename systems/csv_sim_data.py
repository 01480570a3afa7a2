"""``SimData`` reading pysystemtrade's CSV layout.

Layout under one directory::

    adjusted_prices_csv/<CODE>.csv     DATETIME,price
    multiple_prices_csv/<CODE>.csv     DATETIME,CARRY,CARRY_CONTRACT,PRICE,PRICE_CONTRACT,FORWARD,FORWARD_CONTRACT
    fx_prices_csv/<CCY1><CCY2>.csv     DATETIME,PRICE   (units of CCY2 per CCY1)
    csvconfig/instrumentconfig.csv     Instrument,Description,Pointsize,Currency,AssetClass,[Slippage,]PerBlock,Percentage,PerTrade[,Region]
    csvconfig/spreadcosts.csv          Instrument,SpreadCost (newer layout; overrides Slippage)
    csvconfig/rollconfig.csv           Instrument,HoldRollCycle,... (rolls a year = len(HoldRollCycle))

Naive timestamps are UTC. Duplicate timestamps keep the last row. Price files are read on each
call (a backtest reads each once); FX and configuration files are read once and cached.
"""
from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pandas as pd

from systems.exceptions import MissingBacktestData
from systems.sim_data import MULTIPLE_PRICE_COLUMNS, InstrumentConfig, SimData, resolve_fx_rate

# pandas' default float parser (as pysystemtrade reads its CSVs): the same doubles as
# pysystemtrade, e.g. "2.631" and "2.6310000000000002" read as one double, so a price equal to
# its carry price after parsing gives a zero roll (NaN carry) in both systems
FLOAT_PRECISION = None


_STAMP = b"0000-00-00 00:00:00,"


def _days_from_civil(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates (int64 arrays)."""
    year = year - (month <= 2)
    era = np.floor_divide(year, 400)
    yoe = year - era * 400
    mp = (month + 9) % 12
    doy = (153 * mp + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _fixed_width_stamps(raw: bytes) -> np.ndarray | None:
    """The leading ``YYYY-MM-DD HH:MM:SS`` of every data line as datetime64[ns], read straight
    from the bytes; None when any line has another layout (the caller then parses with pandas)."""
    buf = np.frombuffer(raw, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 10)
    if newlines.size == 0:
        return None
    starts = newlines + 1
    starts = starts[starts < buf.size]
    if starts.size == 0:
        return np.array([], dtype="datetime64[ns]")
    width = len(_STAMP)
    if buf.size - starts[-1] < width or np.any(np.diff(starts) <= width):
        return None
    stamps = buf[starts[:, None] + np.arange(width)[None, :]]  # [lines x 20] bytes
    template = np.frombuffer(_STAMP, dtype=np.uint8)
    separators = template != ord("0")
    if not np.array_equal(stamps[:, separators], np.broadcast_to(template[separators], (len(starts), int(separators.sum())))):
        return None
    digits = stamps[:, ~separators].astype(np.int32) - 48
    if digits.min() < 0 or digits.max() > 9:
        return None
    tens = digits[:, 0::2] * 10 + digits[:, 1::2]  # [century, year, month, day, hour, minute, second]
    year = (tens[:, 0] * 100 + tens[:, 1]).astype(np.int64)
    month, day = tens[:, 2].astype(np.int64), tens[:, 3].astype(np.int64)
    seconds = tens[:, 4].astype(np.int64) * 3600 + tens[:, 5] * 60 + tens[:, 6]
    if month.min() < 1 or month.max() > 12 or day.min() < 1 or day.max() > 31 or seconds.max() >= 86400:
        return None
    days = _days_from_civil(year, month, day)
    return ((days * 86400 + seconds) * 1_000_000_000).astype("datetime64[ns]")


def _read_series_csv(path: Path, columns: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Read a DATETIME-indexed CSV (only ``columns`` when given, as float64).

    Fast path (pysystemtrade's own files): the DATETIME column is first and every stamp is
    ``YYYY-MM-DD HH:MM:SS``; stamps are then read from the bytes and pandas parses only the
    float columns. Anything else goes through pandas' general path. Floats always use pandas'
    default parser (:data:`FLOAT_PRECISION`)."""
    raw = path.read_bytes()
    frame = None
    if columns is not None and raw.startswith(b"DATETIME,"):
        stamps = _fixed_width_stamps(raw)
        if stamps is not None:
            try:
                frame = pd.read_csv(
                    io.BytesIO(raw), usecols=list(columns), dtype=dict.fromkeys(columns, "float64"),
                    float_precision=FLOAT_PRECISION,
                )
            except ValueError:
                frame = None  # a column is missing or not numeric: the general path says which
            if frame is not None and len(frame) == len(stamps):
                frame.index = pd.DatetimeIndex(stamps, name="DATETIME")
            else:
                frame = None
    if frame is None:
        frame = _read_general(io.BytesIO(raw), path, columns)
    index = frame.index
    if not (index.is_monotonic_increasing and index.is_unique):
        frame = frame[~index.duplicated(keep="last")].sort_index()
    return frame


def _read_general(source, path: Path, columns: tuple[str, ...] | None) -> pd.DataFrame:
    if columns is not None:
        wanted = {"DATETIME", *columns}
        dtypes = {c: "float64" for c in columns}
        dtypes["DATETIME"] = "str"
        frame = pd.read_csv(
            source, usecols=lambda c: c in wanted, dtype=dtypes, float_precision=FLOAT_PRECISION,
            low_memory=False,
        )
    else:
        frame = pd.read_csv(source, float_precision=FLOAT_PRECISION)
    if "DATETIME" not in frame.columns:
        raise MissingBacktestData(f"{path}: no DATETIME column")
    # naive stamps are UTC; stamps with an offset are converted to UTC
    index = pd.DatetimeIndex(pd.to_datetime(frame.pop("DATETIME"), format="ISO8601", utc=True)).tz_convert(None)
    frame.index = index
    return frame


def _float_or_zero(value) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if math.isnan(number) else number


class CsvSimData(SimData):
    """Backtest data from a pysystemtrade-layout CSV directory. Price files may be read from
    several threads (``concurrent_reads``): they are not cached. FX and configuration files are
    cached on first use (not thread-safe: ``RawData`` reads them from one thread)."""

    concurrent_reads = True

    def __init__(self, directory: str | Path):
        self._dir = Path(directory)
        if not self._dir.is_dir():
            raise MissingBacktestData(f"data directory {self._dir} does not exist")
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
        """Read on each call (not cached: a backtest reads each instrument once, and holding
        every raw file would cost more memory than the whole backtest)."""
        path = self._dir / "adjusted_prices_csv" / f"{code}.csv"
        if not path.is_file():
            raise MissingBacktestData(f"no adjusted prices for {code} ({path})")
        frame = _read_series_csv(path, ("price",))
        if "price" not in frame.columns:  # another header: the first column is the price
            frame = _read_series_csv(path)
        column = "price" if "price" in frame.columns else frame.columns[0]
        return frame[column].astype(float)

    def get_multiple_prices(self, code: str) -> pd.DataFrame:
        """Read on each call (see :meth:`get_adjusted_prices`)."""
        path = self._dir / "multiple_prices_csv" / f"{code}.csv"
        if not path.is_file():
            raise MissingBacktestData(f"no multiple prices for {code} ({path})")
        frame = _read_series_csv(path, MULTIPLE_PRICE_COLUMNS)
        missing = sorted(set(MULTIPLE_PRICE_COLUMNS) - set(frame.columns))
        if missing:
            raise MissingBacktestData(f"{path}: missing columns {missing}")
        return frame[list(MULTIPLE_PRICE_COLUMNS)].astype(float)

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
