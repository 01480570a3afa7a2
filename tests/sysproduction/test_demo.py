"""The demo runs end to end through process control in a fresh home and carries on where it
stopped."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

from sysdata.data_blob import DataBlob
from sysinit.demo import DEMO_START, run_demo
from sysproduction.blob import production_blob

ROOT = Path(__file__).resolve().parents[2]
CLI = "import sys; from syscore.cli import main; sys.exit(main(sys.argv[1:]))"
PROCESSES = ("run_auto_roll_status", "run_backups", "run_capital_update", "run_cleaners",
             "run_daily_fx_and_contract_updates", "run_daily_prices_updates",
             "run_daily_update_multiple_adjusted_prices", "run_reports", "run_stack_handler",
             "run_strategy_order_generator", "run_systems")


def totals(row: dict) -> int:
    return sum(row.values())


def test_demo_trades_resumes_and_fails_on_a_break(systrade_home):
    lines: list[str] = []
    result = run_demo(days=1, out=lines.append)
    text = "\n".join(lines)
    assert result.ok, result.problems
    # the strategy capital line names each strategy's capital (it used to stop at its header)
    assert "from total 1,000,000.00:\n  demo: 1,000,000.00\n" in text, text[:2000]
    # the demo traded: orders generated, executed on the simulated broker, fills booked
    assert result.trades["orders"] > 0 and result.trades["fills"] > 0, result.trades
    positions = result.status["positions"]
    assert positions["breaks"] == [] and positions["internal_breaks"] == []
    assert positions["broker_error"] is None
    held = [row for row in positions["instruments"] if row["broker"]]
    assert held, "no position at the broker after a day of trading"
    for row in positions["instruments"]:  # strategy = contracts = broker, per instrument
        assert totals(row["strategies"]) == totals(row["contracts"]) == totals(row["broker"])
        assert row["contracts"] == row["broker"]
    assert result.status["working_orders"] == {"instrument": 0, "contract": 0, "broker": 0}
    assert len(result.status["optimal"]) == 8
    assert all(lower <= upper for ranges in result.status["optimal"].values()
               for lower, upper in ranges.values())
    assert "  breaks: 0" in text and "trades over the run: " in text
    assert "end of day: " in text  # the stack handler's completion method ran
    assert "CPU seconds per process: run_" in text
    assert "update_multiple_adjusted_prices: 8 written, 0 failed" in text
    assert "update_system_backtests: 1 done, 0 failed" in text
    assert "demo: ok" in text
    # every process ran once, in its window, and closed
    assert sorted(launch.process for launch in result.launches) == sorted(PROCESSES)
    assert result.process_states == {name: "finished" for name in PROCESSES}
    assert (systrade_home / "backups" / "csv" / "multiple_prices_csv" / "CORN.csv").exists()
    with production_blob(systrade_home) as data:  # with its broker
        first_time = data.now()
        assert first_time > DEMO_START
        assert len(data.adjusted_prices.list_codes()) == 8
        corn = data.adjusted_prices.read_tail("CORN")
        assert corn.index[-1] <= first_time
        assert len(data.optimal_positions.list_keys()) == 8
        row = data.optimal_positions.current("demo", "CORN")
        assert row["lower"] <= row["upper"]
        assert data.capital.last_total()["total"] > 0
        # someone trades the account at the broker, outside systrade, the next day: a break
        data.clock.set((pd.Timestamp(first_time.date()) + pd.offsets.BDay(1)).tz_localize(
            "UTC") + pd.Timedelta(hours=12))
        code, contract = next((row["instrument"], next(iter(row["broker"])))
                              for row in held if data.broker.is_open(row["instrument"]))
        data.broker.place_order(code, contract, 1, client_ref="outside systrade")
    second = subprocess.run([sys.executable, "-c", CLI, "demo", "--days", "1"],
                            capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert second.returncode == 1, second.stdout[-3000:] + second.stderr
    assert f"PROBLEM: position break: {code} {contract}: ours" in second.stdout
    assert "  breaks: 1" in second.stdout and "demo: 1 problem(s)" in second.stdout
    with DataBlob.from_config(systrade_home) as data:  # it carried on from where it stopped
        assert data.now() > first_time
        assert data.adjusted_prices.read_tail("CORN").index[-1] > corn.index[-1]
        assert data.locks.is_locked(code)


def test_systrade_demo_command_stop_before(systrade_home):
    result = subprocess.run([sys.executable, "-c", CLI, "demo", "--days", "1", "--stop-before",
                             "run_systems"], capture_output=True, text=True, timeout=900,
                            cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "simulated time:" in result.stdout
    assert "demo: ok" in result.stdout
    launched = [line.split(" UTC ")[1].split(":")[0] for line in result.stdout.splitlines()
                if " UTC run_" in line]
    assert sorted(launched) == ["run_capital_update", "run_daily_fx_and_contract_updates",
                                "run_daily_prices_updates",
                                "run_daily_update_multiple_adjusted_prices", "run_stack_handler",
                                "run_strategy_order_generator"]
    assert "stopped before run_systems (--stop-before)" in result.stdout
    now = pd.Timestamp(result.stdout.split("simulated time: ")[1].splitlines()[0])
    assert now > DEMO_START
    assert now.strftime("%H:%M") == "20:04"  # just before run_systems' 20:05 window


def test_stuck_orders_and_breaks_are_problems():
    from sysinit.demo import DemoResult

    status = {"positions": {"breaks": [], "broker_error": None, "internal_breaks": [
        {"instrument": "CORN", "strategies": 2, "contracts": 1}]},
        "working_orders": {"instrument": 0, "contract": 1, "broker": 0}}
    result = DemoResult([], {}, status, {"orders": 1, "fills": 1, "filled": 1})
    assert result.problems == [
        "position break: CORN: strategies 2, contracts 1",
        "stuck orders: 1 contract order(s) still working after the stack handler's end of day"]
    assert not result.ok and "demo: 2 problem(s)" in result.summary()


def test_demo_config_for_the_whole_universe(tmp_path):
    import yaml

    from syscore.config import load_control_config
    from sysinit.demo import ensure_demo_config
    from sysproduction.update_system_backtests import resolve_config_path

    assert ensure_demo_config(tmp_path, "ALL")
    assert not ensure_demo_config(tmp_path, "ALL")  # never rewritten
    strategy = load_control_config(tmp_path).strategy_list["demo"]
    system = yaml.safe_load(resolve_config_path(strategy.backtest_config, tmp_path).read_text())
    weights = system["instrument_weights"]
    assert len(weights) == 30 and abs(sum(weights.values()) - 1) < 1e-4
    assert system["instrument_div_multiplier"] == 2.5
    assert "trading_rules" in system  # the package's system, not a stub


def test_the_summary_names_the_reports_this_run_wrote(tmp_path):
    import os
    import time

    from sysinit.demo import DemoResult, reports_written_since

    old = tmp_path / "reports" / "2024-06-05"
    new = tmp_path / "reports" / "2024-06-06"
    for folder in (old, new):
        folder.mkdir(parents=True)
    (old / "pnl.html").write_text("yesterday's")
    os.utime(old / "pnl.html", (1_000, 1_000))  # written before this run
    since = time.time() - 60
    assert reports_written_since(tmp_path, since) is None  # nothing from this run yet
    for name in ("status", "pnl"):
        (new / f"{name}.txt").write_text(name)
        (new / f"{name}.html").write_text(name)
    assert reports_written_since(tmp_path, since) == (new, ("pnl", "status"))
    summary = DemoResult([], {}, None, None, reports_written_since(tmp_path, since)).summary()
    assert f"reports: 2 written to {new} (<name>.txt and <name>.html): pnl, status" in summary


def test_an_unknown_instrument_is_refused_before_the_home_is_made(tmp_path):
    """A misspelt code used to leave a half-made home (stores, and a demo_system.yaml naming
    the bad code) that a corrected second run reused: its backtest failed every night."""
    import os

    home = tmp_path / "home"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", CLI, "--home", str(home), "demo", "--days",
                             "1", "--instruments", "BUND,SP500"], capture_output=True,
                            text=True, timeout=120, cwd=ROOT, env=env)
    assert result.returncode == 2, result.stderr
    assert "SP500" in result.stderr and "SP500_micro" in result.stderr  # names the choices
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (home / "private" / "private_config.yaml").exists()
    assert not (home / "private" / "demo_system.yaml").exists()
    assert not (home / "state.sqlite").exists()
