"""Carry rule: the raw carry (annualised roll yield over annualised price volatility)
smoothed by an EWMA with centre of mass ``smooth_days`` business days."""
from __future__ import annotations

import numpy as np

from systems.ewma import ewma_mean


def carry(raw_carry: np.ndarray, smooth_days: float = 90) -> np.ndarray:
    """Raw carry forecast (before the forecast scalar)."""
    return ewma_mean(raw_carry, com=smooth_days)
