"""The vectorised EWMA equals pandas ewm(adjust=True, ignore_na=False)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from systems.ewma import alpha_from, decayed_sum, ewma_mean, ewma_std


def _data(kind: str) -> np.ndarray:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(3000, 5)).cumsum(axis=0) + 500.0
    if kind == "returns":
        x = np.diff(x, axis=0)
    x[rng.random(x.shape) < 0.08] = np.nan  # scattered gaps
    x[:300, 1] = np.nan  # late start
    x[1000:1400, 2] = np.nan  # long gap
    x[2500:, 3] = np.nan  # early end
    x[:, 4] = np.nan  # never starts
    return x


PARAMS = [
    dict(span=35, min_periods=10),
    dict(span=2),
    dict(span=1),
    dict(span=2560),
    dict(com=90),
    dict(com=0.5, min_periods=3),
]


@pytest.mark.parametrize("kind", ["prices", "returns"])
@pytest.mark.parametrize("params", PARAMS, ids=str)
def test_mean_equals_pandas(kind, params):
    x = _data(kind)
    ours = ewma_mean(x, **params)
    ref = pd.DataFrame(x).ewm(**params).mean().to_numpy()
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("kind", ["prices", "returns"])
@pytest.mark.parametrize("params", [p for p in PARAMS if p.get("span") != 1], ids=str)
def test_std_equals_pandas(kind, params):
    x = _data(kind)
    ours = ewma_std(x, **params)
    ref = pd.DataFrame(x).ewm(**params).std().to_numpy()
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))
    np.testing.assert_allclose(ours, ref, rtol=1e-7, atol=1e-12)


def test_one_dimensional_input_and_bias():
    x = _data("returns")[:, 0]
    np.testing.assert_allclose(ewma_mean(x, span=10), pd.Series(x).ewm(span=10).mean(), rtol=1e-12)
    np.testing.assert_allclose(
        ewma_std(x, span=10, bias=True), pd.Series(x).ewm(span=10).std(bias=True), rtol=1e-8
    )


def test_decayed_sum_recursion():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2000, 3))
    for decay in (0.0, 1.0 / 3.0, 0.9, 0.9999, 1.0):
        expected = np.zeros_like(x)
        acc = np.zeros(3)
        for i in range(len(x)):
            acc = decay * acc + x[i]
            expected[i] = acc
        np.testing.assert_allclose(decayed_sum(x, decay), expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("kwargs", [dict(), dict(span=10, com=3), dict(span=0.5), dict(com=-1)])
def test_bad_parameters_rejected(kwargs):
    with pytest.raises(ValueError):
        alpha_from(**kwargs)


def test_constant_columns_fast_path_equals_pandas():
    x = np.full((400, 4), 0.25)
    x[:50, 1] = np.nan  # constant after a late start
    x[100:150, 2] = np.nan  # constant with a gap
    x[::7, 3] = np.nan
    for params in (dict(span=125), dict(span=10, min_periods=30)):
        ours = ewma_mean(x, **params)
        ref = pd.DataFrame(x).ewm(**params).mean().to_numpy()
        np.testing.assert_array_equal(ours, ref)


def test_wide_arrays_are_processed_in_column_batches():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(300, 150))
    x[rng.random(x.shape) < 0.1] = np.nan
    np.testing.assert_allclose(ewma_mean(x, span=20), pd.DataFrame(x).ewm(span=20).mean(), rtol=1e-10)
    np.testing.assert_allclose(ewma_std(x, span=20), pd.DataFrame(x).ewm(span=20).std(), rtol=1e-8)
