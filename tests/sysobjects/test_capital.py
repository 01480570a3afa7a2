"""Table-driven tests of the total-capital update rules."""
from __future__ import annotations

import pytest

from sysobjects.capital import (
    CapitalMethod,
    CapitalState,
    LargeCapitalChangeError,
    apply_cash_flow,
    update_capital,
)

START = CapitalState(total_capital=100_000.0, maximum_capital=100_000.0, broker_account_value=100_000.0)
BELOW_HWM = CapitalState(total_capital=95_000.0, maximum_capital=100_000.0, broker_account_value=95_000.0)

# (name, previous state, new broker value, method, expected total, expected max, expected acc pnl)
CASES = [
    ("full gain compounds", START, 105_000, "full", 105_000, 105_000, 5_000),
    ("full loss compounds", START, 96_000, "full", 96_000, 96_000, -4_000),
    ("half gain at hwm is not added", START, 105_000, "half", 100_000, 100_000, 5_000),
    ("half loss counts", START, 96_000, "half", 96_000, 100_000, -4_000),
    ("half gain below hwm recovers up to hwm", BELOW_HWM, 98_000, "half", 98_000, 100_000, 3_000),
    ("half gain crossing hwm is capped", BELOW_HWM, 104_000, "half", 100_000, 100_000, 9_000),
    ("fixed ignores gains", START, 105_000, "fixed", 100_000, 100_000, 5_000),
    ("fixed ignores losses", START, 93_000, "fixed", 100_000, 100_000, -7_000),
    ("no change", START, 100_000, "half", 100_000, 100_000, 0),
]


@pytest.mark.parametrize("name,previous,new_value,method,total,maximum,acc", CASES, ids=[c[0] for c in CASES])
def test_update_rules(name, previous, new_value, method, total, maximum, acc):
    result = update_capital(previous, new_value, method)
    assert result.state.total_capital == pytest.approx(total)
    assert result.state.maximum_capital == pytest.approx(maximum)
    assert result.state.accumulated_pandl == pytest.approx(acc)
    assert result.state.broker_account_value == new_value
    assert result.pandl == pytest.approx(new_value - previous.broker_account_value)


# (method, new broker value): moves over 10% of the previous value
LARGE = [("full", 111_000), ("half", 88_000), ("fixed", 130_000)]


@pytest.mark.parametrize("method,new_value", LARGE)
def test_large_change_refused_until_confirmed(method, new_value):
    with pytest.raises(LargeCapitalChangeError):
        update_capital(START, new_value, method)
    confirmed = update_capital(START, new_value, method, confirmed=True)
    assert confirmed.state.broker_account_value == new_value


@pytest.mark.parametrize("new_value", [109_999, 90_001, 110_000, 90_000])
def test_changes_within_limit_accepted(new_value):
    result = update_capital(START, new_value, CapitalMethod.FULL)  # no confirmation needed
    assert result.state.total_capital == pytest.approx(new_value)


def test_capital_floored_at_zero():
    state = CapitalState(total_capital=10_000, maximum_capital=10_000, broker_account_value=100_000)
    result = update_capital(state, 85_000, "full", confirmed=True)
    assert result.state.total_capital == 0.0


def test_accumulated_pandl_adds_up_over_a_sequence():
    state = START
    for value in (102_000, 99_000, 101_500, 104_000):
        state = update_capital(state, value, "half").state
    assert state.accumulated_pandl == pytest.approx(4_000)
    assert state.total_capital == pytest.approx(100_000)  # gains above the HWM not added
    assert state.maximum_capital == pytest.approx(100_000)


# (method, cash flow, expected total, expected max)
FLOWS = [("deposit", 20_000, 120_000, 120_000), ("withdrawal", -30_000, 70_000, 70_000)]


@pytest.mark.parametrize("name,amount,total,maximum", FLOWS)
def test_cash_flows_are_not_pandl(name, amount, total, maximum):
    state = apply_cash_flow(START, amount)
    assert state.total_capital == total
    assert state.maximum_capital == maximum
    assert state.accumulated_pandl == 0
    # the next update books only trading p&l
    result = update_capital(state, state.broker_account_value + 1_000, "full")
    assert result.pandl == pytest.approx(1_000)


def test_unknown_method_rejected():
    with pytest.raises(ValueError):
        update_capital(START, 100_500, "quarter")


def test_initial_state_defaults_to_account_value():
    state = CapitalState.initial(250_000)
    assert (state.total_capital, state.maximum_capital, state.accumulated_pandl) == (250_000, 250_000, 0.0)
