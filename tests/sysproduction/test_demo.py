"""The demo runs end to end through process control in a fresh home and carries on where it
stopped."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

from sysdata.data_blob import DataBlob
from sysinit.demo import DEMO_START, run_demo

ROOT = Path(__file__).resolve().parents[2]
CLI = "import sys; from syscore.cli import main; sys.exit(main(sys.argv[1:]))"
PROCESSES = ("run_backups", "run_capital_update", "run_cleaners",
             "run_daily_fx_and_contract_updates", "run_daily_prices_updates",
             "run_daily_update_multiple_adjusted_prices", "run_reports", "run_stack_handler",
             "run_strategy_order_generator", "run_systems")


def test_demo_runs_end_to_end_and_resumes(systrade_home):
    lines: list[str] = []
    result = run_demo(days=1, out=lines.append)
    text = "\n".join(lines)
    assert result.ok, result.problems
    assert "update_multiple_adjusted_prices: 8 written, 0 failed" in text
    assert "update_system_backtests: 1 done, 0 failed" in text
    assert "demo: ok" in text
    # every process ran once, in its window, and closed
    assert sorted(launch.process for launch in result.launches) == sorted(PROCESSES)
    assert result.process_states == {name: "finished" for name in PROCESSES}
    assert (systrade_home / "backups" / "csv" / "multiple_prices_csv" / "CORN.csv").exists()
    with DataBlob.from_config(systrade_home) as data:
        first_time = data.now()
        assert first_time > DEMO_START
        assert len(data.adjusted_prices.list_codes()) == 8
        corn = data.adjusted_prices.read_tail("CORN")
        assert corn.index[-1] <= first_time
        assert len(data.optimal_positions.list_keys()) == 8
        row = data.optimal_positions.current("demo", "CORN")
        assert row["lower"] <= row["upper"]
        assert data.capital.last_total()["total"] > 0
    second = run_demo(days=1, out=lines.append)
    assert second.ok, second.problems
    with DataBlob.from_config(systrade_home) as data:
        assert data.now() > first_time
        assert data.adjusted_prices.read_tail("CORN").index[-1] > corn.index[-1]


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
