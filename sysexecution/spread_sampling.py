"""Stack handler step: each instrument's bid/ask spread sampled while the handler runs.

Every ``spread_sample_minutes`` (default 60; :class:`~sysexecution.algo_orders.ExecutionSettings`)
of clock time, for every instrument with multiple prices whose market is open, the top of book
of its priced contract is read and ``ask - bid`` (price points) is appended to the time series
``spreads/<instrument>`` (ArcticDB, :class:`sysdata.optimal_positions.SpreadData`; index UTC).
The time of each instrument's last sample, and of the last look at the instruments, are kept in
the state store (collection ``spread_sampling``, key ``last_sampled``), read once per pass: the
instruments are listed (and sampled when due) at most once an interval, and a restarted handler
does not sample again early. An instrument whose market was closed at that look waits for the
next one. A crash between the sample and that record only means one extra sample.
The stack handler holds the ``spreads`` series lease (one writer per family).

:func:`spread_estimate` reads them back for cost estimates: the median spread over the samples
(optionally since a time).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from sysbrokers.errors import BrokerError
from syscore.dates import iso_utc, to_utc
from syscore.exceptions import MissingData
from sysdata.data_blob import DataBlob
from sysexecution.market_view import MarketView
from sysexecution.spawn_orders import Contracts, current_contracts

COLLECTION, KEY = "spread_sampling", "last_sampled"


@dataclass
class SpreadSamples:
    sampled: dict[str, float] = field(default_factory=dict)  #: instrument -> spread stored

    def __str__(self) -> str:
        return f"{len(self.sampled)} sampled"


def instruments_with_prices(data: DataBlob) -> list[str]:
    """The instruments that are set up: those with multiple prices."""
    return data.multiple_prices.list_codes()


def sample_spreads(data: DataBlob, view: MarketView, every: dt.timedelta,
                   contracts: Contracts = current_contracts,
                   instruments: Callable[[DataBlob], list[str]] = instruments_with_prices
                   ) -> SpreadSamples:
    """Sample the instruments that are due (see module docstring); ``every`` zero: none."""
    result = SpreadSamples()
    if every <= dt.timedelta(0):
        return result
    now = view.now
    stored = data.state.get(COLLECTION, KEY) or {}
    checked = stored.get("checked")
    if checked and now - to_utc(checked, "last check") < every:
        return result  # the instruments were all looked at less than one interval ago
    last = dict(stored.get("instruments", {}))
    due = [code for code in instruments(data)
           if code not in last or now - to_utc(last[code], "last sample") >= every]
    for code in due:
        if not view.is_open(code):
            continue
        try:
            priced, _ = contracts(data, code)
            book = view.bid_ask(code, priced)
        except (MissingData, BrokerError):
            continue
        if book.ask < book.bid:
            continue  # a crossed book is bad data, not a spread
        data.spreads.add(code, now, book.ask - book.bid)
        result.sampled[code] = book.ask - book.bid
        last[code] = iso_utc(now)
    data.state.put(COLLECTION, KEY, {"instruments": last, "checked": iso_utc(now)})
    return result


def spread_estimate(data: DataBlob, instrument_code: str,
                    since: pd.Timestamp | None = None) -> float:
    """The median sampled spread (price points) of an instrument, over every sample or those
    at or after ``since`` (UTC); :class:`MissingData` when there is none."""
    try:
        history = data.spreads.history(instrument_code)
    except MissingData:
        raise MissingData(f"no spread samples for {instrument_code}") from None
    if since is not None:
        history = history[history.index >= to_utc(since, "since")]
    if history.empty:
        raise MissingData(f"no spread samples for {instrument_code}"
                          + (f" since {iso_utc(since)}" if since is not None else ""))
    return float(history.median())
