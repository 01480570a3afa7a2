"""Building multiple prices from per-contract prices and a roll calendar, and the reverse.

Build rule (README §3): for each calendar row *k* ≥ 1 the window is ``(date_{k-1}, date_k]``
(LAST_OF_OLD) or ``[date_{k-1}, date_k)`` (FIRST_OF_NEW). Inside it PRICE, FORWARD and CARRY are
the FINAL prices of row *k*'s current, next and carry contracts; the window's rows are the union of
the timestamps at which any of the three has a (non-NaN) price.

Checks: a current contract with no series before any data has been produced is skipped (data not
started yet); a current contract missing later raises :class:`MissingData`; a missing next or
carry contract is allowed only on the last calendar row (NaN), else :class:`MissingData`. A
contract present with an empty series counts as present (it simply has no prices).
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from syscore.exceptions import InvalidData, MissingData
from sysobjects.multiple_prices import (
    CONTRACT_COLUMN_FOR,
    CONTRACT_COLUMNS,
    MULTIPLE_PRICE_COLUMNS,
    PRICE_COLUMNS,
    MultiplePrices,
)
from sysobjects.roll_calendar import (
    CALENDAR_COLUMNS,
    CalendarConvention,
    RollCalendar,
    normalise_contract_price_keys,
)
from sysobjects.timeindex import as_utc_index

_EMPTY = pd.Series(dtype=float, index=pd.DatetimeIndex([], tz="UTC"))
_NO_PRICES = (np.array([], dtype=np.int64), np.array([], dtype=float))


def _prepare(contract_prices: Mapping[str, pd.Series]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Contract id -> (UTC nanosecond timestamps, prices), NaN removed, sorted."""
    prepared = {}
    for key, series in normalise_contract_price_keys(contract_prices).items():
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
        stamps = as_utc_index(series.index, f"prices of {key}").asi8
        keep = ~np.isnan(values)
        values, stamps = values[keep], stamps[keep]
        if len(stamps) > 1 and (np.diff(stamps) <= 0).any():
            order = np.argsort(stamps, kind="stable")
            stamps, values = stamps[order], values[order]
            if (np.diff(stamps) == 0).any():
                raise InvalidData(f"prices of contract {key} have duplicated timestamps")
        prepared[key] = (stamps, values)
    return prepared


def _window(
    prices: tuple[np.ndarray, np.ndarray], start: int, end: int, convention: CalendarConvention
) -> tuple[np.ndarray, np.ndarray]:
    stamps, values = prices
    side = "right" if convention is CalendarConvention.LAST_OF_OLD else "left"
    lo, hi = np.searchsorted(stamps, start, side), np.searchsorted(stamps, end, side)
    return stamps[lo:hi], values[lo:hi]


def build_multiple_prices(
    contract_prices: Mapping[str, pd.Series], calendar: RollCalendar
) -> MultiplePrices:
    """Multiple prices from per-contract FINAL prices and a roll calendar (module docstring)."""
    prices = _prepare(contract_prices)
    frame = calendar.data
    dates = frame.index.asi8
    labels = frame[list(CALENDAR_COLUMNS)].to_numpy()
    n_rows = len(frame)
    stamp_parts, value_parts, label_parts = [], [[], [], []], [[], [], []]
    started = False
    for k in range(1, n_rows):
        contracts = labels[k]
        last_row = k == n_rows - 1
        current = contracts[0]
        if current not in prices:
            if not started:
                continue
            raise MissingData(
                f"no prices for current contract {current} in the middle of the roll calendar "
                f"(roll at {frame.index[k]})"
            )
        windows = []
        for column, contract in zip(PRICE_COLUMNS, contracts, strict=True):
            series = prices.get(contract)
            if series is None:
                if not last_row:
                    raise MissingData(
                        f"no prices for {column.lower()} contract {contract} (roll calendar row "
                        f"{frame.index[k]}); only allowed on the last row"
                    )
                series = _NO_PRICES
            windows.append(_window(series, dates[k - 1], dates[k], calendar.convention))
        stamps = np.unique(np.concatenate([w[0] for w in windows]))
        if len(stamps) == 0:
            continue
        started = True
        stamp_parts.append(stamps)
        for j, (w_stamps, w_values) in enumerate(windows):
            column = np.full(len(stamps), np.nan)
            column[np.searchsorted(stamps, w_stamps)] = w_values
            value_parts[j].append(column)
            label_parts[j].append(np.full(len(stamps), contracts[j], dtype=object))
    if not stamp_parts:
        return MultiplePrices.empty()
    built = pd.DataFrame(index=pd.DatetimeIndex(np.concatenate(stamp_parts), tz="UTC"))
    for j, column in enumerate(PRICE_COLUMNS):
        built[column] = np.concatenate(value_parts[j])
        built[CONTRACT_COLUMN_FOR[column]] = np.concatenate(label_parts[j])
    return MultiplePrices(built[list(MULTIPLE_PRICE_COLUMNS)])


def contract_prices_from_multiple_prices(multiple: MultiplePrices) -> dict[str, pd.Series]:
    """Per-contract FINAL series recovered from multiple prices (PRICE, FORWARD, CARRY columns).

    Every contract named in a contract column gets an entry (possibly empty). If one contract has
    two different prices at the same timestamp (e.g. FORWARD and CARRY on the same contract)
    :class:`InvalidData` is raised.
    """
    data = multiple.data
    stacked = pd.concat(
        [
            pd.DataFrame({
                "contract": data[CONTRACT_COLUMN_FOR[column]].to_numpy(),
                "price": data[column].to_numpy(),
                "ts": data.index,
            })
            for column in PRICE_COLUMNS
        ],
        ignore_index=True,
    )
    all_contracts = pd.unique(stacked["contract"])
    valid = stacked[stacked["price"].notna()].drop_duplicates(["contract", "ts", "price"])
    clash = valid.duplicated(["contract", "ts"], keep=False)
    if clash.any():
        first = valid[clash].iloc[0]
        raise InvalidData(
            f"contract {first['contract']} has two different prices at {first['ts']}"
        )
    result = {c: _EMPTY.copy() for c in all_contracts}
    for contract, group in valid.groupby("contract", sort=False):
        series = pd.Series(group["price"].to_numpy(), index=pd.DatetimeIndex(group["ts"]))
        result[contract] = series.sort_index()
    return result


def back_out_roll_calendar(
    multiple: MultiplePrices,
    convention: CalendarConvention = CalendarConvention.LAST_OF_OLD,
) -> RollCalendar:
    """The roll calendar implied by multiple prices.

    Each change of PRICE_CONTRACT at row *i* gives a row ``(date, PRICE_CONTRACT[i-1],
    PRICE_CONTRACT[i], CARRY_CONTRACT[i-1])`` dated ``index[i-1]`` (LAST_OF_OLD) or ``index[i]``
    (FIRST_OF_NEW). A final row at the last timestamp holds the contracts in use then
    (``PRICE``, ``FORWARD`` and ``CARRY`` contracts of the last row). LAST_OF_OLD calendars also
    get a start-marker row 1 s before the first timestamp holding the first row's contracts, so
    that :func:`build_multiple_prices` rebuilds every row; FIRST_OF_NEW calendars (like
    pysystemtrade's) cover only ``[first roll, last timestamp)``.
    """
    data = multiple.data
    if data.empty:
        raise MissingData("cannot back out a roll calendar from empty multiple prices")
    rolls = multiple.roll_positions()
    before = rolls - 1
    price_c = data[CONTRACT_COLUMNS[0]].to_numpy()
    fwd_c = data[CONTRACT_COLUMNS[1]].to_numpy()
    carry_c = data[CONTRACT_COLUMNS[2]].to_numpy()
    at = before if convention is CalendarConvention.LAST_OF_OLD else rolls
    index = list(data.index[at]) + [data.index[-1]]
    current = list(price_c[before]) + [price_c[-1]]
    nxt = list(price_c[rolls]) + [fwd_c[-1]]
    carry = list(carry_c[before]) + [carry_c[-1]]
    if index[-1] == (index[-2] if len(index) > 1 else None):
        # the last row is itself a roll (LAST_OF_OLD never; FIRST_OF_NEW when rolled on last row)
        index[-1] = index[-1] + pd.Timedelta(seconds=1)
    if convention is CalendarConvention.LAST_OF_OLD:
        index.insert(0, data.index[0] - pd.Timedelta(seconds=1))
        current.insert(0, price_c[0])
        nxt.insert(0, fwd_c[0])
        carry.insert(0, carry_c[0])
    frame = pd.DataFrame(
        {CALENDAR_COLUMNS[0]: current, CALENDAR_COLUMNS[1]: nxt, CALENDAR_COLUMNS[2]: carry},
        index=pd.DatetimeIndex(index),
    )
    if np.any(frame.index.duplicated()):
        frame = frame[~frame.index.duplicated(keep="first")]
    return RollCalendar(frame, convention)
