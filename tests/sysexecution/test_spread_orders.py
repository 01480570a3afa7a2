"""Pure rules of spread orders: our legs as a broker spread (leg 1 minus leg 2), whole units,
the synthetic quote, the gate's spread price check."""
from __future__ import annotations

import pytest

from sysbrokers.objects import SpreadLeg
from syscore.exceptions import InvalidData
from sysexecution.pretrade_gate import GateSettings, spread_price_denial
from sysexecution.spread_orders import broker_spread, synthetic_quote, units_for


def test_a_roll_of_a_long_sells_the_spread_priced_minus_forward():
    spread = broker_spread(("202403", "202406"), (-3, 3))
    assert spread.legs == (SpreadLeg("202403", 1), SpreadLeg("202406", -1))
    assert spread.units == -3 and spread.leg_trades() == (-3, 3)


def test_a_roll_of_a_short_buys_it():
    spread = broker_spread(("202403", "202406"), (2, -2))
    assert spread.units == 2 and spread.leg_trades(1) == (1, -1)


def test_ratios_are_reduced_and_units_counted_whole():
    spread = broker_spread(("202403", "202406"), (4, -6))
    assert [leg.ratio for leg in spread.legs] == [2, -3] and spread.units == 2
    assert units_for(spread, (2, -3)) == 1
    assert units_for(spread, (2, -6)) is None  # one leg booked before the other
    assert units_for(spread, (0, 0)) == 0


@pytest.mark.parametrize("trades", [(1, 1), (0, -1), (1,), (1, -1, 0)])
def test_not_a_spread(trades):
    with pytest.raises(InvalidData):
        broker_spread(("202403", "202406", "202409")[:len(trades)], trades)


def test_synthetic_quote_buys_leg_one_at_its_ask_and_sells_leg_two_at_its_bid():
    legs = (SpreadLeg("202406", 1), SpreadLeg("202403", -1))
    bid, ask = synthetic_quote(legs, bids=(100.0, 98.0), asks=(100.5, 98.25))
    assert ask == 100.5 - 98.0 and bid == 100.0 - 98.25


def test_spread_price_check():
    settings = GateSettings(fat_finger=0.05)
    assert spread_price_denial(None, 1.0, 100.0, 0.25) == ""
    assert spread_price_denial(-2.25, -2.0, 100.0, 0.25, settings) == ""  # negative is fine
    assert "tick" in spread_price_denial(-2.1, -2.0, 100.0, 0.25, settings)
    assert "from the spread's mid" in spread_price_denial(8.0, 2.0, 100.0, 0.25, settings)
