"""Backtest data read from the systrade stores (the production path).

Adapts a :class:`sysdata.data_blob.DataBlob` (or anything with the same typed data attributes)
to :class:`systems.sim_data.SimData`: adjusted and multiple prices and spot FX from the
time-series store, instrument and roll configuration from the state store. Indexes are returned
naive UTC, as the engine expects; contract ids as ``YYYYMMDD`` numbers.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from syscore.dates import utc_index
from syscore.exceptions import MissingData
from systems.exceptions import MissingBacktestData
from systems.sim_data import MULTIPLE_PRICE_COLUMNS, InstrumentConfig, SimData, resolve_fx_rate


def _naive(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    return utc_index(index).tz_localize(None)


def _contract_numbers(values) -> np.ndarray:
    """Contract ids (``YYYYMM`` or ``YYYYMMDD`` text) as ``YYYYMMDD`` floats, a missing id NaN.
    Each distinct id is converted once: a series holds a few dozen ids over thousands of rows."""
    codes, uniques = pd.factorize(pd.Series(values), use_na_sentinel=True)
    numbers = pd.to_numeric(pd.Series(uniques, dtype=object).str.ljust(8, "0")).to_numpy(float)
    out = np.full(len(codes), np.nan)
    present = codes >= 0
    out[present] = numbers[codes[present]]
    return out


class StoreSimData(SimData):
    """Backtest data from the stores of one data blob; ``instruments`` limits the universe."""

    def __init__(self, data, instruments: list[str] | None = None):
        self._data = data
        self._only = set(instruments) if instruments else None
        self._cache_fx: dict[tuple[str, str], pd.Series] = {}

    def instrument_list(self) -> list[str]:
        codes = set(self._data.adjusted_prices.list_codes()) & set(self._data.multiple_prices.list_codes())
        codes &= set(self._data.instruments.list_codes())
        if self._only is not None:
            codes &= self._only
        return sorted(codes)

    def get_adjusted_prices(self, code: str) -> pd.Series:
        try:
            series = self._data.adjusted_prices.read_series(code)
        except MissingData as exc:
            raise MissingBacktestData(str(exc)) from None
        series = series.astype(float)
        series.index = _naive(series.index)
        return series

    def get_multiple_prices(self, code: str) -> pd.DataFrame:
        try:
            frame = self._data.multiple_prices.read(code)
        except MissingData as exc:
            raise MissingBacktestData(str(exc)) from None
        out = pd.DataFrame(index=_naive(frame.index))
        for column in MULTIPLE_PRICE_COLUMNS:
            values = frame[column].to_numpy()
            if column.endswith("_CONTRACT"):
                out[column] = _contract_numbers(values)
            else:
                out[column] = values.astype(float)
        return out

    def _stored_fx(self, code: str) -> pd.Series | None:
        if not self._data.fx_prices.has(code):
            return None
        series = self._data.fx_prices.read_series(code).astype(float)
        series.index = _naive(series.index)
        return series

    def get_fx_rate(self, currency: str, base: str) -> pd.Series:
        key = (currency, base)
        if key in self._cache_fx:
            return self._cache_fx[key]
        result = resolve_fx_rate(currency, base, self._stored_fx, "the FX price store")
        self._cache_fx[key] = result
        return result

    def get_instrument_config(self, code: str) -> InstrumentConfig:
        try:
            config = self._data.instruments.get(code)
        except MissingData as exc:
            raise MissingBacktestData(str(exc)) from None
        rolls = 0
        if self._data.roll_parameters.has(code):
            rolls = len(self._data.roll_parameters.get(code).hold_roll_cycle)
        return InstrumentConfig(**config.to_dict(), rolls_per_year=rolls)
