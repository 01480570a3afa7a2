"""Initialise spot FX: fetch each configured pair's full daily history from the broker.

``init_spot_fx("ALL")`` initialises every pair in the broker configuration
(``BrokerConfigData.fx_pairs``: code, ccy1, ccy2, invert; loaded from pysystemtrade's
``ib_config_spot_FX.csv`` by :func:`sysinit.import_pysystemtrade_csv.import_pysystemtrade_csv`,
together with the instrument and roll configs); ``init_spot_fx("EURUSD")`` one pair.

For each pair the broker's daily mids from ``start`` (default: the simulator's ``sim.start_date``
with the sim broker, else 2000-01-01; UTC) up to now (blob clock) are fetched, inverted when the
pair says so (the stored PRICE is the value in ``ccy2`` of one ``ccy1``), and cleaned (NaN,
non-positive, duplicated and future-stamped quotes dropped). The history is spike-checked
(``max_price_spike``; each change against the changes before it, from the 20th change on, as a
reference of a handful of changes means nothing) for information only: an initial load has no stored history to hold it
against, so suspected spikes are written, logged at WARNING and listed in the report for
``interactive_manual_check_fx_prices``-style review.

A pair that already has stored prices is left alone (reported as a failure,
:class:`~syscore.exceptions.ExistingData`) unless ``overwrite=True``. One failing pair does not
stop the others.

    python run.py sysinit.init_spot_fx.init_spot_fx --fx_code ALL
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from syscore.exceptions import ExistingData, MissingData
from syscore.formatting import format_price, format_timestamp
from sysdata.broker_config import FxPairConfig
from sysdata.data_blob import DataBlob
from syslogdiag.context import get_logger
from sysobjects.fx_prices import clean_fx_prices
from sysobjects.spike_check import INITIAL_LOAD_MIN_CHANGES, SpikeCheckSettings, check_for_spikes
from sysproduction.process_helpers import ProcessReport, WrittenResult, blob_for, each_item
from sysproduction.update_fx_prices import fetch_fx_prices, history_start

PROCESS = "init_spot_fx"


@dataclass(frozen=True)
class FxInit(WrittenResult):
    """Outcome for one pair: rows written, first and last timestamps (UTC), last price, and the
    timestamps of suspected spikes in the loaded history."""

    code: str
    rows: int
    first: pd.Timestamp
    last: pd.Timestamp
    last_price: float
    suspected_spikes: list[pd.Timestamp] = field(default_factory=list)

    def __str__(self) -> str:
        text = (f"{self.rows} prices {format_timestamp(self.first)} .. "
                f"{format_timestamp(self.last)}, last {format_price(self.last_price)}")
        if self.suspected_spikes:
            text += (f", {len(self.suspected_spikes)} suspected spikes "
                     f"(first {format_timestamp(self.suspected_spikes[0])})")
        return text


def init_fx_pair(data: DataBlob, pair: FxPairConfig, start: pd.Timestamp | None = None,
                 overwrite: bool = False) -> FxInit:
    """Fetch, clean and write one pair's full history (module docstring)."""
    log = get_logger(PROCESS, type="fx", fx_code=pair.code)
    if data.fx_prices.has(pair.code) and not overwrite:
        stored = data.fx_prices.read(pair.code)
        raise ExistingData(f"{pair.code} already has {len(stored)} stored prices; not "
                           "replaced (--overwrite true replaces them)")
    start = history_start(data) if start is None else pd.Timestamp(start)
    start = start.tz_localize("UTC") if start.tzinfo is None else start.tz_convert("UTC")
    raw = fetch_fx_prices(data, pair, start)
    prices = clean_fx_prices(raw, data.now(), data.config.price_cleaning.ignore_future_prices).data
    if prices.empty:
        raise MissingData(f"the broker returned no usable {pair.code} prices since {start}")
    settings = SpikeCheckSettings(max_price_spike=data.config.max_price_spike,
                                  min_reference_changes=INITIAL_LOAD_MIN_CHANGES)
    spikes = list(check_for_spikes(prices.iloc[:0], prices, settings).spikes)
    data.fx_prices.write(pair.code, prices)
    result = FxInit(pair.code, len(prices), prices.index[0], prices.index[-1],
                    float(prices.iloc[-1]), spikes)
    if spikes:
        log.warning("%s: %d suspected spikes in the loaded history, first at %s; check them",
                    pair.code, len(spikes), spikes[0])
    log.info("%s: spot FX initialised: %s", pair.code, result)
    return result


def init_spot_fx(fx_code: str = "ALL", start: str | None = None, overwrite: bool = False,
                 data: DataBlob | None = None) -> ProcessReport:
    """Initialise one configured FX pair or ``"ALL"`` from the broker; per-pair report."""
    with blob_for(data, PROCESS) as blob:
        if fx_code == "ALL":
            codes = sorted(p.code for p in blob.broker_config.fx_pairs())
            if not codes:
                raise MissingData("no FX pairs configured: import ib_config_spot_FX.csv with "
                                  "sysinit.import_pysystemtrade_csv first")
        else:
            codes = [fx_code]
        begin = pd.Timestamp(start) if start is not None else None
        return each_item(blob, PROCESS, codes, str, lambda code: init_fx_pair(
            blob, blob.broker_config.fx_pair(code), begin, overwrite))
