#!/usr/bin/env python
"""Demo benchmark: CPU seconds per process of ``systrade demo`` (default: five simulated days of
the simulated market's 30-instrument universe) on a new home.

Run ``python benchmarks/demo.py [--days 5] [--instruments ALL] [--home DIR] [--profile DIR]``.
It runs :func:`sysinit.demo.run_demo` exactly as ``systrade demo`` does, in ``--home`` (must not
exist yet; default a temporary directory, deleted afterwards) and prints:

- the CPU seconds (user + system, ``time.process_time``: every thread of this process) and wall
  seconds of the initialisation, of the simulated days and of the final status;
- the CPU seconds per process (each launch runs in its own thread and the launches take turns:
  ``time.thread_time`` of that thread, summed over the days), as the demo's summary does.

Wall time depends on the load other jobs put on the machine; compare CPU seconds.
``--profile DIR`` also writes one cProfile file per process (``DIR/<process>.prof``, all days
of that process merged); profiling slows everything down, so take the figures from a run
without it.
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sysinit.demo as demo_module  # noqa: E402
import sysproduction.simulated_days as simulated_days  # noqa: E402


class Phases:
    """CPU and wall seconds of the demo's phases, cut at the calls the demo makes."""

    def __init__(self) -> None:
        self.marks: list[tuple[str, float, float]] = []

    def mark(self, label: str) -> None:
        self.marks.append((label, time.process_time(), time.perf_counter()))

    def report(self) -> list[str]:
        lines = []
        for (label, cpu, wall), (_, cpu2, wall2) in zip(self.marks, self.marks[1:], strict=False):
            lines.append(f"{label:<24} CPU {cpu2 - cpu:7.1f} s   wall {wall2 - wall:7.1f} s")
        (_, cpu, wall), (_, cpu2, wall2) = self.marks[0], self.marks[-1]
        lines.append(f"{'total':<24} CPU {cpu2 - cpu:7.1f} s   wall {wall2 - wall:7.1f} s")
        return lines


def instrument(phases: Phases, profile_dir: Path | None) -> None:
    """Cut the phases at the demo's calls; with ``profile_dir``, profile each launch's thread."""
    initialise, run_days = demo_module.initialise, demo_module.run_simulated_days

    def timed_initialise(*args, **kwargs):
        phases.mark("initialisation")
        return initialise(*args, **kwargs)

    def timed_run_days(*args, **kwargs):
        phases.mark("simulated days")
        try:
            return run_days(*args, **kwargs)
        finally:
            phases.mark("final status")

    demo_module.initialise = timed_initialise
    demo_module.run_simulated_days = timed_run_days
    if profile_dir is None:
        return
    profile_dir.mkdir(parents=True, exist_ok=True)
    work = simulated_days._work
    stats: dict[str, pstats.Stats] = {}

    def profiled_work(home, name, scheduler, record, out):
        inner = work(home, name, scheduler, record, out)

        def run():
            profiler = cProfile.Profile()
            profiler.enable()
            try:
                return inner()
            finally:
                profiler.disable()
                if name in stats:
                    stats[name].add(profiler)
                else:
                    stats[name] = pstats.Stats(profiler)
                stats[name].dump_stats(str(profile_dir / f"{name}.prof"))
        return run

    simulated_days._work = profiled_work


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--instruments", default="ALL",
                        help="ALL (30 instruments, the default) or comma-separated codes")
    parser.add_argument("--home", type=Path, help="a new directory (kept afterwards)")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="write a cProfile file per process into DIR")
    parser.add_argument("--output", type=Path, metavar="FILE",
                        help="write the demo's own output (launches, status, summary) to FILE")
    parser.add_argument("--quick", action="store_true",
                        help="`make bench` smaller size: 1 day of the default 8 instruments")
    args = parser.parse_args()
    if args.quick:
        args.days, args.instruments = 1, demo_module.DEMO_INSTRUMENTS
    if args.home is not None and args.home.exists():
        parser.error(f"{args.home} exists: give a new directory")
    home = args.home or Path(tempfile.mkdtemp(prefix="demo_bench_")) / "home"
    home.mkdir(parents=True)
    os.environ["SYSTRADE_HOME"] = str(home)
    phases = Phases()
    instrument(phases, args.profile)
    lines: list[str] = []
    phases.mark("new home")
    try:
        result = demo_module.run_demo(days=args.days, out=lines.append,
                                      instruments=args.instruments)
    finally:
        phases.mark("end")
        if args.output is not None:
            args.output.write_text("\n".join(lines) + "\n")
        if args.home is None:
            shutil.rmtree(home.parent, ignore_errors=True)
    print(f"demo: {args.days} simulated days, instruments {args.instruments}, "
          f"{'ok' if result.ok else 'PROBLEMS'}")
    for line in phases.report():
        print(line)
    print(next(line for line in result.summary().splitlines()
               if line.startswith("CPU seconds per process")))
    for problem in result.problems:
        print(f"PROBLEM: {problem}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
