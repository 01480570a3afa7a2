"""pysystemtrade's CSV directory layout, read and written.

| directory / file | content |
|---|---|
| ``multiple_prices_csv/<INSTR>.csv`` | DATETIME,CARRY,CARRY_CONTRACT,PRICE,PRICE_CONTRACT,FORWARD,FORWARD_CONTRACT |
| ``adjusted_prices_csv/<INSTR>.csv`` | DATETIME,price |
| ``fx_prices_csv/<CODE>.csv`` | DATETIME,PRICE |
| ``roll_calendars_csv/<INSTR>.csv`` | DATE_TIME,current_contract,next_contract,carry_contract |
| ``csvconfig/instrumentconfig.csv`` | older: ...,Slippage; newer: ...,Region with ``spreadcosts.csv`` |
| ``csvconfig/rollconfig.csv`` | Instrument,HoldRollCycle,RollOffsetDays,CarryOffset,PricedRollCycle,ExpiryOffset |
| ``sysbrokers_IB/ib_config_futures.csv`` | Instrument,IBSymbol,IBExchange,IBCurrency,IBMultiplier,MyMultiplier or priceMagnifier,IgnoreWeekly |
| ``sysbrokers_IB/ib_config_spot_FX.csv`` | CODE,CCY1,CCY2,INVERT |
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from syscore.exceptions import InvalidData
from sysdata.broker_config import FxPairConfig, IBFuturesConfig
from sysdata.csv.timeseries_csv import (
    FloatParsing,
    ValueRule,
    check_csv_lines,
    check_header,
    read_timeseries_csv,
    write_timeseries_csv,
)
from sysdata.price_frames import (
    MULTIPLE_CONTRACT_COLUMNS,
    MULTIPLE_PRICE_COLUMNS,
    MULTIPLE_PRICE_VALUE_COLUMNS,
    ROLL_CALENDAR_COLUMNS,
)
from sysobjects.contracts import validate_contract_date
from sysobjects.instruments import InstrumentConfig
from sysobjects.roll_parameters import MONTH_LETTERS, RollParameters

MULTIPLE_DIR = "multiple_prices_csv"
ADJUSTED_DIR = "adjusted_prices_csv"
FX_DIR = "fx_prices_csv"
ROLL_CALENDAR_DIR = "roll_calendars_csv"
CONFIG_DIR = "csvconfig"
IB_DIRS = ("sysbrokers_IB", "sysbrokers/IB", "sysbrokers_IB_config")

NEW_INSTRUMENT_COLUMNS = ["Instrument", "Description", "Pointsize", "Currency", "AssetClass",
                          "PerBlock", "Percentage", "PerTrade", "Region"]
OLD_INSTRUMENT_COLUMNS = ["Instrument", "Pointsize", "Percentage", "PerBlock", "PerTrade",
                          "AssetClass", "Currency", "Description", "Slippage"]
ROLL_CONFIG_COLUMNS = ["Instrument", "HoldRollCycle", "RollOffsetDays", "CarryOffset",
                       "PricedRollCycle", "ExpiryOffset"]


# price files --------------------------------------------------------------------------------
MAX_ABS_PRICE = 1e9
"""The largest absolute price or FX rate accepted. The largest in pysystemtrade's 226-instrument
data is about 1.7e5 (BOVESPA, index points); a value beyond 1e9 is a damaged file (``1e308``,
a column shifted into a contract id), not a price."""


def _not_finite(values: pd.Series) -> np.ndarray:
    return np.isinf(values.to_numpy(dtype=float))


def _too_large(values: pd.Series) -> np.ndarray:
    magnitude = np.abs(values.to_numpy(dtype=float))
    return np.isfinite(magnitude) & (magnitude > MAX_ABS_PRICE)


MIN_FX_RATE = 1 / MAX_ABS_PRICE
"""The smallest FX rate accepted (1e-9): the reciprocal of :data:`MAX_ABS_PRICE`, so a pair is
accepted exactly when its inverse is. The smallest real rates are around 1e-5 (VND or IDR in
USD); ``1.3e-300`` is a damaged file, and dividing by it overflows."""

MAX_VOLUME = 1e9
"""The largest daily or hourly volume accepted (contracts). The busiest futures trade a few
million contracts a day; a value beyond 1e9 is a damaged file."""


def _not_positive(values: pd.Series) -> np.ndarray:
    return values.to_numpy(dtype=float) <= 0  # NaN (an empty field) is a missing rate, allowed


def _too_small_rate(values: pd.Series) -> np.ndarray:
    rates = values.to_numpy(dtype=float)
    return (rates > 0) & (rates < MIN_FX_RATE)


def _negative(values: pd.Series) -> np.ndarray:
    return values.to_numpy(dtype=float) < 0


def _too_large_volume(values: pd.Series) -> np.ndarray:
    volumes = values.to_numpy(dtype=float)
    return np.isfinite(volumes) & (volumes > MAX_VOLUME)


def _bad_contract_id(values: pd.Series) -> np.ndarray:
    def bad(value) -> bool:
        if not isinstance(value, str) or len(value) not in (6, 8) or not value.isdigit():
            return True
        try:
            validate_contract_date(value)
        except InvalidData:
            return True
        return False

    verdict = {value: bad(value) for value in pd.unique(values)}
    return values.map(verdict).to_numpy(dtype=bool)


def finite_rules(columns: tuple[str, ...]) -> tuple[ValueRule, ...]:
    """Numbers are finite; an empty field is a missing value."""
    return (ValueRule(columns, "is not finite", _not_finite),)


def price_rules(columns: tuple[str, ...]) -> tuple[ValueRule, ...]:
    """Prices (any sign: spreads and back-adjusted series go negative) are finite and within
    :data:`MAX_ABS_PRICE`; an empty field is a missing price."""
    return (*finite_rules(columns),
            ValueRule(columns, f"is beyond the largest price accepted ({MAX_ABS_PRICE:.0e})",
                      _too_large))


FX_RULES = (*price_rules(("PRICE",)),
            ValueRule(("PRICE",), "is not a positive FX rate", _not_positive),
            ValueRule(("PRICE",), f"is below the smallest FX rate accepted ({MIN_FX_RATE:.0e})",
                      _too_small_rate))

CONTRACT_PRICE_RULES = (
    *price_rules(("OPEN", "HIGH", "LOW", "FINAL")),
    *finite_rules(("VOLUME",)),
    ValueRule(("VOLUME",), "is a negative volume", _negative),
    ValueRule(("VOLUME",), f"is beyond the largest volume accepted ({MAX_VOLUME:.0e})",
              _too_large_volume))
"""Per-contract OHLCV bars (library ``futures_contract_prices``; restored from backups)."""


def contract_rules(columns: tuple[str, ...]) -> tuple[ValueRule, ...]:
    """Contract ids are present and ``YYYYMM00`` (pysystemtrade) or ``YYYYMMDD`` with a month
    01-12 and a real day (``YYYYMM`` is accepted too)."""
    return (ValueRule(columns, "is not a contract id YYYYMMDD (month 01-12, day 00 or a real "
                               "day)", _bad_contract_id),)


MULTIPLE_RULES = (*price_rules(tuple(MULTIPLE_PRICE_VALUE_COLUMNS)),
                  *contract_rules(tuple(MULTIPLE_CONTRACT_COLUMNS)))
ROLL_CALENDAR_RULES = contract_rules(tuple(ROLL_CALENDAR_COLUMNS))


def read_multiple_prices(path: Path, floats: FloatParsing = FloatParsing.EXACT,
                         not_after: pd.Timestamp | None = None) -> pd.DataFrame:
    """Multiple prices (UTC index); ``floats`` as in :mod:`sysdata.csv.timeseries_csv`: EXACT
    for our backups, PYSYSTEMTRADE for pysystemtrade's own files; rows after ``not_after``
    (tz-aware UTC, None: no limit) refused."""
    return read_timeseries_csv(path, "DATETIME", MULTIPLE_PRICE_COLUMNS,
                               text_columns=tuple(MULTIPLE_CONTRACT_COLUMNS),
                               rules=MULTIPLE_RULES, floats=floats, not_after=not_after)


def write_multiple_prices(frame: pd.DataFrame, path: Path) -> Path:
    return write_timeseries_csv(frame[MULTIPLE_PRICE_COLUMNS], path, "DATETIME")


def read_adjusted_prices(path: Path, floats: FloatParsing = FloatParsing.EXACT,
                         not_after: pd.Timestamp | None = None) -> pd.DataFrame:
    return read_timeseries_csv(path, "DATETIME", ["price"], rules=price_rules(("price",)),
                               floats=floats, not_after=not_after)


def write_adjusted_prices(frame: pd.DataFrame, path: Path) -> Path:
    return write_timeseries_csv(frame[["price"]], path, "DATETIME")


def read_fx_prices(path: Path, floats: FloatParsing = FloatParsing.EXACT,
                   not_after: pd.Timestamp | None = None) -> pd.DataFrame:
    return read_timeseries_csv(path, "DATETIME", ["PRICE"], rules=FX_RULES, floats=floats,
                               not_after=not_after)


def write_fx_prices(frame: pd.DataFrame, path: Path) -> Path:
    return write_timeseries_csv(frame[["PRICE"]], path, "DATETIME")


def read_roll_calendar(path: Path, floats: FloatParsing = FloatParsing.EXACT) -> pd.DataFrame:
    """Roll calendar (UTC index, contract ids as text); ``floats`` is accepted for a uniform
    signature (a calendar holds no numbers)."""
    return read_timeseries_csv(path, "DATE_TIME", ROLL_CALENDAR_COLUMNS,
                               text_columns=tuple(ROLL_CALENDAR_COLUMNS),
                               rules=ROLL_CALENDAR_RULES, floats=floats)


def write_roll_calendar(frame: pd.DataFrame, path: Path) -> Path:
    return write_timeseries_csv(frame[ROLL_CALENDAR_COLUMNS], path, "DATE_TIME")


def codes_in(directory: Path) -> list[str]:
    """File stems of ``*.csv`` in a directory (empty if it does not exist)."""
    if not directory.is_dir():
        return []
    return sorted(p.stem for p in directory.glob("*.csv"))


# configuration files --------------------------------------------------------------------------
@dataclass(frozen=True)
class Rejected:
    """A row of a pysystemtrade configuration table that was not imported: its ``code``
    (instrument or FX code) and the one-line ``reason``. No units or times."""

    code: str
    reason: str


def _read_table(path: Path, required: list[str]) -> pd.DataFrame:
    """A configuration table as text; a damaged file (NUL byte, a line cut short, see
    :func:`~sysdata.csv.timeseries_csv.check_csv_lines`) is refused whole."""
    data = path.read_bytes()
    check_csv_lines(data, path)
    check_header(data, path)
    try:
        table = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InvalidData(f"{path}: not a readable CSV: {exc}") from None
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise InvalidData(f"{path}: missing columns {', '.join(missing)}; found "
                          f"{', '.join(map(str, table.columns))}")
    return table


def _number(text: str, what: str, default: float | None = None) -> float:
    if text.strip() in ("", "NA", "nan") and default is not None:
        return default
    try:
        value = float(text)
    except ValueError:
        raise InvalidData(f"{what} is not a number: {text!r}") from None
    if math.isnan(value):
        raise InvalidData(f"{what} is not a number: {text!r}")
    if math.isinf(value):
        raise InvalidData(f"{what} is not finite: {text!r}")
    return value


def read_instrument_config(config_dir: Path) -> tuple[list[InstrumentConfig], list[Rejected]]:
    """Instrument configs from either layout; rows that fail validation are returned as rejected.

    The older layout carries ``Slippage``; the newer one takes spread costs from
    ``spreadcosts.csv`` (an instrument missing there gets spread cost 0 and is reported). An
    optional ``TickSize`` column (systrade's, not pysystemtrade's) sets ``tick_size``.
    """
    path = config_dir / "instrumentconfig.csv"
    header = _read_table(path, ["Instrument"]).columns
    old = "Slippage" in header
    table = _read_table(path, OLD_INSTRUMENT_COLUMNS if old else NEW_INSTRUMENT_COLUMNS)
    spreads: dict[str, str] = {}
    spread_path = config_dir / "spreadcosts.csv"
    if not old and spread_path.exists():
        spread_table = _read_table(spread_path, ["Instrument", "SpreadCost"])
        spreads = dict(zip(spread_table["Instrument"], spread_table["SpreadCost"], strict=True))
    configs, rejected = [], []
    for _, row in table.iterrows():
        code = row["Instrument"]
        try:
            spread_text = row["Slippage"] if old else spreads.get(code, "0")
            configs.append(InstrumentConfig(
                instrument_code=code,
                description=row["Description"],
                pointsize=_number(row["Pointsize"], "Pointsize"),
                currency=row["Currency"],
                asset_class=row["AssetClass"],
                per_block=_number(row["PerBlock"], "PerBlock", 0.0),
                percentage=_number(row["Percentage"], "Percentage", 0.0),
                per_trade=_number(row["PerTrade"], "PerTrade", 0.0),
                spread_cost=_number(spread_text, "spread cost", 0.0),
                region="" if old else row["Region"],
                tick_size=(_number(row["TickSize"], "TickSize")
                           if str(row.get("TickSize", "")).strip() not in ("", "NA", "nan")
                           else None),
            ))
        except InvalidData as exc:
            rejected.append(Rejected(code, f"{path.name}: {exc}"))
    return configs, rejected


def write_instrument_config(configs: list[InstrumentConfig], config_dir: Path) -> None:
    """Write the newer layout: ``instrumentconfig.csv`` plus ``spreadcosts.csv``."""
    config_dir.mkdir(parents=True, exist_ok=True)
    rows = [{"Instrument": c.instrument_code, "Description": c.description,
             "Pointsize": c.pointsize, "Currency": c.currency, "AssetClass": c.asset_class,
             "PerBlock": c.per_block, "Percentage": c.percentage, "PerTrade": c.per_trade,
             "Region": c.region} for c in configs]
    pd.DataFrame(rows, columns=NEW_INSTRUMENT_COLUMNS).to_csv(
        config_dir / "instrumentconfig.csv", index=False)
    pd.DataFrame([{"Instrument": c.instrument_code, "SpreadCost": c.spread_cost} for c in configs],
                 columns=["Instrument", "SpreadCost"]).to_csv(
        config_dir / "spreadcosts.csv", index=False)


def _cycle(text: str, name: str) -> tuple[str, str | None]:
    """A roll cycle; a cycle with the right months in the wrong order is put in order, with a
    note (pysystemtrade's 2022 config has ``FGHJKMNQUXVZ`` for GAS_US)."""
    text = text.strip()
    if set(text) <= set(MONTH_LETTERS) and len(set(text)) == len(text):
        ordered = "".join(sorted(text, key=MONTH_LETTERS.index))
        if ordered != text:
            return ordered, f"{name} {text!r} reordered to {ordered!r}"
    return text, None


def read_roll_config(config_dir: Path) -> tuple[dict[str, RollParameters], list[Rejected], list[Rejected]]:
    """Roll parameters per instrument; returns (loaded, rejected, notes)."""
    path = config_dir / "rollconfig.csv"
    table = _read_table(path, ROLL_CONFIG_COLUMNS)
    loaded, rejected, notes = {}, [], []
    for _, row in table.iterrows():
        code = row["Instrument"]
        try:
            hold, hold_note = _cycle(row["HoldRollCycle"], "HoldRollCycle")
            priced, priced_note = _cycle(row["PricedRollCycle"], "PricedRollCycle")
            for note in (hold_note, priced_note):
                if note:
                    notes.append(Rejected(code, note))
            loaded[code] = RollParameters(
                hold_roll_cycle=hold,
                priced_roll_cycle=priced,
                roll_offset_days=int(_number(row["RollOffsetDays"], "RollOffsetDays")),
                carry_offset=int(_number(row["CarryOffset"], "CarryOffset")),
                expiry_offset=int(_number(row["ExpiryOffset"], "ExpiryOffset")),
            )
        except InvalidData as exc:
            rejected.append(Rejected(code, f"{path.name}: {exc}"))
    return loaded, rejected, notes


def write_roll_config(parameters: dict[str, RollParameters], config_dir: Path) -> None:
    config_dir.mkdir(parents=True, exist_ok=True)
    rows = [{"Instrument": code, "HoldRollCycle": p.hold_roll_cycle,
             "RollOffsetDays": p.roll_offset_days, "CarryOffset": p.carry_offset,
             "PricedRollCycle": p.priced_roll_cycle, "ExpiryOffset": p.expiry_offset}
            for code, p in sorted(parameters.items())]
    pd.DataFrame(rows, columns=ROLL_CONFIG_COLUMNS).to_csv(config_dir / "rollconfig.csv", index=False)


def find_ib_dir(source: Path) -> Path | None:
    for name in IB_DIRS:
        if (source / name).is_dir():
            return source / name
    return None


def _yes(text: str) -> bool:
    return text.strip().upper() in ("YES", "TRUE", "1")


def read_ib_futures_config(ib_dir: Path) -> tuple[list[IBFuturesConfig], list[Rejected]]:
    path = ib_dir / "ib_config_futures.csv"
    table = _read_table(path, ["Instrument", "IBSymbol", "IBExchange", "IBCurrency", "IBMultiplier"])
    magnifier = "priceMagnifier" if "priceMagnifier" in table.columns else "MyMultiplier"
    configs, rejected = [], []
    for _, row in table.iterrows():
        code = row["Instrument"]
        try:
            multiplier_text = row["IBMultiplier"]
            configs.append(IBFuturesConfig(
                instrument_code=code,
                ib_symbol=row["IBSymbol"],
                ib_exchange=row["IBExchange"],
                ib_currency=None if row["IBCurrency"] in ("", "NA") else row["IBCurrency"],
                ib_multiplier=None if multiplier_text in ("", "NA") else _number(
                    multiplier_text, "IBMultiplier"),
                price_multiplier=_number(row.get(magnifier, "1"), magnifier, 1.0),
                ignore_weekly=_yes(row.get("IgnoreWeekly", "FALSE")),
            ))
        except InvalidData as exc:
            rejected.append(Rejected(code, f"{path.name}: {exc}"))
    return configs, rejected


def write_ib_futures_config(configs: list[IBFuturesConfig], ib_dir: Path) -> None:
    ib_dir.mkdir(parents=True, exist_ok=True)
    rows = [{"Instrument": c.instrument_code, "IBSymbol": c.ib_symbol, "IBExchange": c.ib_exchange,
             "IBCurrency": c.ib_currency or "NA",
             "IBMultiplier": "NA" if c.ib_multiplier is None else c.ib_multiplier,
             "priceMagnifier": c.price_multiplier,
             "IgnoreWeekly": "TRUE" if c.ignore_weekly else "FALSE"} for c in configs]
    pd.DataFrame(rows, columns=["Instrument", "IBSymbol", "IBExchange", "IBCurrency",
                                "IBMultiplier", "priceMagnifier", "IgnoreWeekly"]).to_csv(
        ib_dir / "ib_config_futures.csv", index=False)


def read_fx_config(ib_dir: Path) -> tuple[list[FxPairConfig], list[Rejected]]:
    path = ib_dir / "ib_config_spot_FX.csv"
    table = _read_table(path, ["CODE", "CCY1", "CCY2", "INVERT"])
    pairs, rejected = [], []
    for _, row in table.iterrows():
        try:
            pairs.append(FxPairConfig(row["CODE"], row["CCY1"], row["CCY2"], _yes(row["INVERT"])))
        except InvalidData as exc:
            rejected.append(Rejected(row["CODE"], f"{path.name}: {exc}"))
    return pairs, rejected


def write_fx_config(pairs: list[FxPairConfig], ib_dir: Path) -> None:
    ib_dir.mkdir(parents=True, exist_ok=True)
    rows = [{"CODE": p.code, "CCY1": p.ccy1, "CCY2": p.ccy2, "INVERT": "YES" if p.invert else "NO"}
            for p in pairs]
    pd.DataFrame(rows, columns=["CODE", "CCY1", "CCY2", "INVERT"]).to_csv(
        ib_dir / "ib_config_spot_FX.csv", index=False)
