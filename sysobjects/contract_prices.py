"""Per-contract prices: OPEN HIGH LOW FINAL VOLUME bars of one futures contract.

Prices are in the exchange's quoted units (after any broker price magnifier), VOLUME in
contracts. The index is a strictly increasing tz-aware UTC :class:`~pandas.DatetimeIndex`; a
daily bar's timestamp is a label for the end of that day (pysystemtrade uses 23:00 UTC), an
hourly bar's timestamp is the bar's time as given by the source.

Frequencies are stored separately (``HOURLY``, ``DAILY``) and merged (``MERGED``): at a timestamp
present in both, the daily bar wins.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import pandas as pd

from syscore.exceptions import InvalidData
from sysobjects.numeric import float_columns
from sysobjects.timeindex import checked_frame_index

OPEN = "OPEN"
HIGH = "HIGH"
LOW = "LOW"
FINAL = "FINAL"
VOLUME = "VOLUME"
PRICE_FIELDS = (OPEN, HIGH, LOW, FINAL)
CONTRACT_PRICE_COLUMNS = (OPEN, HIGH, LOW, FINAL, VOLUME)


class Frequency(Enum):
    """Bar frequency of a per-contract price series."""

    HOURLY = "hourly"
    DAILY = "daily"
    MERGED = "merged"

    @property
    def is_intraday(self) -> bool:
        return self is Frequency.HOURLY


def empty_contract_price_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series(dtype=float) for c in CONTRACT_PRICE_COLUMNS},
        index=pd.DatetimeIndex([], tz="UTC", name="DATETIME"),
    )


@dataclass(frozen=True)
class FuturesContractPrices:
    """Validated bars of one contract at one frequency. Treat ``data`` as read-only.

    NaN is allowed in OPEN/HIGH/LOW/VOLUME (unknown), not in FINAL. Use
    :func:`sysobjects.price_cleaning.clean_contract_prices` to turn raw bars into this.
    """

    data: pd.DataFrame
    frequency: Frequency = Frequency.DAILY

    def __post_init__(self) -> None:
        frame = self.data
        if not isinstance(self.frequency, Frequency):
            raise InvalidData(f"unknown frequency {self.frequency!r}")
        index = checked_frame_index(frame, CONTRACT_PRICE_COLUMNS, "contract prices")
        try:
            clean = float_columns(frame, CONTRACT_PRICE_COLUMNS)
        except (TypeError, ValueError) as exc:
            raise InvalidData(f"contract prices: not numeric ({exc})") from None
        clean = clean.set_axis(index)
        clean.index.name = "DATETIME"
        if clean[FINAL].isna().any():
            at = clean.index[clean[FINAL].isna().to_numpy()][0]
            raise InvalidData(f"contract prices: FINAL is NaN at {at}")
        object.__setattr__(self, "data", clean)

    @classmethod
    def empty(cls, frequency: Frequency = Frequency.DAILY) -> FuturesContractPrices:
        return cls(empty_contract_price_frame(), frequency)

    def __len__(self) -> int:
        return len(self.data)

    @property
    def final(self) -> pd.Series:
        """FINAL (closing) prices."""
        return self.data[FINAL]


def merge_daily_and_hourly(
    daily: FuturesContractPrices, hourly: FuturesContractPrices
) -> FuturesContractPrices:
    """Union of daily and hourly bars; at a timestamp in both, the daily bar wins."""
    if daily.frequency is not Frequency.DAILY or hourly.frequency is not Frequency.HOURLY:
        raise InvalidData(
            f"merge needs daily and hourly prices, got {daily.frequency.value} and "
            f"{hourly.frequency.value}"
        )
    only_hourly = hourly.data[~hourly.data.index.isin(daily.data.index)]
    merged = pd.concat([daily.data, only_hourly]).sort_index()
    return FuturesContractPrices(merged, Frequency.MERGED)


def append_new_prices(
    existing: FuturesContractPrices, new: FuturesContractPrices
) -> tuple[FuturesContractPrices, pd.DataFrame]:
    """Append the bars of ``new`` strictly after the last stored bar; never rewrite history.

    Returns the combined prices and the appended rows. Frequencies must match.
    """
    if existing.frequency is not new.frequency:
        raise InvalidData(
            f"cannot append {new.frequency.value} prices to {existing.frequency.value} prices"
        )
    if len(existing) == 0:
        return new, new.data.copy()
    added = new.data[new.data.index > existing.data.index[-1]]
    if added.empty:
        return existing, added.copy()
    return FuturesContractPrices(pd.concat([existing.data, added]), existing.frequency), added.copy()
