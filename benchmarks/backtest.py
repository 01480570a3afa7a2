"""Backtest engine benchmark: wall time and peak memory.

Cases (each in its own subprocess, so peak memory is that case's alone):

* ``reference``: the pysystemtrade chapter-15 reference run (6 instruments, CSV inputs from
  ``$SYSTRADE_REFERENCE_DATA/pysystemtrade_backtest`` or ``../shared/reference``), checked
  against its Sharpe ratio.
* ``synthetic-N``: N synthetic random-walk instruments over 40 years, written in
  pysystemtrade's CSV layout to a temporary directory first (not timed).

Timed: reading the CSVs and computing every stage for every instrument (what
pysystemtrade's ``system.accounts.portfolio()`` does); writing the output files is timed
separately. Peak memory is the process's peak resident set (VmHWM).

    python benchmarks/backtest.py                 # reference, 10, 50 and 226 instruments
    python benchmarks/backtest.py --cases synthetic-10 --years 20
"""
from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# pysystemtrade 1.80 on the same machine (seconds, from the issue); 50 is interpolated
PYSYSTEMTRADE_SECONDS = {6: 19.4, 10: 36.0, 50: 36.0 + (431.0 - 36.0) * 40 / 216, 226: 431.0}
PYSYSTEMTRADE_PEAK_MB = {226: 1.47 * 1024}


def _status_mb(field: str) -> float:
    """A memory figure (``VmHWM``, ``VmRSS``) of this process in MB; NaN off Linux."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def _peak_rss_mb() -> float:
    return _status_mb("VmHWM")


def _rss_mb() -> float:
    return _status_mb("VmRSS")


def _reference_dir() -> Path:
    root = Path(os.environ.get("SYSTRADE_REFERENCE_DATA", REPO / ".." / "shared" / "reference")).resolve()
    return root / "pysystemtrade_backtest"


def _gunzip_tree(source: Path, target: Path) -> None:
    for path in source.rglob("*.gz"):
        dest = target / path.relative_to(source).with_suffix("")
        dest.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(path, "rb") as src, open(dest, "wb") as out:
            shutil.copyfileobj(src, out)


def run_case(case: str, years: float) -> dict:
    """Run one case in this process and return its figures."""
    logging.disable(logging.WARNING)
    import yaml

    from systems.run_backtest import run_backtest
    from systems.synthetic_data import SyntheticSimData, synthetic_config, write_pysystemtrade_csv

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        if case == "reference":
            ref = _reference_dir()
            if not ref.is_dir():
                return {"case": case, "skipped": f"reference data not found at {ref}"}
            _gunzip_tree(ref / "inputs", tmp_path / "data")
            config_path = ref / "outputs" / "effective_config.yaml"
            n_instruments = 6
            expected_sharpe = json.loads((ref / "outputs" / "summary.json").read_text())["portfolio_sharpe"]
        else:
            n_instruments = int(case.split("-")[1])
            data = SyntheticSimData(n_instruments, years, seed=42)
            write_pysystemtrade_csv(data, tmp_path / "data")
            config_path = tmp_path / "config.yaml"
            config_path.write_text(yaml.safe_dump(synthetic_config(data.instrument_list())))
            expected_sharpe = None
            del data
        baseline_mb = _rss_mb()
        wall0, cpu0 = time.perf_counter(), time.process_time()
        result = run_backtest(config_path, data_dir=tmp_path / "data")
        wall1, cpu1 = time.perf_counter(), time.process_time()
        peak_compute_mb = _peak_rss_mb()
        result.write_outputs(tmp_path / "out")
        wall2 = time.perf_counter()
        rows = len(result.portfolio_pandl)
    return {
        "case": case,
        "instruments": n_instruments,
        "business_days": rows,
        "seconds": wall1 - wall0,
        "cpu_seconds": cpu1 - cpu0,
        "write_seconds": wall2 - wall1,
        "peak_mb": peak_compute_mb,
        "baseline_mb": baseline_mb,
        "sharpe": result.sharpe,
        "expected_sharpe": expected_sharpe,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="reference,synthetic-10,synthetic-50,synthetic-226")
    parser.add_argument("--years", type=float, default=40.0)
    parser.add_argument("--run-case", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run_case:
        print(json.dumps(run_case(args.run_case, args.years)))
        return 0
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores "
          "(wall times on a shared machine include waiting; cpu is this process's own time)")
    header = f"{'case':<15}{'instr':>6}{'days':>7}{'wall s':>9}{'cpu s':>8}{'write s':>9}{'peak MB':>9}{'MB/inst':>9}{'pst s':>8}{'speedup':>9}  sharpe"
    print(header)
    print("-" * len(header))
    failed = False
    for case in args.cases.split(","):
        proc = subprocess.run(
            [sys.executable, __file__, "--run-case", case, "--years", str(args.years)],
            capture_output=True, text=True, cwd=REPO,
        )
        if proc.returncode != 0:
            print(f"{case:<15} FAILED\n{proc.stderr}")
            failed = True
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        if "skipped" in r:
            print(f"{case:<15} skipped: {r['skipped']}")
            continue
        pst = PYSYSTEMTRADE_SECONDS.get(r["instruments"])
        speed = f"{pst / r['seconds']:.0f}x" if pst else "-"
        per_inst = (r["peak_mb"] - r["baseline_mb"]) / r["instruments"]
        sharpe = f"{r['sharpe']:.6f}"
        if r["expected_sharpe"] is not None:
            sharpe += f" (pysystemtrade {r['expected_sharpe']:.6f})"
        print(
            f"{case:<15}{r['instruments']:>6}{r['business_days']:>7}{r['seconds']:>9.2f}{r['cpu_seconds']:>8.2f}"
            f"{r['write_seconds']:>9.2f}{r['peak_mb']:>9.0f}{per_inst:>9.2f}{(pst or float('nan')):>8.1f}{speed:>9}  {sharpe}"
        )
    print("pst s: pysystemtrade 1.80 on this machine (6: 19.4 s, 10: 36 s, 226: 431 s and 1.47 GB; 50 interpolated)")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
