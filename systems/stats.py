"""Account-curve statistics of a daily returns series (business days).

Annualisation uses 256 business days a year (standard deviation x 16), as pysystemtrade does.
The statistic names follow pysystemtrade's ``stats()``.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

DAYS_IN_YEAR = 256
ROOT_DAYS_IN_YEAR = 16.0


def sharpe_ratio(returns: pd.Series) -> float:
    """Annualised Sharpe ratio: mean / std (ddof 1) x 16 over the non-NaN daily returns."""
    values = returns.dropna()
    std = values.std()
    if len(values) < 2 or not std > 0:
        return float("nan")
    return float(values.mean() / std * ROOT_DAYS_IN_YEAR)


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def regularized_incomplete_beta(a: float, b: float, x: float) -> float:
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def t_test_p_value(t_stat: float, dof: float) -> float:
    """Two-sided p-value of a Student t statistic with ``dof`` degrees of freedom."""
    if not np.isfinite(t_stat) or dof <= 0:
        return float("nan")
    return regularized_incomplete_beta(dof / 2.0, 0.5, dof / (dof + t_stat * t_stat))


def _biased_skew(values: pd.Series) -> float:
    """Sample skewness without small-sample correction (m3 / m2^1.5)."""
    centred = values - values.mean()
    m2 = float((centred**2).mean())
    return float((centred**3).mean() / m2**1.5) if m2 > 0 else float("nan")


def account_statistics(returns: pd.Series) -> dict[str, float]:
    """The usual statistics of daily returns (units as the input, e.g. % of capital).

    Drawdowns are measured on the cumulated (summed) returns; ``sortino`` divides the annual
    mean by the population std of losing days x 16; ``skew`` is the uncorrected sample skew;
    ``t_stat``/``p_value`` test a zero mean (one-sample t-test)."""
    values = returns.dropna()
    if len(values) < 2:
        return {}
    cumulative = values.cumsum()
    drawdown = cumulative - cumulative.cummax()
    losses, gains = values[values < 0], values[values > 0]
    mean, std = values.mean(), values.std()
    ann_mean = mean * DAYS_IN_YEAR
    t_stat = mean / (std / math.sqrt(len(values))) if std > 0 else float("nan")
    avg_loss, avg_gain = losses.mean(), gains.mean()
    return {
        "min": float(values.min()),
        "max": float(values.max()),
        "median": float(values.median()),
        "mean": float(mean),
        "std": float(std),
        "skew": _biased_skew(values),
        "ann_mean": float(ann_mean),
        "ann_std": float(std * ROOT_DAYS_IN_YEAR),
        "sharpe": sharpe_ratio(values),
        "sortino": float(ann_mean / (losses.std(ddof=0) * ROOT_DAYS_IN_YEAR)) if len(losses) > 1 else float("nan"),
        "max_drawdown": float(drawdown.min()),
        "avg_drawdown": float(drawdown.mean()),
        "time_in_drawdown": float((drawdown < 0).mean()),
        "calmar": float(ann_mean / -drawdown.min()) if drawdown.min() < 0 else float("nan"),
        "avg_return_to_drawdown": float(ann_mean / -drawdown.mean()) if drawdown.mean() < 0 else float("nan"),
        "avg_loss": float(avg_loss),
        "avg_gain": float(avg_gain),
        "gaintolossratio": float(avg_gain / -avg_loss) if avg_loss < 0 else float("nan"),
        "profitfactor": float(gains.sum() / -losses.sum()) if losses.sum() < 0 else float("nan"),
        "hitrate": float(len(gains) / (len(gains) + len(losses))) if len(gains) + len(losses) else float("nan"),
        "t_stat": float(t_stat),
        "p_value": t_test_p_value(t_stat, len(values) - 1),
        "kurtosis": float(values.kurt()),
        "days": float(len(values)),
    }
