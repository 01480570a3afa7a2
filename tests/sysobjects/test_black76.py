import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syscore.exceptions import InvalidData
from sysobjects.black76 import OptionRight, delta, norm_cdf, price

C, P = OptionRight.CALL, OptionRight.PUT


def test_known_value_from_the_literature():
    # Haug, "The Complete Guide to Option Pricing Formulas", Black-76 example:
    # F = 19, K = 19, T = 0.75, r = 10 %, vol = 28 % -> call = put = 1.7011
    assert price(C, 19, 19, 0.75, 0.28, 0.10) == pytest.approx(1.7011, abs=5e-5)
    assert price(P, 19, 19, 0.75, 0.28, 0.10) == pytest.approx(1.7011, abs=5e-5)


def test_at_the_money_by_hand():
    # F = K = 100, T = 1, vol 20 %, r = 0: d1 = 0.1, d2 = -0.1 -> 100 (N(0.1) - N(-0.1))
    expected = 100 * (norm_cdf(0.1) - norm_cdf(-0.1))
    assert price(C, 100, 100, 1.0, 0.2) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(7.9656, abs=1e-4)


finite = dict(allow_nan=False, allow_infinity=False)


@given(st.floats(10, 500, **finite), st.floats(10, 500, **finite), st.floats(0.01, 3, **finite),
       st.floats(0.05, 1.0, **finite), st.floats(0, 0.1, **finite))
def test_put_call_parity(forward, strike, years, vol, rate):
    lhs = price(C, forward, strike, years, vol, rate) - price(P, forward, strike, years, vol, rate)
    assert lhs == pytest.approx(math.exp(-rate * years) * (forward - strike), abs=1e-9 * forward)


@given(st.floats(50, 150, **finite), st.floats(0.05, 2, **finite), st.floats(0.1, 0.6, **finite),
       st.sampled_from([C, P]))
def test_delta_matches_finite_differences(forward, years, vol, right):
    strike, bump = 100.0, 1e-4 * forward
    numeric = (price(right, forward + bump, strike, years, vol, 0.02)
               - price(right, forward - bump, strike, years, vol, 0.02)) / (2 * bump)
    assert delta(right, forward, strike, years, vol, 0.02) == pytest.approx(numeric, abs=1e-6)


@pytest.mark.parametrize("right,forward,value,dlt", [
    (C, 110, 10.0, 1.0), (C, 90, 0.0, 0.0), (P, 90, 10.0, -1.0), (C, 100, 0.0, 0.5),
])
def test_at_expiry_intrinsic(right, forward, value, dlt):
    assert price(right, forward, 100, 0.0, 0.3) == value
    assert delta(right, forward, 100, 0.0, 0.3) == dlt


def test_bad_inputs():
    with pytest.raises(InvalidData):
        price(C, -1, 100, 1, 0.2)
    with pytest.raises(InvalidData):
        price(C, 100, 100, 1, float("nan"))
