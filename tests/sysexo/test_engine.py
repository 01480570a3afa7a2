"""EXO kinds on a small market whose every number can be followed by hand."""
from __future__ import annotations

import datetime as dt

import pytest

from sysexo.engine import ExoDefinition, ExoState, LegTemplate, exo_day
from sysexo.positions import Instrument
from sysexo.roll_regimes import FutureContract, OptionExpiry, RollRegime
from sysobjects.black76 import OptionRight, delta, price

D = dt.date
MARCH, JUNE = FutureContract("202403", D(2024, 3, 15)), FutureContract("202406", D(2024, 6, 21))
FUTURE_PRICES = {  # day -> {future: price}
    D(2024, 3, 11): {"202403": 5000.0, "202406": 5080.0},
    D(2024, 3, 12): {"202403": 5010.0, "202406": 5090.0},
    D(2024, 3, 13): {"202403": 5020.0, "202406": 5100.0},
    D(2024, 3, 14): {"202403": 5030.0, "202406": 5090.0},
}
VOL, POINT = 0.2, 50.0


class TinyMarket:
    def futures(self, product):
        return [MARCH, JUNE]

    def option_expiries(self, product, future_id):
        return [OptionExpiry("", MARCH.expiry if future_id == "202403" else JUNE.expiry)]

    def future_price(self, product, future_id, day):
        return FUTURE_PRICES[day][future_id]

    def strikes(self, product, future_id, option, day):
        return [4600.0 + 25 * i for i in range(33)]  # 4600 .. 5400, all quoted

    def option_quote(self, product, instrument, day):
        forward = self.future_price(product, instrument.future_id, day)
        years = max((instrument.expiry - day).days, 0) / 365.0
        return (price(instrument.right, forward, instrument.strike, years, VOL),
                delta(instrument.right, forward, instrument.strike, years, VOL))

    def point_value(self, product):
        return POINT


REGIME = RollRegime(days_before_expiration=2)
DAYS = sorted(FUTURE_PRICES)


def run(definition, regimes=None):
    state, rows, txs = ExoState(), [], []
    for n, day in enumerate(DAYS):
        state, row, done = exo_day(definition, state, day, TinyMarket(), REGIME,
                                   None if regimes is None else regimes[n])
        rows.append(row)
        txs.append(done)
    return state, rows, txs


def test_continuous_future_rolls_and_keeps_its_pnl():
    _, rows, txs = run(ExoDefinition(name="ES_ContFut", product="ES", kind="continuous_future"))
    # 03-11 buy March at 5000; 03-12 +10 points; 03-13 roll (13 Mar is 2 days before expiry):
    # sell March at 5020 (+20 points realised), buy June at 5100; 03-14 June -10 points
    assert [r.exo for r in rows] == [0.0, 10 * POINT, 20 * POINT, 10 * POINT]
    assert [r.rollover for r in rows] == [False, False, True, False]
    assert (rows[2].futures_executed, rows[2].futures_opened) == (2, 1)
    assert [r.delta for r in rows] == [1.0, 1.0, 1.0, 1.0]
    assert txs[2][1].instrument == Instrument("202406", JUNE.expiry)


def test_broken_wing_collar_strikes_by_offset_from_atm():
    _, rows, txs = run(ExoDefinition(name="ES_BWC", product="ES",
                                     kind="bullish_broken_wing_collar"))
    opened = {(t.instrument.right, t.instrument.strike, t.quantity) for t in txs[0]}
    assert opened == {(OptionRight.PUT, 4875.0, 1.0), (None, None, 1.0),
                      (OptionRight.CALL, 5125.0, -1.0), (OptionRight.CALL, 5225.0, 1.0)}
    assert (rows[0].options_opened, rows[0].futures_opened) == (3, 1)
    assert rows[0].strikes_clamped == 0
    # the next day's value is the sum of each leg's price change times quantity
    expected = 0.0
    for tx in txs[0]:
        now, _ = TinyMarket().option_quote("ES", tx.instrument, DAYS[1]) if \
            tx.instrument.is_option else (FUTURE_PRICES[DAYS[1]]["202403"], 1.0)
        expected += tx.quantity * (now - tx.price) * POINT
    assert rows[1].exo == pytest.approx(expected)


def test_long_call_is_at_the_money_and_custom_legs_replace_a_template():
    _, rows, txs = run(ExoDefinition(name="ES_LC", product="ES", kind="long_call"))
    assert [(t.instrument.right, t.instrument.strike) for t in txs[0]] == [
        (OptionRight.CALL, 5000.0)]
    assert 0.4 < rows[0].delta < 0.6
    _, _, custom = run(ExoDefinition(name="ES_X", product="ES", kind="long_call", legs=(
        LegTemplate(type="put", offset=-1, quantity=2),)))
    assert [(t.instrument.right, t.instrument.strike, t.quantity) for t in custom[0]] == [
        (OptionRight.PUT, 4975.0, 2)]


def test_smart_exo_switches_on_regime_change():
    smart = ExoDefinition(name="ES_Smart", product="ES", kind="smart",
                          bullish=(LegTemplate(type="future"),),
                          bearish=(LegTemplate(type="future", quantity=-1),), neutral=())
    state, rows, txs = run(smart, regimes=[1, 1, -1, None])
    assert [r.regime for r in rows] == [1, 1, -1, None]
    assert [len(t) for t in txs] == [1, 0, 2, 1]  # open; hold; close long + open short; close
    # 03-13: the regime turned (and the roll came due): March closed at 5020 (+20 points),
    # June opened short at 5100; 03-14: June at 5090 (+10 points for the short); None: flat
    assert [r.exo for r in rows] == [0.0, 10 * POINT, 20 * POINT, 30 * POINT]
    assert state.position.legs == {}


class NarrowChainMarket(TinyMarket):
    def strikes(self, product, future_id, option, day):
        return [4950.0, 4975.0, 5000.0, 5025.0, 5050.0]  # only two strikes either side of ATM


def test_an_offset_beyond_the_chain_takes_the_outermost_strike_and_is_counted():
    definition = ExoDefinition(name="ES_BWC", product="ES", kind="bullish_broken_wing_collar")
    state, row, txs = exo_day(definition, ExoState(), DAYS[0], NarrowChainMarket(), REGIME)
    options = sorted((t.instrument.right.value, t.instrument.strike, t.quantity)
                     for t in txs if t.instrument.is_option)
    # put -5 -> 4950, call +5 and call +9 -> 5050 (the short and long call now cancel)
    assert options == [("C", 5050.0, -1.0), ("C", 5050.0, 1.0), ("P", 4950.0, 1.0)]
    assert row.strikes_clamped == 3
    _, quiet, _ = exo_day(definition, state, DAYS[1], NarrowChainMarket(), REGIME)
    assert quiet.strikes_clamped == 0  # counted on the day the legs are opened


def test_delta_target_sizes_to_its_target_and_rebuilds_outside_the_band():
    definition = ExoDefinition(name="ES_DT", product="ES", kind="delta_target",
                               target_delta=0.5, band=0.03, option=LegTemplate(type="call"))
    state, rows, txs = run(definition)
    call = OptionRight.CALL

    def bs(forward, strike, day, expiry=MARCH.expiry):
        years = (expiry - day).days / 365.0
        return price(call, forward, strike, years, VOL), delta(call, forward, strike, years, VOL)

    # 03-11: ATM 5000 call, 4 days: delta ~0.504, so 0.5 / 0.504 calls
    p0, d0 = bs(5000.0, 5000.0, DAYS[0])
    q0 = 0.5 / d0
    assert [(t.instrument.strike, t.quantity) for t in txs[0]] == [(5000.0, pytest.approx(q0))]
    assert rows[0].delta == pytest.approx(0.5)
    # 03-12: forward 5010, 3 days: held delta q0 * 0.547 ~ 0.543 leaves 0.5 ± 0.03, so the
    # position is closed and rebuilt on the ATM strike (still 5000: |5010-5000| < |5010-5025|)
    p1, d1 = bs(5010.0, 5000.0, DAYS[1])
    assert q0 * d1 - 0.5 > 0.03
    assert [(t.quantity, t.opening) for t in txs[1]] == [(pytest.approx(-q0), False),
                                                         (pytest.approx(0.5 / d1), True)]
    assert rows[1].exo == pytest.approx(q0 * (p1 - p0) * POINT)
    assert not rows[1].rollover
    # 03-13: the roll (2 days before March's expiry) closes March and buys the June 5100 call
    p2, _ = bs(5020.0, 5000.0, DAYS[2])
    assert rows[2].rollover
    assert rows[2].exo == pytest.approx((q0 * (p1 - p0) + 0.5 / d1 * (p2 - p1)) * POINT)
    j2, dj2 = bs(5100.0, 5100.0, DAYS[2], JUNE.expiry)
    assert (txs[2][1].instrument.strike, txs[2][1].quantity) == (5100.0, pytest.approx(0.5 / dj2))
    # 03-14: June at 5090: delta 0.493 is inside the band, the position is held
    j3, dj3 = bs(5090.0, 5100.0, DAYS[3], JUNE.expiry)
    assert txs[3] == [] and rows[3].delta == pytest.approx(0.5 / dj2 * dj3)
    assert abs(rows[3].delta - 0.5) <= 0.03
    assert rows[3].exo == pytest.approx(rows[2].exo + 0.5 / dj2 * (j3 - j2) * POINT)


@pytest.mark.parametrize("parameters", [
    {"band": 0.1, "option": {"type": "call"}},
    {"target_delta": 0.5, "option": {"type": "call"}},
    {"target_delta": 0.5, "band": 0.1},
    {"target_delta": 0.5, "band": 0.1, "option": {"type": "future"}},
])
def test_delta_target_without_its_parameters_is_refused(parameters):
    with pytest.raises(ValueError, match="delta_target needs"):
        ExoDefinition(name="ES_DT", product="ES", kind="delta_target", **parameters)
