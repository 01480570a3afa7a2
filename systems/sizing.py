"""Position sizing: volatility scalar and subsystem position (2-D arrays, see rawdata)."""
from __future__ import annotations

import numpy as np

from systems.calendar import extend_last, ffill_2d


def block_value(underlying_price: np.ndarray, point_size: np.ndarray) -> np.ndarray:
    """Value of a 1% price move for one contract, instrument currency:
    underlying price (forward-filled) x point size x 0.01."""
    return ffill_2d(underlying_price) * point_size[None, :] * 0.01


def vol_scalar(daily_cash_vol_target: float, instrument_value_vol: np.ndarray) -> np.ndarray:
    """Contracts that give the daily cash vol target at a forecast of the average absolute
    forecast: target / instrument value vol (both base currency per day)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return daily_cash_vol_target / instrument_value_vol


def subsystem_position(
    scalar: np.ndarray,
    scalar_end: np.ndarray,
    combined_forecast: np.ndarray,
    forecast_end: np.ndarray,
    average_absolute_forecast: float,
) -> np.ndarray:
    """vol scalar (carried to the forecast's index with forward fill) x forecast / average
    absolute forecast, in contracts for the whole capital."""
    carried = extend_last(scalar, scalar_end, forecast_end)
    return carried * combined_forecast / average_absolute_forecast
