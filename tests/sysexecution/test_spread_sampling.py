"""Spread sampling on the simulated broker: hourly by default, stored in ArcticDB, not
sampled again early after a restart, closed markets skipped, read back for cost estimates."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from syscore.exceptions import MissingData
from sysexecution.market_view import MarketView
from sysexecution.spread_sampling import sample_spreads, spread_estimate

CODES = ["SP500_micro", "NASDAQ_micro"]
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def env(sim_broker_env):
    return sim_broker_env


def sample(data, every=HOUR):
    return sample_spreads(data, MarketView(data), every, contracts=lambda d, c: ("202403", "202406"),
                          instruments=lambda d: CODES)


def test_sampled_hourly_and_read_back(env):
    data, clock = env
    first = sample(data)
    books = {c: data.broker.get_bid_ask(c, "202403") for c in CODES}
    assert first.sampled == {c: books[c].ask - books[c].bid for c in CODES}
    clock.advance(pd.Timedelta(minutes=59))
    assert sample(data).sampled == {}  # not due yet
    clock.advance(pd.Timedelta(minutes=1))
    assert set(sample(data).sampled) == set(CODES)
    history = data.spreads.history("SP500_micro")
    assert len(history) == 2 and str(history.index.tz) == "UTC"
    assert spread_estimate(data, "SP500_micro") == pytest.approx(history.median())
    with pytest.raises(MissingData):
        spread_estimate(data, "SP500_micro", since=data.now() + pd.Timedelta(seconds=1))
    with pytest.raises(MissingData):
        spread_estimate(data, "GOLD_micro")


def test_configurable_interval_and_off(env):
    data, clock = env
    assert sample(data, dt.timedelta(0)).sampled == {}
    sample(data, dt.timedelta(minutes=10))
    clock.advance(pd.Timedelta(minutes=10))
    assert set(sample(data, dt.timedelta(minutes=10)).sampled) == set(CODES)


def test_closed_market_is_not_sampled(env):
    data, clock = env
    clock.advance(pd.Timedelta(days=4))  # Saturday 2024-01-13 15:00 UTC
    assert not data.broker.is_open("SP500_micro")
    assert sample(data).sampled == {}


def test_instruments_listed_at_most_once_an_interval(env):
    data, clock = env
    listed = []

    def instruments(d):
        listed.append(d.now())
        return CODES

    def run():
        return sample_spreads(data, MarketView(data), HOUR,
                              contracts=lambda d, c: ("202403", "202406"),
                              instruments=instruments)

    run()
    clock.advance(pd.Timedelta(minutes=30))
    run()
    assert len(listed) == 1  # within the hour: not even listed
    clock.advance(pd.Timedelta(minutes=30))
    assert set(run().sampled) == set(CODES) and len(listed) == 2
