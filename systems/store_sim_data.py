"""Backtest data read from the systrade stores (the production path).

Adapts a :class:`sysdata.data_blob.DataBlob` (or anything with the same typed data attributes)
to :class:`systems.sim_data.SimData`: adjusted and multiple prices and spot FX from the
time-series store, instrument and roll configuration from the state store. Indexes are returned
naive UTC, as the engine expects; contract ids as ``YYYYMMDD`` numbers.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from syscore.dates import utc_index
from syscore.exceptions import MissingData
from sysdata.price_frames import ADJUSTED_PRICE_COLUMN
from systems.exceptions import MissingBacktestData
from systems.sim_data import MULTIPLE_PRICE_COLUMNS, InstrumentConfig, SimData, resolve_fx_rate


def _naive(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    return utc_index(index).tz_localize(None)


def _contract_number(value) -> float:
    """One contract id (``YYYYMM`` or ``YYYYMMDD`` text) as a ``YYYYMMDD`` float; NaN when
    it is not text (a missing id)."""
    if not isinstance(value, str):
        return np.nan
    return float(pd.to_numeric(value.ljust(8, "0")))


def _contract_numbers(values) -> np.ndarray:
    """Contract ids (``YYYYMM`` or ``YYYYMMDD`` text) as ``YYYYMMDD`` floats, a missing id NaN.
    Ids come in runs (a contract is held for weeks): each run's id is converted once."""
    values = np.asarray(values, dtype=object)
    if values.size == 0:
        return np.empty(0)
    starts = np.empty(values.size, dtype=bool)
    starts[0] = True
    starts[1:] = np.not_equal(values[1:], values[:-1]).astype(bool)
    first = np.flatnonzero(starts)
    numbers = np.array([_contract_number(v) for v in values[first].tolist()], dtype=np.float64)
    return np.repeat(numbers, np.diff(np.append(first, values.size)))


def _sim_adjusted_prices(series: pd.Series) -> pd.Series:
    """A stored adjusted-price series as the engine reads it: float, naive UTC index."""
    series = series.astype(float)
    series.index = _naive(series.index)
    return series


def _sim_multiple_prices(frame: pd.DataFrame) -> pd.DataFrame:
    """Stored multiple prices as the engine reads them: the :data:`MULTIPLE_PRICE_COLUMNS`,
    floats, contract ids as ``YYYYMMDD`` numbers, naive UTC index."""
    columns = {}
    for column in MULTIPLE_PRICE_COLUMNS:
        values = frame[column].to_numpy()
        columns[column] = _contract_numbers(values) if column.endswith("_CONTRACT") else values.astype(float)
    return pd.DataFrame(columns, index=_naive(frame.index))


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
        return _sim_adjusted_prices(series)

    def get_multiple_prices(self, code: str) -> pd.DataFrame:
        try:
            frame = self._data.multiple_prices.read(code)
        except MissingData as exc:
            raise MissingBacktestData(str(exc)) from None
        return _sim_multiple_prices(frame)

    def price_inputs(self, codes: list[str]) -> Iterator[tuple[pd.Series, pd.DataFrame]]:
        """Both price series of ``codes`` in two batched reads (the multiple prices' columns
        the backtest uses only): the same values as one read per series, for less CPU."""
        try:
            adjusted = self._data.adjusted_prices.read_many(codes, [ADJUSTED_PRICE_COLUMN])
            multiple = self._data.multiple_prices.read_many(codes, list(MULTIPLE_PRICE_COLUMNS))
        except MissingData as exc:
            raise MissingBacktestData(str(exc)) from None
        for k in range(len(codes)):
            adjusted_frame, multiple_frame = adjusted[k], multiple[k]
            adjusted[k] = multiple[k] = None  # each pair is released once handed over
            yield _sim_adjusted_prices(adjusted_frame[ADJUSTED_PRICE_COLUMN]), _sim_multiple_prices(multiple_frame)

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
