"""Properties of the order-generation arithmetic (hypothesis) plus hand-worked cases."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syscore.exceptions import InvalidData
from sysexecution.trade_arithmetic import (
    NetAction,
    Override,
    OverrideKind,
    apply_position_limits,
    buffered_trade,
    combine_overrides,
    limit_trade,
    net_against_working,
    reduce_only,
    round_half_away,
)

positions = st.integers(min_value=-500, max_value=500)
limits = st.integers(min_value=0, max_value=300)
factors = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
kinds = st.sampled_from([OverrideKind.REDUCE_ONLY, OverrideKind.CLOSE, OverrideKind.NO_TRADING])
overrides = st.one_of(factors.map(Override.multiplier), kinds.map(Override))


# --- buffering -----------------------------------------------------------------------------
@pytest.mark.parametrize("position,lower,upper,trade", [
    (0, 2.4, 4.1, 2), (0, 2.5, 4.1, 3), (5, 2.5, 4.6, 0), (6, 2.5, 4.6, -1),
    (3, 2.5, 4.6, 0), (0, -2.5, -1.2, -1), (-4, -2.5, -1.2, 1), (0, -0.4, 0.4, 0),
])
def test_buffered_trade_cases(position, lower, upper, trade):
    assert buffered_trade(position, lower, upper) == trade


@given(positions, st.floats(-400, 400), st.floats(0, 50))
def test_buffered_trade_lands_on_the_rounded_edge_or_stays(position, lower, width):
    upper = lower + width
    trade = buffered_trade(position, lower, upper)
    new = position + trade
    if lower <= position <= upper:
        assert trade == 0
    elif position < lower:
        assert new == round_half_away(lower) and trade >= 0  # 0: round(lower) is the position
    else:
        assert new == round_half_away(upper) and trade <= 0  # e.g. 28 above 27.5 rounds to 28


def test_buffer_refuses_nonsense():
    with pytest.raises(InvalidData):
        buffered_trade(0, 3.0, 2.0)
    with pytest.raises(InvalidData):
        buffered_trade(0, float("nan"), 2.0)


def test_rounding_is_half_away_from_zero():
    assert [round_half_away(x) for x in (2.5, -2.5, 0.5, -0.5, 2.49)] == [3, -3, 1, -1, 2]


# --- overrides -----------------------------------------------------------------------------
@pytest.mark.parametrize("override,position,trade,expected", [
    (Override.multiplier(0.5), 0, 10, 5),
    (Override.multiplier(0.5), 4, 3, -1),      # target 7 x 0.5 = 3.5 -> 3
    (Override.multiplier(0.5), 0, -7, -3),     # truncated towards zero
    (Override(OverrideKind.CLOSE), 4, 3, -4),
    (Override(OverrideKind.NO_TRADING), 4, -3, 0),
    (Override(OverrideKind.REDUCE_ONLY), 4, -3, -3),
    (Override(OverrideKind.REDUCE_ONLY), 4, -6, -4),  # would flip: stop at flat
    (Override(OverrideKind.REDUCE_ONLY), 4, 2, 0),
    (Override(OverrideKind.REDUCE_ONLY), 0, 2, 0),
])
def test_override_cases(override, position, trade, expected):
    assert override.apply(position, trade) == expected


@given(overrides, positions, positions)
def test_overrides_never_grow_a_position_beyond_the_unoverridden_target(override, position, trade):
    new = position + override.apply(position, trade)
    target = position + trade
    if override.kind is OverrideKind.MULTIPLIER:
        assert abs(new) <= abs(target)
        assert new == 0 or (new > 0) == (target > 0)
    else:
        assert abs(new) <= abs(position)  # reduce only, close, no trading never increase
        assert new == 0 or (new > 0) == (position > 0)


@given(st.lists(overrides, max_size=4))
def test_combining_follows_precedence_and_multiplies(items):
    combined = combine_overrides(*items)
    kinds_present = {o.kind for o in items}
    for strongest in (OverrideKind.NO_TRADING, OverrideKind.CLOSE, OverrideKind.REDUCE_ONLY):
        if strongest in kinds_present:
            assert combined.kind is strongest
            return
    expected = 1.0
    for item in items:
        expected *= item.factor
    assert combined.kind is OverrideKind.MULTIPLIER
    assert combined.factor == pytest.approx(expected)


@given(overrides, overrides)
def test_combine_is_commutative_in_effect(a, b):
    for position, trade in ((3, 4), (-3, -4), (5, -9)):
        assert a.combine(b).apply(position, trade) == b.combine(a).apply(position, trade)


def test_multiplier_outside_unit_interval_refused():
    with pytest.raises(InvalidData):
        Override.multiplier(1.5)


# --- position limits -------------------------------------------------------------------------
@pytest.mark.parametrize("position,trade,limit,expected", [
    (0, 5, 3, 3), (2, 5, 3, 1), (5, 2, 3, 0),   # over the limit already: buys stop, never sell
    (5, -1, 3, -1), (5, -9, 3, -9),              # reducing |position| passes whole
    (-2, -5, 3, -1), (0, 0, 0, 0), (-1, 4, 2, 3),
])
def test_limit_cases(position, trade, limit, expected):
    assert limit_trade(position, trade, limit) == expected


@given(positions, positions, limits)
def test_limit_shrinks_towards_zero_and_respects_the_limit(position, trade, limit):
    cut = limit_trade(position, trade, limit)
    assert abs(cut) <= abs(trade) and (cut == 0 or (cut > 0) == (trade > 0))
    new = position + cut
    if abs(position + trade) <= abs(position):
        assert cut == trade  # reducing trades always pass
    else:
        assert abs(new) <= max(limit, abs(position))


@given(positions, positions, positions, st.one_of(st.none(), limits), st.one_of(st.none(), limits))
def test_most_conservative_limit_wins(trade, instrument_position, strategy_position,
                                      instrument_limit, strategy_limit):
    result = apply_position_limits(trade, [(instrument_position, instrument_limit),
                                           (strategy_position, strategy_limit)])
    each = [limit_trade(p, trade, lim) for p, lim in ((instrument_position, instrument_limit),
                                                       (strategy_position, strategy_limit))
            if lim is not None]
    assert result == (min(each, key=abs) if each else trade)


# --- netting against working orders ---------------------------------------------------------
@pytest.mark.parametrize("wanted,working,action,quantity", [
    (5, 0, NetAction.NEW, 5), (5, 5, NetAction.NOTHING, 0), (5, 3, NetAction.NEW, 2),
    (3, 5, NetAction.CANCEL_THEN_NEW, 3), (0, 5, NetAction.CANCEL, 0),
    (-2, 5, NetAction.CANCEL_THEN_NEW, -2), (0, 0, NetAction.NOTHING, 0),
])
def test_netting_cases(wanted, working, action, quantity):
    netting = net_against_working(wanted, working)
    assert (netting.action, netting.quantity) == (action, quantity)


@given(positions, positions)
def test_netting_never_duplicates_or_crosses_its_own_orders(wanted, working):
    netting = net_against_working(wanted, working)
    if netting.action is NetAction.NEW:
        # the new order goes the same way as the working ones and together they make the want
        assert working + netting.quantity == wanted
        assert working == 0 or (netting.quantity > 0) == (working > 0)
    elif netting.action is NetAction.NOTHING:
        assert wanted == working
    else:
        assert working != 0  # only what works can be cancelled
        assert netting.quantity == wanted


@given(positions, positions)
def test_reduce_only_never_increases_exposure(position, trade):
    cut = reduce_only(position, trade)
    assert abs(position + cut) <= abs(position)
