"""A top-level call (as run.py or cron makes it) is logged to the daily file and the store."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sysdata.data_blob import DataBlob

REPO = Path(__file__).resolve().parents[2]


def test_run_py_call_is_logged_to_file_and_store(systrade_home):
    setup = subprocess.run(
        [sys.executable, str(REPO / "run.py"),
         "sysinit.init_from_sim_universe.init_from_sim_universe", "--instruments", "CORN"],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, cwd=REPO, timeout=300)
    assert setup.returncode == 0, setup.stderr
    result = subprocess.run(
        [sys.executable, str(REPO / "run.py"),
         "sysproduction.update_sampled_contracts.update_sampled_contracts"],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr
    log_files = list((systrade_home / "logs").glob("update_sampled_contracts*.log"))
    assert log_files, "no daily log file written"
    with DataBlob.from_config(systrade_home) as data:
        records = data.logs.find(process_name="update_sampled_contracts")
    assert any(r.get("instrument_code") == "CORN" for r in records), records
