"""Rebuild back-adjusted (Panama) prices from the stored multiple prices.

``build_adjusted_prices("ALL")`` rebuilds every instrument that has multiple prices;
``build_adjusted_prices("CORN")`` one instrument. Each series is re-stitched in full with
:func:`sysobjects.adjusted_prices.panama_adjust` (roll gap ``FORWARD − PRICE`` on the last row
before each roll, latest contract unadjusted, no forward fill) and **replaces** the stored
adjusted series. Values are in the instrument's price units; timestamps are UTC, as stored.

Rows where PRICE is NaN
    Before the last roll they are kept with a NaN value, exactly as pysystemtrade's stitch does.
    From the last roll on (the roll row itself included) they are **dropped**: between rolls the
    live system extends adjusted prices with the raw PRICE of new multiple-price rows and drops
    NaN rows (README §2.3, :func:`sysobjects.adjusted_prices.extend_adjusted_prices`), so a
    rebuild that kept them would differ from the series the daily process maintains (and from
    pysystemtrade's live files: CRUDE_W 3, OAT 3, US10 1 such rows). With no roll at all the
    whole series is on one contract, and every NaN row is dropped for the same reason.

An interrupted roll (``sysproduction.roll_adjusted_prices``) is finished first, so its staged
prices cannot later overwrite the rebuilt series. A failure in one instrument (e.g. a roll whose gap cannot be measured) is reported and alerted
for that instrument only; the others are still built.

    python run.py sysinit.build_adjusted_prices.build_adjusted_prices --instrument_code ALL
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from syscore.exceptions import MissingData
from syscore.formatting import format_price, format_timestamp
from sysdata.data_blob import DataBlob
from syslogdiag.context import get_logger
from sysobjects.adjusted_prices import AdjustedPrices, adjusted_prices_as_stored
from sysobjects.multiple_prices import MultiplePrices
from sysproduction.process_helpers import ProcessReport, WrittenResult, blob_for, each_item
from sysproduction.roll_adjusted_prices import recover_pending_roll

PROCESS = "build_adjusted_prices"


@dataclass(frozen=True)
class AdjustedBuild(WrittenResult):
    """Outcome for one instrument: rows written, NaN-PRICE rows dropped after the last roll,
    and the last timestamp (UTC) and value (price units) of the written series."""

    instrument_code: str
    rows: int
    dropped_after_last_roll: int
    last_timestamp: pd.Timestamp | None
    last_value: float | None

    def __str__(self) -> str:
        last = (f"last {format_price(self.last_value)} at {format_timestamp(self.last_timestamp)}"
                if self.last_timestamp is not None else "empty")
        return (f"{self.rows} rows, {last}, {self.dropped_after_last_roll} NaN rows after the "
                "last roll dropped")


def adjusted_prices_from_multiple(multiple: MultiplePrices) -> tuple[AdjustedPrices, int]:
    """Panama-adjusted prices with NaN-PRICE rows from the last roll on removed (module docstring).

    Returns the series and the number of rows removed. Raises :class:`InvalidData` (from
    :func:`panama_adjust`) when a roll gap cannot be measured.
    """
    return adjusted_prices_as_stored(multiple)


def build_adjusted_prices_for_instrument(data: DataBlob, instrument_code: str) -> AdjustedBuild:
    """Rebuild and replace the adjusted prices of one instrument from its multiple prices."""
    log = get_logger(PROCESS, instrument_code=instrument_code)
    recover_pending_roll(data, instrument_code)  # finish an interrupted roll first
    if not data.multiple_prices.has(instrument_code):
        raise MissingData(f"no multiple prices stored for {instrument_code}")
    multiple = MultiplePrices(data.multiple_prices.read(instrument_code))
    adjusted, dropped = adjusted_prices_from_multiple(multiple)
    series = adjusted.data
    data.adjusted_prices.write(instrument_code, series)
    valid = series.dropna()
    result = AdjustedBuild(
        instrument_code=instrument_code,
        rows=len(series),
        dropped_after_last_roll=dropped,
        last_timestamp=valid.index[-1] if len(valid) else None,
        last_value=float(valid.iloc[-1]) if len(valid) else None,
    )
    log.info("%s: adjusted prices rebuilt: %s", instrument_code, result)
    return result


def build_adjusted_prices(instrument_code: str = "ALL",
                          data: DataBlob | None = None) -> ProcessReport:
    """Rebuild adjusted prices for ``instrument_code`` or ``"ALL"`` instruments with multiple
    prices; returns a per-instrument report (see module docstring)."""
    with blob_for(data, PROCESS) as blob:
        codes = blob.multiple_prices.list_codes() if instrument_code == "ALL" else [instrument_code]
        return each_item(blob, PROCESS, sorted(codes), str,
                         lambda code: build_adjusted_prices_for_instrument(blob, code))


__all__ = [
    "AdjustedBuild",
    "adjusted_prices_from_multiple",
    "build_adjusted_prices",
    "build_adjusted_prices_for_instrument",
]
