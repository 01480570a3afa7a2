import numpy as np
import pandas as pd
import pytest

from sysexo.ichimoku import IchimokuSettings, ichimoku_lines, ichimoku_regime

SMALL = IchimokuSettings(conversion=2, base=3, lookahead=2, span_b=4)
DAYS = pd.date_range("2024-01-01", periods=8, freq="B", tz="UTC")


def test_lines_by_hand():
    close = pd.Series([1.0, 2, 3, 4, 5, 6, 7, 8], index=DAYS)
    lines = ichimoku_lines(close, SMALL)
    # conversion = close - 0.5 from day 2; base = close - 1 from day 3
    assert lines["conversion"].tolist()[1:4] == [1.5, 2.5, 3.5]
    assert lines["base"].tolist()[2:4] == [2.0, 3.0]
    # span A today = (conversion + base) / 2 of two days ago = close[t-2] - 0.75
    assert lines["span_a"].iloc[4] == pytest.approx(3 - 0.75)
    # span B today = (max + min of 4 values) / 2 of two days ago = close[t-2] - 1.5
    assert np.isnan(lines["span_b"].iloc[4])
    assert lines["span_b"].iloc[5] == pytest.approx(4 - 1.5)


@pytest.mark.parametrize("values,expected", [
    ([1.0, 2, 3, 4, 5, 6, 7, 8], [1, 1, 1]),
    ([8.0, 7, 6, 5, 4, 3, 2, 1], [-1, -1, -1]),
    ([5.0] * 8, [0, 0, 0]),                      # flat: inside (on) the cloud
    # day 7 falls below the cloud but conversion = base (4 = 4): neutral; day 8: conversion
    # (8 + 2) / 2 = base (8 + 2) / 2 = 5: still neutral
    ([1.0, 2, 3, 4, 5, 6, 2, 8], [1, 0, 0]),
])
def test_regime_by_hand(values, expected):
    regime = ichimoku_regime(pd.Series(values, index=DAYS), SMALL)
    assert regime.iloc[:5].isna().all()          # span_b + lookahead - 1 = 5 days needed
    assert regime.iloc[5:].tolist() == expected


def test_default_periods():
    settings = IchimokuSettings()
    assert (settings.conversion, settings.base, settings.lookahead, settings.span_b) == (
        9, 26, 26, 52)
    close = pd.Series(np.linspace(100, 200, 120), index=pd.date_range(
        "2024-01-01", periods=120, freq="B", tz="UTC"))
    regime = ichimoku_regime(close)
    assert regime.first_valid_index() == close.index[52 + 26 - 1]
    assert set(regime.dropna()) == {1.0}
