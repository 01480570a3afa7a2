"""Statistical and determinism tests of the simulated market."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sysbrokers.errors import UnknownContract
from sysbrokers.sim.market import MarketModel, default_market
from sysbrokers.sim.universe import MONTH_LETTERS, load_universe

REPO = Path(__file__).resolve().parents[3]
UTC = "UTC"
START = pd.Timestamp("2010-01-01", tz=UTC)
END = pd.Timestamp("2020-01-01", tz=UTC)


@pytest.fixture(scope="module")
def market() -> MarketModel:
    return default_market()


def _liquid_contracts(market, code, start, end):
    spec = market.spec(code)
    return [
        c
        for c in market.contracts_expiring_between(code, start.date(), end.date())
        if MONTH_LETTERS[int(c[4:6]) - 1] in spec.liquid_cycle
    ]


def _front_returns(market, code, start, end):
    """Daily log returns of the liquid front contract, never across a roll."""
    spec = market.spec(code)
    out, previous_roll = [], start
    for contract in _liquid_contracts(market, code, start, end):
        roll = pd.Timestamp(market.expiry_ns(code, contract), tz=UTC) - pd.Timedelta(
            days=spec.roll_days
        )
        bars = market.bars(code, contract, "D", previous_roll, roll)
        out.append(np.diff(np.log(bars["FINAL"].to_numpy())))
        previous_roll = roll
    return np.concatenate(out)


@pytest.mark.parametrize("code", ["SP500_micro", "US10", "CORN", "VIX", "EUR", "GAS_US"])
def test_realised_vol_is_close_to_configured(market, code):
    returns = _front_returns(market, code, START, END)
    assert len(returns) > 2000
    realised = returns.std() * np.sqrt(256)
    configured = market.spec(code).path.annual_vol
    assert 0.8 * configured < realised < 1.2 * configured, (realised, configured)


def test_vol_regimes_make_rolling_vol_vary(market):
    returns = _front_returns(market, "SP500_micro", START, END)
    rolling = pd.Series(returns).rolling(60).std().dropna() * 16
    assert rolling.max() / rolling.min() > 2.0


@pytest.mark.parametrize("code", ["CORN", "SP500_micro", "CRUDE_W"])
def test_volume_moves_from_front_to_next_before_expiry(market, code):
    spec = market.spec(code)
    contracts = _liquid_contracts(
        market, code, pd.Timestamp("2015-01-01", tz=UTC), pd.Timestamp("2016-12-31", tz=UTC)
    )
    assert len(contracts) >= 5
    for previous, front, nxt in zip(contracts[:-2], contracts[1:-1], contracts[2:], strict=True):
        expiry = pd.Timestamp(market.expiry_ns(code, front), tz=UTC)
        previous_expiry = pd.Timestamp(market.expiry_ns(code, previous), tz=UTC)
        # the front is the most liquid from the previous contract's roll until its own roll
        window = (previous_expiry - pd.Timedelta(days=spec.roll_days - 5), expiry)
        front_v = market.bars(code, front, "D", *window)["VOLUME"]
        next_v = market.bars(code, nxt, "D", *window)["VOLUME"].reindex(front_v.index).fillna(0)
        assert front_v.iloc[0] > next_v.iloc[0]  # front dominant well before the roll
        crossed = front_v.index[next_v > front_v]
        assert len(crossed), f"{code} {front}: no crossover"
        first = crossed[0]
        assert first < expiry
        assert abs((expiry - first).days - spec.roll_days) <= 6, (front, first, expiry)
        assert (next_v > front_v)[first:].mean() > 0.9  # stays crossed


@pytest.mark.parametrize("code", ["CRUDE_W", "VIX", "CORN", "US10"])
def test_carry_sign_matches_term_structure(market, code):
    spec = market.spec(code)
    contracts = market.contracts_expiring_between(
        code, pd.Timestamp("2012-01-01").date(), pd.Timestamp("2018-01-01").date()
    )
    agree = checked = 0
    for near, far in zip(contracts[:-1], contracts[1:], strict=True):
        expiry = pd.Timestamp(market.expiry_ns(code, near), tz=UTC)
        a = market.bars(
            code, near, "D", expiry - pd.Timedelta(days=90), expiry - pd.Timedelta(days=5)
        )["FINAL"]
        b = market.bars(
            code, far, "D", expiry - pd.Timedelta(days=90), expiry - pd.Timedelta(days=5)
        )["FINAL"]
        both = pd.concat([a, b], axis=1, keys=["near", "far"]).dropna()
        slope = np.log(both["far"] / both["near"])
        carry = market.carry(code, both.index.asi8)
        dtau = (market.expiry_ns(code, far) - market.expiry_ns(code, near)) / (365.25 * 86400e9)
        significant = np.abs(carry * dtau) > 3 * spec.tick_size / both["near"]
        agree += int((np.sign(slope[significant]) == np.sign(carry[significant])).sum())
        checked += int(significant.sum())
    assert checked > 200
    assert agree / checked > 0.98


def test_carry_changes_sign_over_history_for_crude(market):
    carry = market.carry_path("CRUDE_W").daily
    assert (carry > 0).mean() > 0.1 and (carry < 0).mean() > 0.1


def test_contracts_converge_to_the_underlying_at_expiry(market):
    expiry = market.expiry_ns("CRUDE_W", "201506")
    t = np.array([expiry - 1])
    spot = np.exp(market._path(market.spec("CRUDE_W")).log_price(t))
    assert market.mid_price("CRUDE_W", "201506", t) == pytest.approx(spot, rel=1e-4)


@pytest.mark.parametrize(
    "code", ["CORN", "EUROSTX", "LIVECOW", "SP500_micro", "CRUDE_W", "FTSE100"]
)
def test_no_bars_outside_trading_hours(market, code):
    contract = market.active_contracts(code, pd.Timestamp("2019-03-01", tz=UTC))[0]
    hourly = market.bars(
        code, contract, "H", pd.Timestamp("2018-06-01", tz=UTC), pd.Timestamp("2019-12-31", tz=UTC)
    )
    assert len(hourly) > 500
    labels = hourly.index.asi8
    # the last instant a bar covers is inside a session ...
    assert market.open_mask(code, labels - 1).all()
    # ... and so is its first instant (bars never exceed one hour)
    assert market.open_mask(code, labels - 3_600_000_000_000).sum() >= 0.8 * len(labels)
    assert not (hourly.index.dayofweek == 5).any()  # nothing trades on a Saturday
    daily = market.bars(
        code, contract, "D", pd.Timestamp("2018-06-01", tz=UTC), pd.Timestamp("2019-12-31", tz=UTC)
    )
    assert market.open_mask(code, daily.index.asi8 - 1).all()
    assert not market.open_mask(
        code, daily.index.asi8
    ).any()  # daily bars are labelled at the close


def test_bar_sanity(market):
    bars = market.bars(
        "BUND",
        "201906",
        "H",
        pd.Timestamp("2018-12-01", tz=UTC),
        pd.Timestamp("2019-06-30", tz=UTC),
    )
    assert list(bars.columns) == ["OPEN", "HIGH", "LOW", "FINAL", "VOLUME"]
    assert len(bars) > 1000  # seven months of hourly bars: the checks below are not vacuous
    assert str(bars.index.tz) == UTC and bars.index.is_monotonic_increasing and bars.index.is_unique
    assert (bars["HIGH"] >= bars[["OPEN", "FINAL"]].max(axis=1)).all()
    assert (bars["LOW"] <= bars[["OPEN", "FINAL"]].min(axis=1)).all()
    assert (bars["LOW"] > 0).all() and (bars["VOLUME"] >= 0).all()
    ticks = bars[["OPEN", "HIGH", "LOW", "FINAL"]].to_numpy() / 0.01
    assert np.allclose(ticks, np.round(ticks), atol=1e-6)
    assert bars.index[-1] <= pd.Timestamp(market.expiry_ns("BUND", "201906"), tz=UTC)


def test_overlapping_requests_agree(market):
    code, contract = "GOLD", "201812"
    a, b, c = (pd.Timestamp(x, tz=UTC) for x in ("2017-12-15", "2018-03-07 13:30", "2018-11-30"))
    whole = market.bars(code, contract, "H", a, c)
    first = market.bars(code, contract, "H", a, b)
    second = market.bars(code, contract, "H", b + pd.Timedelta(1, "ns"), c)
    pd.testing.assert_frame_equal(whole, pd.concat([first, second]))
    fresh = MarketModel(load_universe(), grid_cache_size=1)
    pd.testing.assert_frame_equal(whole, fresh.bars(code, contract, "H", a, c))
    daily = market.bars(code, contract, "D", a, c)
    last_hour = whole.groupby(whole.index.floor("D"))["FINAL"].last()
    assert daily["FINAL"].iloc[10] == whole.loc[: daily.index[10], "FINAL"].iloc[-1]
    assert daily["VOLUME"].sum() <= whole["VOLUME"].sum() + 1
    assert len(last_hour) >= len(daily)


_DIGEST = """
import hashlib, json, sys
import pandas as pd
from sysbrokers.sim.market import MarketModel
m = MarketModel()
s, e = pd.Timestamp("2016-01-01", tz="UTC"), pd.Timestamp("2016-09-01", tz="UTC")
out = {}
for code, contract in [("CORN", "201612"), ("VIX", "201608"), ("EUROSTX", "201609")]:
    bars = m.bars(code, contract, "H", s, e)
    out[code] = hashlib.sha256(pd.util.hash_pandas_object(bars).to_numpy().tobytes()).hexdigest()
fx = m.fx_daily("EUR", "GBP", s, e)
out["fx"] = hashlib.sha256(fx.to_numpy().tobytes()).hexdigest()
print(json.dumps(out))
"""


def test_determinism_across_processes():
    results = []
    for hash_seed in ("1", "987"):
        env = {"PYTHONHASHSEED": hash_seed, "PATH": "/usr/bin:/bin"}
        done = subprocess.run(
            [sys.executable, "-c", _DIGEST],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        results.append(json.loads(done.stdout))
    assert results[0] == results[1]
    assert len(set(results[0].values())) == 4


def test_seed_changes_the_market():
    a = default_market().bars(
        "CORN",
        "201612",
        "D",
        pd.Timestamp("2016-01-01", tz=UTC),
        pd.Timestamp("2016-06-01", tz=UTC),
    )
    other = MarketModel(replace(load_universe(), seed=7))
    b = other.bars(
        "CORN",
        "201612",
        "D",
        pd.Timestamp("2016-01-01", tz=UTC),
        pd.Timestamp("2016-06-01", tz=UTC),
    )
    assert a.index.equals(b.index)
    assert not np.allclose(a["FINAL"], b["FINAL"])


def test_fx_consistency(market):
    s, e = pd.Timestamp("2015-01-01", tz=UTC), pd.Timestamp("2015-12-31", tz=UTC)
    eurusd = market.fx_daily("EUR", "USD", s, e)
    usdeur = market.fx_daily("USD", "EUR", s, e)
    gbpusd = market.fx_daily("GBP", "USD", s, e)
    eurgbp = market.fx_daily("EUR", "GBP", s, e)
    assert 250 <= len(eurusd) <= 262 and str(eurusd.index.tz) == UTC
    assert not (eurusd.index.dayofweek >= 5).any()
    np.testing.assert_allclose(eurusd * usdeur, 1.0)
    np.testing.assert_allclose(eurgbp, eurusd / gbpusd)
    realised = np.diff(np.log(eurusd.to_numpy())).std() * 16
    assert 0.04 < realised < 0.14
    # the EUR future is the EURUSD rate carried to its expiry
    t = eurusd.index.asi8[100:101]
    future = market.mid_price("EUR", "201603", t)[0]
    tau = (market.expiry_ns("EUR", "201603") - t[0]) / (365.25 * 86400e9)
    assert future == pytest.approx(
        eurusd.iloc[100] * np.exp(market.carry("EUR", t)[0] * tau), rel=1e-9
    )
    with pytest.raises(UnknownContract):
        market.fx_daily("XYZ", "USD", s, e)


def test_quotes(market):
    times = pd.date_range("2019-02-04 15:00", periods=50, freq="7min", tz=UTC).asi8
    q = market.quotes("SP500_micro", "201903", times)
    assert (q.ask > q.bid).all() and (q.bid_size >= 1).all() and (q.ask_size >= 1).all()
    assert np.allclose((q.ask - q.bid) / 0.25, 1)
    mid = market.mid_price("SP500_micro", "201903", times)
    assert (np.abs((q.bid + q.ask) / 2 - mid) <= 0.25).all()
    deferred = market.quotes("SP500_micro", "201909", times)
    assert (deferred.ask - deferred.bid).mean() > (q.ask - q.bid).mean()
    assert deferred.bid_size.mean() < q.bid_size.mean()


def test_unknown_contracts(market):
    with pytest.raises(UnknownContract):
        market.bars("NOPE", "202003", "D", START, END)
    with pytest.raises(UnknownContract):
        market.bars("SP500_micro", "202004", "D", START, END)  # April is not in HMUZ


def test_decades_of_history_are_fast(market):
    import time

    t0 = time.perf_counter()
    fx = market.fx_daily(
        "JPY", "USD", pd.Timestamp("1985-01-01", tz=UTC), pd.Timestamp("2025-01-01", tz=UTC)
    )
    bars = [
        market.bars(
            "US10", c, "D", pd.Timestamp("1985-01-01", tz=UTC), pd.Timestamp("2025-01-01", tz=UTC)
        )
        for c in market.contracts_expiring_between(
            "US10", pd.Timestamp("1985-01-01").date(), pd.Timestamp("2025-01-01").date()
        )
    ]
    elapsed = time.perf_counter() - t0
    assert len(fx) > 10_000 and len(bars) == 160 and all(len(b) > 100 for b in bars[1:])
    assert elapsed < 20


@pytest.mark.parametrize(
    "code,tz,first,last",
    [
        ("EUROSTX", "Europe/Berlin", "08:00", "22:00"),
        ("LIVECOW", "America/Chicago", "08:30", "13:05"),
    ],
)
def test_sessions_follow_local_time_through_daylight_saving(market, code, tz, first, last):
    contract = market.active_contracts(code, pd.Timestamp("2019-03-01", tz=UTC))[0]
    bars = market.bars(
        code, contract, "H", pd.Timestamp("2018-09-01", tz=UTC), pd.Timestamp("2019-04-30", tz=UTC)
    )
    local = bars.index.tz_convert(tz)
    minutes = local.hour * 60 + local.minute
    lo = int(first[:2]) * 60 + int(first[3:])
    hi = int(last[:2]) * 60 + int(last[3:])
    assert (minutes > lo).all() and (minutes <= hi).all()
    assert (local.dayofweek < 5).all()
    # the same local hours map to UTC hours shifted by one between winter and summer
    assert len(set(bars.index.hour)) == len(set(local.hour)) + 1
