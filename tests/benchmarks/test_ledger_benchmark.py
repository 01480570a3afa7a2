"""``benchmarks/ledger.py`` says that it checked its results (it used to check with ``assert``,
silently, and not at all under ``python -O``)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_ledger_benchmark_reports_its_checks_also_under_python_O():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-O", str(ROOT / "benchmarks" / "ledger.py"),
                             "--backend", "sqlite", "--fills", "20", "--orders", "4"],
                            capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert result.returncode == 0, result.stderr
    assert ("sqlite/F checked: 20 positions = the sum of 20 fills, 1 duplicate deliveries "
            "booked nothing, the ledger holds 28 records") in result.stdout, result.stdout
