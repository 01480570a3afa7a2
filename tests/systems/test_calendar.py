"""Business-day binning and alignment equal the pandas operations pysystemtrade uses."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from systems.calendar import asof_values, business_days, daily_last, daily_mean, ffill_2d


def _intraday(seed=3, n=4000) -> pd.Series:
    rng = np.random.default_rng(seed)
    stamps = pd.Timestamp("2019-01-01") + pd.to_timedelta(np.sort(rng.integers(0, 900 * 24, n)), unit="h")
    stamps = stamps[~stamps.duplicated()]
    values = rng.normal(size=len(stamps)).cumsum()
    values[rng.random(len(values)) < 0.1] = np.nan
    return pd.Series(values, index=stamps)


def test_daily_last_equals_resample_1b_last():
    s = _intraday()
    pd.testing.assert_series_equal(daily_last(s), s.resample("1B").last(), check_freq=False, check_names=False)


def test_daily_mean_equals_resample_1b_mean():
    s = _intraday(seed=4)
    s.iloc[5] = np.inf
    pd.testing.assert_series_equal(daily_mean(s), s.resample("1B").mean(), check_freq=False, check_names=False)


def test_weekend_stamps_belong_to_friday():
    s = pd.Series([1.0, 2.0, 3.0], index=pd.DatetimeIndex(["2024-01-05 10:00", "2024-01-06 12:00", "2024-01-07 23:00"]))
    out = daily_last(s)
    assert list(out.index) == [pd.Timestamp("2024-01-05")]
    assert out.iloc[0] == 3.0


def test_business_days_equal_bdate_range():
    assert business_days("1999-12-25", "2000-03-05").equals(pd.bdate_range("1999-12-25", "2000-03-05"))


def test_asof_equals_reindex_ffill():
    s = _intraday(seed=5).dropna()
    dates = pd.bdate_range("2018-12-20", "2021-08-01")
    np.testing.assert_array_equal(asof_values(s, dates), s.reindex(dates, method="ffill").to_numpy())


def test_ffill_2d_equals_pandas():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4))
    x[rng.random(x.shape) < 0.4] = np.nan
    x[:, 3] = np.nan
    np.testing.assert_array_equal(ffill_2d(x), pd.DataFrame(x).ffill().to_numpy())


@pytest.mark.parametrize("empty", [pd.Series(dtype=float)])
def test_empty_series(empty):
    assert daily_last(empty).empty and daily_mean(empty).empty


def test_csv_reader_sorts_dedupes_and_converts_timezones(tmp_path):
    from systems.csv_sim_data import _read_series_csv

    path = tmp_path / "x.csv"
    path.write_text("DATETIME,price\n2020-01-03 10:00:00+01:00,3\n2020-01-02 23:00:00+00:00,1\n")
    aware = _read_series_csv(path, ("price",))
    assert aware.index.tz is None and aware.index[-1] == pd.Timestamp("2020-01-03 09:00")
    path.write_text("DATETIME,price\n2020-01-03 10:00:00,3\n2020-01-02 23:00:00,1\n2020-01-02 23:00:00,2\n")
    frame = _read_series_csv(path, ("price",))
    assert list(frame["price"]) == [2.0, 3.0]
    assert frame.index[0] == pd.Timestamp("2020-01-02 23:00")


def test_binning_before_1970_equals_resample():
    s = _intraday(seed=6)
    s.index = s.index - pd.Timedelta(days=365 * 52)  # 1967 onwards: negative day numbers
    pd.testing.assert_series_equal(daily_last(s), s.resample("1B").last(), check_freq=False, check_names=False)
    pd.testing.assert_series_equal(daily_mean(s), s.resample("1B").mean(), check_freq=False, check_names=False)


def test_daily_last_and_mean_bins_two_series_of_one_index_once():
    from systems.calendar import daily_last_and_mean

    price = _intraday(seed=7)
    roll = pd.Series(np.random.default_rng(8).normal(size=len(price)), index=price.index)
    last, mean = daily_last_and_mean(price, roll)
    pd.testing.assert_series_equal(last, daily_last(price))
    pd.testing.assert_series_equal(mean, daily_mean(roll))
    with pytest.raises(ValueError, match="same index"):
        daily_last_and_mean(price, roll.iloc[1:])


def test_ffill_2d_keeps_shapes_and_negative_zero():
    assert ffill_2d(np.empty((0, 3))).shape == (0, 3)
    assert ffill_2d(np.empty((4, 0))).shape == (4, 0)
    x = np.array([[np.nan, -0.0], [1.0, np.nan], [np.nan, np.nan]])
    out = ffill_2d(x)
    assert np.isnan(out[0, 0]) and out[1:, 0].tolist() == [1.0, 1.0]
    assert np.signbit(out[:, 1]).all() and (out[:, 1] == 0.0).all()
