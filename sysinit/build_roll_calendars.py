"""Build roll calendars from stored per-contract prices and roll parameters.

``build_roll_calendars("ALL")`` generates a calendar for every instrument that has stored
per-contract prices (frequency ``merged``) and roll parameters; ``build_roll_calendars("CORN")``
for one. The rule is pysystemtrade's (README §3, ``docs/prices.md`` "Roll calendars"):

1. *approximate*: start at the earliest hold-cycle contract with prices and walk the hold cycle
   while the next contract has prices; each roll on the desired roll date (approximate expiry +
   ``roll_offset_days``) at 00:00 UTC;
2. *adjust*: move each roll to the nearest timestamp (ties: earlier) at which the current, next
   and carry contracts all have a FINAL price, strictly after the previous roll.
   ``require_carry=None`` (default) first requires the carry contract, and if some roll has no
   such timestamp (typical for ``CarryOffset = -1``: the nearer carry contract has expired by the
   roll date) requires only current and next, saying so in the report; ``True``/``False`` force
   one behaviour.

The result uses the :attr:`~sysobjects.roll_calendar.CalendarConvention.LAST_OF_OLD` convention
(each date is the last timestamp priced off the old contract, where both contracts have a price).
Pass ``convention=CalendarConvention.FIRST_OF_NEW`` (or ``"first_of_new"``) to store it restated
in pysystemtrade's backed-out convention instead: each date moves to the next timestamp at which
any of the instrument's contracts has a price.

The stored calendar table has no room for its convention, so the convention is recorded next to
it, with a fingerprint of the calendar, in the state collection ``roll_calendar_conventions``
(:class:`RollCalendarConventions`); :func:`sysinit.build_multiple_prices.build_multiple_prices`
reads it back while the stored calendar is still the one it was recorded for.

A stored calendar is replaced only with ``overwrite=True`` (``--overwrite true``; WARNING logged
with the old extent): it may have been imported from pysystemtrade or edited by hand, and the
multiple prices built from it would move. Without it the instrument fails with
:class:`~syscore.exceptions.ExistingData`, the others go on, and the command exits non-zero.

    python run.py sysinit.build_roll_calendars.build_roll_calendars --instrument_code ALL [--overwrite true]
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pandas as pd

from syscore.exceptions import ExistingData, InvalidData, MissingData
from syscore.formatting import format_timestamp
from sysdata.data_blob import DataBlob
from sysdata.state.base import StateStore
from syslogdiag.context import get_logger
from sysobjects.roll_calendar import (
    CalendarConvention,
    RollCalendar,
    convert_calendar_convention,
    generate_roll_calendar,
    normalise_contract_price_keys,
)
from sysproduction.process_helpers import ProcessReport, WrittenResult, blob_for, each_item

PROCESS = "build_roll_calendars"
CONVENTIONS = "roll_calendar_conventions"


class RollCalendarConventions:
    """The date convention of each stored roll calendar (state collection
    ``roll_calendar_conventions``, key = instrument code).

    Each record holds the convention and a fingerprint of the calendar it was recorded for, so a
    calendar replaced later by other means (e.g. an import of pysystemtrade's CSV files) is not
    read with a stale convention.
    """

    def __init__(self, store: StateStore):
        self.store = store

    @staticmethod
    def fingerprint(calendar: pd.DataFrame) -> str:
        """SHA-256 of the calendar's UTC dates and contract ids (as stored)."""
        digest = hashlib.sha256(pd.DatetimeIndex(calendar.index).asi8.tobytes())
        for column in ("current_contract", "next_contract", "carry_contract"):
            digest.update("|".join(map(str, calendar[column])).encode())
        return digest.hexdigest()

    def set(self, instrument_code: str, convention: CalendarConvention,
            calendar: pd.DataFrame) -> None:
        self.store.put(CONVENTIONS, instrument_code, {
            "convention": convention.value, "fingerprint": self.fingerprint(calendar)})

    def get(self, instrument_code: str, calendar: pd.DataFrame) -> CalendarConvention | None:
        """The convention recorded for exactly this (stored) calendar, else None (nothing
        recorded, e.g. an imported CSV, or recorded for a calendar since replaced)."""
        doc = self.store.get(CONVENTIONS, instrument_code)
        if doc is None or doc.get("fingerprint") != self.fingerprint(calendar):
            return None
        return CalendarConvention(doc["convention"])

    def delete(self, instrument_code: str) -> None:
        self.store.delete(CONVENTIONS, instrument_code)


def as_convention(value: CalendarConvention | str) -> CalendarConvention:
    """A :class:`CalendarConvention` from itself, its value (``"last_of_old"``) or its name."""
    if isinstance(value, CalendarConvention):
        return value
    text = str(value).strip()
    for convention in CalendarConvention:
        if text.lower() in (convention.value, convention.name.lower()):
            return convention
    raise InvalidData(f"unknown calendar convention {value!r}; expected one of "
                      f"{', '.join(c.value for c in CalendarConvention)}")


def stored_final_prices(data: DataBlob, instrument_code: str) -> dict[str, pd.Series]:
    """FINAL price (price units, UTC index) of every contract with stored ``merged`` bars."""
    return {
        contract: data.contract_prices.read(instrument_code, contract, "merged")["FINAL"]
        for contract in data.contract_prices.contracts_with_prices(instrument_code, "merged")
    }


@dataclass(frozen=True)
class CalendarBuild(WrittenResult):
    """Outcome for one instrument: number of calendar rows, first and last roll dates (UTC),
    convention stored, and whether the carry contract was required when adjusting."""

    instrument_code: str
    rows: int
    first: pd.Timestamp
    last: pd.Timestamp
    convention: CalendarConvention
    carry_required: bool

    def __str__(self) -> str:
        carry = "" if self.carry_required else " (carry prices not required)"
        return (f"{self.rows} rolls {format_timestamp(self.first)} .. "
                f"{format_timestamp(self.last)}, "
                f"{self.convention.value}{carry}")


def generate_calendar(roll_parameters, prices: dict[str, pd.Series],
                      require_carry: bool | None) -> tuple[RollCalendar, bool]:
    """The adjusted LAST_OF_OLD calendar and whether carry prices were required."""
    if require_carry is not None:
        return generate_roll_calendar(roll_parameters, prices, require_carry=require_carry), \
            require_carry
    try:
        return generate_roll_calendar(roll_parameters, prices, require_carry=True), True
    except MissingData:
        return generate_roll_calendar(roll_parameters, prices, require_carry=False), False


def _extent(calendar: pd.DataFrame) -> str:
    """``N rolls <first> .. <last>`` (UTC, :func:`format_timestamp`) for messages."""
    if not len(calendar):
        return "0 rolls"
    return (f"{len(calendar)} rolls {format_timestamp(calendar.index[0])} .. "
            f"{format_timestamp(calendar.index[-1])}")


def build_roll_calendar_for_instrument(
    data: DataBlob, instrument_code: str,
    convention: CalendarConvention | str = CalendarConvention.LAST_OF_OLD,
    require_carry: bool | None = None,
    overwrite: bool = False,
) -> CalendarBuild:
    """Generate, store and record the convention of one instrument's calendar; a stored
    calendar is replaced only with ``overwrite`` (else :class:`ExistingData`)."""
    log = get_logger(PROCESS, instrument_code=instrument_code)
    convention = as_convention(convention)
    if data.roll_calendars.has(instrument_code) and not overwrite:
        old = data.roll_calendars.read(instrument_code)
        raise ExistingData(
            f"roll calendar for {instrument_code} already stored ({_extent(old)}); not replaced "
            "(--overwrite true replaces it)")
    parameters = data.roll_parameters.get(instrument_code)
    prices = stored_final_prices(data, instrument_code)
    if not prices:
        raise MissingData(f"no per-contract (merged) prices stored for {instrument_code}")
    calendar, carry_required = generate_calendar(parameters, prices, require_carry)
    if convention is not calendar.convention:
        stamps = pd.DatetimeIndex([]).tz_localize("UTC")
        for series in normalise_contract_price_keys(prices).values():
            stamps = stamps.union(series.dropna().index)
        calendar = convert_calendar_convention(calendar, stamps, convention)
    if data.roll_calendars.has(instrument_code):
        old = data.roll_calendars.read(instrument_code)
        log.warning("%s: replacing stored roll calendar (%s)", instrument_code, _extent(old))
    data.roll_calendars.write(instrument_code, calendar.data)
    RollCalendarConventions(data.state).set(instrument_code, convention,
                                            data.roll_calendars.read(instrument_code))
    frame = calendar.data
    result = CalendarBuild(instrument_code, len(frame), frame.index[0], frame.index[-1],
                           convention, carry_required)
    log.info("%s: roll calendar built: %s", instrument_code, result)
    return result


def build_roll_calendars(
    instrument_code: str = "ALL",
    convention: CalendarConvention | str = CalendarConvention.LAST_OF_OLD,
    require_carry: bool | None = None,
    overwrite: bool = False,
    data: DataBlob | None = None,
) -> ProcessReport:
    """Build and store roll calendars for one instrument or ``"ALL"`` (module docstring).

    ``ALL`` means every instrument with roll parameters and stored merged per-contract prices.
    A stored calendar is replaced only with ``overwrite``.
    """
    with blob_for(data, PROCESS) as blob:
        if instrument_code == "ALL":
            with_prices = {
                s.split("/")[0] for s in blob.timeseries.symbols(blob.contract_prices.library)
                if s.endswith("/merged")
            }
            codes = sorted(c for c in blob.roll_parameters.list_codes() if c in with_prices)
        else:
            codes = [instrument_code]
        return each_item(blob, PROCESS, codes, str, lambda code: build_roll_calendar_for_instrument(
            blob, code, convention, require_carry, overwrite))
