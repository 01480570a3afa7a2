"""Configuration: pysystemtrade keys read as is, clear errors, ignored keys listed."""
from __future__ import annotations

import logging

import pytest
import yaml

from systems.config import config_from_dict, load_config
from systems.exceptions import (
    BacktestConfigError,
    EstimationNotSupportedError,
    UnknownTradingRuleError,
)
from systems.rules import default_rule_registry, resolve_data_reference
from systems.system import resolve_rules

BASE = {
    "trading_rules": {
        "ewmac8_32": {
            "function": "systems.provided.rules.ewmac.ewmac",
            "data": ["rawdata.get_daily_prices", "rawdata.daily_returns_volatility"],
            "other_args": {"Lfast": 8, "Lslow": 32},
            "forecast_scalar": 5.3,
        },
        "carry": {"function": "systems.provided.rules.carry.carry", "data": "rawdata.raw_carry"},
    },
    "forecast_scalars": {"carry": 30.0},
    "instrument_weights": {"A": 0.6, "B": 0.4},
}


def test_reads_reference_config_and_lists_ignored_keys(backtest_reference, caplog):
    with caplog.at_level(logging.WARNING, logger="systems.config"):
        config = load_config(backtest_reference / "outputs" / "effective_config.yaml")
    assert config.percentage_vol_target == 20.0
    assert config.daily_cash_vol_target == pytest.approx(3125.0)
    assert config.buffer_method == "forecast"
    assert config.forecast_weights_for("CORN") == {"carry": 0.5, "ewmac16_64": 0.21, "ewmac32_128": 0.08, "ewmac64_256": 0.21}
    assert "mongo_host" in config.ignored_keys and "trading_rules" not in config.ignored_keys
    assert sum("ignored" in r.message for r in caplog.records) == 1


def test_scalar_precedence():
    config = config_from_dict(BASE)
    assert config.forecast_scalar_for("ewmac8_32") == 5.3  # in the rule
    assert config.forecast_scalar_for("carry") == 30.0  # from forecast_scalars


def test_per_instrument_forecast_weights_and_fdm():
    data = dict(BASE, forecast_weights={"A": {"carry": 1.0}, "B": {"ewmac8_32": 0.5, "carry": 0.5}},
                forecast_div_multiplier={"A": 1.0, "B": 1.2})
    config = config_from_dict(data)
    assert config.forecast_weights_for("A") == {"carry": 1.0}
    assert config.fdm_for("B") == 1.2
    with pytest.raises(BacktestConfigError, match="forecast_weights has no entry for C"):
        config.forecast_weights_for("C")


def test_equal_forecast_weights_when_absent():
    assert config_from_dict(BASE).forecast_weights_for("A") == {"ewmac8_32": 0.5, "carry": 0.5}


@pytest.mark.parametrize("flag", ["use_forecast_scale_estimates", "use_instrument_weight_estimates",
                                  "use_forecast_div_mult_estimates", "use_forecast_weight_estimates",
                                  "use_instrument_div_mult_estimates"])
def test_estimation_flags_are_refused(flag):
    with pytest.raises(EstimationNotSupportedError, match=flag):
        config_from_dict(dict(BASE, **{flag: True}))


def test_invalid_value_names_key(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(dict(BASE, buffer_method="sometimes")))
    with pytest.raises(BacktestConfigError, match="buffer_method"):
        load_config(path)


def test_sr_costs_refused():
    with pytest.raises(BacktestConfigError, match="use_SR_costs"):
        config_from_dict(dict(BASE, use_SR_costs=True))


def test_unknown_vol_function_refused():
    with pytest.raises(BacktestConfigError, match="volatility_calculation"):
        config_from_dict(dict(BASE, volatility_calculation={"func": "mymodule.garch"}))


def test_unknown_rule_function_is_clear_error():
    config = config_from_dict(dict(BASE, trading_rules={"x": {"function": "nowhere.module.rule", "data": ["rawdata.get_daily_prices"]}}))
    with pytest.raises(UnknownTradingRuleError, match="nowhere.module.rule"):
        resolve_rules(config, default_rule_registry)
    config = config_from_dict(dict(BASE, trading_rules={"x": {"function": "breakout", "data": ["rawdata.get_daily_prices"]}}))
    with pytest.raises(UnknownTradingRuleError, match="breakout"):
        resolve_rules(config, default_rule_registry)


def test_unknown_data_reference_is_clear_error():
    with pytest.raises(UnknownTradingRuleError, match="rawdata.get_hourly_prices"):
        resolve_data_reference("rawdata.get_hourly_prices")


def test_missing_file(tmp_path):
    with pytest.raises(BacktestConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
