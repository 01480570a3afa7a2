"""Raw-data stage: daily prices, returns, volatility and carry for a block of instruments.

Every array is [business days x instruments] on one calendar. Each instrument has its own
index ranges (row numbers, inclusive): ``P`` spans the business-day bins of its adjusted
prices and ``M`` those of its multiple prices. Values outside a series' range are NaN, which
reproduces pysystemtrade's per-instrument pandas indexes exactly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from systems.calendar import (
    asof_values,
    business_days,
    daily_last,
    daily_last_and_mean,
    diff_rows,
    ffill_2d,
    range_mask,
)
from systems.config import VolatilityConfig
from systems.ewma import ewma_mean, ewma_std
from systems.exceptions import MissingBacktestData
from systems.sim_data import MULTIPLE_PRICE_COLUMNS, InstrumentConfig, SimData

BUSINESS_DAYS_IN_YEAR = 256
ROOT_BDAYS_INYEAR = 16.0
CALENDAR_DAYS_IN_YEAR = 365.25
READ_THREADS = 2  # the machine a backtest runs on has at least two cores
TRIM_EVERY = 32  # instruments read between two returns of freed memory to the system


@dataclass(frozen=True)
class Span:
    """Inclusive row ranges per instrument (arrays of ints; end < start means empty)."""

    start: np.ndarray
    end: np.ndarray

    def union(self, other: Span) -> Span:
        return Span(np.minimum(self.start, other.start), np.maximum(self.end, other.end))

    def intersect(self, other: Span) -> Span:
        return Span(np.maximum(self.start, other.start), np.minimum(self.end, other.end))

    def mask(self, n_rows: int) -> np.ndarray:
        return range_mask(n_rows, self.start, self.end)

    def masked(self, values: np.ndarray) -> np.ndarray:
        """A float copy of [rows x instruments] ``values`` with NaN outside the span."""
        out = np.array(values, dtype=np.float64, copy=True)
        out[~self.mask(out.shape[0])] = np.nan
        return out


def contract_year_fraction(contracts):
    """yyyymmdd contract ids as year + month/12 (day 00 allowed), as pysystemtrade does
    (a Series in, a Series out; an array in, an array out)."""
    values = np.asarray(contracts, dtype=np.float64)
    fraction = np.floor(values / 10000.0) + (values % 10000.0) / 100.0 / 12.0
    return pd.Series(fraction, index=contracts.index) if isinstance(contracts, pd.Series) else fraction


def annualised_roll(multiple_prices: pd.DataFrame) -> pd.Series:
    """(PRICE - CARRY) / (carry contract year - price contract year), per raw row.

    A zero price difference is NaN; the year difference is kept at least one calendar day in
    absolute value (a zero difference stays zero)."""
    prices = {c: multiple_prices[c].to_numpy(dtype=np.float64) for c in MULTIPLE_PRICE_COLUMNS}
    roll = prices["PRICE"] - prices["CARRY"]
    roll[roll == 0.0] = np.nan
    diff = contract_year_fraction(prices["CARRY_CONTRACT"]) - contract_year_fraction(prices["PRICE_CONTRACT"])
    floor = 1.0 / CALENDAR_DAYS_IN_YEAR
    with np.errstate(invalid="ignore"):
        diff = np.where(diff > 0, np.maximum(diff, floor), diff)
        diff = np.where(diff < 0, np.minimum(diff, -floor), diff)
    with np.errstate(divide="ignore", invalid="ignore"):
        return pd.Series(roll / diff, index=multiple_prices.index)


def _place(series: pd.Series, calendar: pd.DatetimeIndex) -> tuple[np.ndarray, int, int]:
    """Values of a business-day series on the calendar, with its row range."""
    if series.empty:
        return np.full(len(calendar), np.nan), 0, -1
    start = calendar.get_loc(series.index[0])
    end = calendar.get_loc(series.index[-1])
    values = np.full(len(calendar), np.nan)
    if end - start + 1 == len(series):  # contiguous business days (daily_last/daily_mean output)
        values[start : end + 1] = series.to_numpy(dtype=float)
    else:
        values[start : end + 1] = series.reindex(calendar[start : end + 1]).to_numpy(dtype=float)
    return values, start, end


def _daily_inputs(data: SimData, code: str) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(daily price, daily underlying price, daily annualised roll) of one instrument; the raw
    frames are dropped on return, so memory holds only daily series."""
    return _daily_from_raw(code, data.get_adjusted_prices(code), data.get_multiple_prices(code))


def _daily_from_raw(code: str, adjusted: pd.Series, multiple: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    if adjusted.dropna().empty:
        raise MissingBacktestData(f"{code}: adjusted prices are empty")
    underlying, roll = daily_last_and_mean(multiple["PRICE"], annualised_roll(multiple))
    return daily_last(adjusted), underlying, roll


def release_freed_memory() -> None:
    """Give memory freed by Python and pandas back to the operating system (glibc's
    ``malloc_trim``; a no-op elsewhere). Parsing many files leaves freed parser buffers in the
    heap; without this the process keeps them as resident memory."""
    global _MALLOC_TRIM
    if _MALLOC_TRIM is None:
        try:
            import ctypes

            _MALLOC_TRIM = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _MALLOC_TRIM = False
    if _MALLOC_TRIM:
        _MALLOC_TRIM(0)


_MALLOC_TRIM = None


def load_daily_inputs(data: SimData, codes: list[str]) -> list[tuple[pd.Series, pd.Series, pd.Series]]:
    """:func:`_daily_inputs` for every code, in order. Sources that declare
    ``concurrent_reads`` (files) are read by two threads: pandas' CSV parser releases the GIL.

    Freed parser memory is returned to the system after every :data:`TRIM_EVERY` instruments:
    trimming after each one cost more CPU (5 s of system time over 226 instruments) than the
    few megabytes it saved."""
    out: list[tuple[pd.Series, pd.Series, pd.Series]] = []
    pool = None
    if getattr(data, "concurrent_reads", False) and len(codes) > 1:
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(max_workers=READ_THREADS)
    try:
        for lo in range(0, len(codes), TRIM_EVERY):
            chunk = codes[lo : lo + TRIM_EVERY]
            if pool is None:  # the source reads the chunk at once (batched store reads)
                out.extend(_daily_from_raw(code, adjusted, multiple)
                           for code, (adjusted, multiple) in zip(chunk, data.price_inputs(chunk), strict=True))
            else:
                out.extend(pool.map(lambda code: _daily_inputs(data, code), chunk))
            release_freed_memory()
    finally:
        if pool is not None:
            pool.shutdown()
    return out


class RawData:
    """Loaded and aligned inputs for a block of instruments (data loaded once)."""

    def __init__(self, data: SimData, codes: list[str], base_currency: str, vol_config: VolatilityConfig):
        if not codes:
            raise ValueError("a block needs at least one instrument")
        self.codes = list(codes)
        self.vol_config = vol_config
        self.instrument_configs: list[InstrumentConfig] = [data.get_instrument_config(c) for c in codes]
        loaded = load_daily_inputs(data, self.codes)
        daily_prices = {code: item[0] for code, item in zip(codes, loaded, strict=True)}
        underlying = {code: item[1] for code, item in zip(codes, loaded, strict=True)}
        ann_roll = {code: item[2] for code, item in zip(codes, loaded, strict=True)}
        del loaded
        first = min(min(s.index[0] for s in d.values() if not s.empty) for d in (daily_prices, underlying))
        last = max(max(s.index[-1] for s in d.values() if not s.empty) for d in (daily_prices, underlying))
        self.calendar = business_days(first, last)
        n, k = len(self.calendar), len(codes)
        self.daily_prices = np.full((n, k), np.nan)
        self.underlying_price = np.full((n, k), np.nan)
        self.daily_annualised_roll = np.full((n, k), np.nan)
        p_start, p_end, m_start, m_end = (np.zeros(k, dtype=np.int64) for _ in range(4))
        for j, code in enumerate(codes):
            self.daily_prices[:, j], p_start[j], p_end[j] = _place(daily_prices[code], self.calendar)
            self.underlying_price[:, j], m_start[j], m_end[j] = _place(underlying[code], self.calendar)
            roll_values, _, _ = _place(ann_roll[code], self.calendar)
            self.daily_annualised_roll[:, j] = roll_values
        del daily_prices, underlying, ann_roll
        release_freed_memory()  # the per-instrument series are placed: give their memory back
        self.span_p = Span(p_start, p_end)
        self.span_m = Span(m_start, m_end)
        self.point_size = np.array([c.pointsize for c in self.instrument_configs])
        self.currencies = [c.currency for c in self.instrument_configs]
        self.fx_series = {c.currency: data.get_fx_rate(c.currency, base_currency) for c in self.instrument_configs}
        self._cache: dict[str, np.ndarray] = {}

    @property
    def n_rows(self) -> int:
        return len(self.calendar)

    @staticmethod
    def _masked(values: np.ndarray, span: Span) -> np.ndarray:
        return span.masked(values)

    def series(self, name: str) -> np.ndarray:
        """A raw-data series by name (see ``systems.rules.DATA_REFERENCES``)."""
        if name == "daily_returns":
            return self._daily_returns()  # one cheap diff: not worth an [n x k] cached copy
        if name not in self._cache:
            builders = {
                "daily_prices": lambda: self.daily_prices,
                "daily_returns_volatility": self._daily_returns_volatility,
                "daily_percentage_volatility": self._daily_percentage_volatility,
                "raw_carry": self._raw_carry,
                "daily_annualised_roll": lambda: self.daily_annualised_roll,
            }
            if name not in builders:
                raise KeyError(name)
            self._cache[name] = builders[name]()
        return self._cache[name]

    def release_derived(self) -> None:
        """Drop the cached derived series (volatilities, carry): each is [T x N] and later
        stages no longer need them. A later request recomputes the same values."""
        self._cache.clear()

    def span_of(self, name: str) -> Span:
        """Row range of a raw-data series."""
        if name == "raw_carry":
            return self.span_p.union(self.span_m)
        if name == "daily_annualised_roll":
            return self.span_m
        return self.span_p

    def _daily_returns(self) -> np.ndarray:
        return diff_rows(self.daily_prices)

    def _daily_returns_volatility(self) -> np.ndarray:
        cfg = self.vol_config
        vol = ewma_std(self.series("daily_returns"), span=cfg.days, min_periods=cfg.min_periods)
        np.maximum(vol, cfg.vol_abs_min, out=vol)  # NaN stays NaN
        if cfg.backfill:
            vol = _backfill(ffill_2d(self._masked(vol, self.span_p)))
        # in place, same operations and order as p * slow + (1 - p) * vol: [T x N] arrays are big
        if cfg.method == "mixed_vol_calc":
            slow = ewma_mean(vol, span=cfg.slow_vol_years * BUSINESS_DAYS_IN_YEAR)
            slow *= cfg.proportion_of_slow_vol
            vol *= 1.0 - cfg.proportion_of_slow_vol
            vol += slow
            del slow
        vol *= cfg.multiplier_to_get_daily_vol
        vol[~self.span_p.mask(vol.shape[0])] = np.nan
        return vol

    def _daily_percentage_volatility(self) -> np.ndarray:
        vol = self.series("daily_returns_volatility")
        denominator = ffill_2d(self._masked(self.underlying_price, self.span_p))
        with np.errstate(divide="ignore", invalid="ignore"):
            perc = 100.0 * vol / np.abs(denominator)
        return self._masked(perc, self.span_p)

    def _raw_carry(self) -> np.ndarray:
        vol = self.series("daily_returns_volatility")
        with np.errstate(divide="ignore", invalid="ignore"):
            carry = self.daily_annualised_roll / (vol * ROOT_BDAYS_INYEAR)
        return self._masked(carry, self.span_of("raw_carry"))

    def fx_on(self, dates: pd.DatetimeIndex) -> np.ndarray:
        """FX rate to base currency of each instrument at each date (last value at or before
        the date's midnight), [dates x instruments]."""
        by_ccy = {ccy: asof_values(series, dates) for ccy, series in self.fx_series.items()}
        return np.column_stack([by_ccy[ccy] for ccy in self.currencies])


def _backfill(values: np.ndarray) -> np.ndarray:
    """Fill each column's leading NaNs with its first valid value."""
    out = np.array(values, copy=True)
    for j in range(out.shape[1]):
        col = out[:, j]
        valid = np.flatnonzero(~np.isnan(col))
        if valid.size:
            col[: valid[0]] = col[valid[0]]
    return out
