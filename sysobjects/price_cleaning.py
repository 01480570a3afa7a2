"""Cleaning raw per-contract bars before they are stored.

Order of the checks (each dropped row is reported once, under the first reason that applies):

1. rows are sorted by timestamp (stable: equal timestamps keep their input order);
2. ``DUPLICATE``: of several bars with the same timestamp the **last** one in input order is kept
   (a data source re-sending a bar sends the corrected one later);
3. ``NAN_FINAL``: FINAL is NaN (or ±inf) — FINAL is the price every later step uses;
4. ``FUTURE`` (``ignore_future_prices``): timestamp strictly after ``now``. Daily bars labelled
   at the end of a day that has not ended yet are therefore dropped until the next run;
5. ``ZERO_VOLUME`` (``ignore_prices_with_zero_volumes_intraday`` for hourly bars,
   ``ignore_prices_with_zero_volumes_daily`` for daily bars): VOLUME == 0. A NaN VOLUME means
   "unknown" and is not treated as zero;
6. ``ZERO_PRICE`` (``ignore_zero_prices``): any of OPEN/HIGH/LOW/FINAL is exactly 0;
7. ``NEGATIVE_PRICE`` (``ignore_negative_prices``): any of OPEN/HIGH/LOW/FINAL is < 0.

NaN in OPEN/HIGH/LOW/VOLUME is kept (some sources give closes only). Merged-frequency prices
cannot be cleaned: clean each frequency, then merge.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ConfigDict, ValidationError

from syscore.config import validation_message
from syscore.config_models import PriceCleaningConfig
from syscore.exceptions import ConfigError, InvalidData
from sysobjects.contract_prices import (
    CONTRACT_PRICE_COLUMNS,
    FINAL,
    PRICE_FIELDS,
    VOLUME,
    Frequency,
    FuturesContractPrices,
)
from sysobjects.numeric import float_columns
from sysobjects.timeindex import as_utc_index, as_utc_timestamp


class PriceCleaningSettings(PriceCleaningConfig):
    """Which suspicious bars to drop: the ``price_cleaning`` config model
    (:class:`syscore.config_models.PriceCleaningConfig`, defaults as pysystemtrade's shipped
    configuration) with strict booleans, so a value that is not true/false is refused."""

    model_config = ConfigDict(strict=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any],
                  source: str = "price_cleaning") -> PriceCleaningSettings:
        """Validate a config mapping; :class:`ConfigError` naming ``source``, the key, what was
        expected and what was found (an unknown key is refused)."""
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            raise ConfigError(validation_message(exc, source, dict(data))) from None

    def to_dict(self) -> dict[str, bool]:
        return self.model_dump()


class DropReason(Enum):
    """Why a bar was dropped by :func:`clean_contract_prices`."""

    DUPLICATE = "duplicate timestamp"
    NAN_FINAL = "FINAL is NaN"
    FUTURE = "timestamp in the future"
    ZERO_VOLUME = "zero volume"
    ZERO_PRICE = "zero price"
    NEGATIVE_PRICE = "negative price"


@dataclass(frozen=True)
class CleanedPrices:
    """Cleaned prices and the timestamps dropped for each reason (empty reasons omitted)."""

    prices: FuturesContractPrices
    dropped: Mapping[DropReason, pd.DatetimeIndex]

    @property
    def n_dropped(self) -> int:
        return sum(len(v) for v in self.dropped.values())


def clean_contract_prices(
    raw: pd.DataFrame,
    frequency: Frequency,
    now,
    settings: PriceCleaningSettings | None = None,
) -> CleanedPrices:
    """Clean raw bars (any order, duplicates allowed) as configured; see the module docstring.

    ``now`` is the current time (tz-aware, or naive = UTC) from the injected clock.
    """
    settings = settings or PriceCleaningSettings()
    if frequency is Frequency.MERGED:
        raise InvalidData("clean hourly and daily prices separately, then merge them")
    missing = [c for c in CONTRACT_PRICE_COLUMNS if c not in raw.columns]
    if missing:
        raise InvalidData(f"raw contract prices: missing columns {missing}")
    now_ts = as_utc_timestamp(now, "now")
    index = as_utc_index(raw.index, "raw contract prices index")
    try:
        frame = float_columns(raw, CONTRACT_PRICE_COLUMNS)
    except (TypeError, ValueError) as exc:
        raise InvalidData(f"raw contract prices: not numeric ({exc})") from None
    frame = frame.set_axis(index)
    order = np.argsort(index.asi8, kind="stable")
    frame = frame.iloc[order]

    keep = np.ones(len(frame), dtype=bool)
    dropped: dict[DropReason, pd.DatetimeIndex] = {}

    def drop(reason: DropReason, mask: np.ndarray) -> None:
        hit = mask & keep
        if hit.any():
            dropped[reason] = frame.index[hit]
            keep[hit] = False

    stamps = frame.index.asi8
    duplicate = np.zeros(len(frame), dtype=bool)
    if len(frame) > 1:
        duplicate[:-1] = stamps[:-1] == stamps[1:]
    drop(DropReason.DUPLICATE, duplicate)
    drop(DropReason.NAN_FINAL, ~np.isfinite(frame[FINAL].to_numpy()))
    if settings.ignore_future_prices:
        drop(DropReason.FUTURE, (frame.index > now_ts))
    zero_volume_flag = (
        settings.ignore_prices_with_zero_volumes_intraday
        if frequency.is_intraday
        else settings.ignore_prices_with_zero_volumes_daily
    )
    if zero_volume_flag:
        drop(DropReason.ZERO_VOLUME, (frame[VOLUME] == 0).to_numpy())
    prices = frame[list(PRICE_FIELDS)].to_numpy()
    if settings.ignore_zero_prices:
        drop(DropReason.ZERO_PRICE, (prices == 0).any(axis=1))
    if settings.ignore_negative_prices:
        drop(DropReason.NEGATIVE_PRICE, (prices < 0).any(axis=1))
    return CleanedPrices(FuturesContractPrices(frame[keep], frequency), dropped)
