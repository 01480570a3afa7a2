"""Contract-date arithmetic: roll cycles, approximate expiries, roll dates, contract chains.

A contract date is ``YYYYMM`` (month only) or ``YYYYMMDD`` (a specific day, e.g. weeklies).
pysystemtrade's ``YYYYMM00`` is accepted and means ``YYYYMM``. All functions here are pure and
work on calendar dates (:class:`datetime.date`); a timestamp argument is reduced to its UTC date.

Rules (pysystemtrade semantics):

- *next / previous in a cycle*: the next (previous) month of the roll cycle strictly after
  (before) the contract's month, wrapping into the next (previous) year. The contract's month must
  be in the cycle. A day in the contract date is dropped: the result is ``YYYYMM``.
- *approximate expiry*: for ``YYYYMM`` it is the first day of the contract month plus
  ``expiry_offset`` calendar days (``expiry_offset`` = day-of-month of expiry − 1, can be
  negative); for ``YYYYMMDD`` it is that day.
- *desired roll date*: expiry (actual if known, else approximate) + ``roll_offset_days``.
- *current (priced) contract on date d*: the earliest hold-cycle contract whose desired roll date
  is strictly after d. On its roll date we already hold the next one.
- *forward contract*: the next contract in the hold cycle after the current one.
- *carry contract*: the current contract moved by ``carry_offset`` (−1 / +1) in the priced cycle.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from syscore.exceptions import InvalidData
from sysobjects.contracts import validate_contract_date
from sysobjects.roll_parameters import MONTH_LETTERS, RollParameters, validate_roll_cycle


@dataclass(frozen=True, order=True)
class ContractDate:
    """A parsed contract date. ``day`` is ``None`` for month-only contracts."""

    year: int
    month: int
    day: int | None = None

    @classmethod
    def parse(cls, contract_date: str | int) -> ContractDate:
        text = validate_contract_date(str(contract_date))
        day = int(text[6:8]) if len(text) == 8 else None
        return cls(int(text[:4]), int(text[4:6]), day)

    @property
    def key(self) -> str:
        """Normalised text: ``YYYYMM`` or ``YYYYMMDD``."""
        base = f"{self.year:04d}{self.month:02d}"
        return base if self.day is None else f"{base}{self.day:02d}"

    @property
    def pysystemtrade_id(self) -> str:
        """pysystemtrade's 8-digit id: ``YYYYMM00`` for month-only contracts."""
        return f"{self.year:04d}{self.month:02d}{self.day or 0:02d}"

    @property
    def letter(self) -> str:
        """Exchange month letter (F = January .. Z = December)."""
        return MONTH_LETTERS[self.month - 1]

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def month_index(self) -> int:
        """Months since year 0: a monotone integer for ordering and arithmetic."""
        return self.year * 12 + self.month - 1


def _as_date(value: dt.date | dt.datetime | pd.Timestamp | str) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC")
    return ts.date()


def _from_month_index(index: int) -> ContractDate:
    return ContractDate(index // 12, index % 12 + 1)


def _cycle_months(cycle: str) -> list[int]:
    validate_roll_cycle(cycle)
    return [MONTH_LETTERS.index(letter) + 1 for letter in cycle]


def to_pysystemtrade_contract_id(contract_date: str | int) -> str:
    """``"202112"`` -> ``"20211200"``; ``"20211215"`` unchanged."""
    return ContractDate.parse(contract_date).pysystemtrade_id


def _check_in_cycle(cd: ContractDate, cycle: str) -> list[int]:
    months = _cycle_months(cycle)
    if cd.month not in months:
        raise InvalidData(
            f"contract {cd.key} (month {cd.letter}) is not in roll cycle {cycle!r}"
        )
    return months


def next_contract_in_cycle(contract_date: str | int, cycle: str) -> str:
    """The next contract month in ``cycle`` after ``contract_date`` (``YYYYMM``)."""
    cd = ContractDate.parse(contract_date)
    months = _check_in_cycle(cd, cycle)
    later = [m for m in months if m > cd.month]
    if later:
        return ContractDate(cd.year, later[0]).key
    return ContractDate(cd.year + 1, months[0]).key


def previous_contract_in_cycle(contract_date: str | int, cycle: str) -> str:
    """The previous contract month in ``cycle`` before ``contract_date`` (``YYYYMM``)."""
    cd = ContractDate.parse(contract_date)
    months = _check_in_cycle(cd, cycle)
    earlier = [m for m in months if m < cd.month]
    if earlier:
        return ContractDate(cd.year, earlier[-1]).key
    return ContractDate(cd.year - 1, months[-1]).key


def first_contract_in_cycle_on_or_after(year: int, month: int, cycle: str) -> str:
    """The first contract of ``cycle`` in month ``year-month`` or later (``YYYYMM``)."""
    months = _cycle_months(cycle)
    later = [m for m in months if m >= month]
    if later:
        return ContractDate(year, later[0]).key
    return ContractDate(year + 1, months[0]).key


def approximate_expiry(contract_date: str | int, roll_parameters: RollParameters) -> dt.date:
    """Approximate expiry (calendar date): first of month + ``expiry_offset`` days.

    A ``YYYYMMDD`` contract expires on its day; ``expiry_offset`` is then not used.
    """
    cd = ContractDate.parse(contract_date)
    if cd.day is not None:
        return dt.date(cd.year, cd.month, cd.day)
    return cd.first_day + dt.timedelta(days=roll_parameters.expiry_offset)


def desired_roll_date(
    contract_date: str | int,
    roll_parameters: RollParameters,
    expiry: dt.date | None = None,
) -> dt.date:
    """Date on which we want to roll out of ``contract_date``: expiry + ``roll_offset_days``.

    ``expiry`` is the actual expiry when known; otherwise the approximate one is used.
    """
    when = expiry if expiry is not None else approximate_expiry(contract_date, roll_parameters)
    return when + dt.timedelta(days=roll_parameters.roll_offset_days)


def forward_contract(price_contract: str | int, roll_parameters: RollParameters) -> str:
    """The contract we will roll into: the next one in the hold cycle."""
    return next_contract_in_cycle(price_contract, roll_parameters.hold_roll_cycle)


def carry_contract(price_contract: str | int, roll_parameters: RollParameters) -> str:
    """The carry contract: ``carry_offset`` (−1 / +1) steps in the priced cycle."""
    cycle = roll_parameters.priced_roll_cycle
    if roll_parameters.carry_offset > 0:
        return next_contract_in_cycle(price_contract, cycle)
    return previous_contract_in_cycle(price_contract, cycle)


@dataclass(frozen=True)
class ContractsOnDate:
    """The three contracts in use on a date (``YYYYMM`` each)."""

    current: str
    forward: str
    carry: str


def current_contract_for_date(
    date: dt.date | dt.datetime | pd.Timestamp | str, roll_parameters: RollParameters
) -> str:
    """The hold-cycle contract priced on ``date``: earliest one whose roll date is after ``date``."""
    day = _as_date(date)
    cycle = roll_parameters.hold_roll_cycle
    shift = roll_parameters.expiry_offset + roll_parameters.roll_offset_days
    # the roll date of a contract is its month start + shift (+ < 1 month for the day)
    threshold = day - dt.timedelta(days=shift)
    start = _from_month_index(threshold.year * 12 + threshold.month - 1 - 2)
    candidate = first_contract_in_cycle_on_or_after(start.year, start.month, cycle)
    while desired_roll_date(candidate, roll_parameters) <= day:
        candidate = next_contract_in_cycle(candidate, cycle)
    return candidate


def contracts_for_date(
    date: dt.date | dt.datetime | pd.Timestamp | str, roll_parameters: RollParameters
) -> ContractsOnDate:
    """Current, forward and carry contracts on ``date`` from the roll parameters alone."""
    current = current_contract_for_date(date, roll_parameters)
    return ContractsOnDate(
        current=current,
        forward=forward_contract(current, roll_parameters),
        carry=carry_contract(current, roll_parameters),
    )


def contracts_in_chain(
    start: dt.date | dt.datetime | pd.Timestamp | str,
    end: dt.date | dt.datetime | pd.Timestamp | str,
    roll_parameters: RollParameters,
) -> list[str]:
    """Hold-cycle contracts that are current at some date in ``[start, end]``, in order."""
    first_day, last_day = _as_date(start), _as_date(end)
    if last_day < first_day:
        raise InvalidData(f"chain end {last_day} is before start {first_day}")
    cycle = roll_parameters.hold_roll_cycle
    contract = current_contract_for_date(first_day, roll_parameters)
    last = current_contract_for_date(last_day, roll_parameters)
    chain = [contract]
    while contract != last:
        contract = next_contract_in_cycle(contract, cycle)
        chain.append(contract)
    return chain


def contracts_needed(
    start: dt.date | dt.datetime | pd.Timestamp | str,
    end: dt.date | dt.datetime | pd.Timestamp | str,
    roll_parameters: RollParameters,
) -> list[str]:
    """Every contract (current, forward or carry) used in ``[start, end]``, sorted."""
    needed: set[str] = set()
    for current in contracts_in_chain(start, end, roll_parameters):
        needed.update(
            (current, forward_contract(current, roll_parameters),
             carry_contract(current, roll_parameters))
        )
    return sorted(needed, key=lambda c: ContractDate.parse(c))
