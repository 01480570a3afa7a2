from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syscore.exceptions import InvalidData
from sysexecution.pretrade_gate import (
    GateContext,
    GateRequest,
    GateSettings,
    MarketState,
    SubmitThrottle,
    TradingState,
    change_trading_state,
    evaluate,
)

BOOK = MarketState(True, bid=99.75, ask=100.0, bid_size=50, ask_size=40)
REQUEST = GateRequest("CORN", quantity=5, position=0, reference_price=100.0, tick_size=0.25,
                      point_size=50.0)
CONTEXT = GateContext(market=BOOK)


def decide(request=REQUEST, context=CONTEXT, settings=None, **changes):
    request = dataclasses.replace(request, **{k: v for k, v in changes.items()
                                              if k in GateRequest.__dataclass_fields__})
    context = dataclasses.replace(context, **{k: v for k, v in changes.items()
                                              if k in GateContext.__dataclass_fields__})
    return evaluate(request, context, settings or GateSettings())


@pytest.mark.parametrize("changes,denial", [
    ({"trading_state": TradingState.HALTED}, "trading state HALTED"),
    ({"trading_state": TradingState.REDUCING}, "does not reduce"),
    ({"locked": True, "lock_reason": "position break"}, "CORN is locked: position break"),
    ({"market": MarketState(False)}, "market closed"),
    ({"limit_price": 100.1}, "not on the tick 0.25"),
    ({"limit_price": 110.0}, "10.0% from the reference"),
    ({"trade_limit_remaining": (3, 0)}, "trade limit reached"),
    ({"market": MarketState(True, bid=99.75, ask=None, bid_size=50)}, "no liquidity"),
    ({"market": MarketState(True, bid=90.0, ask=100.0, bid_size=5, ask_size=5)},
     "spread 40 ticks"),
    ({"throttle_ok": False}, "throttled"),
    ({"quantity": 0}, "zero quantity"),
])
def test_denials(changes, denial):
    decision = decide(**changes)
    assert not decision.allowed and decision.quantity == 0
    assert denial in decision.denial


@pytest.mark.parametrize("changes,settings,quantity,note", [
    ({"trading_state": TradingState.REDUCING, "position": 3, "quantity": -5}, GateSettings(),
     -3, "REDUCING: -5 cut to -3"),
    ({"trade_limit_remaining": (10, 2)}, GateSettings(), 2, "trade limit: 5 cut to 2"),
    ({}, GateSettings(max_notional=12_000.0), 2, "max notional: 5 cut to 2"),
    ({"market": MarketState(True, bid=99.75, ask=100.0, bid_size=1, ask_size=3)},
     GateSettings(), 3, "liquidity: 5 cut to 3"),
    ({"limit_price": 100.0, "market": MarketState(True, bid=99.75, ask=100.0, bid_size=1,
                                                   ask_size=3)}, GateSettings(), 5, None),
])
def test_resizes(changes, settings, quantity, note):
    decision = decide(settings=settings, **changes)
    assert decision.allowed and decision.quantity == quantity
    assert (note in decision.notes) if note else decision.notes == ()


def test_one_contract_over_notional_denied():
    decision = decide(settings=GateSettings(max_notional=1_000.0))
    assert "exceeds the maximum notional" in decision.denial


@given(st.integers(-30, 30), st.integers(-30, 30), st.sampled_from(list(TradingState)),
       st.lists(st.integers(0, 20), max_size=2), st.integers(0, 60), st.integers(0, 60))
def test_gate_only_ever_shrinks(quantity, position, state, remaining, bid_size, ask_size):
    market = MarketState(True, bid=99.75, ask=100.0, bid_size=bid_size, ask_size=ask_size)
    decision = decide(quantity=quantity, position=position, trading_state=state,
                      trade_limit_remaining=tuple(remaining), market=market)
    assert abs(decision.quantity) <= abs(quantity)
    assert decision.quantity == 0 or (decision.quantity > 0) == (quantity > 0)
    if state is TradingState.HALTED:
        assert decision.quantity == 0
    if state is TradingState.REDUCING:
        assert abs(position + decision.quantity) <= abs(position)
    if remaining:
        assert abs(decision.quantity) <= min(remaining)
    assert decision.allowed == (decision.quantity != 0)


def test_throttle_bucket():
    throttle = SubmitThrottle(rate=3, per_seconds=1.0)
    assert [throttle.try_take(0.0) for _ in range(4)] == [True, True, True, False]
    assert throttle.try_take(0.2) is False     # 0.6 token
    assert throttle.try_take(0.4) is True      # 1.2 tokens
    assert throttle.try_take(10.0) and throttle.try_take(10.0) and throttle.try_take(10.0)
    assert throttle.try_take(10.0) is False    # burst capped at rate


def test_trading_state_table():
    for current in TradingState:
        for new in TradingState:
            assert change_trading_state(current, new) is new
    with pytest.raises(InvalidData):
        SubmitThrottle(0, 1.0)


# an option worth 2.00 (8 ticks of 0.25): 5 % of its price is less than one tick
OPTION = GateRequest("SP500_micro-202403-C5000-20240315", quantity=2, position=0,
                     reference_price=2.0, tick_size=0.25, point_size=5.0)
OPTION_BOOK = MarketState(True, bid=1.75, ask=2.25, bid_size=50, ask_size=50)


@pytest.mark.parametrize("changes,allowed", [
    ({"limit_price": 2.25}, False),                           # 12.5 % away, no band in ticks
    ({"limit_price": 2.25, "min_band_ticks": 5}, True),       # one tick, within 5 ticks
    ({"limit_price": 3.5, "min_band_ticks": 5}, False),       # six ticks away
    ({"limit_price": 2.1, "min_band_ticks": 5}, False),       # off the tick all the same
])
def test_an_option_price_band_in_ticks(changes, allowed):
    decision = decide(OPTION, GateContext(market=OPTION_BOOK), **changes)
    assert decision.allowed is allowed


def test_an_option_spread_allowance_widens_the_spread_check_only_for_that_order():
    wide = MarketState(True, bid=1000.0, ask=1025.0, bid_size=50, ask_size=50)  # 100 ticks
    request = dataclasses.replace(OPTION, reference_price=1012.5)
    assert "spread 100 ticks is wider than 20" in decide(
        request, GateContext(market=wide)).denial
    assert decide(request, GateContext(market=wide), spread_allowance_ticks=203).allowed


def test_throttle_available_takes_no_token():
    throttle = SubmitThrottle(rate=1, per_seconds=1.0)
    assert throttle.available(0.0) and throttle.available(0.0)  # looking twice: still there
    assert throttle.try_take(0.0) is True
    assert throttle.available(0.5) is False and throttle.available(1.0) is True
