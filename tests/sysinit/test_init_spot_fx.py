"""init_spot_fx: full FX history from the (simulated) broker for the configured pairs."""
from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from syscore.exceptions import MissingData
from sysinit.import_pysystemtrade_csv import import_pysystemtrade_csv
from sysinit.init_spot_fx import init_spot_fx
from tests.blob_helpers import FixedClock, make_blob

START = "2023-01-01"


@pytest.fixture
def blob(tmp_path):
    data = make_blob(tmp_path / "home", clock=FixedClock("2024-01-02 12:00"))
    yield data
    data.close()


@pytest.fixture
def configured(blob, pysystemtrade_reference, tmp_path):
    source = tmp_path / "src"
    shutil.copytree(pysystemtrade_reference / "sysbrokers_IB", source / "sysbrokers_IB")
    report = import_pysystemtrade_csv(str(source), data=blob)
    assert "FX config" in report.loaded["JPYUSD"]
    return blob


def test_init_all_pairs_reports_each_and_survives_unknown_ones(configured):
    blob = configured
    report = init_spot_fx("ALL", start=START, data=blob)
    # the simulator quotes AUD, CHF, EUR, GBP and JPY against USD; the others fail on their own
    assert sorted(report.results) == ["AUDUSD", "CHFUSD", "EURUSD", "GBPUSD", "JPYUSD"]
    assert sorted(report.failures) == ["CADUSD", "CNHUSD", "HKDUSD", "KRWUSD", "SGDUSD"]
    assert sorted(blob.fx_prices.list_codes()) == sorted(report.results)

    eur = blob.fx_prices.read_series("EURUSD")
    assert eur.index[0] >= pd.Timestamp(START, tz="UTC")
    assert eur.index[-1] <= blob.now() and len(eur) > 250
    assert report.results["EURUSD"].rows == len(eur)
    assert report.results["EURUSD"].last_price == eur.iloc[-1]

    # JPYUSD is configured USD/JPY with INVERT=YES: stored as $ per yen
    jpy = blob.fx_prices.read_series("JPYUSD")
    quoted = blob.broker.get_fx_prices("USD", "JPY", pd.Timestamp(START, tz="UTC"), blob.now())
    np.testing.assert_allclose(jpy.to_numpy(), 1.0 / quoted.reindex(jpy.index).to_numpy())
    assert 0.001 < jpy.iloc[-1] < 0.05
    assert "JPYUSD: " in str(report)


def test_existing_prices_need_overwrite(configured):
    blob = configured
    assert init_spot_fx("EURUSD", start=START, data=blob).ok
    first = blob.fx_prices.read_series("EURUSD")
    again = init_spot_fx("EURUSD", start="2023-06-01", data=blob)
    assert "already has" in again.failures["EURUSD"]
    assert "(--overwrite true replaces them)" in again.failures["EURUSD"]
    pd.testing.assert_series_equal(blob.fx_prices.read_series("EURUSD"), first)
    replaced = init_spot_fx("EURUSD", start="2023-06-01", overwrite=True, data=blob)
    assert replaced.ok
    assert blob.fx_prices.read_series("EURUSD").index[0] >= pd.Timestamp("2023-06-01", tz="UTC")


def test_no_pairs_configured_is_clear(blob):
    with pytest.raises(MissingData, match="no FX pairs configured"):
        init_spot_fx("ALL", data=blob)
    report = init_spot_fx("EURUSD", data=blob)
    assert "no FX pair configured for 'EURUSD'" in report.failures["EURUSD"]


def test_report_line_is_readable():
    from sysinit.init_spot_fx import FxInit

    result = FxInit("EURUSD", 3, pd.Timestamp("2024-01-01", tz="UTC"),
                    pd.Timestamp("2024-01-03 22:00", tz="UTC"), 1.0852000000000002,
                    [pd.Timestamp("2024-01-02", tz="UTC")])
    assert str(result) == ("3 prices 2024-01-01 .. 2024-01-03 22:00 UTC, last 1.0852, "
                           "1 suspected spikes (first 2024-01-02)")
