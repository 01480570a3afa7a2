import json

from sysproduction.system_status import collect_status, format_status
from tests.blob_helpers import FixedClock, make_blob


def test_status_shows_positions_breaks_locks_and_alerts(tmp_path):
    blob = make_blob(tmp_path / "home", clock=FixedClock("2024-03-07 21:00"))
    now = blob.now()
    blob.positions.set_strategy_position("trend", "CORN", 3, now)
    blob.positions.set_contract_position("CORN", "20240500", 3, now)
    blob.locks.lock("GOLD", now, "position break")
    blob.alerts.add("Price spike in CORN", "spike", now)
    blob.trading_state.set("HALTED", "exchange outage", now)
    status = collect_status(blob)
    json.dumps(status)  # plain data, for --json
    corn = next(r for r in status["positions"]["instruments"] if r["instrument"] == "CORN")
    assert corn["strategies"] == {"trend": 3} and corn["contracts"] == {"202405": 3}
    assert corn["broker"] == {}  # the simulated broker holds nothing: a break
    assert status["positions"]["breaks"] == [
        {"instrument": "CORN", "contract": "202405", "ours": 3, "broker": 0}]
    assert status["locks"] == ["GOLD"]
    assert status["working_orders"] == {"instrument": 0, "contract": 0, "broker": 0}
    assert status["alerts"]["undelivered"] == 1
    assert any(p["name"] == "run_systems" for p in status["processes"])
    text = format_status(status)
    assert "breaks: 1" in text and "CORN 202405: ours 3, broker 0" in text
    assert "locks: GOLD" in text and "alerts not yet e-mailed: 1" in text
    assert status["trading_state"] == "HALTED" and "trading state: HALTED" in text
    blob.close()


def test_a_part_that_fails_is_reported_not_fatal(tmp_path):
    def broken_broker(blob):
        raise ConnectionError("gateway down")

    blob = make_blob(tmp_path / "home", broker_factory=broken_broker)
    status = collect_status(blob)
    assert status["positions"]["broker_error"] == "ConnectionError: gateway down"
    assert "broker positions unavailable: ConnectionError: gateway down" in format_status(status)
    blob.close()


def test_systrade_status_json_and_tables(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    home = tmp_path / "home"
    blob = make_blob(home, clock=FixedClock("2024-03-07 21:00"))
    blob.locks.lock("GOLD", blob.now(), "position break")
    import pandas as pd  # both stores hold data, as a used home's do

    blob.timeseries.write("adjusted_prices", "CORN", pd.DataFrame(
        {"price": [1.0]}, index=pd.DatetimeIndex(["2024-03-07"], tz="UTC")))
    blob.close()
    env = {**os.environ, "SYSTRADE_HOME": str(home), "PYTHONPATH": str(root)}
    cli = "import sys; from syscore.cli import main; sys.exit(main(sys.argv[1:]))"
    result = subprocess.run([sys.executable, "-c", cli, "status", "--json"], cwd=root, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    parsed = json.loads(result.stdout)
    assert parsed["configuration"]["broker"] == "sim"
    assert parsed["state"]["locks"] == ["GOLD"]
    assert {p["name"] for p in parsed["state"]["processes"]} >= {"run_systems", "run_backups"}
    tables = subprocess.run([sys.executable, "-c", cli, "status"], cwd=root, env=env,
                            capture_output=True, text=True, timeout=300)
    assert tables.returncode == 0 and "locks: GOLD" in tables.stdout
    assert "processes" in tables.stdout and "breaks: 0" in tables.stdout


def test_status_counts_the_days_orders_and_fills_and_shows_optimal_ranges(tmp_path):
    import pandas as pd

    from sysobjects.orders.orders import InstrumentOrder
    from sysobjects.orders.records import Fill
    from sysproduction.system_status import format_positions

    blob = make_blob(tmp_path / "home", clock=FixedClock("2024-03-07 21:00"))
    yesterday, today = pd.Timestamp("2024-03-06 15:00", tz="UTC"), blob.now()
    stack = blob.order_stack("instrument")
    for when, trade in ((yesterday, 1), (today, 2)):
        stack.add_order(InstrumentOrder(order_id=stack.new_order_id(), strategy_name="trend",
                                        instrument_code="CORN", trade=trade,
                                        generated_datetime=when), when)
    for n, (when, qty) in enumerate(((yesterday, 1), (today, 2), (today, -1))):
        blob.ledger.book_fill(Fill(f"x{n}", "CORN", "20240500", qty, 400.0, when,
                                   strategy_name="trend"))
    blob.optimal_positions.add("trend", "CORN", today, 1.5, 2.5, 400.0, "20240500", today)
    status = collect_status(blob)
    assert status["trades"]["instruments"] == {"CORN": {"orders": 1, "fills": 2, "filled": 1}}
    assert status["optimal"] == {"CORN": {"trend": [1.5, 2.5]}}
    assert status["positions"]["internal_breaks"] == []  # fills move both sides
    text = "\n".join(format_positions(status))
    assert "trend:1.50..2.50" in text and "since 2024-03-07T00:00" in text
    assert "breaks: 1" in text  # the simulated broker holds nothing
    blob.positions.set_contract_position("CORN", "20240500", 0, today, "wrong")
    internal = collect_status(blob)["positions"]["internal_breaks"]
    assert internal == [{"instrument": "CORN", "strategies": 2, "contracts": 0}]
    blob.close()


def test_working_orders_lists_unfinished_orders_per_stack(tmp_path):
    import pandas as pd

    from sysobjects.orders.orders import InstrumentOrder
    from sysobjects.orders.status import OrderEventType
    from sysproduction.system_status import working_orders

    blob = make_blob(tmp_path / "home", clock=FixedClock("2024-03-07 21:00"))
    stack = blob.order_stack("instrument")
    when = pd.Timestamp("2024-03-07 20:00", tz="UTC")
    for trade in (2, -1):
        stack.add_order(InstrumentOrder(order_id=stack.new_order_id(), strategy_name="trend",
                                        instrument_code="CORN", trade=trade,
                                        generated_datetime=when), when)
    stack.apply_event(1, OrderEventType.REJECTED, when)  # finished: no longer working
    rows = working_orders(blob)
    assert rows["contract"] == [] and rows["broker"] == []
    assert [(r["order_id"], r["trade"], r["filled"], r["generated"][:16])
            for r in rows["instrument"]] == [(2, "-1", "+0", "2024-03-07T20:00")]
    assert collect_status(blob)["working_orders"] == {"instrument": 1, "contract": 0,
                                                      "broker": 0}
    blob.close()


def test_systrade_status_exits_1_naming_the_breaks(tmp_path):
    """A position break is a failure cron and monitoring must see: exit 1, one stderr line,
    the tables still printed (it exited 0 before)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import pandas as pd

    root = Path(__file__).resolve().parents[2]
    home = tmp_path / "home"
    blob = make_blob(home, clock=FixedClock("2024-03-07 21:00"))
    now = blob.now()
    blob.timeseries.write("adjusted_prices", "CORN", pd.DataFrame(
        {"price": [1.0]}, index=pd.DatetimeIndex(["2024-03-07"], tz="UTC")))
    blob.positions.set_strategy_position("trend", "CORN", 3, now)
    blob.positions.set_contract_position("CORN", "20240500", 2, now)  # broker holds nothing
    blob.close()
    env = {**os.environ, "SYSTRADE_HOME": str(home), "PYTHONPATH": str(root)}
    cli = "import sys; from syscore.cli import main; sys.exit(main(sys.argv[1:]))"
    result = subprocess.run([sys.executable, "-c", cli, "status"], cwd=root, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr
    assert "breaks: 2" in result.stdout
    errors = [line for line in result.stderr.strip().splitlines()
              if line.startswith("systrade status")]  # the others: the stores' adoption notices
    assert len(errors) == 1 and "Traceback" not in result.stderr
    assert errors[0].startswith("systrade status: 2 position breaks: ")
    assert "CORN 202405: ours 2, broker 0" in errors[0]
    assert "CORN: strategies 3, contracts 2" in errors[0]
