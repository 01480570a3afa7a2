"""Spike check of new bars against stored history."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from syscore.exceptions import ConfigError, InvalidData
from sysobjects.spike_check import SpikeCheckSettings, check_for_spikes


def daily_walk(n=1000, seed=7, start="2018-01-01 23:00", sd=1.0, level=1000.0):
    rng = np.random.default_rng(seed)
    index = pd.date_range(start, periods=n, freq="D", tz="UTC")
    return pd.Series(level + np.cumsum(rng.normal(0, sd, n)), index=index)


def next_days(series, values, gap_days=1):
    start = series.index[-1] + pd.Timedelta(days=gap_days)
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq="D"))


def test_past_means_all_earlier_changes_up_to_the_previous_one():
    """Reference for change i = ewm(adjust=True) of x_1..x_{i-1}. span=3 -> alpha=0.5."""
    prices = pd.Series(
        [100.0, 101.0, 103.0, 104.0],
        index=pd.date_range("2021-01-01", periods=4, freq="D", tz="UTC"),
    )
    result = check_for_spikes(prices.iloc[:1], prices.iloc[1:], SpikeCheckSettings(span=3))
    checked = result.checked
    assert np.isnan(checked["reference"].iloc[0])          # x1 = 1: nothing before it
    assert checked["reference"].iloc[1] == pytest.approx(1.0)   # x2 = 2: mean of x1
    assert checked["reference"].iloc[2] == pytest.approx((2 + 0.5 * 1) / 1.5)  # x3
    assert list(checked["change_per_day"]) == [1.0, 2.0, 1.0]
    assert not result.has_spikes


def test_changes_scaled_by_root_elapsed_days():
    index = pd.DatetimeIndex(["2021-01-01 10:00", "2021-01-01 11:00", "2021-01-04 11:00"], tz="UTC")
    prices = pd.Series([100.0, 100.1, 100.4], index=index)
    checked = check_for_spikes(prices.iloc[:0], prices).checked
    assert checked["change_per_day"].iloc[0] == pytest.approx(0.1 * np.sqrt(24))
    assert checked["change_per_day"].iloc[1] == pytest.approx(0.3 / np.sqrt(3))


def test_threshold_is_strict():
    prices = pd.Series([0.0, 1.0, 9.0, 17.0001],
                       index=pd.date_range("2021-01-01", periods=4, freq="D", tz="UTC"))
    result = check_for_spikes(prices.iloc[:2], prices.iloc[2:], SpikeCheckSettings(span=1))
    # span=1: reference is the previous change; 8 == 8 x 1 is not a spike, 8.0001 > 8 x 8 is not
    assert list(result.checked["is_spike"]) == [False, False]
    jump = pd.Series([9.0, 9.5, 14.0], index=prices.index[1:])
    result = check_for_spikes(prices.iloc[:1], jump, SpikeCheckSettings(span=1))
    assert list(result.checked["is_spike"]) == [False, False, True]


def test_single_bar_spike_reports_in_and_out():
    history = daily_walk()
    last = history.iloc[-1]
    new = next_days(history, [last + 0.5, last + 40.0, last + 0.7, last + 1.0])
    result = check_for_spikes(history, new)
    assert list(result.spikes) == [new.index[1], new.index[2]]
    assert result.first_spike == new.index[1]
    assert list(result.accepted(new).index) == [new.index[0]]


def test_run_of_bad_bars():
    history = daily_walk()
    last = history.iloc[-1]
    values = [last + 0.3] + [last + 50 + 0.2 * k for k in range(5)] + [last + 0.1, last]
    new = next_days(history, values)
    result = check_for_spikes(history, new)
    assert list(result.spikes) == [new.index[1], new.index[6]]
    assert len(result.accepted(new)) == 1


def test_first_bar_after_a_gap():
    history = daily_walk()
    last = history.iloc[-1]
    normal_move = 3 * np.sqrt(30)  # three typical daily moves' worth over 30 days
    quiet = next_days(history, [last + normal_move], gap_days=30)
    assert not check_for_spikes(history, quiet).has_spikes
    jump = next_days(history, [last + 15 * np.sqrt(30)], gap_days=30)
    assert list(check_for_spikes(history, jump).spikes) == [jump.index[0]]


def test_new_bars_are_checked_against_existing_history():
    history = daily_walk(sd=1.0)
    calm = daily_walk(n=20, seed=3, sd=0.01, start="2025-01-01")  # tiny moves on their own
    calm = calm - calm.iloc[0] + history.iloc[-1]
    calm.index = history.index[-1] + pd.Timedelta(days=1) + (calm.index - calm.index[0])
    with_history = check_for_spikes(history, calm)
    assert with_history.checked["reference"].iloc[0] > 0.5  # from stored history
    assert len(with_history.checked) == 20
    # in batches: same answer as all at once
    both = check_for_spikes(history, calm)
    first = check_for_spikes(history, calm.iloc[:10])
    second = check_for_spikes(pd.concat([history, calm.iloc[:10]]), calm.iloc[10:])
    pd.testing.assert_frame_equal(pd.concat([first.checked, second.checked]), both.checked)


def test_nan_ignored_and_empty_history():
    prices = pd.Series([1.0, np.nan, 1.1, 1.2],
                       index=pd.date_range("2021-01-01", periods=4, freq="D"))
    result = check_for_spikes(pd.Series(dtype=float), prices)
    assert len(result.checked) == 2 and not result.has_spikes
    assert len(check_for_spikes(pd.Series(dtype=float), prices.iloc[:1]).checked) == 0


def test_flat_history_makes_any_move_a_spike():
    flat = pd.Series([5.0] * 10, index=pd.date_range("2021-01-01", periods=10, freq="D"))
    new = next_days(flat, [5.01])
    assert check_for_spikes(flat, new).has_spikes


def test_new_must_follow_existing():
    history = daily_walk(n=10)
    with pytest.raises(InvalidData, match="not after"):
        check_for_spikes(history, history.iloc[-2:])
    with pytest.raises(InvalidData, match="strictly increasing"):
        check_for_spikes(history.iloc[:0], history.iloc[::-1])


def test_settings_validation():
    with pytest.raises(ConfigError):
        SpikeCheckSettings(max_price_spike=0)
    with pytest.raises(ConfigError):
        SpikeCheckSettings(span=0)


def test_fx_series_reference_and_injected_spike(reference):
    gbp = reference.fx("GBPUSD")
    existing, new = gbp.iloc[:-250], gbp.iloc[-250:]
    clean = check_for_spikes(existing, new)
    assert len(clean.checked) == 250
    assert not clean.has_spikes
    bad = new.copy()
    bad.iloc[100] *= 1.10  # a 10 % jump in a day in cable
    result = check_for_spikes(existing, bad)
    assert list(result.spikes) == [bad.index[100], bad.index[101]]


def test_min_reference_changes_skips_the_first_changes_of_a_history():
    # the second change is 20 times the first: a spike against a reference of one change
    prices = pd.Series([100.0, 100.1, 102.1, 102.2, 110.0],
                       index=pd.date_range("2021-01-01", periods=5, freq="D", tz="UTC"))
    assert list(check_for_spikes(prices.iloc[:0], prices).spikes) == [prices.index[2],
                                                                       prices.index[4]]
    late = check_for_spikes(prices.iloc[:0], prices, SpikeCheckSettings(min_reference_changes=3))
    assert list(late.spikes) == [prices.index[4]]  # the 4th change has 3 before it
    with pytest.raises(ConfigError, match="min_reference_changes"):
        SpikeCheckSettings(min_reference_changes=0)
