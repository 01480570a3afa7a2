"""Backtest benchmark: whole-process wall time, CPU time and peak memory, as a trader runs it.

Each case runs the command a trader types,

    /usr/bin/time -v python run.py systems.run_backtest.run_backtest \
        --config-file <config> --data-dir <data> --output-dir <out>

``--repeat`` times (default 3) on pysystemtrade's real data set (226 instruments,
``$SYSTRADE_REFERENCE_DATA/pysystemtrade_all``, default ``../shared/reference``; unpacked to a
temporary folder first, not timed), and reports the median wall time, CPU time (user + system)
and peak resident memory (``Maximum resident set size``). The figures include starting Python,
importing, reading the CSVs, computing and writing the outputs. The machine may be shared:
the load average is printed, and CPU time is the figure least disturbed by other processes.

Cases (configs are written to the temporary folder):

* ``6``: pysystemtrade's chapter-15 config as merged by pysystemtrade (``effective_config.yaml``
  of ``pysystemtrade_backtest``): CORN, EUROSTX, MXP, SOFR, US10, V2X.
* ``10``: the same config over the 10 instruments of ``pysystemtrade_backtest/inputs``, equal
  instrument weights.
* ``226``: the same config over all 226 instruments, equal weights, IDM 2.5, capital 50M.

* ``226s`` (only with ``--store-home``): the 226 case from the stores of an existing systrade
  home (``SYSTRADE_HOME``; import the data set into it first with
  ``sysinit.import_pysystemtrade_csv``), i.e. ``run_backtest`` without ``--data-dir``.

    python benchmarks/backtest.py                    # 6, 10 and 226, three runs each
    python benchmarks/backtest.py --cases 6 --repeat 5
    python benchmarks/backtest.py --cases 226,226s --store-home /tmp/home_with_226
"""
from __future__ import annotations

import argparse
import gzip
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Anchors: pysystemtrade 1.80 on this 2-core machine, whole process, measured by the author of
# issue 9 with /usr/bin/time -v (seconds, MB); quoted from that issue, not measured here.
PYSYSTEMTRADE_ANCHOR = {6: (28.2, 213), 10: (50.7, 259), 226: (654.0, 1670)}
ANCHOR_SOURCE = "pysystemtrade 1.80, /usr/bin/time -v, this machine (issue 9's table)"

TEN = ["CORN", "CRUDE_W", "EUROSTX", "GOLD", "JPY", "MXP", "SOFR", "SP500_micro", "US10", "V2X"]


def reference_root() -> Path:
    return Path(os.environ.get("SYSTRADE_REFERENCE_DATA", REPO / ".." / "shared" / "reference")).resolve()


def unpack(source: Path, target: Path) -> Path:
    """Copy ``source`` to ``target``, gunzipping every ``*.gz`` file."""
    for path in source.rglob("*"):
        if path.is_dir():
            continue
        rel = path.relative_to(source)
        dest = target / (rel.with_suffix("") if path.suffix == ".gz" else rel)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as src, open(dest, "wb") as out:
                shutil.copyfileobj(src, out)
        else:
            shutil.copy(path, dest)
    return target


def write_configs(data_dir: Path, folder: Path) -> dict[int, Path]:
    import yaml

    merged = yaml.safe_load(
        (reference_root() / "pysystemtrade_backtest" / "outputs" / "effective_config.yaml").read_text()
    )
    codes = sorted(p.stem for p in (data_dir / "adjusted_prices_csv").glob("*.csv"))
    configs = {6: dict(merged)}
    configs[10] = dict(merged, instrument_weights={c: 1.0 / len(TEN) for c in TEN})
    configs[226] = dict(
        merged, instrument_weights={c: 1.0 / len(codes) for c in codes},
        instrument_div_multiplier=2.5, notional_trading_capital=50_000_000,
    )
    paths = {}
    for size, config in configs.items():
        paths[size] = folder / f"config_{size}.yaml"
        paths[size].write_text(yaml.safe_dump(config))
    return paths


def _time_v(stderr: str) -> tuple[float, float, float]:
    """(wall s, cpu s, peak MB) from /usr/bin/time -v output."""
    fields = {}
    for line in stderr.splitlines():
        key, _, value = line.strip().rpartition(": ")
        fields[key] = value
    wall_text = fields["Elapsed (wall clock) time (h:mm:ss or m:ss)"]
    wall = 0.0
    for part in wall_text.split(":"):
        wall = wall * 60 + float(part)
    cpu = float(fields["User time (seconds)"]) + float(fields["System time (seconds)"])
    return wall, cpu, int(fields["Maximum resident set size (kbytes)"]) / 1024


def run_once(config: Path, data_dir: Path | None, out_dir: Path, store_home: Path | None = None) -> dict:
    """One whole-process run (from ``data_dir``'s CSVs, or from the stores of ``store_home``
    when ``data_dir`` is None); raises with the command's stderr when it fails."""
    command = [
        sys.executable, str(REPO / "run.py"), "systems.run_backtest.run_backtest",
        "--config-file", str(config), "--output-dir", str(out_dir),
    ]
    if data_dir is not None:
        command += ["--data-dir", str(data_dir)]
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    if store_home is not None:
        env["SYSTRADE_HOME"] = str(store_home)
    time_bin = shutil.which("time", path="/usr/bin:/bin")
    if time_bin:
        proc = subprocess.run([time_bin, "-v", *command], capture_output=True, text=True, cwd=REPO, env=env)
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr[-2000:])
        wall, cpu, peak = _time_v(proc.stderr)
    else:  # the same figures from wait4 (what /usr/bin/time reads)
        start = time.perf_counter()
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            child = subprocess.Popen(command, stdout=out, stderr=err, cwd=REPO, env=env)
            _, status, usage = os.wait4(child.pid, 0)
            child.returncode = os.waitstatus_to_exitcode(status)
            wall = time.perf_counter() - start
            out.seek(0)
            err.seek(0)
            proc = subprocess.CompletedProcess(command, child.returncode, out.read().decode(), err.read().decode())
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr[-2000:])
        cpu, peak = usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024
    sharpe_line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("Sharpe ratio")), "")
    return {"wall": wall, "cpu": cpu, "peak_mb": peak, "sharpe": sharpe_line}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="6,10,226", help="comma-separated sizes among 6, 10, 226")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the median is reported")
    parser.add_argument("--data-dir", help="an unpacked pysystemtrade data folder (else unpacked from the reference)")
    parser.add_argument("--store-home", help="a systrade home holding the 226 instruments (for the 226s case)")
    args = parser.parse_args(argv)
    source = reference_root() / "pysystemtrade_all"
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        if args.data_dir:
            data_dir = Path(args.data_dir)
        elif source.is_dir():
            data_dir = unpack(source, tmp_path / "data")
        else:
            print(f"skipped: pysystemtrade's data set not found at {source} (set SYSTRADE_REFERENCE_DATA)")
            return 0
        configs = write_configs(data_dir, tmp_path)
        print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; median of {args.repeat} runs; "
              "wall includes waiting for the CPU on a shared machine, cpu is user + system")
        header = f"{'instr':>6}{'wall s':>9}{'cpu s':>8}{'peak MB':>9}{'pst s':>8}{'pst MB':>8}{'x wall':>8}  Sharpe"
        print(header)
        print("-" * len(header))
        for case in args.cases.split(","):
            from_stores = case.endswith("s")
            size = int(case.removesuffix("s"))
            if from_stores and not args.store_home:
                print(f"{case:>6}  skipped: give --store-home")
                continue
            home = Path(args.store_home) if from_stores else None
            runs = [run_once(configs[size], None if from_stores else data_dir, tmp_path / f"out_{case}", home)
                    for _ in range(args.repeat)]
            wall = statistics.median(r["wall"] for r in runs)
            cpu = statistics.median(r["cpu"] for r in runs)
            peak = statistics.median(r["peak_mb"] for r in runs)
            pst_s, pst_mb = PYSYSTEMTRADE_ANCHOR.get(size, (float("nan"), float("nan")))
            print(f"{case:>6}{wall:>9.2f}{cpu:>8.2f}{peak:>9.0f}{pst_s:>8.1f}{pst_mb:>8.0f}{pst_s / wall:>7.0f}x  "
                  f"{runs[0]['sharpe'].removeprefix('Sharpe ratio: ')}")
            print(f"{'':>6}runs: " + ", ".join(f"{r['wall']:.2f} s / {r['cpu']:.2f} s cpu / {r['peak_mb']:.0f} MB" for r in runs))
        print(f"pst s, pst MB: {ANCHOR_SOURCE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
