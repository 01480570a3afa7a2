"""Manual, balance, instrument balance and cash FX trades on real stores (SQLite, MongoDB)
and the simulated broker."""
from __future__ import annotations

import pandas as pd
import pytest

from syscore.exceptions import InvalidData
from sysexecution.broker_orders import create_broker_orders
from sysexecution.manual_orders import (
    FX_TRADES,
    balance_instrument_trade,
    balance_trade,
    cash_fx_trade,
    manual_trade,
)
from sysobjects.orders.orders import (
    BrokerOrder,
    ContractOrderType,
    InstrumentOrderType,
    Leg,
    client_ref,
)
from sysobjects.orders.status import OrderLevel, OrderStatus
from sysproduction.run_stack_handler import stack_handler_pass

CODE, PRICED, FORWARD = "SP500_micro", "202403", "202406"


@pytest.fixture
def env(sim_broker_env):
    return sim_broker_env


def contracts(data, code):
    return PRICED, FORWARD


def broker_positions(data):
    return {(p.instrument_code, p.contract_date): p.quantity for p in data.broker.get_positions()}


def run_passes(data, clock, n=4):
    for _ in range(n):
        stack_handler_pass(data, contracts=contracts)
        clock.advance(pd.Timedelta(minutes=2))
    return stack_handler_pass(data, contracts=contracts)


def test_manual_trade_goes_to_the_chosen_contract_and_fills(env):
    data, clock = env
    made = manual_trade(data, "trend", CODE, [(FORWARD, 2)], algo="sysexecution.algos.Best",
                        reason="test")
    iorder = data.order_stack("instrument").get_order(made.instrument_order_id)
    corder = data.order_stack("contract").get_order(made.contract_order_id)
    assert iorder.manual_trade and iorder.trade == 2 and iorder.children == (corder.order_id,)
    assert iorder.order_type is InstrumentOrderType.MARKET
    assert corder.manual_trade and corder.legs == (Leg(FORWARD, 2),)
    assert corder.algo_to_use == "sysexecution.algos.Best"
    run_passes(data, clock)
    # not spawned by roll state into the priced contract: the operator's contract
    assert broker_positions(data) == {(CODE, FORWARD): 2}
    assert data.positions.get_strategy_position("trend", CODE) == 2
    assert data.positions.get_contract_position(CODE, FORWARD) == 2
    assert data.order_stack("instrument").orders() == []  # completed


def test_manual_limit_and_spread_orders(env):
    data, _ = env
    limit = manual_trade(data, "trend", CODE, [(PRICED, -1)], limit_price=4800.25)
    corder = data.order_stack("contract").get_order(limit.contract_order_id)
    assert corder.order_type is ContractOrderType.LIMIT and corder.limit_price == 4800.25
    spread = manual_trade(data, "trend", CODE, [(PRICED, -3), (FORWARD, 3)], reason="roll")
    iorder = data.order_stack("instrument").get_order(spread.instrument_order_id)
    corder = data.order_stack("contract").get_order(spread.contract_order_id)
    assert iorder.trade == 0 and corder.is_spread
    assert corder.legs == (Leg(PRICED, -3), Leg(FORWARD, 3))


@pytest.mark.parametrize("legs, message", [
    ([(PRICED, -3), (FORWARD, 2)], "net to zero"),
    ([(PRICED, 0)], "non-zero"),
    ([("209912", 1)], "209912"),
    ([], "one leg or two"),
    ([(PRICED, 10**26)], "mistyped size"),  # the order-stack console took this onto the stacks
    ([(PRICED, -(10**9) - 1), (FORWARD, 10**9 + 1)], "mistyped size"),
])
def test_bad_manual_trades_leave_nothing(env, legs, message):
    data, _ = env
    with pytest.raises(InvalidData, match=message):
        manual_trade(data, "trend", CODE, legs)
    assert all(not data.order_stack(s).orders() for s in ("instrument", "contract"))


@pytest.mark.parametrize("limit_price", [True, float("nan"), float("inf"), "4800"])
def test_a_manual_trade_needs_a_finite_limit_price(env, limit_price):
    """``True`` is not a price of 1.0: a bool is refused like any other non-number."""
    from sysexecution.manual_orders import manual_instrument_trade

    data, _ = env
    with pytest.raises(InvalidData, match="limit price must be a finite number"):
        manual_trade(data, "trend", CODE, [(PRICED, 1)], limit_price=limit_price)
    with pytest.raises(InvalidData, match="limit price must be a finite number"):
        manual_instrument_trade(data, "trend", CODE, 1, limit_price=limit_price)
    assert all(not data.order_stack(s).orders() for s in ("instrument", "contract"))


def test_a_balance_trade_repairs_a_break(env):
    data, clock = env
    # a trade placed by hand in the broker's own screen: the broker has it, we do not
    placed = data.broker.place_order(CODE, PRICED, 2)
    clock.advance(pd.Timedelta(minutes=5))
    done = data.broker.get_order(placed.order_id)
    assert done.filled_quantity == 2
    stack_handler_pass(data, contracts=contracts)
    assert data.locks.reason(CODE) == "position break"
    booked = balance_trade(data, "trend", CODE, PRICED, 2, done.avg_fill_price,
                           reason="filled by hand in TWS")
    assert booked.exec_id == f"balance.{booked.broker_order_id:010d}"
    fill = data.ledger.find_uid(f"fill:{booked.exec_id}")["record"]
    assert fill["quantity"] == 2 and fill["reason"] == "balance trade: filled by hand in TWS"
    assert fill["price"] == done.avg_fill_price and fill["strategy_name"] == "trend"
    assert data.positions.get_contract_position(CODE, PRICED) == 2
    assert data.positions.get_strategy_position("trend", CODE) == 2
    out = stack_handler_pass(data, contracts=contracts)
    assert not data.locks.is_locked(CODE) and f"unlocked {CODE}" in out["reconciliation"]
    for level in ("instrument", "contract", "broker"):
        assert data.order_stack(level).orders() == []  # completed: history only
        [order] = data.order_stack(level).historic_orders()
        assert order.order_type.value == "balance_trade"
    assert len(data.broker.get_orders()) == 1  # nothing was sent
    history = data.positions.history("contract_positions", f"{CODE}/{PRICED}")
    assert history[-1]["reason"] == "balance trade: filled by hand in TWS"


def test_a_balance_order_left_by_a_crash_is_never_sent(env):
    """A crash between creating the (locked) balance broker order and booking its fill."""
    data, _ = env
    bstack = data.order_stack("broker")
    bid = bstack.new_order_id()
    bstack.add_order(BrokerOrder(order_id=bid, strategy_name="trend", instrument_code=CODE,
                                 legs=(Leg(PRICED, 1),), locked=True, manual_fill=True,
                                 client_ref=client_ref(OrderLevel.BROKER, bid)),
                     data.now(), "balance trade: x")
    result = create_broker_orders(data)
    assert result.sent == [] and result.adopted == [] and not result.denied
    assert data.broker.get_orders() == []
    assert bstack.get_order(bid).status is OrderStatus.INITIALIZED


@pytest.mark.parametrize("kwargs, message", [
    ({"quantity": 0}, "non-zero"), ({"price": -1.0}, "positive"), ({"reason": ""}, "reason"),
    ({"contract_date": "202413"}, "202413"), ({"quantity": -(10**20)}, "mistyped size"),
])
def test_bad_balance_trades_leave_nothing(env, kwargs, message):
    data, _ = env
    args = {"strategy_name": "trend", "instrument_code": CODE, "contract_date": PRICED,
            "quantity": 1, "price": 4800.0, "reason": "x", **kwargs}
    with pytest.raises(InvalidData, match=message):
        balance_trade(data, **args)
    assert data.ledger.head() == 0


def test_balance_instrument_trade_moves_only_the_strategy(env):
    data, _ = env
    balance_instrument_trade(data, "trend", CODE, -3, "moved to carry")
    balance_instrument_trade(data, "carry", CODE, 3, "moved from trend")
    assert data.positions.get_strategy_position("trend", CODE) == -3
    assert data.positions.get_strategy_position("carry", CODE) == 3
    assert data.positions.all_contract_positions() == {}
    [change] = data.positions.history("strategy_positions", f"trend/{CODE}")
    assert change["reason"] == "balance instrument trade: moved to carry"
    with pytest.raises(InvalidData):
        balance_instrument_trade(data, "trend", CODE, 1, " ")


def test_cash_fx_trade_is_done_at_the_broker_and_recorded(env):
    data, _ = env
    before = data.broker.get_account_value().cash
    record = cash_fx_trade(data, "eur", "USD", 5000, "margin in EUR")
    assert record["status"] == "DONE" and record["rate"] > 0
    after = data.broker.get_account_value().cash
    assert after["EUR"] - before.get("EUR", 0.0) == pytest.approx(5000)
    assert after["USD"] - before["USD"] == pytest.approx(-5000 * record["rate"])
    [(_, stored)] = data.state.find(FX_TRADES)
    assert stored == record
    assert [t.trade_id for t in data.broker.get_fx_trades(record["client_ref"])] == [
        record["trade_id"]]
    with pytest.raises(InvalidData):
        cash_fx_trade(data, "EUR", "EUR", 10)
    from sysbrokers.errors import OrderRejected
    with pytest.raises(OrderRejected):
        cash_fx_trade(data, "XYZ", "USD", 10)
    assert [doc["status"] for _, doc in data.state.find(FX_TRADES)] == ["DONE", "REJECTED"]


class Crash(Exception):
    """A process killed at this line."""


@pytest.mark.parametrize("crash_after_fill", [True, False])
def test_a_balance_trade_cut_by_a_crash_is_finished_once(env, monkeypatch, crash_after_fill):
    from sysdata.orders import OrderStackData
    from sysexecution.manual_orders import finish_balance_trades

    data, _ = env
    if crash_after_fill:
        monkeypatch.setattr(OrderStackData, "apply_event",
                            lambda *a, **k: (_ for _ in ()).throw(Crash()))
    else:
        monkeypatch.setattr(data.ledger, "book_fill",
                            lambda *a, **k: (_ for _ in ()).throw(Crash()))
    with pytest.raises(Crash):
        balance_trade(data, "trend", CODE, PRICED, 2, 4800.0, "missed fill")
    monkeypatch.undo()
    assert len(data.order_stack("broker").orders()) == 1  # left locked on the stack
    assert create_broker_orders(data).sent == [] and data.broker.get_orders() == []
    assert finish_balance_trades(data) == [1]
    assert finish_balance_trades(data) == []  # idempotent
    for level in ("instrument", "contract", "broker"):
        assert data.order_stack(level).orders() == []
        [order] = data.order_stack(level).historic_orders()
    held = 2 if crash_after_fill else 0
    assert data.positions.get_contract_position(CODE, PRICED) == held
    assert data.positions.get_strategy_position("trend", CODE) == held
    # entering it again (when nothing was booked) books it once
    if not crash_after_fill:
        balance_trade(data, "trend", CODE, PRICED, 2, 4800.0, "missed fill")
    assert data.positions.get_contract_position(CODE, PRICED) == 2


@pytest.mark.parametrize("crash_at_broker", [True, False])
def test_a_cash_fx_trade_cut_by_a_crash_is_resolved_from_the_broker(env, monkeypatch,
                                                                    crash_at_broker):
    from sysexecution.manual_orders import resolve_fx_trades

    data, _ = env
    if crash_at_broker:  # killed before the broker got it
        monkeypatch.setattr(data.broker, "trade_fx",
                            lambda *a, **k: (_ for _ in ()).throw(Crash()))
    else:  # the broker did it, killed before our record says so
        monkeypatch.setattr(data.state, "put", lambda *a, **k: (_ for _ in ()).throw(Crash()))
    with pytest.raises(Crash):
        cash_fx_trade(data, "EUR", "USD", 100, "margin")
    monkeypatch.undo()
    [(_, left)] = data.state.find(FX_TRADES)
    assert left["status"] == "INITIALIZED"
    assert len(resolve_fx_trades(data)) == 1 and resolve_fx_trades(data) == []
    [(_, record)] = data.state.find(FX_TRADES)
    trades = data.broker.get_fx_trades()
    if crash_at_broker:
        assert record["status"] == "NOT_SENT" and trades == []
    else:
        assert record["status"] == "DONE" and record["trade_id"] == trades[0].trade_id


def test_manual_instrument_trade_is_spawned_by_roll_state(env):
    from sysexecution.manual_orders import manual_instrument_trade
    from sysexecution.spawn_orders import spawn_contract_orders

    data, _ = env
    order_id = manual_instrument_trade(data, "trend", CODE, -2, reason="close early")
    order = data.order_stack("instrument").get_order(order_id)
    assert order.manual_trade and order.trade == -2 and not order.children
    assert spawn_contract_orders(data, contracts) == {order_id: (1,)}
    assert data.order_stack("contract").get_order(1).legs == (Leg(PRICED, -2),)
    with pytest.raises(InvalidData):
        manual_instrument_trade(data, "trend", CODE, 0)


def test_manual_fill_of_a_contract_order_traded_by_hand(env):
    from sysexecution.manual_orders import manual_fill

    data, clock = env
    made = manual_trade(data, "trend", CODE, [(PRICED, 3)], reason="by phone")
    cid = made.contract_order_id
    with pytest.raises(InvalidData, match="what is left"):
        manual_fill(data, "contract", cid, 4, 4800.0, "too much")
    first = manual_fill(data, "contract", cid, 1, 4800.0, "by phone")
    assert first == f"manual.contract.{cid:010d}.1"
    assert data.order_stack("contract").get_order(cid).filled == (1,)
    assert data.positions.get_strategy_position("trend", CODE) == 1
    manual_fill(data, "contract", cid, 2, 4801.0, "by phone")
    order = data.order_stack("contract").get_order(cid)
    assert order.status is OrderStatus.FILLED and order.fill_price[0] == pytest.approx(
        (4800 + 2 * 4801) / 3)
    run_passes(data, clock, 1)
    assert data.order_stack("instrument").orders() == []  # filled families completed
    assert data.broker.get_orders() == []  # nothing was sent
    assert data.positions.get_contract_position(CODE, PRICED) == 3


def test_manual_fill_refuses_orders_the_broker_has(env):
    from sysexecution.manual_orders import manual_fill

    data, _ = env
    made = manual_trade(data, "trend", CODE, [(PRICED, 1)])
    create_broker_orders(data)
    [border] = data.order_stack("broker").orders()
    with pytest.raises(InvalidData, match="cancel them first"):
        manual_fill(data, "contract", made.contract_order_id, 1, 4800.0, "x")
    with pytest.raises(InvalidData, match="fills come from the broker"):
        manual_fill(data, "broker", border.order_id, 1, 4800.0, "x")
    assert data.ledger.records(0, None, {"kind": "fill"}) == []


def test_manual_fill_of_a_broker_order_never_sent_locks_it(env):
    from sysexecution.manual_orders import manual_fill
    from tests.sysexecution.test_broker_orders import contract_order, stacked_broker_order

    data, _ = env
    bid, _ = stacked_broker_order(data, contract_order(data, 2), trade=2)
    manual_fill(data, "broker", bid, 1, 4800.0, "done by hand")
    order = data.order_stack("broker").get_order(bid)
    assert order.locked and order.filled == (1,)
    assert create_broker_orders(data).sent == [] and data.broker.get_orders() == []


def test_manual_fill_refuses_a_broker_order_placed_but_never_marked_sent(env):
    """A crash between placing and the SENT event: the broker has it under our client_ref, so
    its fill will come from the broker; a manual fill too would book it twice."""
    from sysexecution.manual_orders import manual_fill
    from tests.sysexecution.test_broker_orders import contract_order, stacked_broker_order

    data, _ = env
    corder = contract_order(data, 1)
    bid, ref = stacked_broker_order(data, corder)
    data.broker.place_order(CODE, PRICED, 1, client_ref=ref)
    with pytest.raises(InvalidData, match="the broker has it"):
        manual_fill(data, "broker", bid, 1, 4800.0, "x")
    with pytest.raises(InvalidData, match="cancel them first"):
        manual_fill(data, "contract", corder.order_id, 1, 4800.0, "x")
    assert data.ledger.records(0, None, {"kind": "fill"}) == []
    assert not data.order_stack("broker").get_order(bid).locked


def test_a_balance_trade_in_progress_elsewhere_is_not_finished_as_abandoned(env):
    """Two operators: while one balance trade is being booked (its orders made, its fill not
    yet), another operator's balance trade must not cancel it as 'abandoned after a crash'
    (the first then books its fill against cancelled orders, fails, and is entered again)."""
    import os

    from syscore.exceptions import ConcurrencyError
    from sysdata.leases import LeaseData
    from sysexecution.manual_orders import BALANCE_LEASE, balance_trade

    data, _ = env
    other = LeaseData(data.state, pid=os.getppid())  # a live process: another console
    lease = other.take(BALANCE_LEASE, "interactive_order_stack")
    try:
        with pytest.raises(ConcurrencyError, match="interactive_order_stack is running"):
            balance_trade(data, "trend", CODE, PRICED, 1, 4800.0, "missed fill")
    finally:
        other.release(lease)
    assert data.ledger.records(0, None, {"kind": "fill"}) == []
    balance_trade(data, "trend", CODE, PRICED, 1, 4800.0, "missed fill")
    assert data.positions.get_contract_position(CODE, PRICED) == 1


def test_a_mistyped_size_is_refused_for_every_manual_entry(env):
    """Sizes over a billion contracts are refused before any stack or ledger write (the
    order-stack console put +1e26 contracts on the stacks)."""
    from sysexecution.manual_orders import MAX_MANUAL_CONTRACTS, manual_instrument_trade

    data, _ = env
    with pytest.raises(InvalidData, match="mistyped size"):
        manual_instrument_trade(data, "trend", CODE, MAX_MANUAL_CONTRACTS + 1)
    with pytest.raises(InvalidData, match="mistyped size"):
        balance_instrument_trade(data, "trend", CODE, -(10**12), "typo")
    assert all(not data.order_stack(s).orders() for s in ("instrument", "contract"))
    assert data.ledger.head() == 0
    assert manual_instrument_trade(data, "trend", CODE, MAX_MANUAL_CONTRACTS) > 0  # the bound
