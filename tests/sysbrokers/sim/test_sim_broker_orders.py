"""Order handling of the simulated broker: fills, partial fills, cancels, rejections, accounting."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sysbrokers.errors import InvalidOrderState, OrderRejected, RejectReason, UnknownOrder
from sysbrokers.objects import OrderStatus, OrderType
from sysbrokers.sim.broker import SimBroker, SimBrokerConfig
from sysbrokers.sim.market import default_market
from syscore.clock import SimulatedClock

UTC = "UTC"
T0 = pd.Timestamp("2024-01-09 15:00", tz=UTC)  # a Tuesday: every market in the universe is open
CODE, CONTRACT = "SP500_micro", "202403"
SEC = pd.Timedelta(seconds=1)


def make(home, config: SimBrokerConfig | None = None, start=T0):
    clock = SimulatedClock(home, start=start)
    return clock, SimBroker(clock, home, default_market(), config)


@pytest.fixture
def sim(systrade_home):
    return make(systrade_home)


def _exec_sum(broker, order_id):
    return sum(e.quantity for e in broker.get_executions() if e.order_id == order_id)


def test_large_order_fills_in_parts_that_sum_to_the_order(sim):
    clock, broker = sim
    order = broker.place_order(CODE, CONTRACT, 300, client_ref="stack-1")
    assert order.status is OrderStatus.PENDING_SUBMIT and order.filled_quantity == 0
    assert order.client_ref == "stack-1"
    clock.advance(6 * SEC)
    partial = broker.get_order(order.order_id)
    assert partial.status is OrderStatus.PARTIALLY_FILLED
    assert 0 < partial.filled_quantity < 300
    clock.advance(pd.Timedelta(minutes=5))
    done = broker.get_order(order.order_id)
    assert done.status is OrderStatus.FILLED and done.filled_quantity == 300
    executions = [e for e in broker.get_executions() if e.order_id == order.order_id]
    assert len(executions) >= 3
    assert sum(e.quantity for e in executions) == 300
    assert all(e.quantity > 0 for e in executions)
    cumulative = np.cumsum([e.quantity for e in executions])
    assert (cumulative <= 300).all()
    times = [e.timestamp for e in executions]
    assert times == sorted(times) and times[0] >= T0 + broker.config.latency
    vwap = sum(e.quantity * e.price for e in executions) / 300
    assert done.avg_fill_price == pytest.approx(vwap)
    assert [p.quantity for p in broker.get_positions()] == [300]


def test_no_fill_before_the_order_reaches_the_exchange(systrade_home):
    clock, broker = make(systrade_home, SimBrokerConfig(latency=pd.Timedelta(seconds=10)))
    order = broker.place_order(CODE, CONTRACT, 1)
    clock.advance(9 * SEC)
    assert broker.get_order(order.order_id).status is OrderStatus.PENDING_SUBMIT
    assert broker.get_executions() == []
    clock.advance(1 * SEC)
    assert broker.get_order(order.order_id).status is OrderStatus.FILLED
    assert broker.get_executions()[0].timestamp == T0 + 10 * SEC


def test_fills_never_exceed_the_order_under_any_schedule(systrade_home, tmp_path):
    """Polling every 5 s or once at the end gives identical executions."""
    config = SimBrokerConfig(participation=0.3)
    clock_a, polled = make(systrade_home, config)
    clock_b, lazy = make(tmp_path / "other", config)
    for broker in (polled, lazy):
        broker.place_order(CODE, CONTRACT, 97)
        broker.place_order(CODE, "202406", -45)
    for _ in range(60):
        clock_a.advance(5 * SEC)
        for order in polled.get_orders():
            assert abs(order.filled_quantity) <= abs(order.quantity)
    clock_b.advance(300 * SEC)
    key = [(e.order_id, e.quantity, e.price, e.timestamp) for e in polled.get_executions()]
    assert key == [(e.order_id, e.quantity, e.price, e.timestamp) for e in lazy.get_executions()]
    assert {o.order_id: o.filled_quantity for o in polled.get_orders()} == {'1': 97, '2': -45}


def test_cancel_after_partial_fill(sim):
    clock, broker = sim
    order = broker.place_order(CODE, CONTRACT, 400)
    clock.advance(6 * SEC)
    filled_before = broker.get_order(order.order_id).filled_quantity
    assert 0 < filled_before < 400
    pending = broker.cancel_order(order.order_id)
    assert pending.status is OrderStatus.PENDING_CANCEL
    clock.advance(pd.Timedelta(minutes=10))
    cancelled = broker.get_order(order.order_id)
    assert cancelled.status is OrderStatus.CANCELLED
    assert cancelled.filled_quantity == _exec_sum(broker, order.order_id) < 400
    assert all(e.timestamp < T0 + 6 * SEC + broker.config.latency for e in broker.get_executions())
    with pytest.raises(InvalidOrderState):
        broker.cancel_order(order.order_id)
    with pytest.raises(InvalidOrderState):
        broker.modify_order(order.order_id, quantity=450)


def test_cancel_races_with_fills(systrade_home):
    """Fills arriving while the cancel travels still count; a fast fill wins the race."""
    clock, broker = make(systrade_home, SimBrokerConfig(latency=pd.Timedelta(seconds=12)))
    order = broker.place_order(CODE, CONTRACT, 2000 // 5)
    clock.advance(12 * SEC)  # arrives; first opportunity fills some
    broker.cancel_order(order.order_id)
    at_cancel = broker.get_order(order.order_id).filled_quantity
    clock.advance(30 * SEC)
    final = broker.get_order(order.order_id)
    assert final.status is OrderStatus.CANCELLED
    assert final.filled_quantity > at_cancel  # fills during the cancel's latency
    # a cancel sent with the order reaches the exchange with it: nothing fills
    small = broker.place_order(CODE, CONTRACT, 1)
    broker.cancel_order(small.order_id)
    clock.advance(40 * SEC)
    lost = broker.get_order(small.order_id)
    assert lost.status is OrderStatus.CANCELLED and lost.filled_quantity == 0
    # a cancel sent after the fill loses the race
    late = broker.place_order(CODE, CONTRACT, 1)
    clock.advance(13 * SEC)  # arrived and filled at +12 s
    with pytest.raises(InvalidOrderState):
        broker.cancel_order(late.order_id)
    assert broker.get_order(late.order_id).status is OrderStatus.FILLED


@pytest.mark.parametrize(
    "args,reason",
    [
        (("NOPE", "202403", 1), RejectReason.UNKNOWN_CONTRACT),
        ((CODE, "202404", 1), RejectReason.UNKNOWN_CONTRACT),
        ((CODE, "202312", 1), RejectReason.CONTRACT_NOT_TRADEABLE),
        ((CODE, "202712", 1), RejectReason.CONTRACT_NOT_TRADEABLE),
        ((CODE, CONTRACT, 501), RejectReason.SIZE_LIMIT),
        ((CODE, CONTRACT, 2, OrderType.LIMIT, 4500.1), RejectReason.INVALID_PRICE),
    ],
)
def test_rejections_carry_reasons_and_are_recorded(sim, args, reason):
    _, broker = sim
    with pytest.raises(OrderRejected) as info:
        broker.place_order(*args)
    assert info.value.reason is reason
    recorded = broker.get_order(info.value.order_id)
    assert recorded.status is OrderStatus.REJECTED and reason.value in recorded.reason
    assert broker.get_positions() == []


def test_invalid_requests_are_refused_without_an_order(sim):
    _, broker = sim
    for bad in (0, 1.5, True):
        with pytest.raises(OrderRejected) as info:
            broker.place_order(CODE, CONTRACT, bad)
        assert info.value.reason is RejectReason.INVALID_QUANTITY and info.value.order_id is None
    with pytest.raises(OrderRejected):
        broker.place_order(CODE, CONTRACT, 1, OrderType.LIMIT)
    assert broker.get_orders() == []
    with pytest.raises(UnknownOrder):
        broker.get_order(99)


def test_rejected_outside_trading_hours(systrade_home):
    saturday = pd.Timestamp("2024-01-13 12:00", tz=UTC)
    _, broker = make(systrade_home, start=saturday)
    assert not broker.is_open(CODE)
    with pytest.raises(OrderRejected) as info:
        broker.place_order(CODE, CONTRACT, 1)
    assert info.value.reason is RejectReason.MARKET_CLOSED
    assert "trading hours" in str(info.value)


def test_order_rejected_on_arrival_when_market_closes_in_flight(systrade_home):
    # CBOT grains day session closes 13:20 Chicago = 19:20 UTC in January
    start = pd.Timestamp("2024-01-09 19:19:59", tz=UTC)
    clock, broker = make(
        systrade_home, SimBrokerConfig(latency=pd.Timedelta(seconds=5)), start=start
    )
    order = broker.place_order("CORN", "202403", 1)
    clock.advance(10 * SEC)
    rejected = broker.get_order(order.order_id)
    assert rejected.status is OrderStatus.REJECTED and "market closed" in rejected.reason


def test_exchange_rejections_on_arrival(systrade_home):
    clock, broker = make(systrade_home, SimBrokerConfig(exchange_reject_rate=1.0))
    order = broker.place_order(CODE, CONTRACT, 1)
    clock.advance(SEC)
    assert broker.get_order(order.order_id).status is OrderStatus.REJECTED
    assert broker.get_order(order.order_id).reason == RejectReason.EXCHANGE_REJECT.value


def test_limit_orders_fill_only_at_or_better_and_can_be_modified(sim):
    clock, broker = sim
    touch = broker.get_bid_ask(CODE, CONTRACT)
    order = broker.place_order(CODE, CONTRACT, 3, OrderType.LIMIT, touch.bid - 20.0)
    clock.advance(pd.Timedelta(minutes=2))
    assert broker.get_order(order.order_id).status is OrderStatus.WORKING
    modified = broker.modify_order(order.order_id, limit_price=touch.ask + 20.0, quantity=4)
    assert modified.quantity == 4 and modified.limit_price == touch.ask + 20.0
    clock.advance(pd.Timedelta(minutes=1))
    done = broker.get_order(order.order_id)
    assert done.status is OrderStatus.FILLED and done.filled_quantity == 4
    assert all(e.price <= touch.ask + 20.0 for e in broker.get_executions())
    with pytest.raises(InvalidOrderState):
        broker.modify_order(order.order_id, limit_price=1.0)
    market_order = broker.place_order(CODE, CONTRACT, -2)
    with pytest.raises(InvalidOrderState):
        broker.modify_order(market_order.order_id, limit_price=4000.0)


def test_modify_down_to_filled_completes_the_order(systrade_home):
    clock, broker = make(systrade_home, SimBrokerConfig(participation=0.1))
    order = broker.place_order(CODE, CONTRACT, 200)
    clock.advance(6 * SEC)
    filled = broker.get_order(order.order_id).filled_quantity
    assert 0 < filled < 200
    with pytest.raises(InvalidOrderState):
        broker.modify_order(order.order_id, quantity=filled - 1)
    with pytest.raises(InvalidOrderState):
        broker.modify_order(order.order_id, quantity=-200)
    done = broker.modify_order(order.order_id, quantity=filled)
    assert done.status is OrderStatus.FILLED and done.filled_quantity == filled
    clock.advance(pd.Timedelta(minutes=5))
    assert _exec_sum(broker, order.order_id) == filled


def test_commissions_slippage_and_cash(systrade_home):
    clock, broker = make(systrade_home, SimBrokerConfig(slippage_ticks=2))
    spec = broker.market.spec(CODE)
    buy = broker.place_order(CODE, CONTRACT, 10)
    clock.advance(SEC)
    executions = broker.get_executions()
    assert sum(e.quantity for e in executions) == 10
    quotes = broker.market.quotes(CODE, CONTRACT, np.array([e.timestamp.value for e in executions]))
    for e, ask in zip(executions, quotes.ask, strict=True):
        assert e.price == pytest.approx(ask + 2 * spec.tick_size)
        assert e.commission == pytest.approx(abs(e.quantity) * spec.commission)
        assert e.commission_currency == "USD"
    assert broker.get_order(buy.order_id).commission == pytest.approx(10 * spec.commission)
    clock.advance(pd.Timedelta(hours=3))
    sell = broker.place_order(CODE, CONTRACT, -10)
    clock.advance(SEC)
    sells = [e for e in broker.get_executions() if e.order_id == sell.order_id]
    buy_cost = sum(e.quantity * e.price for e in executions)
    sell_value = -sum(e.quantity * e.price for e in sells)
    realised = (sell_value - buy_cost) * spec.multiplier
    account = broker.get_account_value()
    assert broker.get_positions() == []
    assert account.cash["USD"] == pytest.approx(1_000_000 + realised - 20 * spec.commission)
    assert account.net_liquidation == pytest.approx(account.cash["USD"])
    assert account.margin_used == 0


def test_account_value_moves_with_marked_positions(sim):
    clock, broker = sim
    spec = broker.market.spec(CODE)
    order = broker.place_order(CODE, CONTRACT, 20)
    clock.advance(SEC)
    fill = broker.get_order(order.order_id)
    assert fill.status is OrderStatus.FILLED
    first = broker.get_account_value()
    mid_1 = broker.market.mid_price(CODE, CONTRACT, np.array([clock.now().value]))[0]
    assert first.unrealised_pnl["USD"] == pytest.approx(
        20 * (mid_1 - fill.avg_fill_price) * spec.multiplier
    )
    assert first.cash["USD"] == pytest.approx(1_000_000 - 20 * spec.commission)
    assert first.margin_used == pytest.approx(20 * mid_1 * spec.multiplier * spec.margin_rate)
    clock.advance(pd.Timedelta(hours=4))
    second = broker.get_account_value()
    mid_2 = broker.market.mid_price(CODE, CONTRACT, np.array([clock.now().value]))[0]
    assert mid_2 != mid_1
    assert second.net_liquidation - first.net_liquidation == pytest.approx(
        20 * (mid_2 - mid_1) * spec.multiplier, rel=1e-6
    )
    assert str(second.timestamp.tz) == UTC and second.timestamp == clock.now()


def test_foreign_currency_positions_convert_to_base(sim):
    clock, broker = sim
    spec = broker.market.spec("EUROSTX")
    broker.place_order("EUROSTX", "202403", -3)
    clock.advance(SEC)
    account = broker.get_account_value()
    assert account.cash["EUR"] == pytest.approx(-3 * spec.commission)
    eurusd = broker.market.fx_rate("EUR", "USD", np.array([clock.now().value]))[0]
    expected = 1_000_000 + (account.cash["EUR"] + account.unrealised_pnl["EUR"]) * eurusd
    assert account.net_liquidation == pytest.approx(expected)


def test_positions_settle_at_expiry(sim):
    clock, broker = sim
    spec = broker.market.spec(CODE)
    order = broker.place_order(CODE, CONTRACT, 2)
    clock.advance(SEC)
    avg = broker.get_order(order.order_id).avg_fill_price
    expiry = broker.market.expiry_ns(CODE, CONTRACT)
    clock.set(pd.Timestamp(expiry, tz=UTC) + pd.Timedelta(days=1))
    assert broker.get_positions() == []
    final = (
        round(broker.market.mid_price(CODE, CONTRACT, np.array([expiry - 1]))[0] / spec.tick_size)
        * spec.tick_size
    )
    expected = 1_000_000 - 2 * spec.commission + 2 * (final - avg) * spec.multiplier
    assert broker.get_account_value().cash["USD"] == pytest.approx(expected)


def test_working_orders_expire_with_their_contract(sim):
    clock, broker = sim
    far = broker.get_bid_ask(CODE, CONTRACT).bid - 500
    order = broker.place_order(CODE, CONTRACT, 1, OrderType.LIMIT, far)
    clock.set(pd.Timestamp(broker.market.expiry_ns(CODE, CONTRACT), tz=UTC) + pd.Timedelta(hours=1))
    expired = broker.get_order(order.order_id)
    assert expired.status is OrderStatus.CANCELLED and expired.reason == "contract expired"


def test_config_from_dict_validates_keys_and_types():
    config = SimBrokerConfig.from_dict(
        {"latency": "1s", "max_order_size": 50, "base_currency": "GBP"}
    )
    assert config.latency == pd.Timedelta(seconds=1) and config.max_order_size == 50
    for bad, fragment in [
        ({"latncy": 1}, "unknown key 'latncy'"),
        ({"max_order_size": 1.5}, "key 'max_order_size': expected int; found 1.5"),
        ({"max_order_size": True}, "key 'max_order_size': expected a number"),
        ({"latency": "soon"}, "key 'latency': expected Timedelta"),
        ({"participation": 2}, "key 'participation': expected a fraction in (0, 1]; found 2"),
    ]:
        with pytest.raises(ValueError) as info:
            SimBrokerConfig.from_dict(bad, source="private/config.yaml")
        assert "private/config.yaml" in str(info.value) and fragment in str(info.value)


def test_state_lives_in_the_brokers_own_file_under_home(systrade_home):
    clock = SimulatedClock(systrade_home, start=T0)
    broker = SimBroker(clock, systrade_home)
    assert broker.path == systrade_home / "sim_broker" / "broker.sqlite"
    broker.place_order(CODE, CONTRACT, 1)
    broker.close()
    again = SimBroker(
        clock, systrade_home, config=SimBrokerConfig(base_currency="GBP", initial_cash=5.0)
    )
    assert [o.quantity for o in again.get_orders()] == [1]
    account = again.get_account_value()
    assert account.base_currency == "USD" and account.cash["USD"] == 1_000_000  # first config wins


def test_base_currency_other_than_usd(tmp_path):
    clock, broker = make(tmp_path, SimBrokerConfig(base_currency="GBP", initial_cash=100_000.0))
    account = broker.get_account_value()
    assert account.base_currency == "GBP" and account.net_liquidation == pytest.approx(100_000.0)
    broker.place_order(CODE, CONTRACT, 1)
    clock.advance(SEC)
    account = broker.get_account_value()
    gbpusd = broker.market.fx_rate("GBP", "USD", np.array([clock.now().value]))[0]
    usd = account.cash["USD"] + account.unrealised_pnl["USD"]
    assert account.net_liquidation == pytest.approx(100_000.0 + usd / gbpusd)


def test_rejection_on_arrival_while_a_cancel_is_in_flight(systrade_home):
    start = pd.Timestamp("2024-01-09 19:19:50", tz=UTC)  # CORN day session closes at 19:20 UTC
    clock, broker = make(
        systrade_home, SimBrokerConfig(latency=pd.Timedelta(seconds=15)), start=start
    )
    order = broker.place_order("CORN", "202403", 1)
    clock.advance(5 * SEC)
    assert broker.cancel_order(order.order_id).status is OrderStatus.PENDING_CANCEL
    clock.advance(30 * SEC)
    final = broker.get_order(order.order_id)
    assert final.status is OrderStatus.REJECTED and "market closed" in final.reason
    assert broker.get_executions() == []


def test_dated_contract_codes_map_to_the_monthly_contract(sim):
    clock, broker = sim
    broker.place_order(CODE, CONTRACT + "00", 1)
    broker.place_order(CODE, CONTRACT, 1)
    clock.advance(SEC)
    assert [(p.contract_date, p.quantity) for p in broker.get_positions()] == [(CONTRACT, 2)]
    assert broker.get_contract_details(CODE, CONTRACT + "15").contract_date == CONTRACT


def test_orders_of_one_contract_arriving_together_share_one_quote_computation(systrade_home):
    """The quotes are a pure function of contract and times: ten orders of one contract
    placed together ask the market once per processing, and fill exactly as ten orders
    processed with their own quotes do."""
    def run(home, cached: bool):
        clock, broker = make(home)
        calls = []
        real = broker.market.quotes

        def counting(code, contract, times):
            calls.append(code)
            return real(code, contract, times)

        broker.market.quotes = counting
        if not cached:  # every order asks the market itself (no cache)
            broker._quotes = lambda code, contract, times: counting(code, contract, times)
        ids = [broker.place_order(CODE, CONTRACT, 3 if n % 2 else -3, client_ref=f"r{n}").order_id
               for n in range(10)]
        clock.advance(30 * SEC)
        broker.process()
        fills = sorted((e.exec_id, e.order_id, e.quantity, e.price, e.timestamp)
                       for e in broker.get_executions())
        statuses = [broker.get_order(i).status for i in ids]
        broker.close()
        return len(calls), fills, statuses

    cached_calls, cached_fills, cached_statuses = run(systrade_home / "a", True)
    plain_calls, plain_fills, plain_statuses = run(systrade_home / "b", False)
    assert cached_fills == plain_fills and cached_statuses == plain_statuses
    assert cached_fills  # they did fill
    assert plain_calls >= 10
    assert cached_calls <= plain_calls // 5
