"""Attacks on spread (calendar) orders on real stores (SQLite and MongoDB) and the simulated
broker: the handler dies between booking a spread fill's two legs; the price convention of
a limit calendar bought or sold with either contract first."""
from __future__ import annotations

import pandas as pd
import pytest

from sysbrokers.objects import SpreadLeg
from sysobjects.orders.status import OrderStatus
from sysproduction.run_stack_handler import stack_handler_pass
from tests.blob_helpers import reopened
from tests.sysexecution.test_spread_lifecycle import (
    CODE,
    FORWARD,
    MARKET,
    PRICED,
    broker_positions,
    contracts,
    fills,
    long_three,
    our_positions,
    stacks_empty,
)


class Crash(Exception):
    pass


def test_a_crash_between_the_legs_bookings_books_the_other_leg_once_and_no_more(
        sim_broker_env, systrade_home):
    """The handler books leg 1 of a spread fill and dies before leg 2: until leg 2 is booked
    the roll is neither filled nor completed; the restarted handler books leg 2 once, places
    nothing again, and the roll ends with every execution booked once."""
    data, clock = sim_broker_env
    long_three(data, clock)
    data.roll_states.set(CODE, "Force")
    stack_handler_pass(data, contracts=contracts, execution=MARKET)  # the spread is sent
    [sent] = data.order_stack("broker").orders()
    assert sent.is_spread
    clock.advance(pd.Timedelta(minutes=5))  # filled at the broker
    real, calls = data.ledger.book_fill, []

    def dies_on_the_second_leg(fill):
        calls.append(fill.exec_id)
        if len(calls) == 2:
            raise Crash("killed between the legs")
        return real(fill)

    data.ledger.book_fill = dies_on_the_second_leg
    with pytest.raises(Crash):
        stack_handler_pass(data, contracts=contracts, execution=MARKET)
    booked = [f for f in fills(data) if f["client_ref"] == sent.client_ref]
    assert len(booked) == 1  # one leg only
    restarted = reopened(data, systrade_home, clock)
    try:
        half = restarted.order_stack("broker").get_order(sent.order_id)
        assert sorted(map(abs, half.filled)) == [0, 1] and half.status is not OrderStatus.FILLED
        [roll] = [o for o in restarted.order_stack("instrument").orders() if o.roll_order]
        assert roll.status not in (OrderStatus.FILLED, OrderStatus.COMPLETED)
        for _ in range(5):
            stack_handler_pass(restarted, contracts=contracts, execution=MARKET)
            clock.advance(pd.Timedelta(minutes=2))
        assert stacks_empty(restarted)
        refs = {o.client_ref for o in restarted.order_stack("broker").historic_orders()
                if o.roll_order}
        assert sent.client_ref in refs  # the gate sends one unit at a time (the touch)
        for ref in refs:  # each placed once, never again
            assert len(restarted.broker.find_orders(ref)) == 1
        executions = sorted(e.exec_id for e in restarted.broker.get_executions()
                            if e.client_ref in refs)
        booked = sorted(f["exec_id"] for f in fills(restarted) if f["client_ref"] in refs)
        assert booked == executions and len(executions) >= 2
        assert our_positions(restarted) == broker_positions(restarted) == {FORWARD: 3}
        assert restarted.positions.get_strategy_position("trend", CODE) == 3
    finally:
        restarted.close()


@pytest.mark.parametrize("legs", [((FORWARD, 1), (PRICED, -1)), ((PRICED, 1), (FORWARD, -1)),
                                  ((FORWARD, -1), (PRICED, 1)), ((PRICED, -1), (FORWARD, 1))])
def test_a_limit_calendar_at_its_touch_fills_each_leg_its_way_within_the_limit(
        sim_broker_env, legs):
    """Buying or selling the spread, with either contract first: the limit (leg 1 minus leg 2
    of the order as given) at the spread's synthetic touch fills; each leg is booked in its
    own direction and the booked legs' price (leg 1 minus leg 2) is at or better than it."""
    from sysexecution.manual_orders import manual_trade
    from sysexecution.spread_orders import synthetic_quote
    from tests.sysexecution.test_spread_lifecycle import run

    data, clock = sim_broker_env
    books = [data.broker.get_bid_ask(CODE, c) for c, _ in legs]
    buying = legs[0][1] > 0
    ratios = [SpreadLeg(c, 1 if i == 0 else -1) for i, (c, _) in enumerate(legs)]
    bid, ask = synthetic_quote(ratios, [b.bid for b in books], [b.ask for b in books])
    limit = ask if buying else bid
    manual_trade(data, "trend", CODE, list(legs), limit_price=limit, reason="calendar")
    for _ in range(5):
        run(data, clock, step=pd.Timedelta(seconds=30))
        if stacks_empty(data):
            break
    assert stacks_empty(data)
    booked = {f["contract_date"]: (f["quantity"], f["price"]) for f in fills(data)}
    assert {c: q for c, (q, _) in booked.items()} == dict(legs)
    price = booked[legs[0][0]][1] - booked[legs[1][0]][1]
    assert (price <= limit + 1e-9) if buying else (price >= limit - 1e-9)
    assert our_positions(data) == broker_positions(data) == dict(legs)

