from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syscore.exceptions import InvalidData
from sysexecution.contract_spawning import (
    ContractTrade,
    Leg,
    force_roll_trades,
    spawn_contract_trades,
)
from sysobjects.roll_state import RollState as R

P, F = "202406", "202409"


def legs(trades):
    return [[(leg.contract_id, leg.quantity) for leg in t.legs] for t in trades]


@pytest.mark.parametrize("state,trade,priced,expected", [
    (R.NO_ROLL, 3, 2, [[(P, 3)]]),
    (R.NO_OPEN, -1, 2, [[(P, -1)]]),
    (R.PASSIVE, 3, 0, [[(F, 3)]]),            # nothing in priced: all forward
    (R.PASSIVE, 3, 2, [[(F, 3)]]),            # increasing: forward
    (R.PASSIVE, -2, 5, [[(P, -2)]]),          # reducing, same side
    (R.PASSIVE, -5, 5, [[(P, -5)]]),          # reducing to flat
    (R.PASSIVE, -7, 5, [[(P, -5)], [(F, -2)]]),  # crossing zero: split
    (R.PASSIVE, 4, -1, [[(P, 1)], [(F, 3)]]),
    (R.FORCE, 3, 2, []),                       # roll order first
    (R.FORCE, -3, 2, [[(P, -2)], [(F, -1)]]),  # reducing: as Passive
    (R.FORCE_OUTRIGHT, -1, 2, [[(P, -1)]]),
    (R.CLOSE, -1, 2, [[(P, -1)]]),
    (R.CLOSE, -5, 2, [[(P, -2)]]),             # only the closing part
    (R.CLOSE, 1, 2, []),
    (R.ROLL_ADJUSTED, 1, 0, []),
    (R.NO_ROLL, 0, 2, []),
])
def test_spawning_table(state, trade, priced, expected):
    assert legs(spawn_contract_trades(state, trade, priced, P, F)) == expected


@pytest.mark.parametrize("state,priced,expected", [
    (R.FORCE, 3, [[(P, -3), (F, 3)]]),
    (R.FORCE_OUTRIGHT, -2, [[(P, 2)], [(F, -2)]]),
    (R.CLOSE, 4, [[(P, -4)]]),
    (R.PASSIVE, 4, []), (R.NO_ROLL, 4, []), (R.FORCE, 0, []),
])
def test_force_roll_orders(state, priced, expected):
    assert legs(force_roll_trades(state, priced, P, F)) == expected
    assert all(t.is_spread == (len(t.legs) == 2) for t in force_roll_trades(state, priced, P, F))


@given(st.sampled_from(list(R)), st.integers(-50, 50), st.integers(-50, 50))
def test_spawned_legs_never_exceed_the_trade_and_keep_its_direction(state, trade, priced):
    trades = spawn_contract_trades(state, trade, priced, P, F)
    total = sum(leg.quantity for t in trades for leg in t.legs)
    if state in (R.NO_ROLL, R.NO_OPEN, R.PASSIVE):
        assert total == trade  # the whole trade is placed
    assert abs(total) <= abs(trade)
    assert all((leg.quantity > 0) == (trade > 0) for t in trades for leg in t.legs)
    if state is R.PASSIVE:
        priced_after = priced + sum(leg.quantity for t in trades for leg in t.legs
                                    if leg.contract_id == P)
        assert abs(priced_after) <= abs(priced)  # the priced contract is never added to
        assert priced_after == 0 or (priced_after > 0) == (priced > 0)


def test_bad_contract_orders_refused():
    with pytest.raises(InvalidData):
        ContractTrade((Leg(P, 1), Leg(F, 2)))
    with pytest.raises(InvalidData):
        ContractTrade((Leg(P, 0),))
