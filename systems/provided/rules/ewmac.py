"""EWMAC trend rule: (EWMA_fast - EWMA_slow) of the back-adjusted price, divided by the daily
price volatility (forward-filled). Any fast/slow pair of spans, in business days."""
from __future__ import annotations

import numpy as np

from systems.calendar import ffill_2d
from systems.ewma import ewma_mean


def ewmac(price: np.ndarray, vol: np.ndarray, Lfast: float = 32, Lslow: float = 128) -> np.ndarray:  # noqa: N803 (pysystemtrade argument names)
    """Raw EWMAC forecast (before the forecast scalar).

    price: daily back-adjusted prices, NaN on days without data.
    vol: daily returns volatility in price units.
    """
    if Lfast >= Lslow:
        raise ValueError(f"ewmac needs Lfast < Lslow, got {Lfast} and {Lslow}")
    fast = ewma_mean(price, span=Lfast)
    slow = ewma_mean(price, span=Lslow)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (fast - slow) / ffill_2d(vol)
