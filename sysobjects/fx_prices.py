"""Spot FX prices: a validated series of PRICE = value in CCY2 of one unit of CCY1.

``GBPUSD`` 1.32 means $1.32 per £1. The index is a strictly increasing tz-aware UTC
:class:`~pandas.DatetimeIndex`; every price is finite and > 0. The spike check
(:func:`sysobjects.spike_check.check_for_spikes`) applies to ``FxPrices.data`` unchanged.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from syscore.exceptions import InvalidData
from sysobjects.timeindex import as_utc_index, as_utc_timestamp, check_strictly_increasing

FX_PRICE_NAME = "PRICE"
_FX_CODE = re.compile(r"^[A-Z]{6}$")


def validate_fx_code(code: str) -> str:
    """``"GBPUSD"``: two ISO currency codes."""
    if not isinstance(code, str) or not _FX_CODE.match(code):
        raise InvalidData(f"FX code {code!r} must be two 3-letter currency codes, e.g. GBPUSD")
    if code[:3] == code[3:]:
        raise InvalidData(f"FX code {code!r} has the same currency twice")
    return code


@dataclass(frozen=True)
class FxPrices:
    """Validated spot FX prices (see module docstring). Treat ``data`` as read-only."""

    data: pd.Series

    def __post_init__(self) -> None:
        series = self.data
        if isinstance(series, pd.DataFrame):
            if FX_PRICE_NAME not in series.columns:
                raise InvalidData(f"FX prices: no {FX_PRICE_NAME} column")
            series = series[FX_PRICE_NAME]
        if not isinstance(series, pd.Series):
            raise InvalidData(f"FX prices must be a Series, got {type(series).__name__}")
        index = as_utc_index(series.index, "FX prices index")
        check_strictly_increasing(index, "FX prices")
        try:
            values = pd.to_numeric(series, errors="raise").to_numpy(dtype=float)
        except (TypeError, ValueError) as exc:
            raise InvalidData(f"FX prices: not numeric ({exc})") from None
        bad = ~(np.isfinite(values) & (values > 0))
        if bad.any():
            k = int(bad.argmax())
            raise InvalidData(f"FX prices: invalid price {values[k]!r} at {index[k]}")
        clean = pd.Series(values, index=index, name=FX_PRICE_NAME)
        clean.index.name = "DATETIME"
        object.__setattr__(self, "data", clean)

    @classmethod
    def empty(cls) -> FxPrices:
        return cls(pd.Series(dtype=float, index=pd.DatetimeIndex([], tz="UTC")))

    def __len__(self) -> int:
        return len(self.data)


def clean_fx_prices(raw: pd.Series, now, ignore_future_prices: bool = True) -> FxPrices:
    """Raw FX quotes to :class:`FxPrices`: sort (stable), keep the last of duplicated
    timestamps, drop NaN / non-positive prices and (by default) timestamps after ``now``."""
    now_ts = as_utc_timestamp(now, "now")
    index = as_utc_index(raw.index, "raw FX prices index")
    values = pd.to_numeric(pd.Series(raw.to_numpy(), index=index), errors="coerce").astype(float)
    values = values.iloc[np.argsort(index.asi8, kind="stable")]
    values = values[~values.index.duplicated(keep="last")]
    keep = np.isfinite(values.to_numpy()) & (values.to_numpy() > 0)
    if ignore_future_prices:
        keep &= values.index <= now_ts
    return FxPrices(values[keep])


def append_fx_prices(existing: FxPrices, new: FxPrices) -> tuple[FxPrices, pd.Series]:
    """Append prices strictly after the last stored one; returns (combined, appended)."""
    if len(existing) == 0:
        return new, new.data.copy()
    added = new.data[new.data.index > existing.data.index[-1]]
    if added.empty:
        return existing, added.copy()
    return FxPrices(pd.concat([existing.data, added])), added.copy()
