"""OptionRoutedBroker: option codes through the futures interface, futures untouched."""
from __future__ import annotations

import pandas as pd
import pytest

from sysbrokers.broker import Broker
from sysbrokers.errors import OrderRejected, RejectReason, UnknownContract
from sysbrokers.objects import (
    CommissionEvent,
    ExecutionEvent,
    OrderStatus,
    OrderType,
)
from sysbrokers.option_routing import OptionRoutedBroker
from sysbrokers.sim.broker import SimBroker
from sysbrokers.sim.market import default_market
from sysbrokers.sim.options import OptionCalendar, SimOptionChains
from syscore.clock import SimulatedClock
from sysobjects.black76 import OptionRight
from sysobjects.option_instruments import OptionSeries

START = pd.Timestamp("2024-01-09 15:00", tz="UTC")
CODE = "SP500_micro"


@pytest.fixture
def routed(tmp_path):
    market = default_market()
    chains = SimOptionChains(market, {CODE: OptionCalendar(serial_months=1)})
    clock = SimulatedClock(tmp_path, start=START)
    inner = SimBroker(clock, tmp_path, market, option_chains=chains)
    future = market.active_contracts(CODE, START)[0]
    serial = chains.listings(CODE, future)[0]
    strike = chains.quoted_strikes(CODE, serial, START)[30]
    series = OptionSeries(CODE, future, OptionRight.CALL, strike, serial.expiry, "S")
    broker = OptionRoutedBroker(inner)
    yield broker, clock, series
    inner.close()


def test_an_option_code_trades_as_an_instrument(routed):
    broker, clock, series = routed
    code, month = series.code, series.future
    details = broker.get_contract_details(code, month)
    assert (details.instrument_code, details.expiry) == (code, series.expiry)
    assert details.tick_size == broker.get_contract_details(CODE, month).tick_size
    book = broker.get_bid_ask(code, month)
    assert 0 < book.bid < book.ask and book.ask_size == broker.touch_size == 50
    assert broker.is_open(code) == broker.is_open(CODE)
    order = broker.place_order(code, month, 3, client_ref="systrade/broker/7")
    assert order.order_id.startswith("opt-") and order.instrument_code == code
    clock.advance(pd.Timedelta(seconds=1))
    assert broker.get_order(order.order_id).status is OrderStatus.FILLED
    assert [o.order_id for o in broker.find_orders("systrade/broker/7")] == [order.order_id]
    [execution] = [e for e in broker.get_executions() if e.instrument_code == code]
    assert (execution.contract_date, execution.quantity) == (month, 3)
    assert execution.exec_id.startswith("simopt.") and execution.order_id == order.order_id
    assert [(p.instrument_code, p.contract_date, p.quantity)
            for p in broker.get_positions()] == [(code, month, 3)]
    # drained once as an execution and its commission, never again
    events = broker.drain_events()
    assert [type(e) for e in events if not hasattr(e, "order")] == [ExecutionEvent,
                                                                    CommissionEvent]
    assert not [e for e in broker.drain_events() if isinstance(e, ExecutionEvent)]


def test_limit_modify_cancel_route_by_id(routed):
    broker, clock, series = routed
    tick = broker.get_contract_details(series.code, series.future).tick_size
    order = broker.place_order(series.code, series.future, 2, OrderType.LIMIT,
                               limit_price=tick, client_ref="systrade/broker/8")
    clock.advance(pd.Timedelta(seconds=1))
    assert broker.get_order(order.order_id).status is OrderStatus.WORKING
    assert [o.order_id for o in broker.get_orders(open_only=True)] == [order.order_id]
    assert broker.modify_order(order.order_id, limit_price=2 * tick).limit_price == 2 * tick
    assert broker.cancel_order(order.order_id).status is OrderStatus.PENDING_CANCEL
    clock.advance(pd.Timedelta(seconds=1))
    assert broker.get_order(order.order_id).status is OrderStatus.CANCELLED


def test_a_wrong_month_or_a_broker_without_options_refuses(routed, tmp_path):
    broker, _, series = routed
    with pytest.raises(UnknownContract):
        broker.get_bid_ask(series.code, "202406")
    with pytest.raises(OrderRejected):
        broker.place_order(series.code, "202406", 1)

    class FuturesOnly(SimBroker):
        get_option_positions = Broker.get_option_positions
        get_option_quote = Broker.get_option_quote
        place_option_order = Broker.place_option_order
        get_option_executions = Broker.get_option_executions
        get_option_expiry = Broker.get_option_expiry

    inner = FuturesOnly(SimulatedClock(tmp_path / "f", start=START), tmp_path / "f")
    plain = OptionRoutedBroker(inner)
    try:
        assert plain.get_positions() == [] and plain.get_executions() == []
        with pytest.raises(UnknownContract):
            plain.get_bid_ask(series.code, series.future)
        with pytest.raises(OrderRejected) as info:
            plain.place_order(series.code, series.future, 1)
        assert info.value.reason is RejectReason.UNKNOWN_CONTRACT
        order = plain.place_order(CODE, series.future, 1)  # futures unchanged
        assert order.instrument_code == CODE and not order.order_id.startswith("opt-")
    finally:
        inner.close()


def test_spread_orders_pass_through_to_the_wrapped_broker(routed):
    """The wrapper inherited Broker's defaults (no spreads, 'not supported'), so the stack
    handler denied every Force roll on the sim broker built by the factory."""
    from sysbrokers.errors import NotSupportedByBroker
    from sysbrokers.objects import SpreadLeg

    broker, clock, series = routed
    assert broker.supports_spread_orders is broker.inner.supports_spread_orders is True
    near, far = broker.market.active_contracts(CODE, START)[:2]
    order = broker.place_spread_order(CODE, (SpreadLeg(far, 1), SpreadLeg(near, -1)), 2,
                                      client_ref="systrade/broker/9")
    for _ in range(600):  # simulated seconds; the touch may offer one unit at a time
        clock.advance(pd.Timedelta(seconds=1))
        if broker.get_order(order.order_id).status is OrderStatus.FILLED:
            break
    assert broker.get_order(order.order_id).status is OrderStatus.FILLED
    positions = {p.contract_date: p.quantity for p in broker.get_positions()}
    assert positions == {far: 2, near: -2}
    with pytest.raises(NotSupportedByBroker):
        broker.place_spread_order(series.code, (SpreadLeg(far, 1), SpreadLeg(near, -1)), 1)


def test_the_wrapper_defines_every_public_broker_member_itself():
    """A member of Broker the wrapper does not define is Broker's default (e.g. 'spread
    orders not supported'), not the wrapped broker's: ``__getattr__`` never sees it."""
    inherited = [name for name in dir(Broker) if not name.startswith("_")
                 and name not in OptionRoutedBroker.__dict__]
    assert inherited == []


def test_an_option_order_and_a_futures_order_with_the_same_number_stay_apart(routed):
    """The sim numbers option and futures orders separately (both start at 1): cancel and
    modify through the wrapper touch only the order named, and their executions keep distinct
    ids."""
    broker, clock, series = routed
    tick = broker.get_contract_details(series.code, series.future).tick_size
    future = broker.place_order(CODE, series.future, 1, client_ref="systrade/broker/1")
    option = broker.place_order(series.code, series.future, 2, OrderType.LIMIT,
                                limit_price=tick, client_ref="systrade/broker/2")
    assert option.order_id == "opt-" + future.order_id  # the same number in both books
    clock.advance(pd.Timedelta(seconds=1))
    assert broker.get_order(future.order_id).status is OrderStatus.FILLED
    assert broker.cancel_order(option.order_id).status is OrderStatus.PENDING_CANCEL
    clock.advance(pd.Timedelta(seconds=1))
    assert broker.get_order(option.order_id).status is OrderStatus.CANCELLED
    assert broker.get_order(future.order_id).status is OrderStatus.FILLED
    bought = broker.place_order(series.code, series.future, 1, client_ref="systrade/broker/3")
    clock.advance(pd.Timedelta(seconds=1))
    executions = broker.get_executions()
    assert sorted(e.client_ref for e in executions) == ["systrade/broker/1",
                                                        "systrade/broker/3"]
    assert len({e.exec_id for e in executions}) == 2
    assert {e.order_id for e in executions} == {future.order_id, bought.order_id}
