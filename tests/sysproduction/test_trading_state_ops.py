"""The persisted trading state: read by the stack handler at every pass, set with
``systrade trading-state`` (audited), shown with its history."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from sysobjects.orders.orders import ContractOrder, InstrumentOrder, Leg
from sysobjects.trading_state import TradingState
from sysproduction.run_stack_handler import pass_trading_state, stack_handler_pass
from sysproduction.trading_state_ops import set_trading_state, show_trading_state
from tests.blob_helpers import SIM_START, make_blob

CODE, CONTRACT = "SP500_micro", "202403"
CLI = "import sys; from syscore.cli import main; sys.exit(main(sys.argv[1:]))"


@pytest.fixture
def env(sim_broker_env):
    return sim_broker_env


def contracts(data, code):
    return CONTRACT, "202406"


def contract_order(data, trade):
    istack, cstack = data.order_stack("instrument"), data.order_stack("contract")
    parent = istack.add_order(InstrumentOrder(order_id=istack.new_order_id(),
                                              strategy_name="trend", instrument_code=CODE,
                                              trade=trade), SIM_START)
    return cstack.add_order(ContractOrder(order_id=cstack.new_order_id(), strategy_name="trend",
                                          instrument_code=CODE, parent_id=parent.order_id,
                                          legs=(Leg(CONTRACT, trade),)), SIM_START)


def test_the_handler_reads_the_persisted_state_at_every_pass(env):
    data, _ = env
    order = contract_order(data, 2)
    set_trading_state(data, "HALTED", "exchange outage", changed_by="alice")
    out = stack_handler_pass(data, contracts=contracts)
    assert out["broker orders"] == "0 sent, 0 adopted, 1 denied"
    denied = data.order_stack("contract").get_order(order.order_id)
    assert denied.reason == "pre-trade gate: trading state HALTED"
    assert data.broker.get_orders() == []
    set_trading_state(data, "ACTIVE", "outage over")  # while the handler "runs"
    out = stack_handler_pass(data, contracts=contracts)
    assert out["broker orders"].startswith("1 sent")
    assert len(data.broker.get_orders()) == 1


def test_an_argument_only_makes_the_state_stricter(env):
    data, _ = env
    assert pass_trading_state(data) is TradingState.ACTIVE
    assert pass_trading_state(data, "REDUCING") is TradingState.REDUCING
    set_trading_state(data, "HALTED", "stop")
    assert pass_trading_state(data, "ACTIVE") is TradingState.HALTED
    assert pass_trading_state(data, "REDUCING") is TradingState.HALTED


def test_show_lists_the_changes(env):
    data, _ = env
    assert show_trading_state(data).startswith("trading state: ACTIVE\n(never set")
    set_trading_state(data, "reducing", "margin call", changed_by="bob")
    text = show_trading_state(data)
    assert text.splitlines()[0] == "trading state: REDUCING"
    assert "ACTIVE -> REDUCING by bob: margin call" in text


def run_cli(home, *words):
    env = {**os.environ, "SYSTRADE_HOME": str(home)}
    return subprocess.run([sys.executable, "-c", CLI, *words], capture_output=True,
                          text=True, env=env, timeout=120)


def test_cli_show_and_set(tmp_path):
    home = tmp_path / "home"
    make_blob(home).close()
    no_reason = run_cli(home, "trading-state", "set", "HALTED")
    assert no_reason.returncode == 2 and "--reason" in no_reason.stderr
    bad = run_cli(home, "trading-state", "set", "PAUSED", "--reason", "x")
    assert bad.returncode == 2 and "unknown trading state 'PAUSED'" in bad.stderr
    assert "Traceback" not in bad.stderr
    done = run_cli(home, "trading-state", "set", "halted", "--reason", "broker outage")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "trading state ACTIVE -> HALTED: broker outage"
    again = run_cli(home, "trading-state", "set", "HALTED", "--reason", "again")
    assert again.returncode == 0 and "already HALTED" in again.stdout
    shown = run_cli(home, "trading-state", "show")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[0] == "trading state: HALTED"
    assert "broker outage" in shown.stdout and "again" not in shown.stdout
    with make_blob(home) as data:  # persisted in the home's state store
        assert data.trading_state.current() is TradingState.HALTED
