"""The backtest on the stores (production path) gives the same numbers as on pysystemtrade's CSV
layout, and the reference Sharpe."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sysinit.import_pysystemtrade_csv import import_pysystemtrade_csv
from systems.exceptions import MissingBacktestData
from systems.run_backtest import run_backtest
from systems.sim_data import MULTIPLE_PRICE_COLUMNS
from systems.store_sim_data import StoreSimData
from tests.blob_helpers import make_blob


@pytest.fixture(scope="module")
def store_run(backtest_reference, reference_data_dir, tmp_path_factory):
    home = tmp_path_factory.mktemp("store_home")
    data = make_blob(home)
    report = import_pysystemtrade_csv(str(reference_data_dir), data=data)
    assert not report.rejected, report.render()
    mp = pytest.MonkeyPatch()
    mp.setenv("SYSTRADE_HOME", str(home))
    try:
        result = run_backtest(backtest_reference / "outputs" / "effective_config.yaml")
    finally:
        mp.undo()
    yield data, result
    data.close()


def test_store_backtest_matches_csv_backtest(store_run, reference_run, reference_sharpe):
    _, store_result = store_run
    csv_result, _ = reference_run
    assert abs(store_result.sharpe - reference_sharpe) < 1e-4
    assert abs(store_result.sharpe - csv_result.sharpe) < 1e-9
    for code in ("CORN", "EUROSTX", "MXP", "SOFR", "US10", "V2X"):
        a = store_result.stage("buffered_position", code)
        b = csv_result.stage("buffered_position", code)
        np.testing.assert_array_equal(a.to_numpy(), b.to_numpy())
        np.testing.assert_allclose(store_result.stage("notional_position", code).to_numpy(),
                                   csv_result.stage("notional_position", code).to_numpy(),
                                   rtol=1e-9, atol=1e-12)


def test_store_sim_data_adapts_types(store_run):
    data, _ = store_run
    sim = StoreSimData(data)
    assert "EUROSTX" in sim.instrument_list()
    multiple = sim.get_multiple_prices("CORN")
    assert multiple.index.tz is None
    assert multiple["PRICE_CONTRACT"].iloc[-1] > 20_000_000
    assert sim.get_instrument_config("EUROSTX").currency == "EUR"
    assert sim.get_instrument_config("CORN").rolls_per_year == len(data.roll_parameters.get("CORN").hold_roll_cycle)
    eur = sim.get_fx_rate("EUR", "USD")
    assert 0.8 < eur.iloc[-1] < 1.6
    np.testing.assert_allclose((1 / sim.get_fx_rate("USD", "EUR")).to_numpy(), eur.to_numpy())
    assert StoreSimData(data, instruments=["CORN"]).instrument_list() == ["CORN"]


def test_contract_numbers_pad_to_yyyymmdd_and_keep_missing_ids_nan():
    import numpy as np

    from systems.store_sim_data import _contract_numbers

    values = np.array(["202309", "20230900", None, "20231215", np.nan, "202309", ""], dtype=object)
    out = _contract_numbers(values)
    assert out[[0, 1, 3, 5]].tolist() == [20230900.0, 20230900.0, 20231215.0, 20230900.0]
    assert np.isnan(out[2]) and np.isnan(out[4])
    assert out[6] == 0.0  # an empty id pads to 00000000, as the per-row conversion did


def test_batched_price_inputs_equal_one_read_per_series(store_run):
    data, _ = store_run
    sim = StoreSimData(data)
    codes = ["V2X", "CORN", "US10"]
    pairs = list(sim.price_inputs(codes))
    assert len(pairs) == len(codes)
    for code, (adjusted, multiple) in zip(codes, pairs, strict=True):
        pd.testing.assert_series_equal(adjusted, sim.get_adjusted_prices(code))
        pd.testing.assert_frame_equal(multiple, sim.get_multiple_prices(code))
        assert list(multiple.columns) == list(MULTIPLE_PRICE_COLUMNS)


def test_batched_price_inputs_name_a_missing_instrument(store_run):
    data, _ = store_run
    with pytest.raises(MissingBacktestData, match="NOT_THERE"):
        list(StoreSimData(data).price_inputs(["CORN", "NOT_THERE"]))
