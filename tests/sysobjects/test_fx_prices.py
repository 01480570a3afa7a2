"""Spot FX prices."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from syscore.exceptions import InvalidData
from sysobjects.fx_prices import FxPrices, append_fx_prices, clean_fx_prices, validate_fx_code


def test_reference_fx_loads(reference):
    for code in ("EURUSD", "GBPUSD", "JPYUSD"):
        validate_fx_code(code)
        fx = FxPrices(reference.fx(code))
        assert len(fx) > 5000 and str(fx.data.index.tz) == "UTC"
        assert fx.data.name == "PRICE"
    jpy = FxPrices(reference.fx("JPYUSD")).data
    assert 0.005 < jpy.iloc[-1] < 0.02  # $ per yen


@pytest.mark.parametrize("bad", [0.0, -1.0, np.nan, np.inf])
def test_invalid_prices_rejected(bad):
    with pytest.raises(InvalidData):
        FxPrices(pd.Series([1.3, bad], index=pd.date_range("2021-01-01", periods=2)))


@pytest.mark.parametrize("code", ["GBPUS", "gbpusd", "USDUSD", 12])
def test_bad_codes(code):
    with pytest.raises(InvalidData):
        validate_fx_code(code)


def test_clean_and_append():
    raw = pd.Series(
        [1.30, 1.31, np.nan, 0.0, 1.32, 1.33, 1.35],
        index=pd.DatetimeIndex(["2021-01-02", "2021-01-01", "2021-01-03", "2021-01-04",
                                "2021-01-02", "2021-01-05", "2021-02-01"]),
    )
    fx = clean_fx_prices(raw, now="2021-01-10")
    assert list(fx.data) == [1.31, 1.32, 1.33]  # sorted, last duplicate wins, bad and future out
    more = FxPrices(pd.Series([9.9, 1.34], index=pd.DatetimeIndex(["2021-01-05", "2021-01-06"])))
    combined, added = append_fx_prices(fx, more)
    assert list(combined.data) == [1.31, 1.32, 1.33, 1.34] and list(added) == [1.34]
