"""Roll calendars: when the priced contract changes, and to which contracts.

A calendar is a table indexed by UTC timestamp with columns ``current_contract``,
``next_contract`` and ``carry_contract`` (``YYYYMM`` / ``YYYYMMDD``). Row *k* records one roll
from ``current_contract`` to ``next_contract``; ``carry_contract`` is the carry contract used
*before* the roll. Two date conventions exist (README §1, §3.6):

- :attr:`CalendarConvention.LAST_OF_OLD` (calendars generated from contract prices): the date is
  the **last** timestamp priced off ``current_contract``; on it both contracts have a price, so
  the roll gap can be measured. Row 0 only marks where the data starts. Build windows are
  ``(date_{k-1}, date_k]``.
- :attr:`CalendarConvention.FIRST_OF_NEW` (pysystemtrade's calendars backed out of multiple
  prices): the date is the **first** timestamp at which ``next_contract`` is priced. The last row
  is an extra row at the final timestamp at back-out time holding the contracts in use then. Build
  windows are ``[date_{k-1}, date_k)``.

In both conventions window *k* (k ≥ 1) is priced off row *k*'s three contracts.

Generation (pysystemtrade's method): :func:`approximate_roll_calendar` puts each roll on the
desired roll date from the roll parameters; :func:`adjust_roll_calendar` then moves each roll to
the nearest timestamp at which current, next and carry contracts all have a price.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum

import numpy as np
import pandas as pd

from syscore.exceptions import InvalidData, MissingData
from sysobjects.contract_dates import (
    ContractDate,
    carry_contract,
    desired_roll_date,
    forward_contract,
)
from sysobjects.multiple_prices import normalise_contract_ids
from sysobjects.roll_parameters import RollParameters
from sysobjects.timeindex import as_utc_index, as_utc_timestamp, checked_frame_index

CURRENT = "current_contract"
NEXT = "next_contract"
CARRY_C = "carry_contract"
CALENDAR_COLUMNS = (CURRENT, NEXT, CARRY_C)


class CalendarConvention(Enum):
    """What a calendar date means (see module docstring)."""

    LAST_OF_OLD = "last_of_old"
    FIRST_OF_NEW = "first_of_new"


@dataclass(frozen=True)
class RollCalendar:
    """Validated roll calendar. Treat ``data`` as read-only.

    Checks: UTC, strictly increasing dates; contract ids valid; consecutive rows chain
    (``current_k == next_{k-1}``) except into row 1 of a LAST_OF_OLD calendar, whose row 0 is only
    a start marker.
    """

    data: pd.DataFrame
    convention: CalendarConvention = CalendarConvention.LAST_OF_OLD

    def __post_init__(self) -> None:
        frame = self.data
        if not isinstance(self.convention, CalendarConvention):
            raise InvalidData(f"roll calendar: unknown convention {self.convention!r}")
        index = checked_frame_index(frame, CALENDAR_COLUMNS, "roll calendar")
        clean = pd.DataFrame(index=index)
        clean.index.name = "DATE_TIME"
        for column in CALENDAR_COLUMNS:
            clean[column] = normalise_contract_ids(
                frame[column].set_axis(index), f"roll calendar {column}"
            )
        start = 2 if self.convention is CalendarConvention.LAST_OF_OLD else 1
        current = clean[CURRENT].to_numpy()
        nxt = clean[NEXT].to_numpy()
        if len(clean) > start:
            broken = current[start:] != nxt[start - 1:-1]
            if broken.any():
                k = int(broken.argmax()) + start
                raise InvalidData(
                    f"roll calendar row {index[k]}: current contract {current[k]} is not the "
                    f"previous row's next contract {nxt[k - 1]}"
                )
        object.__setattr__(self, "data", clean)

    def __len__(self) -> int:
        return len(self.data)


def approximate_roll_calendar(
    roll_parameters: RollParameters, contracts_with_prices: Iterable[str]
) -> RollCalendar:
    """Approximate calendar (LAST_OF_OLD) from roll parameters and the contracts that have prices.

    Starts at the earliest hold-cycle contract that has prices and walks the hold cycle while the
    next contract has prices. Each roll is dated at 00:00 UTC on the current contract's desired
    roll date (approximate expiry + roll offset). The first row doubles as the start marker.
    """
    available = {ContractDate.parse(c).key for c in contracts_with_prices}
    hold = roll_parameters.hold_roll_cycle
    in_hold = sorted(
        (c for c in available if ContractDate.parse(c).letter in hold),
        key=ContractDate.parse,
    )
    if not in_hold:
        raise MissingData(f"no prices for any contract in hold cycle {hold!r}")
    rows = []
    current = in_hold[0]
    while True:
        nxt = forward_contract(current, roll_parameters)
        if nxt not in available:
            break
        rows.append((
            as_utc_timestamp(desired_roll_date(current, roll_parameters)),
            current, nxt, carry_contract(current, roll_parameters),
        ))
        current = nxt
    if len(rows) < 2:
        raise MissingData(
            f"need prices for at least three consecutive hold-cycle contracts from {in_hold[0]}"
        )
    frame = pd.DataFrame(
        [r[1:] for r in rows], index=pd.DatetimeIndex([r[0] for r in rows]),
        columns=list(CALENDAR_COLUMNS),
    )
    return RollCalendar(frame, CalendarConvention.LAST_OF_OLD)


def _priced_stamps(series: pd.Series | None) -> np.ndarray:
    """Sorted unique UTC nanosecond timestamps at which ``series`` has a non-NaN price."""
    if series is None:
        return np.array([], dtype=np.int64)
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    stamps = as_utc_index(series.index).asi8[~np.isnan(values)]
    return np.unique(stamps)


def normalise_contract_price_keys(
    contract_prices: Mapping[str, pd.Series],
) -> dict[str, pd.Series]:
    """Re-key a contract-price mapping by normalised contract id (``YYYYMM`` / ``YYYYMMDD``)."""
    return {ContractDate.parse(k).key: v for k, v in contract_prices.items()}


def adjust_roll_calendar(
    calendar: RollCalendar,
    contract_prices: Mapping[str, pd.Series],
    require_carry: bool = True,
) -> RollCalendar:
    """Move each roll to the nearest timestamp where current, next and carry all have prices.

    ``contract_prices`` maps contract id to its FINAL series (UTC index). For each row, in order,
    the candidate timestamps are those where all three contracts (``require_carry=False``: current
    and next only) have a non-NaN price and which are strictly after the previous adjusted date.
    The candidate closest to the approximate date wins; on a tie the earlier one. The result uses
    the LAST_OF_OLD convention. Trailing rolls whose approximate date is after the last price of
    any contract have not happened yet: the calendar ends before them. Otherwise a roll with no candidate raises
    :class:`MissingData` naming it.
    """
    prices = normalise_contract_price_keys(contract_prices)
    frame = calendar.data
    stamps = {c: _priced_stamps(prices.get(c)) for c in pd.unique(frame.to_numpy().ravel())}
    data_end = max((int(v[-1]) for v in stamps.values() if len(v)), default=0)
    new_dates = []
    previous = None
    for when, current, nxt, carry in zip(
        frame.index, frame[CURRENT], frame[NEXT], frame[CARRY_C], strict=True
    ):
        valid = np.intersect1d(stamps[current], stamps[nxt], assume_unique=True)
        if require_carry:
            valid = np.intersect1d(valid, stamps[carry], assume_unique=True)
        if previous is not None:
            valid = valid[valid > previous.value]
        if new_dates and when.value > data_end:
            break  # this roll and any later ones have not happened yet: the calendar ends here
        if len(valid) == 0:
            raise MissingData(
                f"roll calendar: no timestamp after {previous} where {current}, "
                f"{nxt}" + (f" and {carry}" if require_carry else "")
                + f" all have prices (approximate roll {when})"
            )
        pos = int(np.searchsorted(valid, when.value))
        choices = [p for p in (pos - 1, pos) if 0 <= p < len(valid)]
        distances = [abs(int(valid[p]) - when.value) for p in choices]
        best = pd.Timestamp(int(valid[choices[int(np.argmin(distances))]]), tz="UTC")
        new_dates.append(best)
        previous = best
    adjusted = frame.iloc[:len(new_dates)].set_axis(pd.DatetimeIndex(new_dates))
    return RollCalendar(adjusted, CalendarConvention.LAST_OF_OLD)


def generate_roll_calendar(
    roll_parameters: RollParameters,
    contract_prices: Mapping[str, pd.Series],
    require_carry: bool = True,
) -> RollCalendar:
    """Approximate calendar from roll parameters, adjusted to dates with matched prices."""
    prices = normalise_contract_price_keys(contract_prices)
    with_prices = [k for k, v in prices.items() if v.notna().any()]
    approx = approximate_roll_calendar(roll_parameters, with_prices)
    return adjust_roll_calendar(approx, prices, require_carry=require_carry)


def with_phantom_roll(
    calendar: RollCalendar, roll_parameters: RollParameters, at
) -> RollCalendar:
    """Append a phantom roll row at ``at`` (e.g. a week ahead) so a build runs up to today.

    The row rolls from the last row's next contract to its forward contract.
    """
    when = as_utc_timestamp(at, "phantom roll date")
    frame = calendar.data
    if len(frame) and when <= frame.index[-1]:
        raise InvalidData(f"phantom roll {when} is not after the last roll {frame.index[-1]}")
    current = frame[NEXT].iloc[-1]
    row = pd.DataFrame(
        [[current, forward_contract(current, roll_parameters),
          carry_contract(current, roll_parameters)]],
        index=pd.DatetimeIndex([when]), columns=list(CALENDAR_COLUMNS),
    )
    return RollCalendar(pd.concat([frame, row]), calendar.convention)


def convert_calendar_convention(
    calendar: RollCalendar, timestamps: pd.DatetimeIndex, to: CalendarConvention
) -> RollCalendar:
    """Restate ``calendar`` in the other date convention, covering the same rows.

    ``timestamps`` are the price timestamps the calendar refers to (e.g. the multiple-price
    index). FIRST_OF_NEW -> LAST_OF_OLD moves every date to the previous timestamp (1 s earlier if
    there is none); LAST_OF_OLD -> FIRST_OF_NEW moves every date to the next timestamp (1 s later
    if there is none). Window ``[d_{k-1}, d_k)`` then becomes ``(prev(d_{k-1}), prev(d_k)]`` and
    vice versa, so a build gives the same rows in both conventions (README §3.6).
    """
    if calendar.convention is to:
        return calendar
    stamps = as_utc_index(timestamps, "calendar timestamps").sort_values().unique()
    dates = calendar.data.index
    one_second = pd.Timedelta(seconds=1)
    if to is CalendarConvention.LAST_OF_OLD:
        pos = stamps.searchsorted(dates, side="left") - 1
        moved = [stamps[p] if p >= 0 else d - one_second for p, d in zip(pos, dates, strict=True)]
    else:
        pos = stamps.searchsorted(dates, side="right")
        moved = [
            stamps[p] if p < len(stamps) else d + one_second
            for p, d in zip(pos, dates, strict=True)
        ]
    return RollCalendar(calendar.data.set_axis(pd.DatetimeIndex(moved)), to)
