"""Initialise price history from the broker: every contract of each chain over ``years``, then
roll calendars, multiple and adjusted prices built from them.

For each instrument with roll parameters:

1. every contract the roll parameters use (current, forward and carry) between ``years`` ago and
   today is listed (``contracts_needed``);
2. each contract's daily bars over that span are fetched from the broker, cleaned, and written as
   its daily and merged per-contract prices (a contract that already has prices is left alone:
   its history is the daily processes' business). The bars are spike-checked for information,
   as ``init_spot_fx`` does (``max_price_spike``, from the 20th change on): suspected spikes are
   written, logged at WARNING and listed in the report for a look;
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
from sysobjects.spike_check import INITIAL_LOAD_MIN_CHANGES, SpikeCheckSettings, check_for_spikes
from sysproduction.process_helpers import ProcessReport, WrittenResult, blob_for, each_instrument

PROCESS = "init_history_from_broker"


@dataclass(frozen=True)
class HistoryInit(WrittenResult):
    """Contracts fetched, bars written, multiple-price rows built, and the suspected spikes of
    the loaded bars as ``(contract_date, timestamp UTC)``."""

    contracts_fetched: int
    bars_written: int
    multiple_rows: int
    suspected_spikes: tuple[tuple[str, pd.Timestamp], ...] = ()

    def __str__(self) -> str:
        text = (f"{self.contracts_fetched} contracts, {self.bars_written} daily bars, "
                f"{self.multiple_rows} multiple-price rows")
        if self.suspected_spikes:
            contract, when = self.suspected_spikes[0]
            text += (f", {len(self.suspected_spikes)} suspected spikes (first {contract} at "
                     f"{when})")
        return text


def fetch_contract_history(data: DataBlob, code: str, contract_date: str,
                           start: pd.Timestamp, end: pd.Timestamp,
                           spikes: list[tuple[str, pd.Timestamp]] | None = None) -> int:
    """Daily bars of one contract into its D and merged series; returns bars written. The
    suspected spikes of the written bars are added to ``spikes`` (module docstring)."""
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
    check = check_for_spikes(bars["FINAL"].iloc[:0], bars["FINAL"], SpikeCheckSettings(
        max_price_spike=data.config.max_price_spike,
        min_reference_changes=INITIAL_LOAD_MIN_CHANGES))
    if spikes is not None:
        spikes.extend((contract_date, when) for when in check.spikes)
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
    if data.roll_calendars.has(code) and not overwrite:  # refused before any fetch or write
        raise ExistingData(f"{code} already has a roll calendar; not rebuilt "
                           "(--overwrite true rebuilds it)")
    end = data.now()
    start = end - pd.Timedelta(days=int(365.25 * years))
    params = data.roll_parameters.get(code)
    contracts = contracts_needed(start.date(), end.date(), params)
    spikes: list[tuple[str, pd.Timestamp]] = []
    written = sum(fetch_contract_history(data, code, c, start, end, spikes) for c in contracts)
    if spikes:
        log.warning("%s: %d suspected spikes in the loaded history, first %s at %s; check them",
                    code, len(spikes), *spikes[0])
    build_roll_calendar_for_instrument(data, code, overwrite=overwrite)
    multiple = build_multiple_prices_for_instrument(data, code, overwrite=True, phantom_roll_days=7)
    build_adjusted_prices_for_instrument(data, code)
    result = HistoryInit(len(contracts), written, multiple.rows, tuple(spikes))
    log.info("%s: %s", code, result)
    return result


def init_history_from_broker(instrument_code: str = "ALL", years: float = 3.0,
                             overwrite: bool = False, data: DataBlob | None = None) -> ProcessReport:
    """Build ``years`` of history for one instrument or ``ALL`` (module docstring)."""
    with blob_for(data, PROCESS) as blob:
        return each_instrument(blob, PROCESS, instrument_code, blob.roll_parameters.list_codes,
                               lambda code: init_instrument_history(blob, code, years, overwrite))
