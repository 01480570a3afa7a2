"""Property tests: whatever the interleaving, duplication or replay of fill deliveries and order
events (and writers dying before their projection update), positions are the sum of the unique
fills and an order's filled quantity the sum of its fills; on SQLite and MongoDB."""
from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syscore.exceptions import InvalidTransition
from sysdata.ledger import LedgerData
from sysdata.orders import OrderStackData
from sysdata.positions import PositionData
from sysdata.state.mongo_store import MongoStateStore
from sysdata.state.sqlite_store import SqliteStateStore
from sysobjects.orders.orders import BrokerOrder, Leg
from sysobjects.orders.records import Fill
from sysobjects.orders.status import BROKER_TRANSITIONS, OrderEventType, OrderStatus

STRATEGIES = ["trend", "carry", None]
CONTRACTS = ["202403", "202406"]
ORDERS = [1, 2, 3]


def make_pool(draw_specs):
    return [Fill(f"x{i:04d}.01", "CORN", contract, qty, 100.0 + i, "2024-01-02 10:00",
                 strategy, broker_order_id=order, contract_order_id=order)
            for i, (strategy, contract, order, qty) in enumerate(draw_specs)]


fill_specs = st.lists(st.tuples(st.sampled_from(STRATEGIES), st.sampled_from(CONTRACTS),
                                st.sampled_from(ORDERS),
                                st.integers(-5, 5).filter(lambda q: q != 0)),
                      min_size=1, max_size=12)
operations = st.lists(st.one_of(
    st.tuples(st.just("fill"), st.integers(0, 50), st.booleans(), st.integers(0, 1)),
    st.tuples(st.just("event"), st.sampled_from(list(OrderEventType)), st.sampled_from(ORDERS),
              st.integers(0, 1)),
    st.tuples(st.just("read"), st.sampled_from(STRATEGIES[:2]), st.sampled_from(CONTRACTS),
              st.integers(0, 1)),
), max_size=40)


def run_property(store, specs, ops):
    pool = make_pool(specs)
    writers = [LedgerData(store), LedgerData(store)]  # two processes
    stacks = [OrderStackData(store, "broker", w) for w in writers]
    positions = [PositionData(store, w) for w in writers]
    for order_id in ORDERS:
        stacks[0].add_order(BrokerOrder(order_id=order_id, strategy_name="trend",
                                        instrument_code="CORN",
                                        legs=tuple(Leg(c, 10) for c in CONTRACTS)),
                            "2024-01-02")
    model = {order_id: OrderStatus.INITIALIZED for order_id in ORDERS}
    delivered: set[int] = set()
    for op in ops:
        if op[0] == "fill":
            _, index, crash, who = op
            fill = pool[index % len(pool)]
            writers[who].append(fill, update_projections=not crash)
            delivered.add(index % len(pool))
        elif op[0] == "event":
            _, event, order_id, who = op
            expected = BROKER_TRANSITIONS.get((model[order_id], event))
            if expected is None:
                with pytest.raises(InvalidTransition):
                    stacks[who].apply_event(order_id, event, "2024-01-02", "property")
            else:
                stacks[who].apply_event(order_id, event, "2024-01-02", "property")
                model[order_id] = expected
        else:
            _, strategy, contract, who = op
            positions[who].get_strategy_position(strategy, "CORN")
            positions[who].get_contract_position("CORN", contract)
    unique = [pool[i] for i in sorted(delivered)]
    reader = PositionData(store, LedgerData(store))
    for strategy in STRATEGIES[:2]:
        expected = sum(f.quantity for f in unique if f.strategy_name == strategy)
        assert reader.get_strategy_position(strategy, "CORN") == expected
    for contract in CONTRACTS:
        expected = sum(f.quantity for f in unique if f.contract_date == contract)
        assert reader.get_contract_position("CORN", contract) == expected
    stack = OrderStackData(store, "broker")
    for order_id in ORDERS:
        order = stack.get_order(order_id)
        assert order.status is model[order_id]
        assert order.filled == tuple(
            sum(f.quantity for f in unique if f.broker_order_id == order_id
                and f.contract_date == c) for c in CONTRACTS)
    assert reader.ledger.check_projections(repair=False) == []


@settings(max_examples=60, deadline=None)
@given(fill_specs, operations)
def test_ledger_properties_sqlite(specs, ops):
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStateStore(Path(tmp) / "state.sqlite")
        try:
            run_property(store, specs, ops)
        finally:
            store.close()


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fill_specs, operations)
def test_ledger_properties_mongodb(mongo_url, specs, ops):
    store = MongoStateStore(f"{mongo_url}/p{uuid.uuid4().hex[:10]}")
    try:
        run_property(store, specs, ops)
    finally:
        store.drop_database()
        store.close()
