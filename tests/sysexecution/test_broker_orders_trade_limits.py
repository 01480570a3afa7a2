"""Trade limits and the submit-rate throttle in the pre-trade gate, through the stack handler's
own functions on real stores (SQLite and MongoDB) and the simulated broker: a limit resizes
then denies (reason recorded as an order event), a strategy+instrument limit, a roll's spread
legs counted, usage never counted twice across a crashed submission, the N+1th submission
within the throttle's window denied."""
from __future__ import annotations

import pandas as pd
import pytest

from sysexecution.algo_orders import ExecutionSettings
from sysexecution.broker_fills import book_executions
from sysexecution.broker_orders import GATE, create_broker_orders
from sysexecution.order_completion import pass_statuses
from sysproduction.run_stack_handler import stack_handler_pass
from tests.sysexecution.test_broker_orders import CODE, contract_order

MARKET = ExecutionSettings(default_algo="market")


@pytest.fixture
def env(sim_broker_env):
    return sim_broker_env


def used(data, period_days=1, strategy="ALL") -> int:
    return sum(int(t[1]) for t in data.trade_limits.get(CODE, period_days, strategy)["trades"])


def test_limit_resizes_then_denies_with_the_reason_recorded(env):
    data, clock = env
    data.trade_limits.set_limit(CODE, 1, 2)
    data.trade_limits.set_limit(CODE, 5, 100)  # a longer period with room: the smaller wins
    corder = contract_order(data, 5)
    result = create_broker_orders(data, execution=MARKET)
    [sent] = data.order_stack("broker").orders()
    assert result.sent == [sent.order_id] and sent.legs[0].trade == 2
    assert "trade limit: 5 cut to 2" in data.order_stack("broker").events(
        sent.order_id)[0].reason
    assert used(data) == 2 and used(data, 5) == 2
    assert data.trade_limits.remaining(CODE, 1, data.now()) == 0
    clock.advance(pd.Timedelta(minutes=5))
    book_executions(data, data.broker.get_executions())
    pass_statuses(data)  # the filled broker order is no longer live
    assert data.order_stack("contract").get_order(corder.order_id).filled == (2,)
    for _ in range(2):  # the rest (3) denied: one event, order kept
        result = create_broker_orders(data, execution=MARKET)
        assert result.sent == [] and result.denied == {corder.order_id: "trade limit reached"}
    reasons = [e.reason for e in data.order_stack("contract").events(corder.order_id)]
    assert reasons.count(GATE + "trade limit reached") == 1
    assert len(data.broker.get_orders()) == 1 and used(data) == 2
    clock.advance(pd.Timedelta(days=1))  # the window rolls on: the rest may go
    assert len(create_broker_orders(data, execution=MARKET).sent) == 1


def test_strategy_instrument_limit(env):
    data, clock = env
    data.trade_limits.set_limit(CODE, 1, 10)               # instrument: room
    data.trade_limits.set_limit(CODE, 1, 1, "trend")       # trend in this instrument: 1
    data.trade_limits.set_limit(CODE, 1, 0, "other")       # another strategy's: not ours
    contract_order(data, 3)
    assert len(create_broker_orders(data, execution=MARKET).sent) == 1
    [sent] = data.order_stack("broker").orders()
    assert sent.legs[0].trade == 1
    assert used(data) == 1 and used(data, strategy="trend") == 1
    assert used(data, strategy="other") == 0


@pytest.mark.parametrize("broker_has_it", [False, True])
def test_usage_not_counted_twice_after_a_crashed_submission(env, monkeypatch, broker_has_it):
    """Killed in the broker call (before or after the broker took the order): the rerun
    places it (or adopts it) and the limits count its contracts once."""
    data, clock = env
    data.trade_limits.set_limit(CODE, 1, 2)
    data.trade_limits.set_limit(CODE, 1, 2, "trend")
    contract_order(data, 2)
    real = data.broker.place_order

    def crash(*args, **kwargs):
        if broker_has_it:
            real(*args, **kwargs)
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(data.broker, "place_order", crash)
    with pytest.raises(KeyboardInterrupt):
        create_broker_orders(data, execution=MARKET)
    monkeypatch.setattr(data.broker, "place_order", real)
    result = create_broker_orders(data, execution=MARKET)  # the restart
    [order] = data.order_stack("broker").orders()
    assert (result.adopted if broker_has_it else result.sent) == [order.order_id]
    assert not result.denied and order.legs[0].trade == 2
    assert len(data.broker.get_orders()) == 1
    assert used(data) == 2 and used(data, strategy="trend") == 2
    create_broker_orders(data, execution=MARKET)
    assert used(data) == 2


def test_roll_spread_legs_count(env):
    """A Force roll's spread: both legs' contracts count; the legs share the capacity in
    whole spread units (limit 4: at most 2 units of a 1:1 calendar)."""
    from tests.sysexecution.test_spread_lifecycle import FORWARD, contracts, long_three

    data, clock = env
    long_three(data, clock)
    data.trade_limits.set_limit(CODE, 1, 4)
    data.roll_states.set(CODE, "Force")
    stack_handler_pass(data, contracts=contracts, execution={"default_algo": "market"})
    [sent] = [b for b in data.order_stack("broker").orders() if b.is_spread]
    units = abs(sent.legs[0].trade)
    assert 1 <= units <= 2 and used(data) == 2 * units
    assert "trade limit" in data.order_stack("broker").events(sent.order_id)[0].reason \
        or units < 2  # liquidity may cut it further first
    assert sent.roll_order and {leg.contract_date for leg in sent.legs} >= {FORWARD}


def test_throttle_denies_the_submission_over_the_rate(env):
    data, clock = env
    execution = ExecutionSettings(default_algo="market", submit_rate=2,
                                  submit_period_seconds=1.0)
    orders = [contract_order(data, 1) for _ in range(3)]
    result = create_broker_orders(data, execution=execution)
    assert len(result.sent) == 2
    assert result.denied == {orders[2].order_id: "submit rate throttled"}
    assert data.order_stack("contract").get_order(orders[2].order_id).reason == \
        GATE + "submit rate throttled"
    clock.advance(pd.Timedelta(seconds=0.4))  # not a whole token yet: still denied
    assert create_broker_orders(data, execution=execution).sent == []
    clock.advance(pd.Timedelta(seconds=0.2))
    assert len(create_broker_orders(data, execution=execution).sent) == 1
    assert len(data.broker.get_orders()) == 3


def test_submit_rate_setting_is_checked():
    with pytest.raises(ValueError):
        ExecutionSettings(submit_rate=0)
    assert ExecutionSettings().submit_rate == 10
    assert ExecutionSettings().submit_period_seconds == 1.0


def test_orders_of_one_pass_share_the_limit(env):
    """Two contract orders of the instrument in one pass (made, then placed): the second sees
    the first's usage."""
    data, clock = env
    data.trade_limits.set_limit(CODE, 1, 3)
    first, second = contract_order(data, 2), contract_order(data, 2)
    result = create_broker_orders(data, execution=MARKET)
    assert len(result.sent) == 2 and not result.denied
    trades = {b.parent_id: b.legs[0].trade for b in data.order_stack("broker").orders()}
    assert trades == {first.order_id: 2, second.order_id: 1} and used(data) == 3
