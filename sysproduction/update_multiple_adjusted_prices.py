"""Daily: merge new per-contract closes into multiple prices and extend adjusted prices.

For each instrument with multiple prices, the merged per-contract FINAL prices of the current
PRICE, FORWARD and CARRY contracts since ``lookback_days`` (default 30) before the last stored row
are turned into candidate rows; they fill NaN prices of stored rows (never overwriting a value)
and the rows after the last stored one are appended. Adjusted prices are then extended with the
new rows' raw PRICE (no roll: the priced contract must not change). A priced contract that
differs from the one the adjusted prices were stitched on is an unregistered roll: a CRITICAL
alert for that instrument, and the loop goes on. An interrupted roll (see
``roll_adjusted_prices``) is finished first. Running twice changes nothing the second time.

A rerun repairs an interrupted one: a merged series still behind its contract's stored bars is
not used (the closes are derived from the bars), and adjusted prices are extended from their
last value however far the multiple prices have run ahead (``docs/prices.md``, "What a rerun
repairs").

    python run.py sysproduction.update_multiple_adjusted_prices.update_multiple_adjusted_prices
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from syscore.exceptions import MissingData
from sysdata.data_blob import DataBlob
from syslogdiag.context import get_logger
from sysobjects.adjusted_prices import (
    AdjustedPrices,
    adjusted_prices_as_stored,
    extend_adjusted_prices,
    fill_adjusted_prices,
)
from sysobjects.multiple_prices import (
    MultiplePrices,
    merge_multiple_prices,
    multiple_prices_from_contract_prices,
)
from sysproduction.process_helpers import Outcome, ProcessReport, blob_for, each_instrument
from sysproduction.roll_adjusted_prices import recover_pending_roll

DEFAULT_LOOKBACK_DAYS = 30


@dataclass(frozen=True)
class MultipleUpdate:
    appended: int
    filled: int
    adjusted_appended: int

    @property
    def outcome(self) -> Outcome:
        written = self.appended or self.filled or self.adjusted_appended
        return Outcome.WRITTEN if written else Outcome.UNCHANGED

    def __str__(self) -> str:
        return (f"{self.appended} rows appended, {self.filled} rows filled, "
                f"{self.adjusted_appended} adjusted prices appended")


def latest_contract_closes(data: DataBlob, instrument_code: str, contracts: tuple[str, ...],
                           since: pd.Timestamp | None = None) -> dict[str, pd.Series]:
    """Merged FINAL prices (since ``since``, UTC) of each contract that has any.

    A merged series that does not end where the contract's stored bars end (the price
    collection was interrupted before merging them) is not used: the same series is derived
    from the stored bars instead, so no row is built from stale prices. The merged series
    itself is rewritten by the next ``update_historical_prices``.
    """
    out = {}
    prices = data.contract_prices
    for contract in dict.fromkeys(contracts):
        if prices.merged_is_behind(instrument_code, contract):
            get_logger("update_multiple_adjusted_prices", instrument_code=instrument_code,
                       contract_date=contract).warning(
                "%s %s: merged series is behind its stored bars; using the bars (the next "
                "update_historical_prices rewrites the merged series)", instrument_code, contract)
            merged = prices.merged_from_bars(instrument_code, contract)
            out[contract] = merged["FINAL"] if since is None else \
                merged.loc[merged.index >= since, "FINAL"]
            continue
        if prices.has(instrument_code, contract):
            out[contract] = prices.read(instrument_code, contract, start=since)["FINAL"]
    return out


def update_instrument(data: DataBlob, instrument_code: str,
                      lookback_days: int = DEFAULT_LOOKBACK_DAYS) -> MultipleUpdate:
    log = get_logger("update_multiple_adjusted_prices", instrument_code=instrument_code)
    recover_pending_roll(data, instrument_code)
    last_ts = data.multiple_prices.last_timestamp(instrument_code)
    if last_ts is None:
        raise MissingData(f"no multiple prices for {instrument_code}")
    after = last_ts - pd.Timedelta(days=lookback_days)
    # only the stored tail the new rows can reach is read (one row before ``after`` too)
    window = data.multiple_prices.read(instrument_code, start=after - pd.Timedelta(days=7))
    existing = MultiplePrices(window)
    contracts = existing.current_contracts()
    closes = latest_contract_closes(data, instrument_code, contracts, since=after)
    candidates = multiple_prices_from_contract_prices(closes, contracts, after=after)
    merge = merge_multiple_prices(existing, candidates)
    if len(merge.filled):
        full = MultiplePrices(data.multiple_prices.read(instrument_code))
        merge = merge_multiple_prices(full, candidates)
        data.multiple_prices.write(instrument_code, merge.merged.data)
    elif len(merge.new_rows):
        data.multiple_prices.append(instrument_code, merge.new_rows)
    if data.adjusted_prices.has(instrument_code):
        last_adjusted = data.adjusted_prices.read_tail(instrument_code)
        source = merge.merged
        if len(last_adjusted) and len(source.data) and \
                last_adjusted.index[-1] < source.data.index[0]:
            # earlier runs stored multiple prices but not their adjusted prices (a crash, a full
            # disk): extend from the last adjusted price, not only from the window read above
            source = MultiplePrices(data.multiple_prices.read(
                instrument_code, start=last_adjusted.index[-1] - pd.Timedelta(days=7)))
        _, added = extend_adjusted_prices(AdjustedPrices(last_adjusted), source)
        if len(added):
            data.adjusted_prices.append(instrument_code, added.rename("price"))
        adjusted_appended = len(added)
        if len(merge.filled) and len(last_adjusted) and \
                merge.filled[0] <= last_adjusted.index[-1]:
            # prices filled in behind the adjusted series (it skipped those rows while their
            # PRICE was missing): give them their adjusted values too (reads the whole series)
            stored = AdjustedPrices(data.adjusted_prices.read_series(instrument_code))
            filled_in, inserted = fill_adjusted_prices(stored, merge.merged, merge.filled)
            if len(inserted):
                data.adjusted_prices.write(instrument_code, filled_in.data.rename("price"))
                log.info("%s: %d adjusted prices filled in behind the last one", instrument_code,
                         len(inserted))
            adjusted_appended += len(inserted)
    else:
        full, _ = adjusted_prices_as_stored(
            MultiplePrices(data.multiple_prices.read(instrument_code)))
        data.adjusted_prices.write(instrument_code, full.data.rename("price"))
        adjusted_appended = int(full.data.notna().sum())
    update = MultipleUpdate(len(merge.new_rows), len(merge.filled), adjusted_appended)
    log.info("%s: %s", instrument_code, update)
    return update


def update_multiple_adjusted_prices(instrument_code: str = "ALL",
                                    data: DataBlob | None = None) -> ProcessReport:
    """Update one instrument or ``ALL`` with multiple prices; failures alert per instrument."""
    with blob_for(data, "update_multiple_adjusted_prices") as blob:
        return each_instrument(blob, "update_multiple_adjusted_prices", instrument_code, blob.multiple_prices.list_codes,
                               lambda code: update_instrument(blob, code))
