"""End to end on real stores and the simulated broker: optimal positions -> instrument orders
-> contract orders -> broker orders -> fills -> positions, families completed; cancels."""
from __future__ import annotations

import pandas as pd
import pytest

from syscore.exceptions import ConfigError
from sysobjects.orders.status import OrderStatus
from sysproduction.run_stack_handler import stack_handler_pass
from sysproduction.update_strategy_orders import update_strategy_orders

T0 = pd.Timestamp("2024-01-09 15:00", tz="UTC")
CODES = ("SP500_micro", "NASDAQ_micro")
CONTRACT = "202403"


def contracts(data, code):
    return CONTRACT, "202406"


@pytest.fixture
def env(sim_broker_env):
    return sim_broker_env


def run_until_quiet(data, clock, passes=10):
    for _ in range(passes):
        stack_handler_pass(data, contracts=contracts)
        if not any(data.order_stack(s).orders() for s in ("instrument", "contract", "broker")):
            return
        clock.advance(pd.Timedelta(minutes=2))
    raise AssertionError("orders still on the stacks: "
                         f"{[o.status for o in data.order_stack('broker').orders()]}")


def test_generation_to_completion(env):
    data, clock = env
    for code, target in zip(CODES, (3, -2), strict=True):
        data.optimal_positions.add("trend", code, T0, target, target, 100.0, CONTRACT, T0)
    assert update_strategy_orders(data).ok
    run_until_quiet(data, clock)
    broker = {(p.instrument_code, p.contract_date): p.quantity
              for p in data.broker.get_positions()}
    for code, target in zip(CODES, (3, -2), strict=True):
        assert data.positions.get_strategy_position("trend", code) == target
        assert data.positions.get_contract_position(code, CONTRACT) == target
        assert broker[(code, CONTRACT)] == target
    fills = {}
    for doc in data.ledger.records(0, None):
        if doc["kind"] == "fill":
            code = doc["record"]["instrument_code"]
            fills[code] = fills.get(code, 0) + doc["record"]["quantity"]
    assert fills == dict(zip(CODES, (3, -2), strict=True))  # strategy = contract = broker = fills
    assert not data.order_stack("broker").orders()  # no broker order left working
    history = data.order_stack("instrument").historic_orders()
    assert sorted(o.trade for o in history) == [-2, 3]
    # nothing more to do: a rerun of the generator adds nothing
    assert update_strategy_orders(data).ok
    assert data.order_stack("instrument").orders() == []


def test_cancel_of_a_working_order_reaches_the_broker(env):
    data, clock = env
    data.optimal_positions.add("trend", CODES[0], T0, 2, 2, 100.0, CONTRACT, T0)
    update_strategy_orders(data)
    stack_handler_pass(data, contracts=contracts)  # spawned and sent, not yet filled
    [sent] = data.order_stack("broker").orders()
    assert sent.status is OrderStatus.SUBMITTED
    data.optimal_positions.add("trend", CODES[0], T0 + pd.Timedelta(seconds=1), 0, 0, 100.0,
                               CONTRACT, T0)
    update_strategy_orders(data)
    run_until_quiet(data, clock)
    # whatever filled before the cancel took effect is in every position, once
    held = data.positions.get_strategy_position("trend", CODES[0])
    assert held == data.positions.get_contract_position(CODES[0], CONTRACT)
    broker = {(p.instrument_code, p.contract_date): p.quantity
              for p in data.broker.get_positions()}
    assert broker.get((CODES[0], CONTRACT), 0) == held


def test_control_config_names_the_pass(systrade_home):
    from syscore.config import load_control_config
    from sysproduction.run_process import method_function

    method = load_control_config(systrade_home).process_configuration[
        "run_stack_handler"].methods["stack_handler_pass"]
    assert method_function("stack_handler_pass", method.function) is stack_handler_pass


def test_break_locks_once_and_unlocks_itself(env):
    data, clock = env
    code = CODES[0]
    data.locks.lock(CODES[1], T0, "operator")  # a manual lock: never lifted by the handler
    data.positions.set_contract_position(code, CONTRACT, 1, T0, "a fill we booked wrongly")
    stack_handler_pass(data, contracts=contracts)
    stack_handler_pass(data, contracts=contracts)
    assert data.locks.is_locked(code)
    assert [a["subject"] for a in data.alerts.all()].count(f"position break: {code} locked") == 1
    data.positions.set_contract_position(code, CONTRACT, 0, T0, "repaired")
    out = stack_handler_pass(data, contracts=contracts)
    assert not data.locks.is_locked(code) and code in out["reconciliation"]
    assert data.locks.is_locked(CODES[1])


def test_a_pass_reads_as_one_line_for_people_not_a_dict(env):
    data, _ = env
    data.positions.set_contract_position(CODES[0], CONTRACT, 1, T0, "a fill we booked wrongly")
    out = stack_handler_pass(data, contracts=contracts)
    text = str(out)
    assert out["fills"] == "0 booked, 0 not ours"  # the steps are still there by name
    assert "{" not in text and "[" not in text and "'" not in text, text
    assert text.startswith("roll orders: none; spawned: none; fills: 0 booked, 0 not ours; "
                           "orders: 0 adopted, 0 orphans (0 cancelled), 0 vanished; "
                           f"reconciliation: locked {CODES[0]}, unlocked none; "), text
    assert text.endswith("; completed: none; spreads: 0 sampled"), text


def test_end_of_day_is_the_completion_method_and_clears_the_stacks(env):
    from syscore.config import load_control_config
    from sysproduction.run_process import method_function
    from sysproduction.run_stack_handler import stack_handler_end_of_day

    data, clock = env
    method = load_control_config(data.home).process_configuration[
        "run_stack_handler"].methods["stack_handler_end_of_day"]
    assert method.run_on_completion_only
    assert method_function("stack_handler_end_of_day", method.function) \
        is stack_handler_end_of_day
    data.optimal_positions.add("trend", CODES[0], T0, 2, 2, 100.0, CONTRACT, T0)
    update_strategy_orders(data)
    stack_handler_pass(data, contracts=contracts)  # sent, in flight at the broker
    report = stack_handler_end_of_day(
        data, sleep=lambda s: clock.advance(pd.Timedelta(seconds=s)))
    assert report.ok, report
    assert not any(data.order_stack(s).orders() for s in ("instrument", "contract", "broker"))
    held = data.positions.get_strategy_position("trend", CODES[0])
    broker = {(p.instrument_code, p.contract_date): p.quantity
              for p in data.broker.get_positions()}
    assert held == data.positions.get_contract_position(CODES[0], CONTRACT) \
        == broker.get((CODES[0], CONTRACT), 0)
    assert not data.alerts.all()


def test_a_pass_cancels_an_orphan_and_alerts_once(env):
    data, clock = env
    theirs = data.broker.place_order(CODES[0], CONTRACT, 1, client_ref="by hand")
    out = stack_handler_pass(data, contracts=contracts)
    assert out["orders"] == "0 adopted, 1 orphans (1 cancelled), 0 vanished"
    clock.advance(pd.Timedelta(seconds=1))
    stack_handler_pass(data, contracts=contracts)
    subjects = [a["subject"] for a in data.alerts.all()]
    assert subjects.count(f"orphan broker order {theirs.order_id} cancelled") == 1
    assert data.broker.get_order(theirs.order_id).status.value == "CANCELLED"


def test_a_bad_execution_setting_is_one_config_error(env):
    data, _ = env
    with pytest.raises(ConfigError, match="passive_seconds"):
        stack_handler_pass(data, contracts=contracts, execution={"passive_seconds": -1})
    with pytest.raises(ConfigError, match="unknown key 'algo'"):
        stack_handler_pass(data, contracts=contracts, execution={"algo": "best"})
