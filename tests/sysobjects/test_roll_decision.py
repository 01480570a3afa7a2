"""Auto-roll rules: each rule with hand-picked figures, the transition-table filter, volumes."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from syscore.config_models import RollStatusAutoUpdateConfig
from syscore.exceptions import InvalidData
from sysobjects.roll_decision import (
    AutoRollRules,
    RollInfo,
    average_daily_volume,
    force_roll_trade_size,
    forward_is_liquid,
    suggest_roll_state,
)
from sysobjects.roll_state import RollState

S = RollState
RULES = AutoRollRules()


def info(state=S.NO_ROLL, position=0, expiry=30, roll=25, priced=1000.0, forward=2000.0):
    return RollInfo("TEST", state, "202406", "202409", position, expiry, roll, priced, forward)


@pytest.mark.parametrize("case, expected", [
    (info(expiry=0, roll=-5, forward=0.0), S.ROLL_ADJUSTED),  # 1: expired, flat
    (info(), S.ROLL_ADJUSTED),  # 2: liquid (rel 2 > 1), flat
    (info(position=3, roll=25), S.PASSIVE),  # 2: liquid, held, not close
    (info(position=3, roll=9), None),  # 2: liquid, held, close (9 < 10): Ask
    (info(forward=50.0, roll=9), S.NO_OPEN),  # 3: rel 0.05 but 50 <= 100: illiquid, close
    (info(forward=50.0, roll=10), S.NO_ROLL),  # 3: illiquid, 10 is not < 10
    (info(forward=150.0, roll=25), S.ROLL_ADJUSTED),  # 2: rel 0.15 > 0.01 and 150 > 100
    (info(forward=5.0, priced=1000.0, roll=3), S.NO_OPEN),  # rel 0.005 < 0.01
    (info(priced=math.nan), S.NO_ROLL),  # no volumes: not liquid
])
def test_rules(case, expected):
    assert suggest_roll_state(case, RULES).state is expected


def test_expired_with_a_position_is_not_rolled_adjusted():
    held = info(position=2, expiry=0, roll=-5, forward=0.0)
    assert suggest_roll_state(held, RULES).state is S.NO_OPEN


def test_default_when_undecided_and_disabled_expiry_rule():
    rules = AutoRollRules(default_if_undecided=S.FORCE, auto_roll_expired=False)
    assert suggest_roll_state(info(position=3, roll=2), rules).state is S.FORCE
    assert suggest_roll_state(info(expiry=0, roll=-5, forward=0.0), rules).state is S.NO_OPEN


def test_a_suggestion_not_allowed_from_the_current_state_is_not_made():
    # Roll_Adjusted with a position allows only Roll_Adjusted; the rules say Passive
    blocked = suggest_roll_state(info(state=S.ROLL_ADJUSTED, position=1), RULES)
    assert blocked.state is None and not blocked.allowed and "not allowed" in blocked.reason
    # Force without a position allows Roll_Adjusted and Passive only; illiquid says No_Roll
    assert suggest_roll_state(info(state=S.FORCE, forward=1.0), RULES).allowed is False
    # the same state as now is kept
    assert suggest_roll_state(info(state=S.PASSIVE, position=1), RULES).state is S.PASSIVE


def test_rules_from_config():
    config = RollStatusAutoUpdateConfig(default_roll_state_if_undecided="Close",
                                        near_expiry_days=5)
    rules = AutoRollRules.from_config(config)
    assert rules.default_if_undecided is S.CLOSE and rules.near_expiry_days == 5
    assert AutoRollRules.from_config(RollStatusAutoUpdateConfig()).default_if_undecided is None


def test_liquidity_thresholds_are_strict():
    assert not forward_is_liquid(info(priced=100.0, forward=100.0), RULES)  # rel 1.0, vol 100
    assert forward_is_liquid(info(priced=100.0, forward=101.0), RULES)


def test_average_daily_volume_is_ewma_span_3_of_daily_sums_over_14_days():
    now = pd.Timestamp("2024-06-05 12:00", tz="UTC")
    index = pd.DatetimeIndex(["2024-05-01", "2024-06-01 10:00", "2024-06-01 15:00",
                              "2024-06-03", "2024-06-04"], tz="UTC")
    volumes = pd.Series([9999.0, 100.0, 100.0, 400.0, 100.0], index=index)
    # daily sums 200, 400, 100 (May 1 is outside 14 days); EWMA span 3 (alpha 0.5, adjusted):
    # weights 1, 0.5, 0.25 newest first: (100 + 0.5*400 + 0.25*200) / 1.75 = 200
    assert average_daily_volume(volumes, now) == pytest.approx(200.0)
    assert math.isnan(average_daily_volume(volumes[:1], now))
    assert math.isnan(average_daily_volume(pd.Series(dtype=float), now))


def test_force_roll_trade_size():
    assert force_roll_trade_size(-3, S.FORCE) == 6  # a spread: both legs
    assert force_roll_trade_size(-3, S.FORCE_OUTRIGHT) == 3
    assert force_roll_trade_size(2, S.CLOSE) == 2
    with pytest.raises(InvalidData):
        force_roll_trade_size(2, S.PASSIVE)
