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
from sysbrokers.errors import InvalidOrderState, OrderRejected, UnknownContract, UnknownOrder
from sysbrokers.objects import BidAsk, BrokerOrder, OrderStatus, OrderType


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
