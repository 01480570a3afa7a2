"""The order-stack console driven by scripted answers on real stores (SQLite, MongoDB) and
the simulated broker: every option reachable, confirmations honoured, bad input one line,
end of input exits."""
from __future__ import annotations

import re

import pandas as pd
import pytest

from syscore.menu import Menu
from sysobjects.trading_state import TradingState
from sysproduction.interactive_order_stack import (
    ACTIONS,
    MENU,
    interactive_order_stack,
    order_stack_menu,
)
from tests.sysproduction.console_helpers import ScriptedAsk

CODE, PRICED = "SP500_micro", "202403"


@pytest.fixture
def env(sim_broker_env):
    return sim_broker_env


def run(data, *answers):
    """Run the console with ``answers`` then end of input; returns everything shown."""
    ask = ScriptedAsk(*answers)
    shown: list[str] = []

    def eof_after_script(prompt):
        if not ask.answers:
            raise EOFError
        return ask(prompt)

    interactive_order_stack(data, ask=eof_after_script, out=shown.append)
    return "\n".join(shown)


def test_every_option_is_on_the_menu_and_the_menu_has_no_dead_entries():
    listed = set(re.findall(r"\b(\d{2})\b", MENU))
    assert listed == set(ACTIONS)
    assert {"10", "11", "12", "13", "14", "15", "16", "20", "21", "22", "23", "24", "25",
            "26", "30", "31", "32", "33", "40", "41", "42", "43", "44", "45", "46", "50", "51", "52"} <= set(ACTIONS)


def test_the_console_is_a_menu_of_the_framework_keeping_the_codes():
    menu = order_stack_menu(None)
    assert isinstance(menu, Menu)
    assert [key for key, _ in menu.walk()] == list(ACTIONS)  # the codes, in menu order
    assert MENU == menu.render(top=True)
    assert "\n view\n  10 an order, with its events\n" in MENU and MENU.endswith("  0 exit")


def test_0_at_a_stack_choice_cancels_the_option(env):
    data, _ = env
    run(data, "25", "trend", CODE, PRICED, "1", "n", "", "", "", "y", "0")
    text = run(data, "51", "0", "60", "0")
    assert "cancelled: nothing done" in text and "trading state: ACTIVE" in text
    assert data.order_stack("instrument").orders()  # nothing deleted


def test_end_of_input_exits_cleanly(env):
    data, _ = env

    def eof(prompt):
        raise EOFError

    interactive_order_stack(data, ask=eof, out=lambda text: None)  # returns, no exception
    # EOF in the middle of an action too
    run(data, "25", "trend")
    assert data.order_stack("instrument").orders() == []


def test_views_run_on_empty_stacks(env):
    data, _ = env
    text = run(data, "11", "12", "13", "14", "15", "16", "60", "0")
    for expected in ("(no instrument orders)", "(no broker orders)", "orders at the broker:",
                     "position breaks:", "optimal positions:", "broker positions:",
                     "trading state: ACTIVE"):
        assert expected in text


def test_manual_trade_to_completion_through_the_menu(env):
    data, clock = env
    text = run(data, "25", "trend", CODE, PRICED, "2", "n", "", "", "", "y", "11", "12",
               "22", "y", "13", "0")
    assert "manual trade: instrument order 1, contract order 1" in text
    assert "trading state ACTIVE: 1 sent" in text
    [order] = data.order_stack("broker").orders()
    assert order.manual_trade
    clock.advance(pd.Timedelta(minutes=5))
    text = run(data, "30", "31", "32", "16", "0")
    assert "2 fills booked" in text or "1 fills booked" in text
    assert "completed instrument orders: 1" in text
    assert data.positions.get_strategy_position("trend", CODE) == 2
    assert "trend     SP500_micro  2" in text


def test_balance_trade_needs_a_yes_and_clears_the_break(env):
    data, clock = env
    data.broker.place_order(CODE, PRICED, 1)
    clock.advance(pd.Timedelta(minutes=5))
    price = data.broker.get_positions()[0].average_price
    answers = ("23", "trend", CODE, PRICED, "1", str(price), "", "missed fill")
    text = run(data, *answers, "n", "0")
    assert f"{CODE} {PRICED}: ours 0, broker 1" in text and "nothing booked" in text
    assert data.ledger.head() == 0
    text = run(data, *answers, "y", "15", "0")
    assert "balance trade booked as balance." in text
    assert "position breaks:\n  none\nlocked instruments:\n  none" in text
    assert data.positions.get_contract_position(CODE, PRICED) == 1


def test_delete_needs_the_typed_phrase(env):
    data, _ = env
    run(data, "25", "trend", CODE, PRICED, "1", "n", "", "", "", "y", "0")
    text = run(data, "51", "instrument", "1", "delete 1", "0")
    assert "nothing deleted" in text and data.order_stack("instrument").orders()
    text = run(data, "50", "contract", "DELETE CONTRACT STACK", "typo", "51", "instrument",
               "1", "DELETE 1", "typo", "0")
    assert "deleted 1 orders" in text and "instrument order 1: COMPLETED" in text
    assert data.order_stack("instrument").orders() == []


def test_trading_state_set_from_the_console_stops_sending(env):
    data, _ = env
    text = run(data, "61", "halted", "broker outage", "n", "0")  # refused: nothing changes
    assert "nothing changed" in text and data.trading_state.current() is TradingState.ACTIVE
    text = run(data, "61", "halted", "broker outage", "y", "25", "trend", CODE, PRICED, "1", "n",
               "", "", "", "y", "22", "y", "0")
    assert "trading state ACTIVE -> HALTED" in text
    assert "trading state HALTED: 0 sent" in text and "trading state HALTED" in text
    assert data.trading_state.current() is TradingState.HALTED
    assert data.broker.get_orders() == []


def test_locks_and_netting_through_the_menu(env):
    data, _ = env
    text = run(data, "43", CODE, "checking", "y", "15", "43", CODE, "y", "44", "drill", "y",
               "45", "y", "41", "y", "0")
    assert f"{CODE} locked" in text and f"{CODE}: checking" in text
    assert f"{CODE} unlocked" in text and "nothing to net" in text
    assert data.locks.locked_instruments() == []


def test_bad_input_is_one_line_and_the_menu_goes_on(env):
    data, _ = env
    text = run(data, "99", "10", "42", "25", "trend", CODE, "209912", "1", "n", "", "", "",
               "y", "60", "0")
    assert "unknown choice '99'" in text
    assert "error: no order 42 on any stack" in text
    assert "error: SP500_micro 209912" in text
    assert "trading state: ACTIVE" in text  # still running after the errors


def test_the_other_operations_through_the_menu(env):
    data, _ = env
    text = run(data, "24", "trend", CODE, "3", "moved from carry", "y",
               "26", "eur", "usd", "1000", "", "y",
               "20", "21",
               "25", "trend", CODE, PRICED, "1", "n", "", "", "", "y",
               "42", "contract", "1", "checking", "y", "42", "contract", "1", "checked", "y",
               "46", "1", "stuck algo",
               "22", "y", "40", "1", "mistake", "y",
               "52", "y", "0")
    assert data.positions.get_strategy_position("trend", CODE) == 3
    assert "done: simfx." in text
    assert "contract orders): none" in text
    lines = text.splitlines()  # option 42 on contract order 1: locked, then unlocked
    assert "locked" in lines and "unlocked" in lines
    assert lines.index("locked") < lines.index("unlocked")
    assert "error: contract order 1 is not controlled by an algo" in text
    assert "broker order 1: PENDING_CANCEL" in text
    assert "end of day: 1 instrument orders cancelled" in text
    assert data.order_stack("instrument").orders() == []


def test_run_from_the_command_line_exits_at_end_of_input(tmp_path):
    import os
    import subprocess
    import sys

    from tests.blob_helpers import make_blob

    home = tmp_path / "home"
    make_blob(home).close()
    cli = "import sys; from syscore.cli import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run([sys.executable, "-c", cli, "run",
                           "sysproduction.interactive_order_stack.interactive_order_stack"],
                          input="11\n", capture_output=True, text=True, timeout=120,
                          env={**os.environ, "SYSTRADE_HOME": str(home)})
    assert done.returncode == 0, done.stderr
    assert "(no instrument orders)" in done.stdout and "Traceback" not in done.stderr


def test_every_option_is_documented():
    from pathlib import Path

    text = Path(__file__).resolve().parents[2].joinpath("docs", "execution.md").read_text()
    part = text[text.index("## The order-stack console"):]
    rows = re.findall(r"^\| ([\d, ]+) \|", part, flags=re.M)
    documented = {code.strip() for row in rows for code in row.split(",")}
    assert documented == set(ACTIONS)


def test_manual_instrument_trade_and_manual_fill_through_the_menu(env):
    data, _ = env
    text = run(data, "25", "trend", CODE, "", "-2", "", "", "y",
               "25", "trend", CODE, PRICED, "2", "n", "", "", "", "y",
               "33", "contract", "1", "2", "4800", "by phone", "y", "31", "0")
    assert "manual trade: instrument order 1 (spawned by roll state)" in text
    order = data.order_stack("instrument").get_order(1)
    assert order.manual_trade and order.trade == -2 and not order.children
    assert "booked as manual.contract.0000000001.1" in text
    assert data.positions.get_strategy_position("trend", CODE) == 2
    assert data.order_stack("contract").get_order(1).status.value == "FILLED"


def test_spawn_and_force_roll_through_the_menu(env):
    from sysobjects.orders.orders import InstrumentOrder

    data, _ = env
    now = data.now()
    for code in (CODE, "NASDAQ_micro"):
        data.multiple_prices.write(code, pd.DataFrame(
            {"PRICE": [4800.0], "PRICE_CONTRACT": ["20240300"], "FORWARD": [4850.0],
             "FORWARD_CONTRACT": ["20240600"], "CARRY": [4850.0],
             "CARRY_CONTRACT": ["20240600"]}, index=pd.DatetimeIndex([now])))
    data.roll_states.set(CODE, "No_Roll")
    data.roll_states.set("NASDAQ_micro", "Force")
    data.positions.set_contract_position("NASDAQ_micro", PRICED, 2, now, "held")
    stack = data.order_stack("instrument")
    stack.add_order(InstrumentOrder(order_id=stack.new_order_id(), strategy_name="trend",
                                    instrument_code=CODE, trade=1), now)
    text = run(data, "20", "21", "12", "0")
    assert "spawned (instrument order -> contract orders): 1 -> 1" in text
    assert "force-roll orders (instrument -> contract orders): NASDAQ_micro -> 2" in text
    legs = {o.order_id: [(leg.contract_date, leg.trade) for leg in o.legs]
            for o in data.order_stack("contract").orders()}
    assert legs == {1: [(PRICED, 1)], 2: [(PRICED, -2), ("202406", 2)]}


def test_sending_and_netting_need_a_yes(env):
    data, _ = env
    text = run(data, "25", "trend", CODE, PRICED, "1", "n", "", "", "", "y", "22", "n",
               "41", "n", "0")
    assert "nothing sent" in text and "nothing netted" in text
    assert data.broker.get_orders() == [] and data.order_stack("broker").orders() == []


def test_netting_sees_a_dead_stack_handler_under_the_process_control_host_name(env,
                                                                             monkeypatch):
    """The handler's lease records process control's host name (``SYSTRADE_HOST``): the
    console reads it under the same name, so a handler that died on this host does not block
    netting until its lease expires."""
    import subprocess
    import sys

    from syscontrol.host import HOST_ENV
    from sysdata.leases import LeaseData
    from sysobjects.orders.orders import InstrumentOrder

    data, _ = env
    monkeypatch.setenv(HOST_ENV, "trading-host-a")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    handler = LeaseData(data.state, host="trading-host-a", pid=dead.pid)
    handler.take("process/run_stack_handler", "run_stack_handler", seconds=3600)
    stack = data.order_stack("instrument")
    for trade in (2, -1):
        stack.add_order(InstrumentOrder(order_id=stack.new_order_id(), strategy_name="trend",
                                        instrument_code=CODE, trade=trade), data.now())
    text = run(data, "41", "y", "0")
    assert "stop the stack handler" not in text
    assert "order 1: trade now 1; cancelled 2" in text
    assert {o.order_id: (o.trade, o.status.value) for o in stack.orders()} == {
        1: (1, "INITIALIZED"), 2: (-1, "CANCELLED")}
