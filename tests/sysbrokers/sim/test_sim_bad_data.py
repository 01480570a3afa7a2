"""Bad data on request: rates and explicit injections."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sysbrokers.sim.bad_data import BadDataConfig, BadDataInjection, BadDataKind
from sysbrokers.sim.market import MarketModel, default_market
from sysbrokers.sim.universe import load_universe

UTC = "UTC"
S, E = pd.Timestamp("2019-01-01", tz=UTC), pd.Timestamp("2019-06-30", tz=UTC)
CODE, CONTRACT = "SP500_micro", "201909"


@pytest.fixture(scope="module")
def clean() -> pd.DataFrame:
    return default_market().bars(CODE, CONTRACT, "H", S, E)


def _dirty(config: BadDataConfig, frequency="H", as_of=None) -> pd.DataFrame:
    return MarketModel(load_universe(), bad_data=config).bars(
        CODE, CONTRACT, frequency, S, E, as_of=as_of
    )


def test_rates_corrupt_about_the_requested_fraction(clean):
    config = BadDataConfig(
        spike_rate=0.03, zero_price_rate=0.02, zero_volume_rate=0.05, gap_rate=0.04
    )
    dirty = _dirty(config)
    n = len(clean)
    assert n > 2500
    missing = n - len(dirty)
    assert 0.025 * n < missing < 0.055 * n
    kept = clean.loc[dirty.index]
    zero_price = (dirty["FINAL"] == 0).mean()
    spiked = ((dirty["FINAL"] != kept["FINAL"]) & (dirty["FINAL"] != 0)).mean()
    zero_volume = ((dirty["VOLUME"] == 0) & (kept["VOLUME"] != 0)).mean()
    assert 0.01 < zero_price < 0.03
    assert 0.018 < spiked < 0.045
    assert 0.035 < zero_volume < 0.07
    ratio = (dirty["FINAL"] / kept["FINAL"])[
        (dirty["FINAL"] != kept["FINAL"]) & (dirty["FINAL"] != 0)
    ]
    assert np.allclose(ratio[ratio > 1], 1.5) and np.allclose(ratio[ratio < 1], 1 / 1.5)
    pd.testing.assert_frame_equal(dirty, _dirty(config))  # reproducible


def test_explicit_injections_hit_exactly_their_window(clean):
    window = (pd.Timestamp("2019-03-05 14:00", tz=UTC), pd.Timestamp("2019-03-05 18:00", tz=UTC))
    config = BadDataConfig(
        injections=(
            BadDataInjection(BadDataKind.SPIKE, CODE, *window, contract_date=CONTRACT, factor=10.0),
            BadDataInjection(
                BadDataKind.GAP,
                CODE,
                pd.Timestamp("2019-04-01 15:00", tz=UTC),
                pd.Timestamp("2019-04-01 15:00", tz=UTC),
            ),
            BadDataInjection(
                BadDataKind.ZERO_VOLUME,
                CODE,
                pd.Timestamp("2019-05-01", tz=UTC),
                pd.Timestamp("2019-05-02", tz=UTC),
            ),
            BadDataInjection(
                BadDataKind.SPIKE, CODE, *window, contract_date="201912"
            ),  # other contract
            BadDataInjection(BadDataKind.ZERO_PRICE, "CORN", S, E),  # other instrument
        )
    )
    dirty = _dirty(config)
    hit = (clean.index >= window[0]) & (clean.index <= window[1])
    assert hit.sum() == 5
    np.testing.assert_allclose(dirty.loc[clean.index[hit], "FINAL"], clean.loc[hit, "FINAL"] * 10)
    assert pd.Timestamp("2019-04-01 15:00", tz=UTC) in clean.index
    assert pd.Timestamp("2019-04-01 15:00", tz=UTC) not in dirty.index
    assert len(dirty) == len(clean) - 1
    may = (dirty.index >= "2019-05-01") & (dirty.index <= "2019-05-02")
    assert may.sum() > 10 and (dirty.loc[may, "VOLUME"] == 0).all()
    in_window = (dirty.index >= window[0]) & (dirty.index <= window[1])
    outside = ~in_window & ~may
    pd.testing.assert_frame_equal(dirty[outside], clean.loc[dirty.index[outside]])


def test_late_bars_appear_only_after_their_delay(clean):
    label = pd.Timestamp("2019-02-12 15:00", tz=UTC)
    assert label in clean.index
    config = BadDataConfig(
        injections=(
            BadDataInjection(BadDataKind.LATE, CODE, label, label, delay=pd.Timedelta(hours=3)),
        )
    )
    just_after = _dirty(config, as_of=label + pd.Timedelta(hours=1))
    assert label not in just_after.index
    assert (
        label - pd.Timedelta(hours=1) in just_after.index
        and label + pd.Timedelta(hours=1) in just_after.index
    )
    later = _dirty(config, as_of=label + pd.Timedelta(hours=3))
    assert label in later.index
    assert later.loc[label, "FINAL"] == clean.loc[label, "FINAL"]


def test_bad_data_never_changes_exchange_prices():
    times = pd.date_range("2019-03-05 14:00", periods=20, freq="13min", tz=UTC).asi8
    config = BadDataConfig(spike_rate=1.0, zero_price_rate=0.5)
    dirty_quotes = MarketModel(load_universe(), bad_data=config).quotes(CODE, CONTRACT, times)
    clean_quotes = default_market().quotes(CODE, CONTRACT, times)
    np.testing.assert_array_equal(dirty_quotes.bid, clean_quotes.bid)
    np.testing.assert_array_equal(dirty_quotes.ask_size, clean_quotes.ask_size)


def test_daily_bars_can_be_corrupted_independently():
    config = BadDataConfig(zero_price_rate=0.2)
    daily = _dirty(config, frequency="D")
    frac = (daily["FINAL"] == 0).mean()
    assert 0.1 < frac < 0.3
