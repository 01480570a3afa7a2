"""The demo runs end to end in a fresh home and carries on where it stopped."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

from sysdata.data_blob import DataBlob
from sysproduction.demo import DEMO_START, run_demo


def test_demo_runs_end_to_end_and_resumes(systrade_home):
    lines: list[str] = []
    run_demo(days=1, out=lines.append)
    text = "\n".join(lines)
    assert "update_multiple_adjusted_prices: 8 ok, 0 failed" in text
    assert "update_system_backtests: 1 ok, 0 failed" in text
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
    run_demo(days=1, out=lines.append)
    with DataBlob.from_config(systrade_home) as data:
        assert data.now() > first_time
        assert data.adjusted_prices.read_tail("CORN").index[-1] > corn.index[-1]


def test_systrade_demo_command(systrade_home):
    exe = Path(sys.executable).parent / "systrade"
    result = subprocess.run([str(exe), "demo", "--days", "1"], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    assert "simulated time:" in result.stdout
    assert "alerts stored:" in result.stdout
    assert pd.Timestamp(result.stdout.split("simulated time: ")[1].splitlines()[0]) > DEMO_START
