"""Spread (calendar) contract orders end to end on real stores (SQLite and MongoDB) and the
simulated broker, through the stack handler's own functions: a Force roll, a partial fill, a
limit spread that never crosses, a gate denial on one leg, a restart between sending and the
fills."""
from __future__ import annotations

import pandas as pd
import pytest

from sysbrokers.objects import OrderType
from sysexecution.broker_orders import GATE, create_broker_orders
from sysexecution.manual_orders import manual_trade
from sysexecution.pretrade_gate import TradingState
from sysexecution.roll_orders import ROLL_STRATEGY
from sysexecution.spread_orders import broker_spread
from sysobjects.orders.orders import BrokerOrder, Leg, client_ref
from sysobjects.orders.status import OrderLevel, OrderStatus
from sysproduction.run_stack_handler import stack_handler_end_of_day, stack_handler_pass
from sysproduction.update_strategy_orders import update_strategy_orders
from tests.blob_helpers import SIM_START, reopened

T0 = SIM_START
CODE, PRICED, FORWARD = "SP500_micro", "202403", "202406"
MARKET = {"default_algo": "market"}


def contracts(data, code):
    return PRICED, FORWARD


@pytest.fixture
def env(sim_broker_env):
    return sim_broker_env


STEP = pd.Timedelta(minutes=2)


def run(data, clock, passes=1, step=STEP):
    out = None
    for _ in range(passes):
        out = stack_handler_pass(data, contracts=contracts, execution=MARKET)
        clock.advance(step)
    return out


def stacks_empty(data) -> bool:
    return not any(data.order_stack(s).orders() for s in ("instrument", "contract", "broker"))


def broker_positions(data) -> dict[str, int]:
    return {p.contract_date: p.quantity for p in data.broker.get_positions()
            if p.instrument_code == CODE}


def our_positions(data) -> dict[str, int]:
    held = {c: data.positions.get_contract_position(CODE, c) for c in (PRICED, FORWARD)}
    return {c: q for c, q in held.items() if q}


def fills(data) -> list[dict]:
    return [d["record"] for d in data.ledger.records(0, None) if d["kind"] == "fill"]


def long_three(data, clock):
    """3 contracts of the priced contract held by strategy ``trend``, traded for real."""
    data.optimal_positions.add("trend", CODE, T0, 3, 3, 100.0, PRICED, T0)
    assert update_strategy_orders(data).ok
    for _ in range(10):
        run(data, clock)
        if stacks_empty(data):
            break
    assert our_positions(data) == broker_positions(data) == {PRICED: 3}


def test_force_roll_end_to_end(env):
    """Force: one spread order at the broker; strategy position unchanged; priced -> forward
    in our books and at the broker; each leg's execution booked exactly once; the roll family
    completed."""
    data, clock = env
    long_three(data, clock)
    data.roll_states.set(CODE, "Force")
    out = run(data, clock)
    assert out["roll orders"] != "none" and out["broker orders"].startswith("1 sent")
    [sent] = data.order_stack("broker").orders()
    assert sent.is_spread and sent.roll_order
    # the forward's touch shows one lot: the gate cuts both legs to whole units it can fill
    [(priced, k), (forward, k2)] = [(leg.contract_date, leg.trade) for leg in sent.legs]
    assert (priced, forward) == (PRICED, FORWARD) and k == -k2 and 1 <= k2 <= 3
    if k2 < 3:
        assert f"spread: -3 cut to {k} units" in data.order_stack("broker").events(
            sent.order_id)[0].reason
    [theirs] = data.broker.find_orders(sent.client_ref)
    assert theirs.is_spread and theirs.quantity == k  # selling priced - forward
    for _ in range(10):
        run(data, clock)
        if stacks_empty(data):
            break
    assert stacks_empty(data)
    assert data.positions.get_strategy_position("trend", CODE) == 3
    assert our_positions(data) == broker_positions(data) == {FORWARD: 3}
    refs = {o.client_ref for o in data.order_stack("broker").historic_orders() if o.roll_order}
    executions = [e for e in data.broker.get_executions() if e.client_ref in refs]
    roll_fills = [f for f in fills(data) if f["client_ref"] in refs]
    assert sorted(f["exec_id"] for f in roll_fills) == sorted(e.exec_id for e in executions)
    assert len({e.exec_id for e in executions}) == len(executions) >= 2
    assert sum(f["quantity"] for f in roll_fills if f["contract_date"] == PRICED) == -3
    assert sum(f["quantity"] for f in roll_fills if f["contract_date"] == FORWARD) == 3
    assert all(f["strategy_name"] is None for f in roll_fills)  # roll legs: contracts only
    assert all(o.is_spread for r in refs for o in data.broker.find_orders(r))
    [roll] = [o for o in data.order_stack("instrument").historic_orders() if o.roll_order]
    assert roll.strategy_name == ROLL_STRATEGY
    events = [e.event.value for e in data.order_stack("instrument").events(roll.order_id)]
    assert "filled" in events and events[-1] == "completed"
    assert not data.alerts.all()
    assert run(data, clock)["roll orders"] == "none"  # nothing left to roll


def test_force_outright_roll_family_completes(env):
    """Two outrights: the roll instrument order (trade 0) is filled once both are, then
    completed (it used to wait for the end of day)."""
    data, clock = env
    long_three(data, clock)
    data.roll_states.set(CODE, "Force_Outright")
    for _ in range(10):
        run(data, clock)
        if stacks_empty(data):
            break
    assert stacks_empty(data)
    assert our_positions(data) == broker_positions(data) == {FORWARD: 3}


def test_partial_fill_moves_both_legs_together_then_end_of_day(env):
    """A marketable limit calendar of 3 units; the forward's touch shows one lot, so the
    spread fills a unit at a time, both legs at once; the end of day cancels the rest and the
    books match the broker's."""
    data, clock = env
    bid = data.broker.get_bid_ask(CODE, PRICED).bid - data.broker.get_bid_ask(CODE, FORWARD).ask
    manual_trade(data, "trend", CODE, [(PRICED, -3), (FORWARD, 3)], limit_price=bid - 1.0,
                 reason="calendar")
    stack_handler_pass(data, contracts=contracts, execution=MARKET)
    clock.advance(pd.Timedelta(seconds=3))  # arrived, its first opportunity taken
    stack_handler_pass(data, contracts=contracts, execution=MARKET)
    [order] = data.order_stack("broker").orders()
    assert [leg.trade for leg in order.legs] == [-3, 3]  # a limit is not cut to the touch
    assert order.filled == (-1, 1)  # partly, both legs equally
    theirs = data.broker.get_order(order.broker_order_id)
    assert theirs.status.value == "PARTIALLY_FILLED" and theirs.filled_quantity == -1
    assert theirs.avg_fill_price >= bid - 1.0  # sold at or above the limit
    assert our_positions(data) == broker_positions(data) == {PRICED: -1, FORWARD: 1}
    report = stack_handler_end_of_day(data, sleep=lambda s: clock.advance(
        pd.Timedelta(seconds=s)))
    assert report.ok, report
    assert stacks_empty(data)
    held = our_positions(data)
    assert held == broker_positions(data)
    assert held[FORWARD] == -held[PRICED] >= 1  # the legs moved together
    assert data.positions.get_strategy_position("trend", CODE) == 0


def test_limit_spread_that_does_not_cross_is_cancelled_at_end_of_day(env):
    """A manual calendar at a spread price far from the market: placed as a LIMIT spread,
    never filled, cancelled by the end of day; nothing booked."""
    data, clock = env
    bid = data.broker.get_bid_ask(CODE, PRICED).bid - data.broker.get_bid_ask(CODE, FORWARD).ask
    limit = bid + 40.0  # selling priced - forward 40 points above its bid
    manual_trade(data, "trend", CODE, [(PRICED, -1), (FORWARD, 1)], limit_price=limit,
                 reason="calendar")
    run(data, clock, passes=3, step=pd.Timedelta(minutes=20))
    [order] = data.order_stack("broker").orders()
    assert order.is_spread and order.limit_price == limit and order.algo_used == "limit"
    [theirs] = data.broker.find_orders(order.client_ref)
    assert theirs.order_type is OrderType.LIMIT and theirs.limit_price == limit
    assert theirs.quantity == -1 and theirs.filled_quantity == 0
    report = stack_handler_end_of_day(data, sleep=lambda s: clock.advance(
        pd.Timedelta(seconds=s)))
    assert report.ok, report
    assert stacks_empty(data) and fills(data) == []
    assert data.broker.get_order(theirs.order_id).status.value == "CANCELLED"
    assert broker_positions(data) == {} and our_positions(data) == {}


def test_gate_denies_on_one_leg_and_says_which(env):
    """REDUCING: the priced leg reduces, the forward leg opens: denied, naming the forward
    leg, recorded once; nothing sent."""
    data, clock = env
    long_three(data, clock)
    data.roll_states.set(CODE, "Force")
    stack_handler_pass(data, contracts=contracts, execution=MARKET, trading_state="REDUCING")
    [corder] = data.order_stack("contract").orders()
    for _ in range(2):
        result = create_broker_orders(data, trading_state=TradingState.REDUCING)
        assert result.sent == [] and list(result.denied) == [corder.order_id]
    denied = data.order_stack("contract").get_order(corder.order_id)
    assert denied.reason.startswith(GATE + f"leg {FORWARD}: trading state REDUCING")
    reasons = [e.reason for e in data.order_stack("contract").events(corder.order_id)]
    assert reasons.count(denied.reason) == 1
    assert data.order_stack("broker").orders() == []
    assert [o for o in data.broker.get_orders() if o.is_spread] == []


def test_a_broker_without_spread_orders_is_told_not_sent(env, monkeypatch):
    data, clock = env
    long_three(data, clock)
    data.roll_states.set(CODE, "Force")
    monkeypatch.setattr(type(data.broker), "supports_spread_orders", False)
    run(data, clock)
    [corder] = data.order_stack("contract").orders()
    assert "does not take spread orders" in corder.reason
    assert data.order_stack("broker").orders() == []


def test_crash_after_placing_a_spread_is_adopted_not_placed_twice(env):
    """Our spread broker order on the stack, placed at the broker, SENT never recorded: the
    next pass adopts it by client_ref."""
    data, clock = env
    long_three(data, clock)
    data.roll_states.set(CODE, "Force")
    stack_handler_pass(data, contracts=contracts, execution={"default_algo": "market"},
                       trading_state="HALTED")  # roll order made, nothing sent
    [corder] = data.order_stack("contract").orders()
    bstack = data.order_stack("broker")
    bid = bstack.new_order_id()
    ref = client_ref(OrderLevel.BROKER, bid)
    bstack.add_order(BrokerOrder(order_id=bid, strategy_name=corder.strategy_name,
                                 instrument_code=CODE, parent_id=corder.order_id,
                                 legs=(Leg(PRICED, -3), Leg(FORWARD, 3)), roll_order=True,
                                 client_ref=ref), data.now())
    spread = broker_spread((PRICED, FORWARD), (-3, 3))
    data.broker.place_spread_order(CODE, spread.legs, spread.units, client_ref=ref)
    result = create_broker_orders(data)
    assert result.adopted == [bid] and result.sent == []
    assert len(data.broker.find_orders(ref)) == 1


def test_restart_between_sending_and_the_fills_books_each_leg_once(env, systrade_home):
    """The handler sends the spread and dies; the broker fills it while it is down; a
    restarted handler (new stores' connections, new broker connection) books each leg's
    execution once and places nothing again."""
    data, clock = env
    long_three(data, clock)
    data.roll_states.set(CODE, "Force")
    stack_handler_pass(data, contracts=contracts, execution=MARKET)  # sent
    [sent] = data.order_stack("broker").orders()
    assert sent.status is OrderStatus.SUBMITTED
    clock.advance(pd.Timedelta(minutes=5))  # filled at the broker while we are "dead"
    assert data.broker.get_order(sent.broker_order_id).status.value == "FILLED"
    restarted = reopened(data, systrade_home, clock)
    try:
        for _ in range(5):
            stack_handler_pass(restarted, contracts=contracts, execution=MARKET)
            clock.advance(pd.Timedelta(minutes=2))
        assert stacks_empty(restarted)
        ours = [o for o in restarted.order_stack("broker").historic_orders() if o.roll_order]
        assert sent.order_id in [o.order_id for o in ours]
        for order in ours:  # each of our broker orders placed once, never again
            assert len(restarted.broker.find_orders(order.client_ref)) == 1
        assert len([o for o in restarted.broker.get_orders() if o.is_spread]) == len(ours)
        refs = {o.client_ref for o in ours}
        executions = [e.exec_id for e in restarted.broker.get_executions()
                      if e.client_ref in refs]
        booked = [f["exec_id"] for f in fills(restarted) if f["client_ref"] in refs]
        assert sorted(booked) == sorted(executions) and len(set(booked)) == len(booked)
        assert our_positions(restarted) == broker_positions(restarted) == {FORWARD: 3}
        assert restarted.positions.get_strategy_position("trend", CODE) == 3
    finally:
        restarted.close()


def test_a_cancelled_spread_waits_until_both_legs_fills_are_booked(env):
    """A part-filled spread cancelled at the broker: while only one leg's execution is
    booked the broker order is not CANCELLED (its rest would be sent again with a leg
    missing); once both are, it is."""
    from sysbrokers.objects import OrderStatus as BrokerStatus
    from sysexecution.broker_fills import book_executions
    from sysexecution.order_completion import sync_broker_statuses

    data, clock = env
    bid = data.broker.get_bid_ask(CODE, PRICED).bid - data.broker.get_bid_ask(CODE, FORWARD).ask
    manual_trade(data, "trend", CODE, [(PRICED, -3), (FORWARD, 3)], limit_price=bid - 1.0,
                 reason="calendar")
    assert len(create_broker_orders(data).sent) == 1
    [order] = data.order_stack("broker").orders()
    clock.advance(pd.Timedelta(seconds=3))  # one unit filled
    data.broker.cancel_order(order.broker_order_id)
    clock.advance(pd.Timedelta(seconds=1))  # the cancel took effect
    theirs = data.broker.get_order(order.broker_order_id)
    assert theirs.status is BrokerStatus.CANCELLED and theirs.filled_quantity == -1
    executions = [e for e in data.broker.get_executions() if e.client_ref == order.client_ref]
    book_executions(data, [e for e in executions if e.contract_date == PRICED])
    sync_broker_statuses(data)
    half = data.order_stack("broker").get_order(order.order_id)
    assert half.filled == (-1, 0) and half.status is not OrderStatus.CANCELLED
    book_executions(data, executions)
    sync_broker_statuses(data)
    done = data.order_stack("broker").get_order(order.order_id)
    assert done.filled == (-1, 1) and done.status is OrderStatus.CANCELLED
