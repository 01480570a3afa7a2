"""pysystemtrade compatibility on small hand-built series (issue 9): defaults, a price equal to
its carry price after parsing, a flat stretch, a missing FX day, a degenerate cost deviation."""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import yaml

from systems.config import BacktestConfig, VolatilityConfig, config_from_dict
from systems.csv_sim_data import CsvSimData
from systems.rawdata import annualised_roll
from systems.run_backtest import run_backtest, run_backtest_on_data
from systems.synthetic_data import SyntheticSimData, synthetic_config
from systems.system import System

logging.getLogger("systems.config").setLevel(logging.ERROR)

# pysystemtrade 1.80's sysdata/config/defaults.yaml, for the keys this engine uses (facts
# transcribed from that file, not derived from our own defaults)
PYSYSTEMTRADE_DEFAULTS = {
    "forecast_scalar": 1.0,
    "forecast_cap": 20.0,
    "average_absolute_forecast": 10.0,
    "forecast_div_multiplier": 1.0,
    "forecast_weight_ewma_span": 125,
    "percentage_vol_target": 16.0,
    "notional_trading_capital": 1000000,
    "base_currency": "USD",
    "instrument_div_multiplier": 1.0,
    "instrument_weight_ewma_span": 125,
    "buffer_method": "forecast",
    "buffer_size": 0.10,
    "buffer_trade_to_edge": True,
    "use_SR_costs": False,
    "vol_normalise_currency_costs": True,
    "multiply_roll_costs_by": 0.5,
    "use_forecast_scale_estimates": False,
    "use_forecast_weight_estimates": False,
    "use_forecast_div_mult_estimates": False,
    "use_instrument_weight_estimates": False,
    "use_instrument_div_mult_estimates": False,
    "volatility_calculation": {
        "func": "sysquant.estimators.vol.mixed_vol_calc",
        "multiplier_to_get_daily_vol": 1.0,
        "days": 35,
        "min_periods": 10,
        "slow_vol_years": 10,
        "proportion_of_slow_vol": 0.3,
        "vol_abs_min": 0.0000000001,
    },
}


def test_defaults_are_pysystemtrades():
    config = BacktestConfig()
    for key, value in PYSYSTEMTRADE_DEFAULTS.items():
        if key == "volatility_calculation":
            vol = VolatilityConfig()
            for sub, sub_value in value.items():
                assert getattr(vol, sub) == sub_value, f"volatility_calculation.{sub}"
        else:
            assert getattr(config, key) == value, key


def _only_differences(merged: dict) -> dict:
    """The config as a user writes it: keys equal to pysystemtrade's defaults left out."""
    minimal = {}
    for key, value in merged.items():
        default = PYSYSTEMTRADE_DEFAULTS.get(key)
        if key == "volatility_calculation":
            rest = {k: v for k, v in value.items() if default.get(k) != v and k != "name_returns_attr_in_rawdata"}
            if rest:
                minimal[key] = rest
        elif key not in PYSYSTEMTRADE_DEFAULTS or default != value:
            minimal[key] = value
    return minimal


def test_config_with_only_differences_equals_merged_config(reference_run, reference_data_dir, backtest_reference, tmp_path):
    merged_result, _ = reference_run
    merged = yaml.safe_load((backtest_reference / "outputs" / "effective_config.yaml").read_text())
    minimal = _only_differences(merged)
    # the reference config relies on defaults for these (so the test can fail)
    assert "volatility_calculation" not in minimal and "buffer_method" not in minimal
    path = tmp_path / "minimal.yaml"
    path.write_text(yaml.safe_dump(minimal))
    result = run_backtest(path, data_dir=reference_data_dir)
    for stage in ("daily_returns_volatility", "combined_forecast", "notional_position", "buffer_top_pos",
                  "buffered_position"):
        pd.testing.assert_frame_equal(result.stage(stage), merged_result.stage(stage))
    assert result.sharpe == merged_result.sharpe


def test_price_equal_to_carry_after_parsing_gives_no_roll(tmp_path):
    """pandas' default parser reads 2.631 and 2.6310000000000002 as one double (as
    pysystemtrade does): PRICE - CARRY is exactly 0 and the roll is NaN, not -4.4e-16."""
    folder = tmp_path / "multiple_prices_csv"
    folder.mkdir()
    (folder / "COPPER.csv").write_text(
        "DATETIME,CARRY,CARRY_CONTRACT,PRICE,PRICE_CONTRACT,FORWARD,FORWARD_CONTRACT\n"
        "2020-01-02 23:00:00,2.6310000000000002,20200300,2.631,20200500,,20200700\n"
        "2020-01-03 23:00:00,2.64,20200300,2.65,20200500,,20200700\n"
    )
    prices = CsvSimData(tmp_path).get_multiple_prices("COPPER")
    assert prices["PRICE"].iloc[0] == prices["CARRY"].iloc[0]
    roll = annualised_roll(prices)
    assert np.isnan(roll.iloc[0])
    assert roll.iloc[1] == pytest.approx(0.01 / (3 / 12 - 5 / 12))  # carry contract nearer


class _Edited(SyntheticSimData):
    """Synthetic data whose series tests edit in place."""

    def __init__(self):
        super().__init__(n_instruments=3, years=6, seed=11)


def _config(data: SyntheticSimData, **changes) -> BacktestConfig:
    raw = synthetic_config(data.instrument_list())
    raw.update(changes)
    return config_from_dict(raw)


def test_flat_stretch_gives_no_ewmac_forecast_where_pandas_difference_is_zero():
    data = _Edited()
    code = data.codes[0]
    prices = data._adjusted[code].copy()
    prices.iloc[:60] = 269.6000000000001  # flat from the start, then moving
    data._adjusted[code] = prices
    system = System(_config(data), data)
    daily = system.stage("daily_prices", code)
    vol = system.stage("daily_returns_volatility", code)
    for rule, (fast, slow) in {"ewmac16_64": (16, 64), "ewmac64_256": (64, 256)}.items():
        # pysystemtrade's computation, with pandas
        difference = daily.ewm(span=fast, min_periods=1).mean() - daily.ewm(span=slow, min_periods=1).mean()
        pandas_raw = difference / vol.ffill()
        ours = system.stage(f"raw_forecast:{rule}", code).reindex(pandas_raw.index)
        zero = pandas_raw == 0.0
        assert zero.sum() > 10, "the flat stretch must give exact zeros in pandas"
        assert ours[zero].isna().all(), "an exactly-zero forecast must be NaN (no view)"
        moving = pandas_raw.notna() & ~zero
        np.testing.assert_allclose(ours[moving], pandas_raw[moving], rtol=1e-9, atol=1e-9)


def test_missing_fx_day_carries_position_and_buffers_forward():
    data = _Edited()
    code = data.codes[1]
    currency = data.get_instrument_config(code).currency
    assert currency != "USD"
    fx = data._fx[currency].copy()
    missing_at = fx.index[len(fx) - 300]
    fx.loc[missing_at] = np.nan  # an empty FX price, as in pysystemtrade's KRWUSD.csv
    data._fx[currency] = fx
    result = run_backtest_on_data(_config(data), data)
    fx_stage = result.stage("fx_rate", code)
    day = fx_stage.index[fx_stage.isna() & (fx_stage.index > fx_stage.first_valid_index())][0]
    before = day - pd.offsets.BDay(1)
    assert np.isnan(result.stage("subsystem_position", code).loc[day])
    for stage in ("notional_position", "buffer_top_pos", "buffer_bot_pos", "buffered_position"):
        series = result.stage(stage, code)
        assert np.isfinite(series.loc[day]), stage
        assert series.loc[day] == series.loc[before], stage


def test_degenerate_cost_deviation_is_floored_and_reported_once(caplog):
    data = _Edited()
    code = data.codes[2]
    prices = data._adjusted[code].copy()
    prices.iloc[-250:] = prices.iloc[-251]  # flat for the last 250 days: zero 180-day deviation
    data._adjusted[code] = prices
    with caplog.at_level(logging.WARNING, logger="systems.system"):
        result = run_backtest_on_data(_config(data), data)
        _ = result.summary()
    net = result.stage("pandl_net", code).dropna()
    assert np.isfinite(net).all()
    assert np.isfinite(result.sharpe)
    summary = result.summary()
    assert all(v is not None for v in summary["stats_percent_net"].values())
    lines = [r for r in caplog.records if code in r.getMessage() and "deviation" in r.getMessage()]
    assert len(lines) == 1
