"""``benchmarks/ledger.py`` says that it checked its results (it used to check with ``assert``,
silently, and not at all under ``python -O``)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_ledger_benchmark_reports_its_checks_also_under_optimised_python():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-O", str(ROOT / "benchmarks" / "ledger.py"),
                             "--backend", "sqlite", "--fills", "20", "--orders", "4"],
                            capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert result.returncode == 0, result.stderr
    assert ("sqlite/F checked: 20 positions = the sum of 20 fills, 1 duplicate deliveries "
            "booked nothing, the ledger holds 28 records") in result.stdout, result.stdout


def test_percentiles_stay_within_the_measured_latencies():
    """With few calls, ``statistics.quantiles``' default (exclusive) method extrapolated: a
    quick run printed ``p5-p95 -2.095-18.571`` ms for 4 calls of 10-16 ms."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("ledger_benchmark",
                                                  ROOT / "benchmarks" / "ledger.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    latencies = [0.0103, 0.0151, 0.0156, 0.0159]
    line = module.Figure("order updated", "sqlite/F", 4, latencies, 0.1, (52, 4, 0)).line()
    p5, p95 = (float(x) for x in line.split("p5-p95")[1].split("max")[0].split("-"))
    assert 10.3 <= p5 <= p95 <= 15.9, line
