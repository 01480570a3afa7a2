"""Overwrite one stored per-contract bar with a corrected one (an explicit, audited path).

The daily process never rewrites stored history, and the manual spike check only sees new bars.
When a bad bar is found later (an exchange correction, a vendor error spotted in a chart),
``overwrite_historical_bar`` rewrites exactly that bar:

- the bar must already exist at ``timestamp`` (UTC; a naive timestamp is read as UTC) in the
  stored ``frequency`` (``"D"`` daily or ``"H"`` hourly; the ``merged`` series is derived and is
  rebuilt from both, daily winning at a shared timestamp);
- ``final`` replaces FINAL. OPEN, HIGH and LOW take the values given, else move by the same amount
  as FINAL (the manual check's rule); given prices are rounded to the instrument's tick when its
  configuration has a ``tick_size`` (the result says so when rounding changed one); VOLUME takes the value given, else is unchanged. Prices are
  in the instrument's quoted units, VOLUME in contracts. The new bar must be consistent
  (LOW <= OPEN, FINAL <= HIGH where known) and FINAL finite, else
  :class:`~syscore.exceptions.InvalidData` and nothing is written;
- the old and new values are logged at WARNING with instrument and contract context;
- the merged series is rewritten.

Multiple prices are not rebuilt automatically. If a stored multiple-price row of the instrument
prices this contract (PRICE, FORWARD or CARRY) at that timestamp with a (non-NaN) value that the
merged series no longer has, the result says so and names the cells. ``patch_multiple_prices=True``
writes the new merged FINAL into exactly those cells (nothing else changes); either way the
adjusted prices are then stale, and the message tells the operator to run
``sysinit.build_adjusted_prices.build_adjusted_prices`` for the instrument.

    python run.py sysproduction.overwrite_historical_bar.overwrite_historical_bar \
        --instrument_code CORN --contract_date 202403 --timestamp "2024-01-02 15:00" \
        --frequency H --final 455.25
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from syscore.exceptions import InvalidData, MissingData
from sysdata.data_blob import DataBlob
from syslogdiag.context import get_logger
from sysobjects.contract_prices import Frequency
from sysobjects.contracts import validate_contract_date
from sysobjects.instruments import round_to_tick
from sysobjects.multiple_prices import CONTRACT_COLUMN_FOR, PRICE_COLUMNS, MultiplePrices
from sysproduction.manual_price_checks import instrument_tick_size
from sysproduction.process_helpers import blob_for
from sysproduction.roll_adjusted_prices import recover_pending_roll
from sysproduction.update_historical_prices import write_merged

PROCESS = "overwrite_historical_bar"
BAR_FIELDS = ("OPEN", "HIGH", "LOW", "FINAL", "VOLUME")
_FREQUENCY_NAMES = {"D": "D", "DAILY": "D", "H": "H", "HOURLY": "H"}


@dataclass(frozen=True)
class MultiplePriceCell:
    """One multiple-price cell at ``timestamp`` (UTC) that prices the overwritten contract."""

    timestamp: pd.Timestamp
    column: str
    stored: float
    merged_final: float


@dataclass
class OverwriteResult:
    """Old and new bar (field -> value), stale multiple-price cells, and the operator message."""

    instrument_code: str
    contract_date: str
    frequency: str
    timestamp: pd.Timestamp
    old: dict[str, float]
    new: dict[str, float]
    stale_multiple_prices: list[MultiplePriceCell] = field(default_factory=list)
    multiple_prices_patched: bool = False
    message: str = ""

    def __str__(self) -> str:
        return self.message


def _frequency(frequency: str | Frequency) -> str:
    if isinstance(frequency, Frequency):
        frequency = frequency.name
    key = str(frequency).strip().upper()
    if key not in _FREQUENCY_NAMES:
        raise InvalidData(f"frequency must be 'D' (daily) or 'H' (hourly), got {frequency!r}; "
                          "the merged series is rebuilt from them")
    return _FREQUENCY_NAMES[key]


def _utc(timestamp) -> pd.Timestamp:
    try:
        when = pd.Timestamp(timestamp)
    except (TypeError, ValueError) as exc:
        raise InvalidData(f"cannot read timestamp {timestamp!r}: {exc}") from None
    return when.tz_localize("UTC") if when.tzinfo is None else when.tz_convert("UTC")


def corrected_bar(old: pd.Series, final: float, open: float | None = None,
                  high: float | None = None, low: float | None = None,
                  volume: float | None = None) -> dict[str, float]:
    """The new bar (pure): given values, else OPEN/HIGH/LOW shifted by FINAL's change and VOLUME
    kept. Raises :class:`InvalidData` for a non-finite FINAL or an inconsistent bar."""
    final = float(final)
    if not math.isfinite(final):
        raise InvalidData(f"FINAL must be a finite price, got {final!r}")
    shift = final - float(old["FINAL"])
    given = {"OPEN": open, "HIGH": high, "LOW": low}
    new = {name: float(value) if value is not None else float(old[name]) + shift
           for name, value in given.items()}
    new["FINAL"] = final
    new["VOLUME"] = float(volume) if volume is not None else float(old["VOLUME"])
    if new["VOLUME"] < 0:
        raise InvalidData(f"VOLUME must be >= 0, got {new['VOLUME']}")
    known = [new[n] for n in ("OPEN", "FINAL") if not math.isnan(new[n])]
    if not math.isnan(new["HIGH"]) and any(v > new["HIGH"] for v in known):
        raise InvalidData(f"inconsistent bar: HIGH {new['HIGH']} is below OPEN/FINAL {known}")
    if not math.isnan(new["LOW"]) and any(v < new["LOW"] for v in known):
        raise InvalidData(f"inconsistent bar: LOW {new['LOW']} is above OPEN/FINAL {known}")
    if not math.isnan(new["HIGH"]) and not math.isnan(new["LOW"]) and new["LOW"] > new["HIGH"]:
        raise InvalidData(f"inconsistent bar: LOW {new['LOW']} above HIGH {new['HIGH']}")
    return new


def stale_multiple_price_cells(multiple: MultiplePrices, contract_date: str,
                               timestamp: pd.Timestamp,
                               merged_final: float | None) -> list[MultiplePriceCell]:
    """Cells at ``timestamp`` priced off ``contract_date`` holding a value that differs from the
    merged FINAL now stored there (pure). NaN cells are left out: the live merge fills them only
    from new prices, so they were not taken from the overwritten bar."""
    if merged_final is None or timestamp not in multiple.index:
        return []
    row = multiple.data.loc[timestamp]
    cells = []
    for column in PRICE_COLUMNS:
        if row[CONTRACT_COLUMN_FOR[column]] != contract_date:
            continue
        stored = float(row[column])
        if not math.isnan(stored) and stored != merged_final:  # NaN: not taken from this bar
            cells.append(MultiplePriceCell(timestamp, column, stored, merged_final))
    return cells


def overwrite_historical_bar(instrument_code: str, contract_date: str, timestamp, frequency: str,
                             final: float, open: float | None = None, high: float | None = None,
                             low: float | None = None, volume: float | None = None,
                             patch_multiple_prices: bool = False,
                             data: DataBlob | None = None) -> OverwriteResult:
    """Rewrite one stored bar and the merged series (module docstring); returns what changed."""
    with blob_for(data, PROCESS) as blob:
        contract_date = validate_contract_date(contract_date)
        store_freq = _frequency(frequency)
        when = _utc(timestamp)
        log = get_logger(PROCESS, instrument_code=instrument_code, contract_date=contract_date)
        if not blob.contract_prices.has(instrument_code, contract_date, store_freq):
            raise MissingData(
                f"no {store_freq} prices stored for {instrument_code} {contract_date}")
        bars = blob.contract_prices.read(instrument_code, contract_date, store_freq)
        if when not in bars.index:
            raise MissingData(f"no {store_freq} bar at {when} for {instrument_code} "
                              f"{contract_date}: only existing bars can be overwritten")
        old_row = bars.loc[when]
        tick = instrument_tick_size(blob, instrument_code)
        given = {"FINAL": final, "OPEN": open, "HIGH": high, "LOW": low}
        rounded = {name: None if value is None else round_to_tick(float(value), tick)
                   for name, value in given.items()}
        rounding = [f"{name} {float(given[name]):.10g} -> {value:.10g}"
                    for name, value in rounded.items()
                    if value is not None and math.isfinite(value) and value != float(given[name])]
        new = corrected_bar(old_row, rounded["FINAL"], rounded["OPEN"], rounded["HIGH"],
                            rounded["LOW"], volume)
        old = {name: float(old_row[name]) for name in BAR_FIELDS}
        updated = bars.copy()
        updated.loc[when, list(BAR_FIELDS)] = [new[name] for name in BAR_FIELDS]
        blob.contract_prices.write(instrument_code, contract_date, updated, store_freq)
        log.warning("%s %s %s bar at %s overwritten by hand: old %s, new %s", instrument_code,
                    contract_date, store_freq, when, old, new)
        merged = write_merged(blob, instrument_code, contract_date)
        merged_final = float(merged.loc[when, "FINAL"]) if when in merged.index else None

        result = OverwriteResult(instrument_code, contract_date, store_freq, when, old, new)
        lines = [f"{instrument_code} {contract_date} {store_freq} bar at {when} overwritten: "
                 f"FINAL {old['FINAL']:.10g} -> {new['FINAL']:.10g}; merged series rewritten"]
        if rounding:
            lines.insert(0, f"rounded to the tick ({tick:g}): {', '.join(rounding)}")
        if merged_final is not None and merged_final != new["FINAL"]:
            lines.append(f"the merged series keeps the daily bar at {when} "
                         f"(FINAL {merged_final:.10g})")
        if patch_multiple_prices:
            recover_pending_roll(blob, instrument_code)  # its staged prices would undo a patch
        if blob.multiple_prices.has(instrument_code):
            stored_multiple = blob.multiple_prices.read(instrument_code)
            multiple = MultiplePrices(stored_multiple)
            cells = stale_multiple_price_cells(multiple, contract_date, when, merged_final)
            result.stale_multiple_prices = cells
            if cells:
                described = ", ".join(f"{c.column}={c.stored:.10g}" for c in cells)
                if patch_multiple_prices:
                    for cell in cells:
                        stored_multiple.loc[when, cell.column] = cell.merged_final
                    blob.multiple_prices.write(instrument_code, stored_multiple)
                    result.multiple_prices_patched = True
                    log.warning("%s multiple prices at %s patched: %s -> %.10g", instrument_code,
                                when, described, merged_final)
                    lines.append(f"multiple prices at {when} patched ({described} -> "
                                 f"{merged_final:.10g}); the adjusted prices are now stale: run "
                                 f"build_adjusted_prices --instrument_code {instrument_code}")
                else:
                    lines.append(f"the stored multiple prices of {instrument_code} at {when} still "
                                 f"hold {described} for this contract (merged FINAL now "
                                 f"{merged_final:.10g}); they were NOT changed: rerun with "
                                 "--patch_multiple_prices true (or rebuild them), then run "
                                 f"build_adjusted_prices --instrument_code {instrument_code}")
        result.message = "; ".join(lines)
        log.warning("%s", result.message)
        return result
