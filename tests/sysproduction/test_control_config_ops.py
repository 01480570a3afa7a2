"""control_config_ops: trade and position limits from risk, spread costs from samples, roll
parameters, price multipliers against the broker — hand-computed figures on the reporting
scenario, both state backends."""
from __future__ import annotations

import math
from dataclasses import replace

import pandas as pd
import pytest

from syscore.exceptions import UnknownInstrument
from syscore.run_function import result_exit_code
from sysobjects.instruments import InstrumentConfig
from sysobjects.roll_parameters import RollParameters
from sysproduction import control_config_ops as cc
from tests.blob_helpers import FixedClock, make_blob, sim_broker_blob
from tests.sysproduction.reporting.conftest import build_scenario

NOW = pd.Timestamp("2024-01-06 08:00", tz="UTC")
# CORN daily changes 2, -1, 4, -1: sample stdev sqrt(6); annual risk of one contract
# sqrt(6) × 16 × 50 (USD, point size 50)
CORN_RISK = math.sqrt(6) * 16 * 50  # 1,959.59
# GILT changes 0.5, -0.25, 0, 0.75: stdev sqrt(0.625 / 3); × 16 × 1000 × GBPUSD 1.30
GILT_RISK = math.sqrt(0.625 / 3) * 16 * 1000 * 1.30  # 9,493.86
SETTINGS = cc.AutoLimitSettings(capital=10_000_000.0, risk_target=0.25, idm=2.5,
                                instrument_weight=0.04, max_position_traded_daily=0.33)


@pytest.fixture
def blob(backend, tmp_path):
    data = make_blob(tmp_path / "home", *backend, clock=FixedClock(NOW))
    yield build_scenario(data)
    data.close()


def test_trade_limit_rule_by_hand():
    # 10m × 0.25 × 2.5 × 0.04 = 250,000 of risk; / 1,959.59 = 127.58 contracts
    standard = cc.standard_position(SETTINGS, CORN_RISK)
    assert standard == pytest.approx(127.5775, abs=1e-4)
    assert cc.trade_limit_for(standard, 1, 0.33) == 43  # 127.58 × 0.33 = 42.10
    assert cc.trade_limit_for(standard, 30, 0.33) == 231  # × sqrt(30) = 230.60
    assert cc.trade_limit_for(1.0, 1, 0.33) == 4  # never below 4
    assert cc.trade_limit_for(100.0, 1, 0.33) == 33  # exactly 33: not rounded up to 34


def test_proposed_trade_limits_preview_then_apply(blob):
    blob.trade_limits.set_limit("CORN", 1, 43)  # already as proposed: not counted as a change
    blob.trade_limits.record_trade("CORN", 5, NOW - pd.Timedelta(hours=1))
    proposals = cc.propose_trade_limits(blob, SETTINGS)
    table = {(p.instrument_code, p.period_days): (p.current, p.proposed) for p in proposals}
    # GILT: 250,000 / 9,493.86 = 26.33 contracts; 1d 8.69 -> 9, 30d 47.60 -> 48
    assert table == {("CORN", 1): (43, 43), ("CORN", 30): (None, 231),
                     ("GILT", 1): (None, 9), ("GILT", 30): (None, 48)}
    assert proposals[0].annual_risk_per_contract == pytest.approx(CORN_RISK)
    assert blob.trade_limits.all_limits()[0]["limit"] == 43  # the preview wrote nothing
    assert len(blob.trade_limits.all_limits()) == 1
    assert cc.apply_trade_limits(blob, proposals) == 3
    assert blob.trade_limits.get("GILT", 30)["limit"] == 48
    assert blob.trade_limits.get("CORN", 30)["limit"] == 231
    assert blob.trade_limits.remaining("CORN", 1, NOW) == 38  # the trades counted are kept


@pytest.mark.parametrize("periods", [(1, 200_000), (0,), (), (1.5,)])
def test_periods_out_of_range_are_refused_before_anything(blob, periods):
    with pytest.raises(ValueError, match="periods must be whole numbers of days"):
        cc.propose_trade_limits(blob, SETTINGS, periods)


def test_an_absurd_capital_proposes_nothing_and_sets_nothing(blob):
    # capital typed as 1e300: 300-digit limits were proposed and stored
    absurd = cc.AutoLimitSettings(capital=1e300, risk_target=0.25, idm=2.5,
                                  instrument_weight=0.04, max_position_traded_daily=0.33)
    with pytest.raises(ValueError, match="is the capital"):
        cc.propose_trade_limits(blob, absurd)
    good = cc.propose_trade_limits(blob, SETTINGS)
    bad = good[:1] + [cc.ProposedTradeLimit("GILT", 30, 1.0, 1e12, None, 10**12)]
    with pytest.raises(cc.InvalidData, match="nothing set"):
        cc.apply_trade_limits(blob, bad)
    assert blob.trade_limits.all_limits() == []  # the first (good) one was not set either


def test_an_absurd_capital_proposes_no_position_limits_and_sets_none(blob):
    absurd = cc.AutoLimitSettings(capital=1e300, risk_target=0.25, idm=2.5,
                                  instrument_weight=0.04, max_position_traded_daily=0.33)
    with pytest.raises(ValueError, match="is the capital"):
        cc.propose_position_limits(blob, absurd)
    good = cc.propose_position_limits(blob, SETTINGS)
    bad = good[:1] + [cc.ProposedPositionLimit("GILT", 1.0, 1e12, None, 10**12)]
    with pytest.raises(cc.InvalidData, match="nothing set"):
        cc.apply_position_limits(blob, bad)
    assert blob.position_limits.all_limits() == []


def test_default_settings_come_from_capital_and_config(blob):
    settings = cc.default_limit_settings(blob)
    assert settings.capital == 102_800.0  # the last total-capital row
    assert (settings.risk_target, settings.idm, settings.instrument_weight,
            settings.max_position_traded_daily) == (0.25, 2.5, 0.04, 0.33)
    # a small account: 102,800 × 0.025 / 1,959.59 = 1.31 contracts -> the floor of 4
    assert {p.proposed for p in cc.propose_trade_limits(blob, settings)} == {4}


def test_no_measurable_risk_is_one_clear_error(backend, tmp_path):
    data = make_blob(tmp_path / "empty", *backend, clock=FixedClock(NOW))
    try:
        with pytest.raises(cc.MissingData, match="measure its risk"):
            cc.propose_trade_limits(data, SETTINGS)
    finally:
        data.close()


def test_spread_cost_suggestions_and_update(blob):
    blob.instruments.add(InstrumentConfig("CORN", pointsize=50.0, asset_class="Ags",
                                          spread_cost=0.5, per_block=2.0))
    for hours, spread in ((3, 0.5), (2, 0.25), (1, 0.75)):
        blob.spreads.add("CORN", NOW - pd.Timedelta(hours=hours), spread)
    blob.spreads.add("GILT", NOW - pd.Timedelta(days=300), 0.5)  # outside 250 days
    suggestions = {s.instrument_code: s for s in cc.suggest_spread_costs(blob, 250)}
    assert list(suggestions) == ["CORN"]
    corn = suggestions["CORN"]
    # median sampled spread 0.5, half of it 0.25; configured 0.5: -50 %
    assert (corn.configured, corn.suggested, corn.samples, corn.fills) == (0.5, 0.25, 3, 0)
    assert corn.difference_pct == pytest.approx(-50.0)
    new = cc.set_spread_cost(blob, "CORN", corn.suggested)
    assert blob.instruments.get("CORN") == new
    assert (new.spread_cost, new.per_block, new.pointsize) == (0.25, 2.0, 50.0)  # rest kept
    with pytest.raises(ValueError, match="spread cost"):
        cc.set_spread_cost(blob, "CORN", -1.0)
    assert blob.instruments.get("CORN").spread_cost == 0.25


def test_suggested_spread_cost_has_no_float_noise(blob):
    # the demo wrote BUND's spread_cost as 0.0049999999999954525 and showed "-0.0%"
    blob.instruments.add(InstrumentConfig("CORN", pointsize=50.0, asset_class="Ags",
                                          spread_cost=0.005))
    for hours, (bid, ask) in ((3, (145.38, 145.39)), (2, (145.37, 145.38)),
                              (1, (145.41, 145.42))):
        blob.spreads.add("CORN", NOW - pd.Timedelta(hours=hours), ask - bid)
    assert {145.39 - 145.38, 145.38 - 145.37} != {0.01}  # the noise is real
    (corn,) = cc.suggest_spread_costs(blob, 250)
    assert corn.suggested == 0.005 and corn.difference_pct == 0.0
    assert str(corn) == "CORN  0.005  0.005  +0.0%  3  0"


@pytest.mark.parametrize("costs", [{"CORN": 0.25, "GILT": math.nan},
                                   {"CORN": 0.25, "GILT": math.inf},
                                   {"CORN": 0.25, "GILT": -0.5},
                                   {"CORN": 0.25, "NOPE": 0.5}])
def test_spread_costs_are_written_all_or_none(blob, costs):
    before = {code: blob.instruments.get(code) for code in ("CORN", "GILT")}
    with pytest.raises((ValueError, cc.MissingData)):
        cc.set_spread_costs(blob, costs)
    assert {code: blob.instruments.get(code) for code in ("CORN", "GILT")} == before


@pytest.mark.parametrize("days", [0, 3651, 200_000])
def test_spread_cost_look_back_out_of_range_is_one_clear_error(blob, days):
    with pytest.raises(ValueError, match="days_back must be a whole number from 1 to 3650"):
        cc.suggest_spread_costs(blob, days)


def test_price_multipliers_checked_against_the_sim_broker(backend, tmp_path):
    with sim_broker_blob(tmp_path / "home", *backend, start=NOW) as (data, _):
        data.instruments.add(InstrumentConfig("CORN", pointsize=50.0))  # as the broker
        data.instruments.add(InstrumentConfig("SP500_micro", pointsize=50.0))  # broker: 5
        data.instruments.add(InstrumentConfig("NOTLISTED", pointsize=10.0))
        result = cc.check_price_multipliers(data)
        assert not result.ok and result_exit_code(result, 0) == 1
        assert [r.instrument_code for r in result.mismatches] == ["SP500_micro"]
        assert result.mismatches[0].broker == 5.0
        assert [r.instrument_code for r in result.unlisted] == ["NOTLISTED"]
        text = str(result)
        assert "MISMATCH SP500_micro" in text and "configured pointsize 50, broker " \
                                                  "multiplier 5" in text
        assert "WARNING NOTLISTED: not checked" in text
        data.instruments.add(InstrumentConfig("SP500_micro", pointsize=5.0))
        fixed = cc.check_price_multipliers(data)
        assert fixed.ok and result_exit_code(fixed, 0) == 0
        assert "0 mismatch(es), 1 not at the broker" in str(fixed)


# --- position limits from risk -------------------------------------------------------------------

def test_position_limit_rule_by_hand():
    # CORN: standard 127.5775 contracts × 2 (forecast cap 20 / average 10) = 255.155 -> 256
    assert cc.position_limit_for(cc.standard_position(SETTINGS, CORN_RISK)) == 256
    assert cc.position_limit_for(127.5775, 1.5) == 192  # 191.37 -> 192
    assert cc.position_limit_for(0.2) == 1  # never below 1
    assert cc.position_limit_for(10.0) == 20  # exactly 20: not rounded up to 21
    with pytest.raises(ValueError, match="max_forecast_ratio"):
        cc.position_limit_for(10.0, 0.0)


def test_proposed_position_limits_preview_then_apply(blob):
    blob.position_limits.set_limit("GILT", 53)  # already as proposed: not a change
    blob.position_limits.set_limit("CORN", 9, "s1")  # a strategy's limit: never touched
    proposals = cc.propose_position_limits(blob, SETTINGS)
    # GILT: 250,000 / 9,493.86 = 26.333 contracts × 2 = 52.67 -> 53
    assert [(p.instrument_code, p.current, p.proposed) for p in proposals] == [
        ("CORN", None, 256), ("GILT", 53, 53)]
    assert proposals[0].standard_position == pytest.approx(127.5775, abs=1e-4)
    assert str(proposals[0]) == "CORN  1,959.59  127.58  -  256"
    assert blob.position_limits.get_limit("CORN") is None  # the preview wrote nothing
    assert cc.apply_position_limits(blob, proposals) == 1
    assert blob.position_limits.get_limit("CORN") == 256
    assert blob.position_limits.get_limit("GILT") == 53
    assert blob.position_limits.get_limit("CORN", "s1") == 9
    ratio_3 = cc.propose_position_limits(blob, SETTINGS, 3.0, instruments=["GILT"])
    assert [(p.instrument_code, p.current, p.proposed) for p in ratio_3] == [("GILT", 53, 79)]


def test_position_limits_need_measurable_risk(backend, tmp_path):
    data = make_blob(tmp_path / "empty", *backend, clock=FixedClock(NOW))
    try:
        with pytest.raises(cc.MissingData, match="measure its risk"):
            cc.propose_position_limits(data, SETTINGS)
    finally:
        data.close()


# --- roll parameters -----------------------------------------------------------------------------

CORN_ROLL = RollParameters(hold_roll_cycle="HNUZ", priced_roll_cycle="HKNUZ",
                           roll_offset_days=-35, carry_offset=-1, expiry_offset=14)


def test_roll_parameter_changes_one_field_and_keeps_the_rest(blob):
    blob.roll_parameters.add("CORN", CORN_ROLL)
    old, new = cc.propose_roll_parameter(blob, "CORN", "priced_roll_cycle", "hknuxz")
    assert (old, new) == (CORN_ROLL, replace(CORN_ROLL, priced_roll_cycle="HKNUXZ"))
    assert blob.roll_parameters.get("CORN") == CORN_ROLL  # the proposal wrote nothing
    assert cc.set_roll_parameter(blob, "CORN", "roll_offset_days", " -20 ") == replace(
        CORN_ROLL, roll_offset_days=-20)
    assert blob.roll_parameters.get("CORN") == replace(CORN_ROLL, roll_offset_days=-20)
    cc.set_roll_parameter(blob, "CORN", "carry_offset", "1")
    assert blob.roll_parameters.get("CORN").to_dict() == {
        "hold_roll_cycle": "HNUZ", "priced_roll_cycle": "HKNUZ", "roll_offset_days": -20,
        "carry_offset": 1, "expiry_offset": 14}


@pytest.mark.parametrize("field, text, message", [
    ("hold_roll_cycle", "HNUA", "not in FGHJKMNQUVXZ"),
    ("hold_roll_cycle", "ZH", "not in calendar order"),
    ("hold_roll_cycle", "", "non-empty"),
    ("hold_roll_cycle", "HMNUZ", "not in priced roll cycle"),  # M is not priced
    ("priced_roll_cycle", "HNU", "not in priced roll cycle"),  # drops the held Z
    ("roll_offset_days", "-3.5", "whole number"),
    ("expiry_offset", "ten", "whole number"),
    ("carry_offset", "2", "-1 or \\+1"),
    ("colour", "1", "unknown roll parameter"),
])
def test_bad_roll_values_are_refused_and_nothing_changes(blob, field, text, message):
    blob.roll_parameters.add("CORN", CORN_ROLL)
    with pytest.raises(cc.InvalidData, match=message):
        cc.set_roll_parameter(blob, "CORN", field, text)
    assert blob.roll_parameters.get("CORN") == CORN_ROLL


def test_roll_parameters_of_an_unknown_instrument_are_one_clear_error(blob):
    with pytest.raises(UnknownInstrument, match="no roll parameters for instrument 'GILT'"):
        cc.propose_roll_parameter(blob, "GILT", "expiry_offset", "3")
