"""The stack handler's steps commit in batches (SQLite): a pass's commits do not grow with the
number of orders it works, and yet every broker order is committed (its ``client_ref``
durable) before the broker is asked to place it, and every ``MODIFY_REQUESTED`` before its
modify is sent. An outside connection to the same file is what a restarted process would read."""
from __future__ import annotations

import pandas as pd
import pytest

from sysbrokers.sim.broker import SimBroker
from sysbrokers.sim.market import default_market
from syscore.clock import SimulatedClock
from sysdata.state.sqlite_store import SqliteStateStore
from sysexecution.spawn_orders import spawn_contract_orders
from sysobjects.orders.orders import BrokerOrder, BrokerOrderType, Leg, client_ref
from sysobjects.orders.status import OrderLevel, OrderStatus
from sysproduction.run_stack_handler import stack_handler_pass
from sysproduction.update_strategy_orders import update_strategy_orders
from tests.blob_helpers import SIM_START, make_blob

T0 = SIM_START
CODES = ("SP500_micro", "NASDAQ_micro")


def contracts(data, code):
    return "202403", "202406"


class Env:
    """A SQLite blob on the simulated broker whose order placements and modifies first check,
    through a second connection, that our record of them is committed."""

    def __init__(self, home):
        self.home = home
        self.clock = SimulatedClock(home, start=T0)
        self.brokers: list[SimBroker] = []
        self.outside = None
        self.placed_unseen: list[str] = []
        self.modified_unseen: list[str] = []
        self.placed = self.modified = 0
        self.cancels: list[str | None] = []  # committed status of the parent at each cancel
        self.data = make_blob(home, clock=self.clock, broker_factory=self._broker)
        self.outside = SqliteStateStore(home / "state.sqlite")
        self.commits: list[str] = []
        self.data.state._conn.set_trace_callback(
            lambda sql: self.commits.append(sql) if sql == "COMMIT" else None)

    def _committed_broker_orders(self) -> list[dict]:
        return [doc for _, doc in self.outside.find("broker_orders")]

    def _broker(self, blob):
        broker = SimBroker(self.clock, self.home, default_market())
        real_place, real_modify = broker.place_order, broker.modify_order

        def place(*args, client_ref="", **kwargs):
            self.placed += 1
            ours = [d for d in self._committed_broker_orders()
                    if d.get("client_ref") == client_ref]
            parent = ours and self.outside.get("contract_orders", f"{ours[0]['parent_id']:012d}")
            # the broker order, and its parent's SENT listing it, both committed
            if not ours or not parent or ours[0]["order_id"] not in parent["children"]:
                self.placed_unseen.append(client_ref)
            return real_place(*args, client_ref=client_ref, **kwargs)

        def modify(broker_order_id, *args, **kwargs):
            self.modified += 1
            ours = [d for d in self._committed_broker_orders()
                    if d.get("broker_order_id") == broker_order_id]
            if not ours or ours[0]["status"] != OrderStatus.PENDING_UPDATE.value:
                self.modified_unseen.append(broker_order_id)
            return real_modify(broker_order_id, *args, **kwargs)

        real_cancel = broker.cancel_order

        def cancel(broker_order_id, *args, **kwargs):
            ours = [d for d in self._committed_broker_orders()
                    if d.get("broker_order_id") == broker_order_id]
            parent = ours and self.outside.get("contract_orders", f"{ours[0]['parent_id']:012d}")
            self.cancels.append(parent["status"] if parent else None)
            return real_cancel(broker_order_id, *args, **kwargs)

        broker.place_order, broker.modify_order = place, modify
        broker.cancel_order = cancel
        self.brokers.append(broker)
        return broker

    def close(self):
        self.outside.close()
        self.data.close()
        for broker in self.brokers:
            broker.close()


@pytest.fixture
def make_env(systrade_home):
    made = []

    def make(name):
        env = Env(systrade_home / name)
        made.append(env)
        return env

    yield make
    for env in made:
        env.close()


def first_pass_commits(env, strategies: int, algo: str = "market") -> int:
    for n in range(strategies):
        for code in CODES:
            env.data.optimal_positions.add(f"s{n}", code, T0, 2, 2, 100.0, "202403", T0)
    before_generation = len(env.commits)
    assert update_strategy_orders(env.data).ok
    generation = len(env.commits) - before_generation
    assert generation <= 3  # its lease, the batch of orders
    before = len(env.commits)
    # the submit throttle (10 a second by default) opened wide: this counts commits per pass
    out = stack_handler_pass(env.data, contracts=contracts,
                             execution={"default_algo": algo, "submit_rate": 1000})
    assert out["broker orders"].startswith(f"{2 * strategies} sent")
    return len(env.commits) - before


def test_a_pass_commits_do_not_grow_with_its_orders(make_env):
    """Before batches each record was its own commit: about four per order in this pass
    (contract order, its SENT, the broker order, its SENT, ids), so 16 orders made dozens."""
    small, large = make_env("small"), make_env("large")
    few = first_pass_commits(small, 1)
    many = first_pass_commits(large, 8)
    assert abs(many - few) <= 2  # listings' sweep marks, leases: not per order
    assert many <= 30  # a fixed number per pass (the old code: over 60 for these 16 orders)
    assert small.placed == 2 and large.placed == 16
    assert small.placed_unseen == [] and large.placed_unseen == []


def test_every_client_ref_and_modify_request_is_committed_before_the_broker_acts(make_env):
    env = make_env("best")
    first_pass_commits(env, 3, algo="best")
    execution = {"default_algo": "best", "passive_seconds": 60, "total_seconds": 600}
    for _ in range(30):
        env.clock.advance(pd.Timedelta(seconds=30))
        stack_handler_pass(env.data, contracts=contracts, execution=execution)
        if not any(env.data.order_stack(s).orders() for s in ("instrument", "contract",
                                                               "broker")):
            break
    assert env.placed >= 6
    assert env.modified >= 1  # the best algo turned aggressive and re-priced
    assert env.placed_unseen == []
    assert env.modified_unseen == []


def test_a_crashed_submission_is_linked_to_its_parent_durably_before_it_is_placed(make_env):
    """A broker order a crash left INITIALIZED before its contract order's SENT: the pass
    links it (SENT listing it) and places it; the link must be committed first, or a crash
    after the placement leaves a broker order adopted under a contract order that does not
    list it, which then never completes."""
    env = make_env("resume")
    data = env.data
    data.optimal_positions.add("s0", CODES[0], T0, 2, 2, 100.0, "202403", T0)
    assert update_strategy_orders(data).ok
    spawn_contract_orders(data, contracts)
    [parent] = data.order_stack("contract").orders()
    bstack = data.order_stack("broker")
    order_id = bstack.new_order_id()
    bstack.add_order(BrokerOrder(
        order_id=order_id, strategy_name="s0", instrument_code=CODES[0],
        parent_id=parent.order_id, legs=(Leg("202403", 2),),
        order_type=BrokerOrderType.MARKET, algo_used="market",
        client_ref=client_ref(OrderLevel.BROKER, order_id), generated_datetime=T0), T0)
    out = stack_handler_pass(data, contracts=contracts, execution={"default_algo": "market"})
    assert out["broker orders"].startswith("1 sent")
    assert env.placed == 1
    assert env.placed_unseen == []


def test_a_cancelled_target_is_committed_on_the_contract_order_before_the_broker_cancel(
        make_env):
    """A new target cancels a working order: the contract order's cancel request must be
    durable before the broker cancels, or a crash in between leaves a contract order that
    still wants filling with its broker order cancelled, and a new one is sent."""
    env = make_env("cancel")
    data = env.data
    data.optimal_positions.add("s0", CODES[0], T0, 2, 2, 100.0, "202403", T0)
    assert update_strategy_orders(data).ok
    stack_handler_pass(data, contracts=contracts, execution={"default_algo": "market"})
    [sent] = data.order_stack("broker").orders()
    assert sent.status is OrderStatus.SUBMITTED
    data.optimal_positions.add("s0", CODES[0], T0 + pd.Timedelta(seconds=1), 0, 0, 100.0,
                               "202403", T0)
    assert update_strategy_orders(data).ok
    stack_handler_pass(data, contracts=contracts, execution={"default_algo": "market"})
    assert env.cancels == [OrderStatus.PENDING_CANCEL.value]
