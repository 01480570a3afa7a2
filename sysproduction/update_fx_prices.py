"""Daily spot FX update: fetch, clean, spike-check, write or alert.

For each configured FX pair (``BrokerConfigData.fx_pairs``: code, ccy1, ccy2, invert) the broker's
daily mid prices since the last stored price are fetched (inverted when ``invert``), cleaned
(NaN, non-positive, duplicated and future-stamped quotes dropped), and spike-checked against the
stored history (a pair's first history, with nothing stored to compare with, is written
unchecked). A pair with a spike is not written at all; one CRITICAL alert names the first
spike, and ``interactive_manual_check_fx_prices`` resolves it. Running twice changes nothing the
second time.

A configured pair with no stored prices that the broker does not quote (pysystemtrade's FX
config lists pairs such as CNHUSD that the simulator knows nothing of) is **not set up**: not
updated, no alert, listed once in the report and the log (INFO). A pair with stored prices that
the broker stops quoting is a failure (CRITICAL alert).

    python run.py sysproduction.update_fx_prices.update_fx_prices
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from sysbrokers.errors import UnknownContract
from syscore.formatting import format_price, format_timestamp
from sysdata.broker_config import FxPairConfig
from sysdata.data_blob import DataBlob
from syslogdiag.alerts import alert
from syslogdiag.context import get_logger
from sysobjects.fx_prices import FxPrices, clean_fx_prices
from sysobjects.spike_check import SpikeCheckSettings, check_for_spikes
from sysproduction.process_helpers import (
    Outcome,
    ProcessReport,
    blob_for,
    each_item,
    note_not_set_up,
)

DEFAULT_HISTORY_START = "2000-01-01"


@dataclass(frozen=True)
class FxUpdate:
    """Outcome for one pair: rows written, or the spike that stopped the write (UTC)."""

    code: str
    written: int
    spike_at: pd.Timestamp | None = None
    not_set_up: bool = False

    @property
    def outcome(self) -> Outcome:
        if self.spike_at is not None:
            return Outcome.HELD_BACK
        return Outcome.WRITTEN if self.written else Outcome.UNCHANGED

    def __str__(self) -> str:
        if self.spike_at is not None:
            return (f"held back: spike at {format_timestamp(self.spike_at)}, nothing written "
                    f"(check it with interactive_manual_check_fx_prices)")
        if self.not_set_up:
            return "not set up: no stored prices, and the broker does not quote the pair"
        return f"{self.written} prices written" if self.written else "no new prices"


def fetch_fx_prices(data: DataBlob, pair: FxPairConfig, start: pd.Timestamp) -> pd.Series:
    """Broker daily mids for the pair (value of one ``ccy1`` in ``ccy2``, or inverted)."""
    raw = data.broker.get_fx_prices(pair.ccy1, pair.ccy2, start, data.now())
    return 1.0 / raw if pair.invert else raw


def history_start(data: DataBlob) -> pd.Timestamp:
    """Where a pair's history starts (UTC): the simulator's ``sim.start_date`` with the sim
    broker, else ``DEFAULT_HISTORY_START``."""
    text = data.config.sim.start_date if data.config.broker == "sim" else DEFAULT_HISTORY_START
    return pd.Timestamp(text, tz="UTC")


def stored_fx_prices(data: DataBlob, code: str) -> FxPrices:
    if not data.fx_prices.has(code):
        return FxPrices.empty()
    return FxPrices(data.fx_prices.read_series(code))


def new_fx_prices(data: DataBlob, pair: FxPairConfig) -> tuple[FxPrices, pd.Series]:
    """Stored prices and the cleaned new prices strictly after them."""
    existing = stored_fx_prices(data, pair.code)
    if len(existing):
        start = existing.data.index[-1] - pd.Timedelta(days=7)
    else:
        start = history_start(data)
    raw = fetch_fx_prices(data, pair, start)
    cleaned = clean_fx_prices(raw, data.now(), data.config.price_cleaning.ignore_future_prices)
    if len(raw) != len(cleaned):
        get_logger("update_fx_prices", type="fx", fx_code=pair.code).warning(
            "%s: cleaning dropped %d of %d quotes (NaN, non-positive, duplicated or future)",
            pair.code, len(raw) - len(cleaned), len(raw))
    new = cleaned.data
    if len(existing):
        new = new[new.index > existing.data.index[-1]]
    return existing, new


def update_fx_pair(data: DataBlob, pair: FxPairConfig) -> FxUpdate:
    """Update one pair; see the module docstring."""
    log = get_logger("update_fx_prices", type="fx", fx_code=pair.code)
    try:
        existing, new = new_fx_prices(data, pair)
    except UnknownContract:
        if data.fx_prices.has(pair.code):
            raise  # a pair we have been keeping: a failure
        return FxUpdate(pair.code, 0, not_set_up=True)
    if new.empty:
        log.info("%s: no new prices", pair.code)
        return FxUpdate(pair.code, 0)
    settings = SpikeCheckSettings(max_price_spike=data.config.max_price_spike)
    result = check_for_spikes(existing.data, new, settings) if len(existing) else None
    if result is not None and result.has_spikes:
        first = result.first_spike
        row = result.checked.loc[first]
        alert(data, f"Spike in FX prices {pair.code}",
              f"{pair.code}: price {format_price(new.loc[first])} at {format_timestamp(first)} "
              f"moved {row['ratio']:.1f} times "
              f"the average daily change (limit {settings.max_price_spike}); nothing written. "
              f"Run interactive_manual_check_fx_prices for {pair.code}.",
              logger=log)
        return FxUpdate(pair.code, 0, first)
    written = data.fx_prices.append(pair.code, new)
    log.info("%s: %d new prices written, last %s", pair.code, written,
             format_timestamp(new.index[-1]))
    return FxUpdate(pair.code, written)


def update_fx_prices(data: DataBlob | None = None) -> ProcessReport:
    """Update every configured FX pair; a failing pair is reported and does not stop the rest."""
    with blob_for(data, "update_fx_prices") as blob:
        pairs = blob.broker_config.fx_pairs()
        report = each_item(blob, "update_fx_prices", pairs, lambda p: p.code,
                           lambda p: update_fx_pair(blob, p))
        not_set_up = [code for code, result in report.results.items()
                      if isinstance(result, FxUpdate) and result.not_set_up]
        for code in not_set_up:  # listed once, below, not as an item
            del report.results[code]
            del report.outcomes[code]
        note_not_set_up(report, "update_fx_prices", not_set_up)
        return report
