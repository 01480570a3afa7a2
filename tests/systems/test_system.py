"""End-to-end behaviour on synthetic data: CSV layouts, custom rules, subsets, saved state."""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import yaml

from systems.config import config_from_dict
from systems.csv_sim_data import CsvSimData
from systems.rules import register_rule
from systems.run_backtest import run_backtest, run_backtest_on_data
from systems.saved_state import load_backtest_state, save_backtest_state
from systems.synthetic_data import SyntheticSimData, synthetic_config, write_pysystemtrade_csv
from systems.system import System

logging.getLogger("systems.config").setLevel(logging.ERROR)


@pytest.fixture(scope="module")
def synthetic():
    return SyntheticSimData(n_instruments=5, years=12, seed=3)


@pytest.fixture(scope="module")
def synthetic_result(synthetic):
    config = config_from_dict(synthetic_config(synthetic.instrument_list()))
    return run_backtest_on_data(config, synthetic)


def test_csv_round_trip_gives_same_positions(synthetic, synthetic_result, tmp_path):
    directory = write_pysystemtrade_csv(synthetic, tmp_path / "data")
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(synthetic_config(synthetic.instrument_list())))
    result = run_backtest(config_path, data_dir=directory, output_dir=tmp_path / "out")
    ours = result.stage("buffered_position")
    expected = synthetic_result.stage("buffered_position")
    pd.testing.assert_frame_equal(ours, expected, check_freq=False)
    np.testing.assert_allclose(
        result.stage("notional_position"), synthetic_result.stage("notional_position"), rtol=1e-9, atol=1e-9
    )
    assert result.sharpe == pytest.approx(synthetic_result.sharpe, rel=1e-6)


def test_old_instrumentconfig_layout_with_slippage(synthetic, tmp_path):
    directory = write_pysystemtrade_csv(synthetic, tmp_path / "data")
    code = synthetic.instrument_list()[1]
    cfg = CsvSimData(directory).get_instrument_config(code)
    assert cfg.spread_cost == pytest.approx(synthetic.get_instrument_config(code).spread_cost)
    assert cfg.rolls_per_year == synthetic.get_instrument_config(code).rolls_per_year
    # the newer layout: spreadcosts.csv overrides the Slippage column
    pd.DataFrame({"Instrument": [code], "SpreadCost": [0.123]}).to_csv(directory / "csvconfig" / "spreadcosts.csv", index=False)
    assert CsvSimData(directory).get_instrument_config(code).spread_cost == 0.123


def test_subset_matches_full_run_without_portfolio(synthetic, synthetic_result):
    config = config_from_dict(synthetic_config(synthetic.instrument_list()))
    system = System(config, synthetic)
    code = synthetic.instrument_list()[2]
    one = system.stage("subsystem_position", code)
    assert list(system._blocks) == [(code,)]  # only that instrument was loaded and computed
    full = synthetic_result.stage("subsystem_position", code)
    pd.testing.assert_series_equal(one, full, check_freq=False)


def test_costs_reduce_pnl_and_stats(synthetic_result):
    pandl = synthetic_result.portfolio_pandl
    assert (pandl["portfolio_costs_base_ccy"] <= 0).all()
    assert pandl["portfolio_costs_base_ccy"].sum() < 0
    assert synthetic_result.system.sharpe("gross") > synthetic_result.sharpe
    stats = synthetic_result.summary()["stats_percent_net"]
    assert stats["max_drawdown"] < 0 and stats["ann_std"] > 0


def _breakout(price, lookback=20):
    frame = pd.DataFrame(price)
    high = frame.rolling(lookback, min_periods=1).max()
    low = frame.rolling(lookback, min_periods=1).min()
    mid = (high + low) / 2
    return ((frame - mid) / (high - low)).to_numpy() * 2


def test_custom_rule_by_name_and_dotted_path(synthetic):
    register_rule("my_breakout", _breakout)
    data = synthetic_config(synthetic.instrument_list())
    data["trading_rules"] = {
        "brk": {"function": "my_breakout", "data": ["rawdata.get_daily_prices"], "other_args": {"lookback": 40}, "forecast_scalar": 10.0},
        "brk2": {"function": "tests.systems.test_system._breakout", "data": ["rawdata.get_daily_prices"], "forecast_scalar": 10.0},
    }
    data["forecast_weights"] = {"brk": 0.5, "brk2": 0.5}
    result = run_backtest_on_data(config_from_dict(data), synthetic)
    code = synthetic.instrument_list()[0]
    raw = result.stage("raw_forecast:brk", code)
    price = result.stage("daily_prices", code)
    expected = pd.Series(_breakout(price.to_numpy()[:, None], 40)[:, 0], index=price.index)
    np.testing.assert_allclose(raw.reindex(price.index), expected, rtol=1e-12, equal_nan=True)
    assert np.isfinite(result.sharpe)


def test_saved_state_round_trip(synthetic_result, tmp_path):
    save_backtest_state(synthetic_result, tmp_path / "state")
    assert not list((tmp_path / "state").rglob("*.pkl"))
    state = load_backtest_state(tmp_path / "state")
    assert state.instruments == synthetic_result.instruments
    assert state.sharpe == pytest.approx(synthetic_result.sharpe)
    for name in ("buffered_position", "vol_scalar", "capped_forecast:carry", "instrument_weight"):
        pd.testing.assert_frame_equal(
            state.stage(name), synthetic_result.stage(name), check_freq=False, check_names=False, rtol=1e-15
        )
    assert state.config.forecast_weights == synthetic_result.config.forecast_weights


@pytest.mark.parametrize("method", ["position", "none"])
def test_other_buffer_methods(synthetic, method):
    data = synthetic_config(synthetic.instrument_list())
    data["buffer_method"] = method
    result = run_backtest_on_data(config_from_dict(data), synthetic)
    notional = result.stage("notional_position")
    top = result.stage("buffer_top_pos")
    if method == "position":
        np.testing.assert_allclose((top - notional).to_numpy(), 0.1 * notional.abs().to_numpy(), rtol=1e-12, equal_nan=True)
    else:
        np.testing.assert_array_equal(result.stage("buffered_position").to_numpy(), np.round(notional.to_numpy()))


def test_position_sizing_relations_hold(synthetic_result):
    config = synthetic_result.config
    code = synthetic_result.instruments[1]
    stage = lambda name: synthetic_result.stage(name, code)  # noqa: E731
    value_vol = stage("instrument_value_vol").dropna()
    np.testing.assert_allclose(stage("vol_scalar").reindex(value_vol.index), config.daily_cash_vol_target / value_vol, rtol=1e-12)
    sub = stage("subsystem_position").dropna()
    expected = stage("vol_scalar").reindex(sub.index) * stage("combined_forecast").reindex(sub.index) / 10.0
    np.testing.assert_allclose(sub, expected, rtol=1e-12)
    weight = synthetic_result.stage("instrument_weight")[code].reindex(sub.index)
    np.testing.assert_allclose(stage("notional_position").reindex(sub.index), sub * weight * config.instrument_div_multiplier, rtol=1e-12)
    assert (synthetic_result.stage("instrument_weight").sum(axis=1) - 1.0).abs().max() < 1e-12


def test_per_instrument_rule_sets(synthetic):
    codes = synthetic.instrument_list()
    data = synthetic_config(codes)
    data["forecast_weights"] = {code: {"carry": 1.0} for code in codes}
    data["forecast_weights"][codes[0]] = {"ewmac16_64": 0.5, "ewmac64_256": 0.5}
    data["forecast_div_multiplier"] = {code: 1.1 for code in codes}
    result = run_backtest_on_data(config_from_dict(data), synthetic)
    carry_only = codes[1]
    combined = result.stage("combined_forecast", carry_only)
    carry = result.stage("capped_forecast:carry", carry_only).reindex(combined.index).ffill()
    expected = (1.1 * carry).clip(-20, 20).fillna(0.0)
    np.testing.assert_allclose(combined, expected, rtol=1e-12, atol=1e-12)
    assert result.stage("raw_forecast:carry")[codes[0]].isna().all()
    assert result.summary()["per_instrument"][codes[0]]["rules"] == ["ewmac16_64", "ewmac64_256"]


@pytest.mark.parametrize("func,backfill", [("simple_ewvol_calc", True), ("mixed_vol_calc", False)])
def test_volatility_options_match_pandas(synthetic, func, backfill):
    data = synthetic_config(synthetic.instrument_list())
    data["volatility_calculation"].update(func=f"sysquant.estimators.vol.{func}", backfill=backfill)
    system = System(config_from_dict(data), synthetic)
    code = synthetic.instrument_list()[3]
    prices = system.stage("daily_prices", code)
    vol = system.stage("daily_returns_volatility", code)
    simple = prices.diff().ewm(span=35, min_periods=10).std()
    if backfill:
        simple = simple.ffill().bfill()
    expected = simple if func == "simple_ewvol_calc" else 0.7 * simple + 0.3 * simple.ewm(span=2560).mean()
    np.testing.assert_allclose(vol, expected.reindex(vol.index), rtol=1e-9, equal_nan=True)
