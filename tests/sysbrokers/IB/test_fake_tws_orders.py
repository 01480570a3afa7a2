"""Step 5: orders through the real ib_async client, filled by the simulated broker."""

from __future__ import annotations

import time

import pandas as pd
import pytest
from ib_async import Future, LimitOrder, MarketOrder

from tests.sysbrokers.IB.conftest import START


def wait_until(ib, condition, timeout: float = 5.0) -> None:
    """Let ib_async handle messages until ``condition()`` holds (bounded)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met in time; trades: {ib.trades()}")
        ib.waitOnUpdate(timeout=0.1)


@pytest.fixture
def mes(ib):
    [fut] = ib.qualifyContracts(Future("MES", "202403", "CME"))
    return fut


def broker_order(fake_tws, client_id, trade):
    """The simulated broker's view of an ib_async trade."""

    def read(fake):
        return fake.broker.get_order(fake.desk.orders[(client_id, trade.order.orderId)].broker_id)

    return fake_tws.call(read)


def advance(ib, clock, fake_tws, delta: pd.Timedelta) -> None:
    """Move simulated time once the server has handled everything ib sent (a round trip:
    one connection's messages are handled in order), then report the broker's changes."""
    ib.reqCurrentTime()
    clock.advance(delta)
    fake_tws.call(lambda f: f.pump())


def test_market_order_fills_in_parts_with_commissions_and_positions(ib, mes, clock, fake_tws):
    statuses = []
    trade = ib.placeOrder(mes, MarketOrder("BUY", 100, orderRef="stack-1"))
    trade.statusEvent += lambda t: statuses.append((t.orderStatus.status, t.orderStatus.filled))
    wait_until(ib, lambda: trade.orderStatus.status in ("PreSubmitted", "Submitted"))
    assert trade.order.permId > 0
    advance(ib, clock, fake_tws, pd.Timedelta(minutes=2))
    wait_until(ib, lambda: trade.orderStatus.status == "Filled")
    wait_until(ib, lambda: all(f.commissionReport.commission > 0 for f in trade.fills))
    executions = fake_tws.call(lambda f: f.broker.get_executions())
    assert len(trade.fills) == len(executions) > 1  # several partial fills
    assert sum(f.execution.shares for f in trade.fills) == 100
    assert [f.execution.price for f in trade.fills] == [e.price for e in executions]
    assert {f.execution.orderRef for f in trade.fills} == {"stack-1"}
    assert {f.execution.side for f in trade.fills} == {"BOT"}
    assert sum(f.commissionReport.commission for f in trade.fills) == pytest.approx(
        sum(e.commission for e in executions)
    )
    assert trade.orderStatus.remaining == 0
    assert trade.orderStatus.avgFillPrice == pytest.approx(
        sum(e.price * e.quantity for e in executions) / 100
    )
    filled_steps = [f for s, f in statuses if s != "PreSubmitted"]
    assert filled_steps == sorted(filled_steps) and filled_steps[-1] == 100
    wait_until(ib, lambda: any(p.position == 100 for p in ib.positions()))


def test_limit_order_rests_and_cancels_with_202(ib, mes, clock, fake_tws):
    [ticker_bid] = [
        b.close for b in ib.reqHistoricalData(mes, "", "1 D", "1 hour", "TRADES", False)
    ][-1:]
    errors = []
    ib.errorEvent += lambda req_id, code, text, c: errors.append((req_id, code))
    trade = ib.placeOrder(mes, LimitOrder("BUY", 1, ticker_bid - 100))
    advance(ib, clock, fake_tws, pd.Timedelta(seconds=30))
    wait_until(ib, lambda: trade.orderStatus.status == "Submitted")
    assert trade.fills == []
    ib.cancelOrder(trade.order)
    advance(ib, clock, fake_tws, pd.Timedelta(seconds=5))
    wait_until(ib, lambda: trade.orderStatus.status == "Cancelled")
    assert (trade.order.orderId, 202) in errors
    assert broker_order(fake_tws, 1, trade).status.name == "CANCELLED"


def test_partial_fill_then_cancel_keeps_the_filled_part(ib, mes, clock, fake_tws):
    trade = ib.placeOrder(mes, MarketOrder("SELL", 300))
    advance(ib, clock, fake_tws, pd.Timedelta(seconds=6))
    wait_until(ib, lambda: trade.orderStatus.filled > 0)
    ib.cancelOrder(trade.order)
    advance(ib, clock, fake_tws, pd.Timedelta(seconds=5))
    wait_until(ib, lambda: trade.orderStatus.status == "Cancelled")
    filled = trade.orderStatus.filled
    assert 0 < filled < 300
    assert sum(f.execution.shares for f in trade.fills) == filled
    wait_until(ib, lambda: any(p.position == -filled for p in ib.positions()))


def test_modify_limit_price(ib, mes, clock, fake_tws):
    order = LimitOrder("BUY", 2, 4000.0)
    trade = ib.placeOrder(mes, order)
    wait_until(ib, lambda: trade.orderStatus.status in ("PreSubmitted", "Submitted"))
    order.lmtPrice = 3999.0
    order.totalQuantity = 3
    ib.placeOrder(mes, order)
    wait_until(ib, lambda: broker_order(fake_tws, 1, trade).limit_price == 3999.0)
    assert broker_order(fake_tws, 1, trade).quantity == 3


def test_order_rejected_when_the_market_is_closed(connect, clock, fake_tws):
    clock.set(pd.Timestamp("2024-01-06 12:00", tz="UTC"))  # Saturday
    ib = connect(1)
    [mes] = ib.qualifyContracts(Future("MES", "202403", "CME"))
    errors = []
    ib.errorEvent += lambda req_id, code, text, c: errors.append((code, text))
    trade = ib.placeOrder(mes, MarketOrder("BUY", 1))
    wait_until(ib, lambda: trade.orderStatus.status == "Cancelled")
    assert errors[0][0] == 201 and "market closed" in errors[0][1]


def test_reused_order_id_gets_103(ib, mes):
    errors = []
    ib.errorEvent += lambda req_id, code, text, c: errors.append((req_id, code))
    ib.placeOrder(mes, LimitOrder("BUY", 1, 4000.0))
    ib.client.placeOrder(0, mes, LimitOrder("BUY", 1, 4000.0))
    wait_until(ib, lambda: (0, 103) in errors)


def test_cancel_of_unknown_order_gets_10147(ib, mes):
    errors = []
    ib.errorEvent += lambda req_id, code, text, c: errors.append((req_id, code))
    ib.client.cancelOrder(987654)
    wait_until(ib, lambda: (987654, 10147) in errors)


def test_fills_during_a_disconnect_are_recovered_by_req_executions(connect, clock, fake_tws):
    ib = connect(4)
    [mes] = ib.qualifyContracts(Future("MES", "202403", "CME"))
    trade = ib.placeOrder(mes, MarketOrder("BUY", 2, orderRef="stack-9"))
    wait_until(ib, lambda: trade.orderStatus.status in ("PreSubmitted", "Submitted"))
    ib.reqCurrentTime()  # the order has reached the server
    ib.disconnect()
    clock.advance(pd.Timedelta(minutes=1))
    fake_tws.call(lambda f: f.pump())  # the fills happen while nobody listens
    again = connect(4)
    fills = again.fills()
    assert sum(f.execution.shares for f in fills) == 2
    assert {f.execution.orderRef for f in fills} == {"stack-9"}
    assert all(f.commissionReport.commission > 0 for f in fills)
    assert {p.contract.localSymbol: p.position for p in again.positions()} == {"MESH4": 2}
    # explicit request with a filter
    assert len(again.reqExecutions()) == len(fills)


def test_open_orders_are_replayed_to_the_same_client_id_after_reconnect(connect, clock, fake_tws):
    ib = connect(6)
    [mes] = ib.qualifyContracts(Future("MES", "202403", "CME"))
    trade = ib.placeOrder(mes, LimitOrder("SELL", 1, 9000.0, orderRef="stack-7"))
    wait_until(ib, lambda: trade.orderStatus.status in ("PreSubmitted", "Submitted"))
    ib.disconnect()
    again = connect(6)
    [open_trade] = again.openTrades()
    assert open_trade.order.orderId == trade.order.orderId
    assert open_trade.order.orderRef == "stack-7"
    assert open_trade.order.permId == trade.order.permId
    other = connect(8)
    assert other.openTrades() == []  # bound to the client id


def test_start_is_a_weekday_with_cme_open():
    from sysbrokers.sim.market import default_market

    assert default_market().is_open("SP500_micro", START)


def test_all_open_orders_and_global_cancel(connect, clock, fake_tws):
    first, second = connect(21), connect(22)
    [mes] = first.qualifyContracts(Future("MES", "202403", "CME"))
    a = first.placeOrder(mes, LimitOrder("BUY", 1, 4000.0))
    b = second.placeOrder(mes, LimitOrder("BUY", 1, 4001.0))
    wait_until(first, lambda: a.orderStatus.status in ("PreSubmitted", "Submitted"))
    wait_until(second, lambda: b.orderStatus.status in ("PreSubmitted", "Submitted"))
    everything = first.reqAllOpenOrders()
    assert {(t.order.clientId, t.order.orderId) for t in everything} == {
        (21, a.order.orderId),
        (22, b.order.orderId),
    }
    first.reqGlobalCancel()
    advance(first, clock, fake_tws, pd.Timedelta(seconds=5))
    wait_until(first, lambda: a.orderStatus.status == "Cancelled")
    wait_until(second, lambda: b.orderStatus.status == "Cancelled")


def test_a_closed_position_disappears_from_positions(ib, mes, clock, fake_tws):
    buy = ib.placeOrder(mes, MarketOrder("BUY", 1))
    advance(ib, clock, fake_tws, pd.Timedelta(minutes=1))
    wait_until(ib, lambda: buy.orderStatus.status == "Filled")
    wait_until(ib, lambda: [p.position for p in ib.positions()] == [1])
    sell = ib.placeOrder(mes, MarketOrder("SELL", 1))
    advance(ib, clock, fake_tws, pd.Timedelta(minutes=1))
    wait_until(ib, lambda: sell.orderStatus.status == "Filled")
    wait_until(ib, lambda: ib.positions() == [])
    wait_until(ib, lambda: ib.portfolio() == [])


def test_cash_fx_market_order_is_a_conversion_by_the_broker(ib, fake_tws):
    """A MKT order on EUR.USD (quantity in EUR) is the broker's trade_fx, filled at once:
    execution at the broker's rate, orderRef kept, reqExecutions reports it again."""
    from ib_async import Forex

    [pair] = ib.qualifyContracts(Forex("EURUSD"))
    trade = ib.placeOrder(pair, MarketOrder("SELL", 1234.5, orderRef="systrade/fx/7"))
    wait_until(ib, lambda: trade.orderStatus.status == "Filled" and trade.fills
               and trade.fills[0].commissionReport.execId)
    [done] = fake_tws.call(lambda f: f.broker.get_fx_trades("systrade/fx/7"))
    assert (done.ccy1, done.ccy2, done.quantity) == ("EUR", "USD", -1234.5)
    [fill] = trade.fills
    assert (fill.execution.side, fill.execution.shares, fill.execution.orderRef) == (
        "SLD", 1234.5, "systrade/fx/7")
    assert fill.execution.price == pytest.approx(done.rate, rel=1e-12)
    assert fill.commissionReport.currency == "USD"
    assert trade.orderStatus.remaining == 0 and trade.orderStatus.filled == 1234.5
    again = ib.reqExecutions()
    assert [f.execution.execId for f in again if f.contract.secType == "CASH"] == [
        fill.execution.execId]


def test_cash_fx_order_not_market_or_without_quantity_is_201(ib, fake_tws):
    from ib_async import Forex

    errors = []
    ib.errorEvent += lambda req_id, code, text, c: errors.append((req_id, code))
    [pair] = ib.qualifyContracts(Forex("EURUSD"))
    limit = ib.placeOrder(pair, LimitOrder("BUY", 1000, 1.05))
    wait_until(ib, lambda: (limit.order.orderId, 201) in errors)
    zero = ib.placeOrder(pair, MarketOrder("BUY", 0))
    wait_until(ib, lambda: (zero.order.orderId, 201) in errors)
    assert fake_tws.call(lambda f: f.broker.get_fx_trades()) == []
