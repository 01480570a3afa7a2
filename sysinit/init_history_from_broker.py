"""Initialise price history from the broker: every contract of each chain over ``years``, then
roll calendars, multiple and adjusted prices built from them.

For each instrument with roll parameters:

1. every contract the roll parameters use (current, forward and carry) between ``years`` ago and
   today is listed (``contracts_needed``);
2. each contract's daily bars over that span are fetched from the broker, cleaned, and written as
   its daily and merged per-contract prices (a contract that already has prices is left alone:
   its history is the daily processes' business);
3. a roll calendar (last-of-old convention) is generated from the per-contract prices, multiple
   prices are built from it, and adjusted prices from those (sysinit builders).

An instrument that fails is reported and the others go on. Instruments that already have multiple
prices, or a roll calendar, are refused unless ``overwrite`` (``--overwrite true``).

    python run.py sysinit.init_history_from_broker.init_history_from_broker --years 3
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from sysbrokers.errors import UnknownContract
from syscore.exceptions import ExistingData
from sysdata.data_blob import DataBlob
from sysinit.build_adjusted_prices import build_adjusted_prices_for_instrument
from sysinit.build_multiple_prices import build_multiple_prices_for_instrument
from sysinit.build_roll_calendars import build_roll_calendar_for_instrument
from syslogdiag.context import get_logger
from sysobjects.contract_dates import contracts_needed
from sysobjects.contract_prices import Frequency
from sysobjects.price_cleaning import PriceCleaningSettings, clean_contract_prices
from sysproduction.process_helpers import ProcessReport, blob_for, each_instrument

PROCESS = "init_history_from_broker"


@dataclass(frozen=True)
class HistoryInit:
    contracts_fetched: int
    bars_written: int
    multiple_rows: int

    def __str__(self) -> str:
        return (f"{self.contracts_fetched} contracts, {self.bars_written} daily bars, "
                f"{self.multiple_rows} multiple-price rows")


def fetch_contract_history(data: DataBlob, code: str, contract_date: str,
                           start: pd.Timestamp, end: pd.Timestamp) -> int:
    """Daily bars of one contract into its D and merged series; returns bars written."""
    if data.contract_prices.has(code, contract_date, "D"):
        return 0
    try:
        raw = data.broker.get_historical_bars(code, contract_date, "D", start, end)
    except UnknownContract:
        return 0
    settings = PriceCleaningSettings.from_dict(data.config.price_cleaning.model_dump())
    bars = clean_contract_prices(raw, Frequency.DAILY, end, settings).prices.data
    if bars.empty:
        return 0
    data.contract_prices.write(code, contract_date, bars, "D")
    if not data.contract_prices.has(code, contract_date, "merged"):
        data.contract_prices.write(code, contract_date, bars, "merged")
    return len(bars)


def init_instrument_history(data: DataBlob, code: str, years: float,
                            overwrite: bool = False) -> HistoryInit:
    log = get_logger(PROCESS, instrument_code=code)
    if data.multiple_prices.has(code) and not overwrite:
        raise ExistingData(f"{code} already has multiple prices; not rebuilt "
                           "(--overwrite true rebuilds them)")
    end = data.now()
    start = end - pd.Timedelta(days=int(365.25 * years))
    params = data.roll_parameters.get(code)
    contracts = contracts_needed(start.date(), end.date(), params)
    written = sum(fetch_contract_history(data, code, c, start, end) for c in contracts)
    build_roll_calendar_for_instrument(data, code, overwrite=overwrite)
    multiple = build_multiple_prices_for_instrument(data, code, overwrite=True, phantom_roll_days=7)
    build_adjusted_prices_for_instrument(data, code)
    result = HistoryInit(len(contracts), written, multiple.rows)
    log.info("%s: %s", code, result)
    return result


def init_history_from_broker(instrument_code: str = "ALL", years: float = 3.0,
                             overwrite: bool = False, data: DataBlob | None = None) -> ProcessReport:
    """Build ``years`` of history for one instrument or ``ALL`` (module docstring)."""
    with blob_for(data, PROCESS) as blob:
        return each_instrument(blob, PROCESS, instrument_code, blob.roll_parameters.list_codes,
                               lambda code: init_instrument_history(blob, code, years, overwrite))
