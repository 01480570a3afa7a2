"""Alpha rules, member choice by out-of-sample performance, and the weekly rebalancer."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from syscore.exceptions import InvalidData
from sysexo.alphas import Member, exposure, member_pnl, members, pick_members, sharpe
from sysproduction.run_alpha_rebalancer import (
    ALPHA_PICKS,
    exo_target_contracts,
    rebalance_alphas,
)
from tests.blob_helpers import FixedClock, make_blob
from tests.sysexo.test_backfill import END, NAMES, reference

__all__ = ["reference"]
DAYS = pd.date_range("2022-01-03", periods=400, freq="B", tz="UTC")


def test_exposure_uses_only_the_past():
    exo = pd.Series(np.r_[np.arange(50.0), np.arange(50.0, 0, -1)], index=DAYS[:100])
    member = Member("breakout", (("window", 10),), 0)
    expo = exposure(member, exo)
    # the exposure on day t is the signal of day t-1: changing the last value changes nothing
    changed = exo.copy()
    changed.iloc[-1] = 1e6
    pd.testing.assert_series_equal(exposure(member, changed), expo)
    assert expo.iloc[:10].isna().all()
    assert expo.iloc[40] == 1.0 and expo.iloc[90] == -1.0


def test_member_pnl_by_hand():
    exo = pd.Series([0.0, 1, 3, 2, 5], index=DAYS[:5])
    member = Member("ewmac", (("fast", 1), ("slow", 2)), 0)
    signal = np.sign(exo.ewm(span=1, min_periods=1).mean() - exo.ewm(span=2, min_periods=2).mean())
    expected = (signal.shift(1) * exo.diff()).fillna(0.0)
    pd.testing.assert_series_equal(member_pnl(member, exo), expected)


def test_long_only_and_short_only_clip():
    exo = pd.Series(np.r_[np.arange(60.0), np.arange(60.0, 0, -1)], index=DAYS[:120])
    long_only = exposure(Member("breakout", (("window", 10),), 1), exo).dropna()
    short_only = exposure(Member("breakout", (("window", 10),), -1), exo).dropna()
    assert set(long_only) <= {0.0, 1.0} and set(short_only) <= {-1.0, 0.0}


def test_trend_is_picked_and_weights_sum_to_one():
    rng = np.random.default_rng(7)
    exo = pd.Series(np.cumsum(0.3 + rng.normal(0, 1, len(DAYS))), index=DAYS)
    result = pick_members(exo, oos_days=100, max_members=3)
    assert 1 <= len(result.picks) <= 3 and result.candidates == len(members())
    assert sum(p.weight for p in result.picks) == pytest.approx(1.0)
    assert all(p.in_sample_sharpe > 0 and p.out_of_sample_sharpe > 0 for p in result.picks)
    assert all(p.member.direction == 1 for p in result.picks)  # a rising EXO: long members
    assert result.exposure == pytest.approx(sum(p.weight * p.exposure for p in result.picks))
    sharpes = [p.out_of_sample_sharpe for p in result.picks]
    assert sharpes == sorted(sharpes, reverse=True)


def test_too_short_and_flat():
    with pytest.raises(InvalidData, match="too short"):
        pick_members(pd.Series(np.arange(50.0), index=DAYS[:50]), oos_days=40)
    assert sharpe(pd.Series([1.0, 1.0, 1.0])) == 0.0


def test_rebalancer_reports_stale_exos_and_stores_picks(reference):
    home, _ = reference
    blob = make_blob(home, clock=FixedClock(f"{END} 21:00"))
    report = rebalance_alphas(min_rows=30, oos_days=10, data=blob)
    assert report.failures == {}
    assert set(report.rebalanced) == set(NAMES) and report.stale == {}
    for name in report.rebalanced:
        stored = blob.state.get(ALPHA_PICKS, name)
        assert stored["exposure"] == report.rebalanced[name]
    strict = rebalance_alphas(data=blob)  # the default 200 rows: every EXO is too short
    assert not strict.ok and set(strict.stale) == set(NAMES)
    subjects = [a["subject"] for a in blob.alerts.all()]
    assert "Alpha rebalancer: stale EXO GOLD_ContFut" in subjects
    targets = exo_target_contracts(blob, "GOLD_ContFut")  # long 1 future x exposure
    assert list(targets.values()) == [pytest.approx(report.rebalanced["GOLD_ContFut"])]
    blob.close()
