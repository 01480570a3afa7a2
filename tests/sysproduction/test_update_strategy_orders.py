"""update_strategy_orders on real stores (SQLite and MongoDB): buffering, netting against the
stack, overrides, position limits, pluggable generators, no duplicate on a rerun."""
from __future__ import annotations

import pandas as pd

from sysobjects.orders.orders import InstrumentOrder
from sysobjects.orders.records import Fill
from sysobjects.orders.status import OrderEventType, OrderStatus
from sysproduction.update_strategy_orders import update_strategy_orders

NOW = pd.Timestamp("2024-01-02 12:00", tz="UTC")


def optimal(data, lower, upper, strategy="trend", code="CORN"):
    data.optimal_positions.add(strategy, code, data.now(), lower, upper, 455.25, "20240300",
                               "2024-01-02")
    data.clock.current += pd.Timedelta(minutes=1)


def orders(data, **where):
    return data.order_stack("instrument").orders(where or None)


def test_buffered_order_and_rerun_adds_nothing(backend_blob):
    data = backend_blob
    optimal(data, 2.4, 3.6)
    report = update_strategy_orders(data)
    assert report.ok, str(report)
    [order] = orders(data)
    assert (order.strategy_name, order.instrument_code, order.trade) == ("trend", "CORN", 2)
    assert order.reference_price == 455.25 and order.reference_contract == "20240300"
    # a rerun (e.g. after a crash just after the add) finds the order and adds none
    report = update_strategy_orders(data)
    assert report.ok and "no trade needed" in str(report)
    assert len(orders(data)) == 1


def test_inside_buffer_no_trade(backend_blob):
    data = backend_blob
    data.positions.set_strategy_position("trend", "CORN", 3, NOW)
    optimal(data, 2.4, 3.6)
    assert update_strategy_orders(data).ok
    assert orders(data) == []


def test_above_upper_sells_to_round_upper(backend_blob):
    data = backend_blob
    data.positions.set_strategy_position("trend", "CORN", 6, NOW)
    optimal(data, 2.4, 3.6)
    update_strategy_orders(data)
    assert [o.trade for o in orders(data)] == [-2]


def test_shortfall_is_topped_up_not_duplicated(backend_blob):
    data = backend_blob
    optimal(data, 1.0, 1.2)
    update_strategy_orders(data)
    optimal(data, 3.0, 3.2)
    update_strategy_orders(data)
    assert sorted(o.trade for o in orders(data)) == [1, 2]
    update_strategy_orders(data)
    assert sorted(o.trade for o in orders(data)) == [1, 2]


def test_partial_fill_counts_once(backend_blob):
    """A part-filled working order: its filled part is in the position (a ledger fill), only
    its unfilled rest is netted, so a rerun adds nothing and a bigger target tops up."""
    data = backend_blob
    optimal(data, 3.0, 3.0)
    update_strategy_orders(data)
    [order] = orders(data)
    stack = data.order_stack("instrument")
    stack.apply_event(order.order_id, OrderEventType.SENT, NOW, "spawned", {"children": [1]})
    data.ledger.book_fill(Fill("exec-1", "CORN", "20240300", 1, 455.0, NOW,
                               strategy_name="trend", instrument_order_id=order.order_id))
    assert data.positions.get_strategy_position("trend", "CORN") == 1
    assert orders(data)[0].filled == 1
    assert "no trade needed" in str(update_strategy_orders(data))
    optimal(data, 5.0, 5.0)
    update_strategy_orders(data)
    assert sorted(o.trade for o in orders(data)) == [2, 3]
    # too far now: the spawned order gets a cancel request, nothing new
    optimal(data, 1.0, 1.0)
    update_strategy_orders(data)
    assert {o.status for o in orders(data)} == {OrderStatus.PENDING_CANCEL,
                                                OrderStatus.CANCELLED}


def test_reversal_cancels_unspawned_then_places_new(backend_blob):
    data = backend_blob
    optimal(data, 2.0, 2.0)
    update_strategy_orders(data)
    [first] = orders(data)
    optimal(data, -2.0, -2.0)
    report = update_strategy_orders(data)
    assert "cancel" in str(report)
    assert data.order_stack("instrument").get_order(first.order_id).status \
        is OrderStatus.CANCELLED
    assert orders(data, status="INITIALIZED") == []
    update_strategy_orders(data)
    [new] = orders(data, status="INITIALIZED")
    assert new.trade == -2


def test_spawned_order_gets_cancel_request_and_nothing_new_meanwhile(backend_blob):
    data = backend_blob
    optimal(data, 2.0, 2.0)
    update_strategy_orders(data)
    [first] = orders(data)
    data.order_stack("instrument").apply_event(first.order_id, OrderEventType.SENT, NOW,
                                               "spawned", {"children": [7]})
    optimal(data, 0.0, 0.0)
    update_strategy_orders(data)
    assert data.order_stack("instrument").get_order(first.order_id).status \
        is OrderStatus.PENDING_CANCEL
    optimal(data, -3.0, -3.0)
    report = update_strategy_orders(data)
    assert "waiting for cancels" in str(report)
    assert len(orders(data)) == 1


def test_overrides_multiply(backend_blob):
    data = backend_blob
    data.overrides.set("instrument", "CORN", 0.5)
    data.overrides.set("strategy", "trend", 0.5)
    optimal(data, 9.0, 9.0)
    update_strategy_orders(data)
    assert [o.trade for o in orders(data)] == [2]  # trunc(9 * 0.25)


def test_zero_override_closes(backend_blob):
    data = backend_blob
    data.positions.set_strategy_position("trend", "CORN", 4, NOW)
    data.overrides.set("strategy_instrument", "trend/CORN", 0.0)
    optimal(data, 6.0, 6.0)
    update_strategy_orders(data)
    assert [o.trade for o in orders(data)] == [-4]


def test_most_conservative_position_limit_wins(backend_blob):
    data = backend_blob
    data.positions.set_strategy_position("other", "CORN", 3, NOW)
    data.position_limits.set_limit("CORN", 5)  # all strategies: 3 held elsewhere
    data.position_limits.set_limit("CORN", 4, strategy_name="trend")
    optimal(data, 10.0, 10.0)
    update_strategy_orders(data)
    assert [o.trade for o in orders(data)] == [2]


def test_reducing_trade_passes_limit(backend_blob):
    data = backend_blob
    data.positions.set_strategy_position("trend", "CORN", 8, NOW)
    data.position_limits.set_limit("CORN", 2, strategy_name="trend")
    optimal(data, 5.0, 5.0)
    update_strategy_orders(data)
    assert [o.trade for o in orders(data)] == [-3]


class DoubleGenerator:
    def required_trade(self, strategy_name, instrument_code, position, optimal):
        return 2 * int(optimal["upper"]) - position


def test_pluggable_generator_and_bad_path(backend_blob):
    data = backend_blob
    optimal(data, 1.0, 1.0, strategy="trend")
    optimal(data, 1.0, 1.0, strategy="carry")
    report = update_strategy_orders(data, generators={
        "trend": f"{__name__}.DoubleGenerator", "carry": "no.such.Generator"})
    assert "trend/CORN" in report.results
    assert "carry/CORN" in report.failures and "not found" in report.failures["carry/CORN"]
    assert [(o.strategy_name, o.trade) for o in orders(data)] == [("trend", 2)]


def test_roll_orders_are_not_netted(backend_blob):
    data = backend_blob
    stack = data.order_stack("instrument")
    stack.add_order(InstrumentOrder(order_id=stack.new_order_id(), strategy_name="trend",
                                    instrument_code="CORN", trade=0, roll_order=True), NOW)
    optimal(data, 1.0, 1.0)
    update_strategy_orders(data)
    assert sorted(o.trade for o in orders(data)) == [0, 1]


def test_control_config_process_runs_it_with_arguments(systrade_home):
    """The shipped control config names the process; a private config passes generators."""
    import functools

    from syscore.config import load_control_config
    from sysproduction.run_process import method_function
    from tests.blob_helpers import make_blob

    shipped = load_control_config(systrade_home).process_configuration
    method = shipped["run_strategy_order_generator"].methods["update_strategy_orders"]
    assert method_function("update_strategy_orders", method.function) is update_strategy_orders
    (systrade_home / "private" / "private_control_config.yaml").write_text(
        "process_configuration:\n  run_strategy_order_generator:\n    methods:\n"
        "      update_strategy_orders:\n"
        "        function: sysproduction.update_strategy_orders.update_strategy_orders\n"
        f"        arguments: {{generators: {{trend: {__name__}.DoubleGenerator}}}}\n")
    method = load_control_config(systrade_home).process_configuration[
        "run_strategy_order_generator"].methods["update_strategy_orders"]
    data = make_blob(systrade_home)
    try:
        optimal(data, 1.0, 1.0)
        run = functools.partial(method_function("update_strategy_orders", method.function),
                                data=data, **method.arguments)
        assert run().ok
        assert [o.trade for o in orders(data)] == [2]
    finally:
        data.close()
