"""Option trading in the simulated broker (market and limit orders, modify, cancel, partial
fills, executions) is deterministic and survives a restart."""
from __future__ import annotations

import sqlite3

import pandas as pd
import pytest

from sysbrokers.errors import InvalidOrderState, OrderRejected, RejectReason
from sysbrokers.objects import OptionContract, OrderStatus, OrderType
from sysbrokers.sim.broker import SimBroker, SimBrokerConfig
from sysbrokers.sim.market import default_market
from sysbrokers.sim.options import OptionCalendar, SimOptionChains
from syscore.clock import SimulatedClock
from sysobjects.black76 import OptionRight

START = pd.Timestamp("2024-01-09 15:00", tz="UTC")
CODE = "SP500_micro"


def broker_at(home):
    market = default_market()
    chains = SimOptionChains(market, {CODE: OptionCalendar(serial_months=1)})
    clock = SimulatedClock(home, start=START)
    return SimBroker(clock, home, market, option_chains=chains), clock, chains


def trade_and_expire(home, poll_every: pd.Timedelta | None):
    """Buy a call and sell a put, let both expire; poll the broker every ``poll_every`` (or
    never until the end). Returns what the broker ends with."""
    broker, clock, chains = broker_at(home)
    contract = default_market().active_contracts(CODE, START)[0]
    serial = chains.listings(CODE, contract)[0]
    strikes = chains.quoted_strikes(CODE, serial, START)
    mid = strikes[len(strikes) // 2]
    call = OptionContract(CODE, contract, OptionRight.CALL, mid, serial.expiry, "S")
    put = OptionContract(CODE, contract, OptionRight.PUT, mid, serial.expiry, "S")
    ids = [broker.place_option_order(call, 2).order_id, broker.place_option_order(put, -1)
           .order_id]
    end = pd.Timestamp(broker.option_expiry_ns(call), tz="UTC") + pd.Timedelta(hours=1)
    while poll_every is not None and clock.now() + poll_every < end:
        clock.advance(poll_every)
        broker.get_option_positions()
    clock.advance(end - clock.now())
    orders = [broker.get_option_order(i) for i in ids]
    out = ([(o.status, o.avg_fill_price) for o in orders],
           dict(broker.get_account_value().cash), broker.get_positions())
    broker.close()
    return out


def test_fills_and_expiry_do_not_depend_on_when_the_broker_is_asked(tmp_path):
    once = trade_and_expire(tmp_path / "a", None)
    polled = trade_and_expire(tmp_path / "b", pd.Timedelta(hours=7))
    assert once == polled
    assert [status for status, _ in once[0]] == [OrderStatus.FILLED, OrderStatus.FILLED]


def test_a_restarted_broker_keeps_its_option_positions(tmp_path):
    home = tmp_path / "home"
    broker, clock, chains = broker_at(home)
    contract = default_market().active_contracts(CODE, START)[0]
    serial = chains.listings(CODE, contract)[0]
    strike = chains.quoted_strikes(CODE, serial, START)[10]
    call = OptionContract(CODE, contract, OptionRight.CALL, strike, serial.expiry, "S")
    order = broker.place_option_order(call, 3)
    broker.close()  # killed before the order reached the exchange
    again, clock2, _ = broker_at(home)
    clock2.advance(pd.Timedelta(seconds=5))
    filled = again.get_option_order(order.order_id)
    assert filled.status is OrderStatus.FILLED and filled.filled_quantity == 3
    assert [(p.contract, p.quantity) for p in again.get_option_positions()] == [(call, 3)]
    again.close()


# ============================================================ limit orders, modify, cancel
SECOND = pd.Timedelta(seconds=1)


def limit_broker(home, touch: int = 50):
    market = default_market()
    chains = SimOptionChains(market, {CODE: OptionCalendar(serial_months=1)})
    clock = SimulatedClock(home, start=START)
    broker = SimBroker(clock, home, market, SimBrokerConfig(option_touch_size=touch),
                       option_chains=chains)
    contract = market.active_contracts(CODE, START)[0]
    serial = chains.listings(CODE, contract)[0]
    strikes = chains.quoted_strikes(CODE, serial, START)
    call = OptionContract(CODE, contract, OptionRight.CALL, strikes[len(strikes) // 2],
                          serial.expiry, "S")
    return broker, clock, call


def tick_of(broker, contract) -> float:
    return broker.market.spec(contract.instrument_code).tick_size


def test_a_limit_buy_below_the_ask_rests_until_modified_to_cross(tmp_path):
    broker, clock, call = limit_broker(tmp_path)
    quote = broker.get_option_quote(call)
    tick = tick_of(broker, call)
    low = max(tick, round(quote.bid / 2 / tick) * tick)  # far below the touch
    order = broker.place_option_order(call, 2, "test/lim/1", order_type=OrderType.LIMIT,
                                      limit_price=low)
    assert order.order_type is OrderType.LIMIT and order.limit_price == pytest.approx(low)
    clock.advance(pd.Timedelta(minutes=10))
    resting = broker.get_option_order(order.order_id)
    assert resting.status is OrderStatus.WORKING and resting.filled_quantity == 0
    assert broker.get_option_executions() == [] and broker.get_option_positions() == []
    now_quote = broker.get_option_quote(call)
    high = round(now_quote.ask / tick) * tick + 5 * tick  # crosses: fills at the ask, not here
    broker.modify_option_order(order.order_id, limit_price=high)
    clock.advance(pd.Timedelta(seconds=10))
    done = broker.get_option_order(order.order_id)
    assert done.status is OrderStatus.FILLED and done.filled_quantity == 2
    [execution] = broker.get_option_executions()
    assert execution.exec_id.startswith("simopt.") and execution.quantity == 2
    assert execution.client_ref == "test/lim/1" and execution.contract == call
    assert execution.price <= high - 4 * tick  # the touch, below the limit
    assert [(p.contract, p.quantity) for p in broker.get_option_positions()] == [(call, 2)]
    broker.close()


def test_a_limit_sell_fills_at_the_bid_at_or_above_its_limit(tmp_path):
    broker, clock, call = limit_broker(tmp_path)
    quote = broker.get_option_quote(call)
    tick = tick_of(broker, call)
    limit = round(quote.bid / tick) * tick - 3 * tick
    order = broker.place_option_order(call, -3, order_type=OrderType.LIMIT, limit_price=limit)
    clock.advance(pd.Timedelta(seconds=6))
    done = broker.get_option_order(order.order_id)
    assert done.status is OrderStatus.FILLED and done.filled_quantity == -3
    assert done.avg_fill_price >= limit
    assert [p.quantity for p in broker.get_option_positions()] == [-3]
    broker.close()


def test_partial_fills_take_the_touch_size_per_opportunity(tmp_path):
    broker, clock, call = limit_broker(tmp_path, touch=2)
    tick = tick_of(broker, call)
    limit = round(broker.get_option_quote(call).ask / tick) * tick + 20 * tick
    order = broker.place_option_order(call, 5, order_type=OrderType.LIMIT, limit_price=limit)
    clock.advance(SECOND * 6)  # arrival (250 ms) is the first opportunity, the next 5 s later
    partial = broker.get_option_order(order.order_id)
    assert partial.status is OrderStatus.PARTIALLY_FILLED and partial.filled_quantity == 4
    clock.advance(SECOND * 5)
    executions = broker.get_option_executions()
    assert [e.quantity for e in executions] == [2, 2, 1]
    gaps = {b.timestamp - a.timestamp for a, b in zip(executions[:-1], executions[1:], strict=True)}
    assert gaps == {pd.Timedelta(seconds=5)}
    done = broker.get_option_order(order.order_id)
    assert done.status is OrderStatus.FILLED
    assert done.avg_fill_price == pytest.approx(
        sum(e.quantity * e.price for e in executions) / 5)
    assert done.commission == pytest.approx(sum(e.commission for e in executions))
    broker.close()


def test_a_cancel_races_with_fills_and_ends_the_order(tmp_path):
    broker, clock, call = limit_broker(tmp_path, touch=1)
    tick = tick_of(broker, call)
    limit = round(broker.get_option_quote(call).ask / tick) * tick + 20 * tick
    order = broker.place_option_order(call, 10, order_type=OrderType.LIMIT, limit_price=limit)
    clock.advance(SECOND * 11)  # opportunities at 0.25, 5.25, 10.25 s: 3 filled
    pending = broker.cancel_option_order(order.order_id)
    assert pending.status is OrderStatus.PENDING_CANCEL and pending.filled_quantity == 3
    with pytest.raises(InvalidOrderState):
        broker.modify_option_order(order.order_id, quantity=5)
    clock.advance(pd.Timedelta(minutes=5))
    done = broker.get_option_order(order.order_id)
    assert done.status is OrderStatus.CANCELLED and done.filled_quantity == 3
    assert [p.quantity for p in broker.get_option_positions()] == [3]
    with pytest.raises(InvalidOrderState):
        broker.cancel_option_order(order.order_id)
    broker.close()


def test_modify_rules_and_a_quantity_down_to_the_filled_completes(tmp_path):
    broker, clock, call = limit_broker(tmp_path, touch=1)
    tick = tick_of(broker, call)
    limit = round(broker.get_option_quote(call).ask / tick) * tick + 20 * tick
    order = broker.place_option_order(call, 10, order_type=OrderType.LIMIT, limit_price=limit)
    clock.advance(SECOND * 6)  # 2 filled
    for bad in ({"quantity": -10}, {"quantity": 1}):
        with pytest.raises(InvalidOrderState):
            broker.modify_option_order(order.order_id, **bad)
    with pytest.raises(OrderRejected) as info:
        broker.modify_option_order(order.order_id, limit_price=limit + tick / 3)
    assert info.value.reason is RejectReason.INVALID_PRICE
    done = broker.modify_option_order(order.order_id, quantity=2)
    assert done.status is OrderStatus.FILLED and done.quantity == done.filled_quantity == 2
    market = broker.place_option_order(call, 1)
    with pytest.raises(InvalidOrderState):
        broker.modify_option_order(market.order_id, limit_price=limit)
    broker.close()


def test_bad_limit_orders_are_refused(tmp_path):
    broker, _, call = limit_broker(tmp_path)
    tick = tick_of(broker, call)
    for kwargs in ({"order_type": OrderType.LIMIT},
                   {"order_type": OrderType.MARKET, "limit_price": 10 * tick},
                   {"order_type": OrderType.LIMIT, "limit_price": 10.5 * tick},
                   {"order_type": OrderType.LIMIT, "limit_price": -tick}):
        with pytest.raises(OrderRejected) as info:
            broker.place_option_order(call, 1, **kwargs)
        assert info.value.reason is RejectReason.INVALID_PRICE
    assert broker.get_option_orders(open_only=True) == []
    broker.close()


def test_a_working_limit_order_is_cancelled_when_its_option_expires(tmp_path):
    broker, clock, call = limit_broker(tmp_path)
    tick = tick_of(broker, call)
    never = round(20 * broker.get_option_quote(call).ask / tick) * tick  # a sell far above
    order = broker.place_option_order(call, -1, order_type=OrderType.LIMIT, limit_price=never)
    clock.advance(pd.Timestamp(broker.option_expiry_ns(call), tz="UTC") - clock.now()
                  + pd.Timedelta(minutes=1))
    done = broker.get_option_order(order.order_id)
    assert done.status is OrderStatus.CANCELLED and done.reason == "option expired"
    assert broker.get_option_orders(open_only=True) == []
    broker.close()


def limit_session(home, polls: list[pd.Timedelta], restart: bool):
    """A fixed script of placements, a modification and a cancel at fixed times; the broker
    is asked (and, with ``restart``, closed and reopened) at ``polls`` in between."""
    broker, clock, call = limit_broker(home, touch=1)
    tick = tick_of(broker, call)
    ask = round(broker.get_option_quote(call).ask / tick) * tick
    script = [
        (pd.Timedelta(0), "place", dict(quantity=30, limit_price=ask + 20 * tick)),
        (pd.Timedelta(0), "place", dict(quantity=-4, limit_price=ask + 200 * tick)),
        (pd.Timedelta(seconds=62), "cancel", 0),
        (pd.Timedelta(seconds=90), "modify", 1),
    ]
    ids: list[str] = []
    at = pd.Timedelta(0)
    events = sorted([(t, "poll", None) for t in polls] + script, key=lambda e: e[0])
    for when, kind, arg in events:
        if when > at:
            clock.advance(when - at)
            at = when
        if kind == "place":
            ids.append(broker.place_option_order(call, arg["quantity"],
                                                 order_type=OrderType.LIMIT,
                                                 limit_price=arg["limit_price"]).order_id)
        elif kind == "cancel":
            broker.cancel_option_order(ids[arg])
        elif kind == "modify":
            bid = round(broker.get_option_quote(call).bid / tick) * tick
            broker.modify_option_order(ids[arg], limit_price=bid - 20 * tick)
        elif restart:
            broker.close()
            broker, clock, call = limit_broker(home, touch=1)
            clock.advance(START + at - clock.now())
        else:
            broker.get_option_positions()
    clock.advance(START + pd.Timedelta(minutes=10) - clock.now())
    out = ([(o.status, o.filled_quantity, o.avg_fill_price) for o in broker.get_option_orders()],
           broker.get_option_executions(), broker.get_option_positions(),
           dict(broker.get_account_value().cash))
    broker.close()
    return out


def test_limit_fills_do_not_depend_on_polling_or_restarts(tmp_path):
    quiet = limit_session(tmp_path / "a", [], restart=False)
    polled = limit_session(tmp_path / "b", [SECOND * s for s in (1, 7, 33, 61, 63, 95, 200)],
                           restart=False)
    restarted = limit_session(tmp_path / "c", [SECOND * s for s in (3, 40, 70, 91, 300)],
                              restart=True)
    assert quiet == polled == restarted
    (buy, sell), executions = quiet[0], quiet[1]
    assert buy[0] is OrderStatus.CANCELLED and 0 < buy[1] < 30  # cancelled part-way
    assert sell[0] is OrderStatus.FILLED and sell[1] == -4      # crossed after the modify
    assert len(executions) == buy[1] + 4 and len({e.exec_id for e in executions}) == len(
        executions)


def test_an_older_file_gets_its_option_executions(tmp_path):
    broker, clock, call = limit_broker(tmp_path)
    order = broker.place_option_order(call, 2, client_ref="old/1")
    clock.advance(SECOND)
    before = broker.get_option_executions()
    broker.close()
    conn = sqlite3.connect(tmp_path / "sim_broker" / "broker.sqlite")
    conn.execute("DROP TABLE option_executions")  # as written before executions existed
    for column in ("order_type", "limit_price", "cancel_effective_ns", "processed_ns",
                   "updated_ns"):
        conn.execute(f"ALTER TABLE option_orders DROP COLUMN {column}")
    conn.commit()
    conn.close()
    again, _, _ = limit_broker(tmp_path)
    assert again.get_option_executions() == before
    assert again.get_option_order(order.order_id).order_type is OrderType.MARKET
    again.close()
