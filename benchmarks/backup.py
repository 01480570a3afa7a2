#!/usr/bin/env python
"""CSV backup benchmark: CPU of a full and of an incremental ``backup_to_csv`` of the simulated
market's 30-instrument universe (the demo's initialisation: ``DEMO_HISTORY_YEARS`` of rolled
history, contract bars, multiple and adjusted prices, FX) after one simulated day of new prices.

Run ``python benchmarks/backup.py [--instruments ALL] [--keep DIR]``. Steps, on real stores
(SQLite state, ArcticDB on LMDB) in a temporary home:

1. initialise the universe as ``systrade demo`` does (capital aside), take a backup into ``incremental/``;
2. advance the simulated clock one business day and collect that day's prices
   (``update_fx_prices``, ``update_historical_prices``, ``update_multiple_adjusted_prices``);
3. back up into ``incremental/`` again (copies the unchanged series from step 1's backup) and
   into a fresh ``full/`` (renders every series, as every backup did before incremental
   backups); report the CPU seconds of each (``time.process_time``: every thread of this
   process) and check that the two backups are byte-identical file by file.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sysbrokers.sim.broker import SimBroker  # noqa: E402
from sysbrokers.sim.market import default_market  # noqa: E402
from syscore.clock import SimulatedClock  # noqa: E402
from syscore.config_models import SystradeConfig  # noqa: E402
from sysdata.backup import backup_to_csv  # noqa: E402
from sysdata.data_blob import DataBlob  # noqa: E402
from sysdata.state.sqlite_store import SqliteStateStore  # noqa: E402
from sysdata.timeseries.arctic_store import TimeSeriesStore  # noqa: E402
from sysinit.demo import DEMO_HISTORY_YEARS, DEMO_START  # noqa: E402
from sysinit.init_from_sim_universe import init_from_sim_universe  # noqa: E402
from sysinit.init_history_from_broker import init_history_from_broker  # noqa: E402
from sysproduction.update_fx_prices import update_fx_prices  # noqa: E402
from sysproduction.update_historical_prices import update_historical_prices  # noqa: E402
from sysproduction.update_multiple_adjusted_prices import (  # noqa: E402
    update_multiple_adjusted_prices,
)
from sysproduction.update_sampled_contracts import update_sampled_contracts  # noqa: E402


def timed(label: str, action):
    cpu, wall = time.process_time(), time.perf_counter()
    result = action()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"{label:<44} CPU {cpu:7.2f} s   wall {wall:7.2f} s", flush=True)
    return result, cpu


def files_of(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def run(work: Path, instruments: str) -> int:
    home = work / "home"
    home.mkdir(parents=True)
    clock = SimulatedClock(home, start=DEMO_START)
    brokers: list[SimBroker] = []

    def factory(blob: DataBlob) -> SimBroker:
        brokers.append(SimBroker(clock, home, default_market()))
        return brokers[-1]

    data = DataBlob(SqliteStateStore(home / "state.sqlite"),
                    TimeSeriesStore(f"lmdb://{home / 'arctic'}"), SystradeConfig(), home,
                    clock=clock, broker_factory=factory)
    try:
        def initialise():  # the demo's initialisation, capital aside
            init_from_sim_universe(instruments, data=data)
            update_fx_prices(data=data)
            init_history_from_broker(years=DEMO_HISTORY_YEARS, data=data)
            update_sampled_contracts(data=data)
            update_historical_prices(data=data)
        timed(f"initialise {instruments}", initialise)
        incremental, full = work / "incremental", work / "full"
        first, _ = timed("backup 1 (nothing to copy from)", lambda: backup_to_csv(data, incremental))
        print(f"  {len(first['series'])} series, "
              f"{sum(p.stat().st_size for p in incremental.rglob('*') if p.is_file()) / 1e6:.1f} MB")
        clock.set(DEMO_START + pd.offsets.BDay(1))

        def one_day():
            update_fx_prices(data=data)
            update_historical_prices(data=data)
            update_multiple_adjusted_prices(data=data)
        timed("one day of new prices", one_day)
        second, cpu_incremental = timed("backup 2, incremental",
                                        lambda: backup_to_csv(data, incremental))
        third, cpu_full = timed("backup 2, full (fresh folder)", lambda: backup_to_csv(data, full))
        print(f"  incremental: {second['reused']} of {len(second['series'])} series copied, "
              f"{len(second['series']) - second['reused']} rendered; full: {third['reused']} copied")
        a, b = files_of(incremental), files_of(full)
        same = sorted(a) == sorted(b) and all(a[name] == b[name] for name in a)
        print(f"  byte-identical: {same} ({len(a)} files); CPU full / incremental: "
              f"{cpu_full / max(cpu_incremental, 1e-9):.1f}x")
        return 0 if same else 1
    finally:
        data.close()
        for broker in brokers:
            broker.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instruments", default="ALL")
    parser.add_argument("--keep", help="work in this (new) folder and keep it")
    args = parser.parse_args(argv)
    if args.keep:
        return run(Path(args.keep), args.instruments)
    with tempfile.TemporaryDirectory(prefix="systrade-bench-backup-") as tmp:
        return run(Path(tmp), args.instruments)


if __name__ == "__main__":
    sys.exit(main())
