"""Build multiple prices from stored per-contract prices and the stored roll calendar.

``build_multiple_prices("ALL")`` builds every instrument that has a stored roll calendar;
``build_multiple_prices("CORN")`` one instrument. The rule is
:func:`sysobjects.multiple_prices_build.build_multiple_prices` (README §3): inside each calendar
window PRICE, FORWARD and CARRY are the FINAL prices (price units, UTC timestamps) of that row's
current, next and carry contracts, read from the stored ``merged`` per-contract bars.

Calendar convention
    The window of row *k* is ``(date_{k-1}, date_k]`` for
    :attr:`~sysobjects.roll_calendar.CalendarConvention.LAST_OF_OLD` calendars (generated from
    contract prices, pysystemtrade's SP500_micro file) and ``[date_{k-1}, date_k)`` for
    ``FIRST_OF_NEW`` calendars (pysystemtrade's files backed out of multiple prices, the other 10
    reference files). Read the calendar the wrong way and every roll moves by one row, so the
    convention is resolved per instrument, in this order (:func:`resolve_convention`):

    1. the ``convention`` argument, if given;
    2. the convention recorded by :func:`sysinit.build_roll_calendars.build_roll_calendars` for
       this very calendar (a calendar replaced since, e.g. by an import, is not covered);
    3. inferred from stored multiple prices (e.g. imported with the calendar from pysystemtrade's
       CSV files): the calendar's dates are compared with the roll timestamps of the stored
       multiple prices, and the convention matching at least half of the rolls, and more than the
       other, wins;
    4. otherwise :class:`~syscore.exceptions.MissingData` asks for ``convention=``.

Existing multiple prices are replaced only with ``overwrite=True`` (``--overwrite true``): the live system appends
rolls to the multiple prices that a stale calendar does not know about (pysystemtrade's shipped
calendars stop in Nov 2020), so a rebuild can lose history. ``phantom_roll_days`` > 0 appends a
phantom roll that many days after now (blob clock, UTC) to a LAST_OF_OLD calendar, so the build
runs up to today (pysystemtrade's production practice); the stored calendar is not changed.

The adjusted prices are not rebuilt: run
:func:`sysinit.build_adjusted_prices.build_adjusted_prices`.

    python run.py sysinit.build_multiple_prices.build_multiple_prices --instrument_code ALL
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from syscore.exceptions import ExistingData, InvalidData, MissingData
from syscore.formatting import format_timestamp
from sysdata.data_blob import DataBlob
from sysinit.build_roll_calendars import RollCalendarConventions, as_convention
from syslogdiag.context import get_logger
from sysobjects.multiple_prices import MultiplePrices
from sysobjects.multiple_prices_build import build_multiple_prices as build_from_contract_prices
from sysobjects.roll_calendar import CalendarConvention, RollCalendar, with_phantom_roll
from sysproduction.process_helpers import ProcessReport, WrittenResult, blob_for, each_item
from sysproduction.roll_adjusted_prices import recover_pending_roll

PROCESS = "build_multiple_prices"


@dataclass(frozen=True)
class MultipleBuild(WrittenResult):
    """Outcome for one instrument: rows written, first and last timestamps (UTC), the calendar
    convention used and where it came from (``argument``, ``recorded``, ``inferred``)."""

    instrument_code: str
    rows: int
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    rolls: int
    convention: CalendarConvention
    convention_source: str

    def __str__(self) -> str:
        span = (f"{format_timestamp(self.first)} .. {format_timestamp(self.last)}"
                if self.first is not None and self.last is not None else "(empty)")
        return (f"{self.rows} rows {span}, {self.rolls} rolls, calendar "
                f"{self.convention.value} ({self.convention_source})")


def infer_convention(calendar_dates: pd.DatetimeIndex,
                     multiple: MultiplePrices) -> CalendarConvention:
    """Which convention the calendar dates follow, judged against stored multiple prices.

    A FIRST_OF_NEW date is the timestamp of the first row of a new PRICE_CONTRACT, a LAST_OF_OLD
    date that of the row before. Raises :class:`MissingData` if neither matches at least half of
    the rolls of the multiple prices inside the calendar's span, and more than the other.
    """
    if len(multiple) < 2:
        raise MissingData("too few multiple prices to infer the calendar convention")
    rolls = multiple.roll_positions()
    index = multiple.index
    first_of_new = index[rolls]
    last_of_old = index[rolls - 1]
    inside = (first_of_new >= calendar_dates[0]) & (first_of_new <= calendar_dates[-1])
    n_rolls = int(inside.sum())
    hits_new = int(first_of_new[inside].isin(calendar_dates).sum())
    hits_old = int(last_of_old[inside].isin(calendar_dates).sum())
    if n_rolls and hits_new * 2 >= n_rolls and hits_new > hits_old:
        return CalendarConvention.FIRST_OF_NEW
    if n_rolls and hits_old * 2 >= n_rolls and hits_old > hits_new:
        return CalendarConvention.LAST_OF_OLD
    raise MissingData(
        f"cannot infer the calendar convention: of {n_rolls} rolls in the stored multiple prices, "
        f"{hits_new} are on a calendar date as first of new and {hits_old} as last of old"
    )


def resolve_convention(data: DataBlob, instrument_code: str, calendar: pd.DataFrame,
                       convention: CalendarConvention | str | None,
                       ) -> tuple[CalendarConvention, str]:
    """The convention of the stored ``calendar`` and its source (module docstring, steps 1-4)."""
    if convention is not None:
        return as_convention(convention), "argument"
    calendar_dates = calendar.index
    recorded = RollCalendarConventions(data.state).get(instrument_code, calendar)
    if recorded is not None:
        return recorded, "recorded"
    if data.multiple_prices.has(instrument_code):
        multiple = MultiplePrices(data.multiple_prices.read(instrument_code))
        return infer_convention(calendar_dates, multiple), "inferred"
    raise MissingData(
        f"the convention of the roll calendar of {instrument_code} is unknown (not recorded, no "
        "multiple prices to infer it from): pass --convention last_of_old (generated from "
        "contract prices) or --convention first_of_new (backed out of multiple prices, as "
        "pysystemtrade's files)"
    )


def build_multiple_prices_for_instrument(
    data: DataBlob, instrument_code: str,
    convention: CalendarConvention | str | None = None,
    overwrite: bool = False,
    phantom_roll_days: int = 0,
) -> MultipleBuild:
    """Build and store the multiple prices of one instrument (module docstring)."""
    log = get_logger(PROCESS, instrument_code=instrument_code)
    recover_pending_roll(data, instrument_code)  # its staged prices must not overwrite ours later
    if not data.roll_calendars.has(instrument_code):
        raise MissingData(f"no roll calendar stored for {instrument_code}")
    frame = data.roll_calendars.read(instrument_code)
    if data.multiple_prices.has(instrument_code) and not overwrite:
        stored = data.multiple_prices.read(instrument_code)
        raise ExistingData(
            f"multiple prices for {instrument_code} already stored ({len(stored)} rows to "
            f"{format_timestamp(stored.index[-1]) if len(stored) else 'nothing'}); not replaced "
            "(--overwrite true replaces them)"
        )
    used, source = resolve_convention(data, instrument_code, frame, convention)
    calendar = RollCalendar(frame, used)
    if phantom_roll_days:
        if used is not CalendarConvention.LAST_OF_OLD:
            raise InvalidData("a phantom roll can only extend a last_of_old calendar, whose last "
                              "row is a real roll")
        parameters = data.roll_parameters.get(instrument_code)
        calendar = with_phantom_roll(calendar, parameters,
                                     data.now() + pd.Timedelta(days=phantom_roll_days))
    needed = set(calendar.data.to_numpy().ravel())
    prices = {}
    for contract in data.contract_prices.contracts_with_prices(instrument_code, "merged"):
        if contract in needed:
            bars = data.contract_prices.read(instrument_code, contract, "merged")
            prices[contract] = bars["FINAL"]
    multiple = build_from_contract_prices(prices, calendar)
    if len(multiple) == 0:
        raise MissingData(f"no multiple prices could be built for {instrument_code}: no stored "
                          "per-contract prices inside the calendar's windows")
    if data.multiple_prices.has(instrument_code):
        stored = data.multiple_prices.read(instrument_code)
        log.warning("%s: replacing %d stored multiple-price rows (%s .. %s) with %d built rows "
                    "(%s .. %s)", instrument_code, len(stored),
                    stored.index[0] if len(stored) else None,
                    stored.index[-1] if len(stored) else None, len(multiple),
                    multiple.index[0], multiple.index[-1])
    data.multiple_prices.write(instrument_code, multiple.data)
    result = MultipleBuild(instrument_code, len(multiple), multiple.index[0], multiple.index[-1],
                           len(multiple.roll_positions()), used, source)
    log.info("%s: multiple prices built: %s; run build_adjusted_prices next", instrument_code,
             result)
    return result


def build_multiple_prices(
    instrument_code: str = "ALL",
    convention: CalendarConvention | str | None = None,
    overwrite: bool = False,
    phantom_roll_days: int = 0,
    data: DataBlob | None = None,
) -> ProcessReport:
    """Build multiple prices for one instrument or ``"ALL"`` with a stored roll calendar."""
    with blob_for(data, PROCESS) as blob:
        codes = blob.roll_calendars.list_codes() if instrument_code == "ALL" else [instrument_code]
        return each_item(blob, PROCESS, sorted(codes), str, lambda code: (
            build_multiple_prices_for_instrument(blob, code, convention, overwrite,
                                                 phantom_roll_days)))
