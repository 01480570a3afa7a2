"""Reusable contract tests for any :class:`~sysbrokers.broker.Broker` implementation.

Use it by subclassing :class:`BrokerContractTests` in a ``test_*.py`` module and providing a
``harness`` fixture that returns a :class:`BrokerHarness` (a fresh account, a liquid contract
whose market is open, and a way to let broker time pass). The simulated broker uses it in
``test_sim_broker_contract.py``; the Interactive Brokers layer (through the fake TWS server) can
reuse it unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from sysbrokers.broker import BAR_COLUMNS, Broker
from sysbrokers.errors import (
    InvalidOrderState,
    OrderRejected,
    RejectReason,
    UnknownContract,
    UnknownOrder,
)
from sysbrokers.objects import (
    BidAsk,
    BrokerOrder,
    OptionContract,
    OrderStatus,
    OrderType,
    SpreadLeg,
)
from sysobjects.black76 import OptionRight


@dataclass
class BrokerHarness:
    broker: Broker
    advance: Callable[[pd.Timedelta], None]  # let broker time pass (simulated clock or wall wait)
    now: Callable[[], pd.Timestamp]
    instrument_code: str  # liquid, market open now
    contract_date: str
    oversized_quantity: int  # above the broker's per-order size limit
    fx_pair: tuple[str, str] = ("EUR", "USD")
    fill_wait: pd.Timedelta = pd.Timedelta(minutes=2)
    second_contract_date: str = ""  # another contract trading now (spread tests)


def _wait_for(
    h: BrokerHarness, order_id: int, statuses: set[OrderStatus], steps: int = 20
) -> BrokerOrder:
    order = h.broker.get_order(order_id)
    for _ in range(steps):
        if order.status in statuses:
            return order
        h.advance(h.fill_wait / steps)
        order = h.broker.get_order(order_id)
    return order


class BrokerContractTests:
    """Behaviour every broker must show. Subclasses provide the ``harness`` fixture."""

    @pytest.fixture
    def harness(self) -> BrokerHarness:  # pragma: no cover - provided by subclasses
        raise NotImplementedError

    # ---------------------------------------------------------------- reference data
    def test_instruments_and_active_contracts(self, harness: BrokerHarness):
        b = harness.broker
        instruments = b.list_instruments()
        assert harness.instrument_code in instruments and instruments == sorted(instruments)
        active = b.get_active_contracts(harness.instrument_code)
        assert harness.contract_date in [c.contract_date for c in active]
        expiries = [c.expiry for c in active]
        assert expiries == sorted(expiries) and expiries[0] >= harness.now().date()
        details = b.get_contract_details(harness.instrument_code, harness.contract_date)
        assert details.instrument_code == harness.instrument_code
        assert details.multiplier > 0 and details.tick_size > 0 and len(details.currency) == 3
        assert details.exchange and not hasattr(details, "ib_symbol")  # IB mapping elsewhere

    def test_pysystemtrade_month_ids_mean_the_month(self, harness: BrokerHarness):
        """Stores keep pysystemtrade's ``YYYYMM00`` (multiple prices' contract columns) and
        callers pass it on: every broker takes it as the month (IB was asked for the expiry
        'YYYYMM00', answered 200, and the stack handler had no quote)."""
        b, code = harness.broker, harness.instrument_code
        month = harness.contract_date[:6]
        assert b.get_contract_details(code, month + "00") == b.get_contract_details(code, month)
        quote, again = b.get_bid_ask(code, month + "00"), b.get_bid_ask(code, month)
        assert (quote.bid, quote.ask) == (again.bid, again.ask)

    def test_unknown_contracts_raise(self, harness: BrokerHarness):
        with pytest.raises(UnknownContract):
            harness.broker.get_contract_details("NO_SUCH_INSTRUMENT", "202403")
        with pytest.raises(UnknownContract):
            harness.broker.get_active_contracts("NO_SUCH_INSTRUMENT")

    def test_trading_hours(self, harness: BrokerHarness):
        now = harness.now()
        hours = harness.broker.get_trading_hours(
            harness.instrument_code, now - pd.Timedelta(days=7), now + pd.Timedelta(days=7)
        )
        assert hours.sessions and hours.is_open(now)
        assert harness.broker.is_open(harness.instrument_code)
        assert all(str(s.open.tz) == "UTC" and s.close > s.open for s in hours.sessions)
        opens = [s.open for s in hours.sessions]
        assert opens == sorted(opens)

    # ---------------------------------------------------------------- market data
    @pytest.mark.parametrize("frequency", ["D", "H"])
    def test_historical_bars(self, harness: BrokerHarness, frequency):
        now = harness.now()
        bars = harness.broker.get_historical_bars(
            harness.instrument_code,
            harness.contract_date,
            frequency,
            now - pd.Timedelta(days=60),
            now + pd.Timedelta(days=5),
        )
        assert list(bars.columns) == list(BAR_COLUMNS)
        assert len(bars) > 10
        assert isinstance(bars.index, pd.DatetimeIndex) and str(bars.index.tz) == "UTC"
        assert bars.index.is_monotonic_increasing and bars.index.is_unique
        assert bars.index[-1] <= now  # never a bar from the future
        assert (bars["HIGH"] >= bars[["OPEN", "FINAL"]].max(axis=1)).all()
        assert (bars["LOW"] <= bars[["OPEN", "FINAL"]].min(axis=1)).all()
        assert bars["VOLUME"].dtype == np.int64

    @pytest.mark.parametrize("frequency", ["D", "H"])
    def test_historical_bars_of_a_range_after_now_are_empty_of_the_same_shape(
            self, harness: BrokerHarness, frequency):
        now = harness.now()
        bars = harness.broker.get_historical_bars(
            harness.instrument_code, harness.contract_date, frequency,
            now + pd.Timedelta(days=1), now + pd.Timedelta(days=5))
        assert bars.empty and list(bars.columns) == list(BAR_COLUMNS)
        assert isinstance(bars.index, pd.DatetimeIndex) and str(bars.index.tz) == "UTC"
        assert bars["VOLUME"].dtype == np.int64

    def test_fx_prices(self, harness: BrokerHarness):
        now = harness.now()
        ccy1, ccy2 = harness.fx_pair
        fx = harness.broker.get_fx_prices(ccy1, ccy2, now - pd.Timedelta(days=30), now)
        inverse = harness.broker.get_fx_prices(ccy2, ccy1, now - pd.Timedelta(days=30), now)
        assert isinstance(fx, pd.Series) and len(fx) >= 15 and str(fx.index.tz) == "UTC"
        assert (fx > 0).all() and fx.index[-1] <= now
        np.testing.assert_allclose(
            fx.to_numpy() * inverse.reindex(fx.index).to_numpy(), 1.0, rtol=1e-6
        )

    def test_bid_ask(self, harness: BrokerHarness):
        quote = harness.broker.get_bid_ask(harness.instrument_code, harness.contract_date)
        assert isinstance(quote, BidAsk)
        assert 0 < quote.bid < quote.ask and quote.bid_size >= 1 and quote.ask_size >= 1
        assert str(quote.timestamp.tz) == "UTC" and quote.timestamp <= harness.now()

    # ---------------------------------------------------------------- orders & account
    def test_market_order_fills_and_updates_positions_and_account(self, harness: BrokerHarness):
        b = harness.broker
        start = harness.now()
        before = b.get_account_value()
        order = b.place_order(harness.instrument_code, harness.contract_date, 3)
        assert order.order_id in [o.order_id for o in b.get_orders()]
        done = _wait_for(harness, order.order_id, {OrderStatus.FILLED})
        assert done.status is OrderStatus.FILLED and done.filled_quantity == 3
        executions = [e for e in b.get_executions(since=start) if e.order_id == order.order_id]
        assert sum(e.quantity for e in executions) == 3
        assert all(e.commission >= 0 and str(e.timestamp.tz) == "UTC" for e in executions)
        positions = {(p.instrument_code, p.contract_date): p.quantity for p in b.get_positions()}
        assert positions[(harness.instrument_code, harness.contract_date)] == 3
        after = b.get_account_value()
        assert after.base_currency == before.base_currency
        assert after.margin_used > before.margin_used
        assert np.isfinite(after.net_liquidation)
        assert b.get_orders(open_only=True) == []

    def test_far_limit_order_works_until_cancelled(self, harness: BrokerHarness):
        b = harness.broker
        quote = b.get_bid_ask(harness.instrument_code, harness.contract_date)
        tick = b.get_contract_details(harness.instrument_code, harness.contract_date).tick_size
        far = round((quote.bid * 0.8) / tick) * tick
        order = b.place_order(
            harness.instrument_code, harness.contract_date, 1, OrderType.LIMIT, far
        )
        harness.advance(harness.fill_wait)
        working = b.get_order(order.order_id)
        assert working.status in {OrderStatus.WORKING, OrderStatus.PENDING_SUBMIT}
        assert working.filled_quantity == 0
        assert order.order_id in [o.order_id for o in b.get_orders(open_only=True)]
        moved = b.modify_order(order.order_id, limit_price=far - 10 * tick)
        assert moved.limit_price == pytest.approx(far - 10 * tick)
        b.cancel_order(order.order_id)
        cancelled = _wait_for(harness, order.order_id, {OrderStatus.CANCELLED})
        assert cancelled.status is OrderStatus.CANCELLED and cancelled.filled_quantity == 0
        with pytest.raises(InvalidOrderState):
            b.cancel_order(order.order_id)

    def test_oversized_order_is_rejected_with_reason(self, harness: BrokerHarness):
        with pytest.raises(OrderRejected) as info:
            harness.broker.place_order(
                harness.instrument_code, harness.contract_date, harness.oversized_quantity
            )
        assert info.value.reason is not None and str(info.value)
        assert harness.broker.get_positions() == []

    def test_cash_fx_trade_moves_both_currencies(self, harness: BrokerHarness):
        b = harness.broker
        ccy1, ccy2 = harness.fx_pair
        before = b.get_account_value().cash
        trade = b.trade_fx(ccy1, ccy2, 1000.0, client_ref="test/fx/1")
        assert trade.quantity == 1000.0 and trade.rate > 0 and trade.client_ref == "test/fx/1"
        assert str(trade.timestamp.tz) == "UTC"
        after = b.get_account_value().cash
        assert after.get(ccy1, 0.0) - before.get(ccy1, 0.0) == pytest.approx(1000.0)
        assert after.get(ccy2, 0.0) - before.get(ccy2, 0.0) == pytest.approx(-1000.0 * trade.rate)
        assert b.get_fx_trades("test/fx/1") == [trade]
        sold = b.trade_fx(ccy1, ccy2, -400.0)
        assert [t.trade_id for t in b.get_fx_trades()] == [trade.trade_id, sold.trade_id]
        for bad in [(ccy1, ccy2, 0), (ccy1, ccy2, float("nan")), ("XXX", ccy2, 10.0)]:
            with pytest.raises(OrderRejected):
                b.trade_fx(*bad)
        assert len(b.get_fx_trades()) == 2  # refused trades leave nothing

    def test_unknown_order(self, harness: BrokerHarness):
        with pytest.raises(UnknownOrder):
            harness.broker.get_order(987_654_321)
        with pytest.raises(UnknownOrder):
            harness.broker.cancel_order(987_654_321)


# ==================================================================== spread orders
class BrokerSpreadContractTests:
    """Two-leg calendar spread orders (:meth:`Broker.place_spread_order`): price leg 1 minus
    leg 2, filled atomically, one execution per leg. Subclasses provide ``harness`` with a
    ``second_contract_date``."""

    @pytest.fixture
    def harness(self) -> BrokerHarness:  # pragma: no cover - provided by subclasses
        raise NotImplementedError

    @staticmethod
    def _legs(h: BrokerHarness) -> tuple[SpreadLeg, SpreadLeg]:
        return (SpreadLeg(h.second_contract_date, 1), SpreadLeg(h.contract_date, -1))

    def _synthetic(self, h: BrokerHarness) -> tuple[float, float]:
        far = h.broker.get_bid_ask(h.instrument_code, h.second_contract_date)
        near = h.broker.get_bid_ask(h.instrument_code, h.contract_date)
        return far.bid - near.ask, far.ask - near.bid  # (bid, ask) of far - near

    def test_market_spread_fills_both_legs_atomically(self, harness: BrokerHarness):
        b, h = harness.broker, harness
        start = h.now()
        order = b.place_spread_order(h.instrument_code, self._legs(h), 2, client_ref="t/sp/1")
        assert order.is_spread and order.quantity == 2 and order.client_ref == "t/sp/1"
        done = _wait_for(h, order.order_id, {OrderStatus.FILLED})
        assert done.status is OrderStatus.FILLED and done.filled_quantity == 2
        executions = [e for e in b.get_executions(since=start) if e.order_id == order.order_id]
        assert len({e.exec_id for e in executions}) == len(executions) >= 2  # one per leg
        assert all(e.client_ref == "t/sp/1" for e in executions)
        by_leg: dict[str, int] = {}
        value: dict[str, float] = {}
        for e in executions:
            by_leg[e.contract_date] = by_leg.get(e.contract_date, 0) + e.quantity
            value[e.contract_date] = value.get(e.contract_date, 0.0) + e.quantity * e.price
        assert by_leg == {h.second_contract_date: 2, h.contract_date: -2}  # bought far, sold near
        spread_paid = (value[h.second_contract_date] + value[h.contract_date]) / 2
        assert done.avg_fill_price == pytest.approx(spread_paid)  # leg 1 minus leg 2
        positions = {p.contract_date: p.quantity for p in b.get_positions()
                     if p.instrument_code == h.instrument_code}
        assert positions == {h.second_contract_date: 2, h.contract_date: -2}
        assert b.find_orders("t/sp/1")[0].legs == self._legs(h)

    def test_far_limit_spread_works_until_cancelled(self, harness: BrokerHarness):
        b, h = harness.broker, harness
        tick = b.get_contract_details(h.instrument_code, h.contract_date).tick_size
        bid, _ = self._synthetic(h)
        far = round((bid - 200 * tick) / tick) * tick  # buying well below the spread's bid
        order = b.place_spread_order(h.instrument_code, self._legs(h), 1, OrderType.LIMIT, far)
        h.advance(h.fill_wait)
        working = b.get_order(order.order_id)
        assert working.status in {OrderStatus.WORKING, OrderStatus.PENDING_SUBMIT}
        assert working.filled_quantity == 0 and working.limit_price == pytest.approx(far)
        moved = b.modify_order(order.order_id, limit_price=far - 10 * tick)
        assert moved.limit_price == pytest.approx(far - 10 * tick)
        b.cancel_order(order.order_id)
        cancelled = _wait_for(h, order.order_id, {OrderStatus.CANCELLED})
        assert cancelled.status is OrderStatus.CANCELLED
        assert [e for e in b.get_executions() if e.order_id == order.order_id] == []
        assert b.get_positions() == []

    def test_limit_spread_that_crosses_fills_at_or_better(self, harness: BrokerHarness):
        b, h = harness.broker, harness
        tick = b.get_contract_details(h.instrument_code, h.contract_date).tick_size
        bid, _ = self._synthetic(h)
        limit = round((bid - 20 * tick) / tick) * tick  # selling 20 ticks under the bid
        order = b.place_spread_order(h.instrument_code, self._legs(h), -1, OrderType.LIMIT,
                                     limit)
        done = _wait_for(h, order.order_id, {OrderStatus.FILLED})
        assert done.status is OrderStatus.FILLED and done.filled_quantity == -1
        assert done.avg_fill_price >= limit - 1e-9  # sold at the limit or better
        positions = {p.contract_date: p.quantity for p in b.get_positions()}
        assert positions == {h.second_contract_date: -1, h.contract_date: 1}

    @pytest.mark.parametrize("ratios", [(1, 1), (-1, 1)])
    def test_bad_spreads_are_refused(self, harness: BrokerHarness, ratios):
        b, h = harness.broker, harness
        legs = (SpreadLeg(h.second_contract_date, ratios[0]), SpreadLeg(h.contract_date, ratios[1]))
        with pytest.raises(OrderRejected):
            b.place_spread_order(h.instrument_code, legs, 1)
        with pytest.raises(OrderRejected):
            b.place_spread_order(h.instrument_code, self._legs(h), h.oversized_quantity)
        assert b.get_positions() == []


# ==================================================================== options on futures
@dataclass
class OptionHarness:
    """A broker that trades options on ``base``'s contract: ``serial`` expires well before
    its future (exercise leaves a future), ``main`` with it; ``strikes`` quoted now on
    ``serial``, ascending; ``final_price(contract)`` the future's settlement price at the
    option's expiry; ``expiry(contract)`` the instant it stops trading."""

    base: BrokerHarness
    serial: OptionContract
    main: OptionContract
    strikes: list[float]
    final_price: Callable[[OptionContract], float]
    expiry: Callable[[OptionContract], pd.Timestamp]
    multiplier: float


def _option_fill(h: OptionHarness, order_id: str, steps: int = 20):
    b = h.base.broker
    order = b.get_option_order(order_id)
    for _ in range(steps):
        if order.status.is_terminal:
            return order
        h.base.advance(h.base.fill_wait / steps)
        order = b.get_option_order(order_id)
    return order


def _with(contract: OptionContract, right: OptionRight, strike: float) -> OptionContract:
    return OptionContract(contract.instrument_code, contract.contract_date, right, strike,
                          contract.expiry, contract.option_code)


class BrokerOptionContractTests:
    """Options behaviour of a broker that trades them. Subclasses provide ``options``."""

    @pytest.fixture
    def options(self) -> OptionHarness:  # pragma: no cover - provided by subclasses
        raise NotImplementedError

    def _cash(self, h: OptionHarness) -> float:
        currency = h.base.broker.get_contract_details(h.serial.instrument_code,
                                                      h.serial.contract_date).currency
        return h.base.broker.get_account_value().cash.get(currency, 0.0)

    def test_buy_a_call_fills_at_the_ask_and_is_marked_at_mid(self, options: OptionHarness):
        b = options.base.broker
        call = _with(options.serial, OptionRight.CALL, options.strikes[len(options.strikes) // 2])
        quote = b.get_option_quote(call)
        assert 0 <= quote.bid < quote.ask and 0 < quote.delta < 1
        cash = self._cash(options)
        order = b.place_option_order(call, 2, client_ref="test/opt/1")
        done = _option_fill(options, order.order_id)
        assert done.status is OrderStatus.FILLED and done.filled_quantity == 2
        assert done.client_ref == "test/opt/1" and done.contract == call
        [position] = b.get_option_positions()
        assert (position.contract, position.quantity) == (call, 2)
        assert position.average_price == pytest.approx(done.avg_fill_price)
        assert position.average_price >= quote.bid  # paid the touch, not better than the bid
        # marked at mid: unrealised = 2 x (mid - price paid) x multiplier; cash paid only fees
        mark = b.get_option_quote(call)
        account = b.get_account_value()
        currency = b.get_contract_details(call.instrument_code, call.contract_date).currency
        assert account.unrealised_pnl[currency] == pytest.approx(
            2 * (mark.mid - position.average_price) * options.multiplier)
        assert self._cash(options) == pytest.approx(cash - done.commission)
        assert account.margin_used > 0
        assert b.get_positions() == []  # futures positions are futures only

    def test_a_round_trip_books_its_pnl_to_cash(self, options: OptionHarness):
        b = options.base.broker
        put = _with(options.serial, OptionRight.PUT, options.strikes[len(options.strikes) // 2])
        cash = self._cash(options)
        bought = _option_fill(options, b.place_option_order(put, 3).order_id)
        options.base.advance(pd.Timedelta(hours=1))
        sold = _option_fill(options, b.place_option_order(put, -3).order_id)
        assert sold.status is OrderStatus.FILLED and b.get_option_positions() == []
        pnl = 3 * (sold.avg_fill_price - bought.avg_fill_price) * options.multiplier
        assert self._cash(options) == pytest.approx(
            cash + pnl - bought.commission - sold.commission)

    def test_expiry_in_and_out_of_the_money(self, options: OptionHarness):
        b = options.base.broker
        low, high = options.strikes[1], options.strikes[-2]
        itm_call = _with(options.serial, OptionRight.CALL, low)   # in the money now
        otm_call = _with(options.serial, OptionRight.CALL, high)  # out of the money now
        fills = {c: _option_fill(options, b.place_option_order(c, 1).order_id)
                 for c in (itm_call, otm_call)}
        cash = self._cash(options)
        expiry = options.expiry(itm_call)
        options.base.advance(expiry - options.base.now() + pd.Timedelta(minutes=1))
        assert b.get_option_positions() == []
        final = options.final_price(itm_call)
        intrinsic = {c: max(0.0, final - c.strike) for c in fills}
        assert intrinsic[itm_call] > 0 and intrinsic[otm_call] == 0  # the strikes are far apart
        expected = sum((intrinsic[c] - f.avg_fill_price) * options.multiplier
                       for c, f in fills.items())
        assert self._cash(options) == pytest.approx(cash + expected)
        # the call in the money was exercised into one long future, booked at the final price
        [future] = b.get_positions()
        assert (future.instrument_code, future.contract_date, future.quantity) == (
            itm_call.instrument_code, itm_call.contract_date, 1)
        assert future.average_price == pytest.approx(final)
        with pytest.raises(OrderRejected):
            b.place_option_order(itm_call, 1)  # expired

    def test_an_option_expiring_with_its_future_ends_in_cash(self, options: OptionHarness):
        b = options.base.broker
        strike = options.strikes[len(options.strikes) // 2]
        put = _with(options.main, OptionRight.PUT, strike)
        if b.get_option_quote(put).mid <= 0:  # pragma: no cover - depends on the market
            pytest.skip("no quote")
        fill = _option_fill(options, b.place_option_order(put, -1).order_id)  # short put
        cash = self._cash(options)
        options.base.advance(options.expiry(put) - options.base.now() + pd.Timedelta(minutes=1))
        intrinsic = max(0.0, put.strike - options.final_price(put))
        assert b.get_option_positions() == [] and b.get_positions() == []
        assert self._cash(options) == pytest.approx(
            cash - (intrinsic - fill.avg_fill_price) * options.multiplier)

    def test_bad_option_orders_are_refused(self, options: OptionHarness):
        b = options.base.broker
        call = _with(options.serial, OptionRight.CALL, options.strikes[0])
        unlisted = OptionContract(call.instrument_code, call.contract_date, OptionRight.CALL,
                                  call.strike, call.expiry + pd.Timedelta(days=1), "")
        with pytest.raises(OrderRejected) as info:
            b.place_option_order(unlisted, 1)
        assert info.value.reason is RejectReason.UNKNOWN_CONTRACT
        with pytest.raises(OrderRejected):
            b.place_option_order(call, options.base.oversized_quantity)
        with pytest.raises(OrderRejected):
            b.place_option_order(call, 0)
        assert b.get_option_positions() == []
