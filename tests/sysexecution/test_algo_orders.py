"""The algos working broker orders on the simulated broker, on real stores: every path of
market, best and limit, partial fills, the cancel race, a crash mid-modify and a restarted
handler resuming each order where it was."""
from __future__ import annotations

import pandas as pd
import pytest

from sysexecution.algo_orders import ExecutionSettings, choose_algo, work_orders
from sysexecution.algos import AlgoPhase, AlgoState
from sysexecution.broker_fills import book_events, book_executions
from sysexecution.broker_orders import create_broker_orders
from sysexecution.market_view import MarketView
from sysexecution.order_completion import propagate_fills, sync_broker_statuses
from sysobjects.orders.orders import (
    ContractOrder,
    ContractOrderType,
    InstrumentOrder,
    InstrumentOrderType,
    Leg,
)
from sysobjects.orders.status import OrderEventType, OrderStatus
from tests.blob_helpers import SIM_START, reopened

CODE, CONTRACT = "SP500_micro", "202403"
BEST = ExecutionSettings()  # passive 300 s, total 600 s


@pytest.fixture
def env(sim_broker_env):
    return sim_broker_env


def contract_order(data, trade, order_type=ContractOrderType.BEST, limit_price=None,
                   manual=False, algo=""):
    istack, cstack = data.order_stack("instrument"), data.order_stack("contract")
    parent = istack.add_order(InstrumentOrder(
        order_id=istack.new_order_id(), strategy_name="trend", instrument_code=CODE,
        trade=trade, manual_trade=manual,
        order_type=InstrumentOrderType(order_type.value), limit_price=limit_price), SIM_START)
    return cstack.add_order(ContractOrder(
        order_id=cstack.new_order_id(), strategy_name="trend", instrument_code=CODE,
        parent_id=parent.order_id, legs=(Leg(CONTRACT, trade),), order_type=order_type,
        limit_price=limit_price, manual_trade=manual, algo_to_use=algo), SIM_START)


def cycle(data, settings=BEST):
    """The order-working part of a stack handler pass: book, statuses, algos, new orders."""
    book_events(data, data.broker.drain_events())
    book_executions(data, data.broker.get_executions())
    sync_broker_statuses(data)
    propagate_fills(data)
    view = MarketView(data)
    worked = work_orders(data, view, settings)
    sent = create_broker_orders(data, execution=settings, view=view)
    return worked, sent


def broker_orders(data):
    return data.order_stack("broker").orders(include_completed=True)


def state_of(order):
    return AlgoState.from_doc(order.algo_state)


def test_choice_of_algo():
    default = ExecutionSettings()
    make = dict(order_id=1, strategy_name="s", instrument_code=CODE, legs=(Leg(CONTRACT, 1),))
    assert choose_algo(ContractOrder(**make), default) == "best"
    assert choose_algo(ContractOrder(**make), ExecutionSettings(default_algo="market")) == "market"
    assert choose_algo(ContractOrder(**make, order_type=ContractOrderType.LIMIT,
                                     limit_price=10.0), default) == "limit"
    assert choose_algo(ContractOrder(**make, order_type=ContractOrderType.MARKET,
                                     manual_trade=True), default) == "market"
    # a systematic order's type is not an algo choice; the config default is
    assert choose_algo(ContractOrder(**make, order_type=ContractOrderType.MARKET), default) \
        == "best"
    assert choose_algo(ContractOrder(**make, algo_to_use="market"), default) == "market"
    # a limit algo without a price would have nothing to place: the default instead
    assert choose_algo(ContractOrder(**make, algo_to_use="limit"), default) == "best"


def test_market_algo_places_a_market_order_and_fills(env):
    data, clock = env
    corder = contract_order(data, 2)
    _, sent = cycle(data, ExecutionSettings(default_algo="market"))
    [order] = broker_orders(data)
    assert order.order_id in sent.sent and order.algo_used == "market"
    assert data.broker.get_order(order.broker_order_id).order_type.value == "MARKET"
    assert state_of(order).phase is AlgoPhase.WORKING
    clock.advance(pd.Timedelta(seconds=30))
    cycle(data)
    assert data.order_stack("contract").get_order(corder.order_id).filled == (2,)


def test_manual_order_names_its_algo(env):
    data, clock = env
    contract_order(data, 1, ContractOrderType.MARKET, manual=True)
    cycle(data, BEST)  # the default is best; the manual order asked for market
    [order] = broker_orders(data)
    assert order.algo_used == "market" and order.limit_price is None


def test_best_starts_passive_at_the_offside_then_turns_aggressive(env):
    data, clock = env
    settings = ExecutionSettings(passive_seconds=10)
    contract_order(data, 1)
    bid = data.broker.get_bid_ask(CODE, CONTRACT).bid
    cycle(data, settings)
    [order] = broker_orders(data)
    assert (order.algo_used, order.order_type.value, order.limit_price) == ("best", "limit", bid)
    assert state_of(order).phase is AlgoPhase.PASSIVE
    assert data.broker.get_order(order.broker_order_id).limit_price == bid
    # the passive time is up (the simulated market is deterministic: it neither came to the
    # order nor moved away from it meanwhile)
    clock.advance(pd.Timedelta(seconds=10))
    worked, _ = cycle(data, settings)
    order = broker_orders(data)[0]
    assert order.status is OrderStatus.WORKING and worked.modified == [order.order_id]
    state = state_of(order)
    assert (state.phase, state.reason) == (AlgoPhase.AGGRESSIVE, "passive time up")
    ask = data.broker.get_bid_ask(CODE, CONTRACT).ask
    assert order.limit_price == ask == data.broker.get_order(order.broker_order_id).limit_price
    events = [e.event for e in data.order_stack("broker").events(order.order_id)]
    assert events[-2:] == [OrderEventType.MODIFY_REQUESTED, OrderEventType.MODIFIED]
    clock.advance(pd.Timedelta(seconds=60))
    cycle(data, settings)
    assert broker_orders(data)[0].status is OrderStatus.FILLED


def test_best_passive_order_filled_at_its_price(env):
    """The market comes to a passive buy at the bid within its passive time: filled at the
    bid, never re-priced."""
    data, clock = env
    contract_order(data, 1)
    cycle(data)
    [order] = broker_orders(data)
    clock.advance(pd.Timedelta(seconds=BEST.passive_seconds - 1))
    worked, _ = cycle(data)
    order = broker_orders(data)[0]
    assert order.status is OrderStatus.FILLED and worked.modified == []
    assert order.fill_price == (order.limit_price,)
    assert state_of(order).phase is AlgoPhase.PASSIVE


@pytest.mark.parametrize("settings,reason", [
    (ExecutionSettings(close_buffer_seconds=10**6), "near the close"),
    (ExecutionSettings(imbalance_ratio=1e-6, imbalance_size_multiple=1e6), "adverse book"),
])
def test_best_starts_aggressive_near_the_close_or_on_an_adverse_book(env, settings, reason):
    data, clock = env
    contract_order(data, -1)
    bid = data.broker.get_bid_ask(CODE, CONTRACT).bid
    cycle(data, settings)
    [order] = broker_orders(data)
    state = state_of(order)
    assert (state.phase, state.reason, order.limit_price) == (AlgoPhase.AGGRESSIVE, reason, bid)


def test_best_cancels_at_the_hard_timeout_and_the_rest_is_sent_again(env):
    """Passive for ever (a huge passive time) but for the hard timeout: cancelled at the
    broker; once the cancel is confirmed the contract order's rest goes out as a new order."""
    data, clock = env
    settings = ExecutionSettings(passive_seconds=10**6, total_seconds=20)
    corder = contract_order(data, -1)
    cycle(data, settings)
    [first] = broker_orders(data)
    clock.advance(pd.Timedelta(seconds=21))
    worked, _ = cycle(data, settings)
    first = data.order_stack("broker").get_order(first.order_id)
    assert data.order_stack("contract").get_order(corder.order_id).filled == (0,)
    assert worked.cancelled == [first.order_id]
    assert first.status is OrderStatus.PENDING_CANCEL
    assert state_of(first).phase is AlgoPhase.CANCELLING
    assert state_of(first).reason == "timeout after 20 s"
    clock.advance(pd.Timedelta(seconds=1))
    _, sent = cycle(data, settings)
    assert data.order_stack("broker").get_order(first.order_id).status is OrderStatus.CANCELLED
    assert len(sent.sent) == 1 and sent.sent[0] != first.order_id
    assert data.order_stack("contract").get_order(corder.order_id).children == (
        first.order_id, sent.sent[0])


def test_limit_algo_rests_at_its_price_and_is_never_repriced(env):
    data, clock = env
    bid = data.broker.get_bid_ask(CODE, CONTRACT).bid
    far = bid * 0.99  # a buy 1 % under the market: on the tick for SP500_micro (0.25)
    far = round(far * 4) / 4
    contract_order(data, 1, ContractOrderType.LIMIT, limit_price=far)
    cycle(data)
    [order] = broker_orders(data)
    assert (order.algo_used, order.limit_price) == ("limit", far)
    clock.advance(pd.Timedelta(seconds=BEST.total_seconds * 3))
    worked, sent = cycle(data)
    order = broker_orders(data)[0]
    assert worked.modified == [] and worked.cancelled == [] and sent.sent == []
    assert order.status is OrderStatus.WORKING and order.limit_price == far
    assert data.broker.get_order(order.broker_order_id).limit_price == far


def test_partial_fills_then_the_rest(env):
    """More than the touch at an aggressive price: filled over several opportunities; the
    algo keeps working the unfilled rest and the contract order ends filled."""
    data, clock = env
    book = data.broker.get_bid_ask(CODE, CONTRACT)
    size = book.ask_size + 50
    settings = ExecutionSettings(close_buffer_seconds=10**6)  # aggressive from the start
    corder = contract_order(data, size)
    cycle(data, settings)
    clock.advance(pd.Timedelta(seconds=1))
    cycle(data, settings)
    [order] = broker_orders(data)
    assert 0 < order.filled[0] < size  # a partial fill, booked
    assert order.status is OrderStatus.WORKING
    for _ in range(20):
        if data.order_stack("contract").get_order(corder.order_id).filled == (size,):
            break
        clock.advance(pd.Timedelta(seconds=10))
        cycle(data, settings)
    assert data.order_stack("contract").get_order(corder.order_id).filled == (size,)
    assert sum(o.filled[0] for o in broker_orders(data)) == size


def test_cancel_race_fills_before_the_cancel_takes_effect(env):
    """The algo cancels a partly filled order while fills keep coming: the order ends
    CANCELLED only once every fill the broker made is booked, and the rest (not more) is sent
    again."""
    data, clock = env
    book = data.broker.get_bid_ask(CODE, CONTRACT)
    size = book.ask_size * 4
    settings = ExecutionSettings(close_buffer_seconds=10**6, total_seconds=6)
    corder = contract_order(data, size)
    cycle(data, settings)
    clock.advance(pd.Timedelta(seconds=6.1))  # one opportunity filled, the timeout reached
    worked, _ = cycle(data, settings)
    [first] = broker_orders(data)
    assert worked.cancelled == [first.order_id]
    clock.advance(pd.Timedelta(seconds=1))
    _, sent = cycle(data, settings)
    first = data.order_stack("broker").get_order(first.order_id)
    theirs = data.broker.get_order(first.broker_order_id)
    assert first.status is OrderStatus.CANCELLED
    assert first.filled[0] == theirs.filled_quantity and 0 < theirs.filled_quantity < size
    [second] = [o for o in broker_orders(data) if o.order_id in sent.sent]
    assert second.legs[0].trade == size - theirs.filled_quantity
    assert data.order_stack("contract").get_order(corder.order_id).filled == (
        theirs.filled_quantity,)


def test_crash_between_modify_requested_and_the_broker_finishes_the_modify(env):
    data, clock = env
    contract_order(data, 1)
    cycle(data)
    [order] = broker_orders(data)
    sync_broker_statuses(data)
    order = broker_orders(data)[0]
    assert order.status is OrderStatus.WORKING
    ask = data.broker.get_bid_ask(CODE, CONTRACT).ask
    new = AlgoState.from_doc(order.algo_state)
    from dataclasses import replace
    new = replace(new, phase=AlgoPhase.AGGRESSIVE, limit_price=ask)
    data.order_stack("broker").apply_event(order, OrderEventType.MODIFY_REQUESTED, data.now(),
                                           "algo best: test", {"algo_state": new.to_doc()})
    # ... killed here: the broker never got the modify
    assert data.broker.get_order(order.broker_order_id).limit_price != ask
    worked, _ = cycle(data)
    order = broker_orders(data)[0]
    assert worked.modified == [order.order_id]
    assert order.status is OrderStatus.WORKING and order.limit_price == ask
    assert data.broker.get_order(order.broker_order_id).limit_price == ask


def test_a_restarted_handler_resumes_every_order_where_it_was(env, systrade_home):
    """Several orders worked at once; the handler's process is replaced (a new blob and
    broker connection on the same home): each order keeps its algo state and turns
    aggressive at its own passive time, measured from when it started."""
    data, clock = env
    settings = ExecutionSettings(passive_seconds=20, total_seconds=10**5)
    for trade in (1, -1, 2):
        contract_order(data, trade)
    cycle(data, settings)
    started = {o.order_id: state_of(o) for o in broker_orders(data)}
    assert len(started) == 3
    assert all(s.phase is AlgoPhase.PASSIVE for s in started.values())
    clock.advance(pd.Timedelta(seconds=19))
    fresh = reopened(data, systrade_home, clock)
    try:
        worked, sent = cycle(fresh, settings)
        assert sent.sent == []  # nothing sent twice
        for order in broker_orders(fresh):
            state = state_of(order)
            if order.order_id in worked.modified:  # the market moved against it meanwhile
                assert state.phase is AlgoPhase.AGGRESSIVE
                assert state.reason in ("adverse move", "adverse book")
            elif order.status is OrderStatus.WORKING:  # 19 s: still passive, as it was
                assert state == started[order.order_id]
        still_passive = [o.order_id for o in broker_orders(fresh)
                         if o.status is OrderStatus.WORKING
                         and state_of(o).phase is AlgoPhase.PASSIVE]
        assert still_passive  # something left to resume
        clock.advance(pd.Timedelta(seconds=2))
        worked, sent = cycle(fresh, settings)
        for order_id in still_passive:
            order = fresh.order_stack("broker").get_order(order_id)
            if order.status is OrderStatus.WORKING:
                assert order_id in worked.modified
                assert state_of(order).reason == "passive time up"
                assert state_of(order).phase_since.timestamp() == (
                    started[order_id].started_at.timestamp() + 21)
        assert sent.sent == []
    finally:
        fresh.close()
