"""Accounts stage: P&L of buffered positions, gross and net of cash costs (2-D arrays).

Conventions (those of pysystemtrade's cash-cost accounting):

* Fills are delayed one day: the position held is the buffered position shifted by one row
  (rounded), and the P&L of day t is that held position at t-1 times the price change
  p(t) - p(t-1), times the point size, times the FX rate at t's midnight.
* Each change of the held position is a trade costing ``|q| x spread x point size`` plus the
  largest of ``|q| x per_block``, ``per_trade`` and ``percentage x |q| x price x point size``.
* Rolls: for each year, ``rolls_per_year`` equally spaced dates (the first half a period after
  1 January). For each, the average absolute position since the previous roll date is held,
  times ``multiply_roll_costs_by``, is opened (spread + commission) and closed (commission).
* With ``vol_normalise_currency_costs`` costs are scaled by the ratio of the 180-day rolling
  std of daily price changes at the time to its last value (costs are today's); a last value
  of zero is floored (see ``cost_deflator``).
* Costs fall on the business day of their date (weekends go to the Friday), converted at the
  FX rate of their date.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from systems.calendar import (
    asof_values,
    business_day_labels,
    diff_rows,
    extend_last,
    ffill_2d,
    range_mask,
    shift_down,
)

COST_DEFLATOR_WINDOW = 180
COST_DEFLATOR_MIN_PERIODS = 3


@dataclass(frozen=True)
class CostParameters:
    """Per-instrument cost arrays (instrument currency, price units for spread)."""

    spread: np.ndarray
    per_block: np.ndarray
    per_trade: np.ndarray
    percentage: np.ndarray
    rolls_per_year: np.ndarray


def equal_dates_within_year(year: int, number: int) -> list[pd.Timestamp]:
    """``number`` dates spaced int(365/number) days apart, the first half a period (rounded
    down) after 1 January."""
    days_between = int(365 / float(number))
    first = dt.datetime(year, 1, 1) + dt.timedelta(days=int(days_between / 2))
    return [pd.Timestamp(first + dt.timedelta(days=days_between * k)) for k in range(number)]


def commission(qty: np.ndarray, price: np.ndarray, point_size, costs: CostParameters, cols=slice(None)) -> np.ndarray:
    """Largest of per-block, per-trade and percentage commission for |qty| contracts."""
    size = np.abs(qty)
    per_block = size * costs.per_block[cols]
    percentage = costs.percentage[cols] * size * price * point_size
    percentage = np.where(np.isnan(percentage), 0.0, percentage)
    per_trade = np.broadcast_to(costs.per_trade[cols], size.shape)
    return np.maximum(np.maximum(per_block, per_trade), percentage)


def rolling_std(values: np.ndarray, window: int, min_periods: int) -> np.ndarray:
    """Rolling sample std over ``window`` rows counting non-NaN values (pandas rolling().std())."""
    valid = ~np.isnan(values)
    centre = np.nanmean(np.where(valid, values, np.nan), axis=0) if valid.any() else 0.0
    centre = np.where(np.isnan(centre), 0.0, centre)
    x = np.where(valid, values - centre, 0.0)
    zeros = np.zeros((1, values.shape[1]))
    s1 = np.vstack([zeros, np.cumsum(x, axis=0)])
    s2 = np.vstack([zeros, np.cumsum(x * x, axis=0)])
    cnt = np.vstack([zeros, np.cumsum(valid, axis=0)])
    upper = np.arange(1, values.shape[0] + 1)
    lower = np.maximum(upper - window, 0)
    n = cnt[upper] - cnt[lower]
    sum1 = s1[upper] - s1[lower]
    sum2 = s2[upper] - s2[lower]
    with np.errstate(invalid="ignore", divide="ignore"):
        var = (sum2 - sum1 * sum1 / n) / (n - 1)
    var = np.where(var < 0, 0.0, var)
    return np.where(n >= min_periods, np.sqrt(var), np.nan)


@dataclass
class PandlArrays:
    """Daily P&L in base currency [T x instruments]; NaN outside each instrument's range."""

    gross: np.ndarray
    costs: np.ndarray
    # per instrument: the cost normalisation's denominator was zero or NaN and was floored
    degenerate_cost_deviation: np.ndarray | None = None

    @property
    def net(self) -> np.ndarray:
        """gross + costs, computed on each use (one [T x N] array fewer held for the run)."""
        return self.gross + self.costs


def pandl(
    calendar: pd.DatetimeIndex,
    buffered: np.ndarray,
    daily_prices: np.ndarray,
    price_end: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    point_size: np.ndarray,
    fx_at,
    costs: CostParameters,
    multiply_roll_costs_by: float,
    vol_normalise_currency_costs: bool,
) -> PandlArrays:
    """Gross, cost and net daily P&L (base currency) of buffered positions.

    ``fx_at(dates)`` returns FX to base [dates x instruments]; ``start``/``end`` are the row
    ranges of the positions; ``price_end`` the last row of the daily prices."""
    n_rows, n_cols = buffered.shape
    rows = np.arange(n_rows)[:, None]
    in_range = range_mask(n_rows, start, end)
    price = extend_last(daily_prices, price_end, end)
    price[~in_range] = np.nan
    price_filled = ffill_2d(price)
    price_filled[~in_range] = np.nan
    returns = diff_rows(price_filled)
    held = np.round(shift_down(buffered))
    held[~in_range] = np.nan
    fx_cal = fx_at(calendar)
    gross_points = shift_down(held) * returns
    gross_points = np.where(np.isnan(gross_points), 0.0, gross_points)
    gross = gross_points * point_size[None, :] * fx_cal
    gross[~in_range] = np.nan

    degenerate = np.zeros(n_cols, dtype=bool)
    if vol_normalise_currency_costs:
        deflator, degenerate = cost_deflator(returns, end)
    else:
        deflator = np.ones((n_rows, n_cols))

    # trades
    trades = diff_rows(held)
    traded = ~np.isnan(trades) & (trades != 0)
    qty = np.where(traded, trades, 0.0)
    trade_cost = np.abs(qty) * costs.spread[None, :] * point_size[None, :] + commission(
        qty, price_filled, point_size[None, :], costs
    )
    trade_cost = np.where(traded, -trade_cost * deflator * fx_cal, 0.0)
    trade_cost = np.where(np.isnan(trade_cost), 0.0, trade_cost)
    cost = trade_cost

    roll_cost = _roll_costs(
        calendar, held, price_filled, start, end, point_size, fx_at, costs,
        multiply_roll_costs_by, deflator,
    )
    cost = cost + roll_cost
    first_rows = (rows == start[None, :])
    cost[first_rows] = 0.0
    cost[~in_range] = np.nan
    return PandlArrays(gross=gross, costs=cost, degenerate_cost_deviation=degenerate)


def cost_deflator(returns: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cost scaling [rows x instruments]: the 180-day rolling std of daily price changes
    (forward-filled) divided by its value on each instrument's last row (``end``).

    A last value that is zero or NaN (e.g. prices flat for the last 180 days) would make every
    cost infinite: the denominator is then floored at the latest positive deviation before
    it, or, when there is none, costs are not scaled (deflator 1). Returns (deflator,
    degenerate): ``degenerate[j]`` says column j's denominator was floored."""
    n_rows, n_cols = returns.shape
    vol = ffill_2d(rolling_std(returns, COST_DEFLATOR_WINDOW, COST_DEFLATOR_MIN_PERIODS))
    rows = np.clip(end, 0, max(n_rows - 1, 0))
    last = vol[rows, np.arange(n_cols)] if n_rows else np.full(n_cols, np.nan)
    degenerate = ~(last > 0)
    deflator = np.ones((n_rows, n_cols))
    if n_rows == 0:
        return deflator, degenerate
    if degenerate.any():
        positive = ffill_2d(np.where(vol[:, degenerate] > 0, vol[:, degenerate], np.nan))
        last[degenerate] = positive[rows[degenerate], np.arange(int(degenerate.sum()))]
    usable = last > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        deflator[:, usable] = vol[:, usable] / last[None, usable]
    return deflator, degenerate


def _roll_costs(
    calendar, held, price_filled, start, end, point_size, fx_at, costs: CostParameters,
    multiply_roll_costs_by, deflator,
) -> np.ndarray:
    n_rows, n_cols = held.shape
    out = np.zeros((n_rows, n_cols))
    if n_rows == 0:
        return out
    abs_held = np.abs(held)
    valid = ~np.isnan(abs_held)
    zeros = np.zeros((1, n_cols))
    csum = np.vstack([zeros, np.cumsum(np.where(valid, abs_held, 0.0), axis=0)])
    ccount = np.vstack([zeros, np.cumsum(valid, axis=0)])
    cal_values = calendar.values
    years_start = calendar[np.clip(start, 0, n_rows - 1)].year
    years_end = calendar[np.clip(end, 0, n_rows - 1)].year
    end_dates = calendar.values[np.clip(end, 0, n_rows - 1)]
    for rpy in sorted(set(int(r) for r in costs.rolls_per_year if r > 0)):
        cols = np.flatnonzero(costs.rolls_per_year == rpy)
        y0, y1 = int(years_start[cols].min()), int(years_end[cols].max())
        dates, prev_dates, years = [], [], []
        for year in range(y0, y1 + 1):
            this_year = equal_dates_within_year(year, rpy)
            previous = equal_dates_within_year(year - 1, rpy)[-1]
            bounds = [previous] + this_year
            for k, date in enumerate(this_year):
                dates.append(date)
                prev_dates.append(bounds[k])
                years.append(year)
        dates_idx = pd.DatetimeIndex(dates)
        lo = np.searchsorted(cal_values, pd.DatetimeIndex(prev_dates).values, side="left")
        hi = np.searchsorted(cal_values, dates_idx.values, side="right")
        total = csum[hi][:, cols] - csum[lo][:, cols]
        count = ccount[hi][:, cols] - ccount[lo][:, cols]
        with np.errstate(invalid="ignore", divide="ignore"):
            average = np.where(count > 0, total / count, 0.0)
        years_arr = np.array(years)[:, None]
        in_years = (years_arr >= years_start[cols].values[None, :]) & (years_arr <= years_end[cols].values[None, :])
        eligible = in_years & (dates_idx.values[:, None] <= end_dates[cols][None, :]) & (average > 0)
        qty = average * multiply_roll_costs_by
        # price strictly before the date, for percentage commissions
        before = np.searchsorted(cal_values, dates_idx.values, side="left") - 1
        price = np.where(before[:, None] >= 0, price_filled[np.clip(before, 0, None)][:, cols], np.nan)
        ps = point_size[cols][None, :]
        opening = qty * costs.spread[cols][None, :] * ps + commission(qty, price, ps, costs, cols)
        closing = commission(qty, price, ps, costs, cols)
        cost_ccy = -(opening + closing)
        # deflator at the date (last calendar row at or before it), fx at the date
        at_or_before = np.searchsorted(cal_values, dates_idx.values, side="right") - 1
        defl = np.where(at_or_before[:, None] >= 0, deflator[np.clip(at_or_before, 0, None)][:, cols], np.nan)
        fx = fx_at(dates_idx)[:, cols]
        cost_base = cost_ccy * defl * fx
        cost_base = np.where(eligible & ~np.isnan(cost_base), cost_base, 0.0)
        bins = business_day_labels(dates_idx)
        bin_rows = np.searchsorted(cal_values, bins.values, side="left")
        ok = (bin_rows < n_rows) & (cal_values[np.clip(bin_rows, 0, n_rows - 1)] == bins.values)
        for j_local, j in enumerate(cols):
            np.add.at(out[:, j], bin_rows[ok], cost_base[ok, j_local])
    return out


def fx_lookup(fx_series_by_column: list[pd.Series]):
    """Build ``fx_at(dates)`` from one raw FX series per column (shared series computed once)."""
    unique: dict[int, pd.Series] = {}
    keys = []
    for series in fx_series_by_column:
        unique.setdefault(id(series), series)
        keys.append(id(series))

    def fx_at(dates: pd.DatetimeIndex) -> np.ndarray:
        values = {key: asof_values(series, dates) for key, series in unique.items()}
        return np.column_stack([values[key] for key in keys]) if keys else np.zeros((len(dates), 0))

    return fx_at
