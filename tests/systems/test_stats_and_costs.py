"""Statistics helpers and cost building blocks against independent computations."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from systems.accounts import equal_dates_within_year, rolling_std
from systems.stats import account_statistics, sharpe_ratio, t_test_p_value


def test_equal_dates_within_year_documented_examples():
    assert equal_dates_within_year(2022, 3) == [pd.Timestamp("2022-03-02"), pd.Timestamp("2022-07-01"), pd.Timestamp("2022-10-30")]
    assert equal_dates_within_year(2022, 1) == [pd.Timestamp("2022-07-02")]
    assert len(equal_dates_within_year(2021, 12)) == 12


def test_rolling_std_equals_pandas():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(900, 4)) * 50 + 1000
    x[:30, 1] = np.nan
    x[rng.random(x.shape) < 0.05] = np.nan
    ours = rolling_std(x, 180, 3)
    ref = pd.DataFrame(x).rolling(180, min_periods=3).std().to_numpy()
    np.testing.assert_allclose(ours, ref, rtol=1e-8, equal_nan=True)


def test_sharpe_and_stats_on_known_series():
    returns = pd.Series([1.0, -0.5, 2.0, -1.0, 0.5, 0.0])
    expected_sharpe = returns.mean() / returns.std() * 16
    assert sharpe_ratio(returns) == pytest.approx(expected_sharpe)
    stats = account_statistics(returns)
    assert stats["max_drawdown"] == pytest.approx(-1.0)  # cumsum 1, .5, 2.5, 1.5, 2, 2
    assert stats["hitrate"] == pytest.approx(3 / 5)
    assert stats["profitfactor"] == pytest.approx(3.5 / 1.5)


@pytest.mark.parametrize("t,dof", [(2.0, 10), (3.42, 13271), (-1.7, 40)])
def test_p_value_matches_t_distribution_by_integration(t, dof):
    # integrate the Student t density numerically for an independent check
    grid = np.linspace(abs(t), abs(t) + 60, 600_001)
    log_norm = math.lgamma((dof + 1) / 2) - math.lgamma(dof / 2) - 0.5 * math.log(dof * math.pi)
    density = np.exp(log_norm - (dof + 1) / 2 * np.log1p(grid**2 / dof))
    tail = np.trapezoid(density, grid)
    assert t_test_p_value(t, dof) == pytest.approx(2 * tail, rel=1e-5)


@pytest.mark.parametrize("t", [0.3, 1.0, 4.0])
def test_p_value_closed_forms(t):
    # Cauchy (1 dof) and 3 dof have closed-form CDFs
    assert t_test_p_value(t, 1) == pytest.approx(1 - 2 * math.atan(t) / math.pi, rel=1e-10)
    x = t / math.sqrt(3)
    cdf3 = 0.5 + (x / (1 + x * x) + math.atan(x)) / math.pi
    assert t_test_p_value(t, 3) == pytest.approx(2 * (1 - cdf3), rel=1e-10)
