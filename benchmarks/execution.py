"""Benchmark of execution: instrument orders from generation to completion on the simulated
broker, many worked at once.

Plain script: ``.venv/bin/python benchmarks/execution.py [--quick] [--orders 1000]
[--instruments 50] [--algo best] [--seconds-per-pass 5] [--backend sqlite|mongodb]
[--synchronous FULL|NORMAL]``.

In a temporary home (SQLite state store, or with ``--backend mongodb`` the MongoDB server
named by ``SYSTRADE_MONGO_URL`` or else an ``nx-27017`` server started for the run (the test
server: a Python implementation of the wire protocol, not mongod); ArcticDB on LMDB; the
simulated broker (the shipped
universe has 30 instruments; beyond that, copies of them under new codes) with its default
latency of 250 ms for orders and cancels and a fill opportunity every 5 s, on a
simulated clock starting Tuesday 2024-01-09 15:00 UTC when every market is open):

1. ``--orders`` optimal positions over ``--instruments`` instruments (``orders /
   instruments`` strategies each, targets of 1 to 5 contracts long or short), turned into
   instrument orders by ``update_strategy_orders`` (generation);
2. ``stack_handler_pass`` in a loop (spawn, fills, reconciliation, statuses, the algos, new
   broker orders, completion), the simulated clock advancing ``--seconds-per-pass`` between
   passes, until every family is completed;
3. checks: every strategy position equals its target, contract positions equal the broker's.

Prints the wall time (generation + passes) and this process's CPU time, orders per second, the slowest order (wall time
from the end of generation to the pass that completed it) and the simulated time it took, the
number of passes and the mean wall time per pass, and (SQLite) the number of commits. ``--quick``:
100 orders over 10 instruments.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sysbrokers.sim.broker import SimBroker  # noqa: E402
from sysbrokers.sim.market import MarketModel  # noqa: E402
from sysbrokers.sim.universe import load_universe  # noqa: E402
from syscore.clock import SimulatedClock  # noqa: E402
from syscore.config_models import SystradeConfig  # noqa: E402
from sysdata.data_blob import DataBlob  # noqa: E402
from sysdata.state.sqlite_store import SqliteStateStore  # noqa: E402
from sysdata.timeseries.arctic_store import TimeSeriesStore  # noqa: E402
from sysproduction.run_stack_handler import stack_handler_pass  # noqa: E402
from sysproduction.update_strategy_orders import update_strategy_orders  # noqa: E402

START = pd.Timestamp("2024-01-09 15:00", tz="UTC")
MAX_PASSES = 2000


def _market(instruments: int) -> MarketModel:
    """The shipped universe (30 instruments), topped up to ``instruments`` with copies of its
    instruments under new codes (``<code>_2``: same specification, hours and price path)."""
    universe = load_universe()
    specs = dict(universe.instruments)
    originals = list(universe.instruments.values())
    n = 0
    while len(specs) < instruments:
        spec = originals[n % len(originals)]
        code = f"{spec.code}_{n // len(originals) + 2}"
        specs[code] = replace(spec, code=code)
        n += 1
    return MarketModel(replace(universe, instruments=specs))


COMMITS = [0]  # SQLite commits of the state store (counted by its trace callback)


def _count_commits(sql: str) -> None:
    if sql == "COMMIT":
        COMMITS[0] += 1


def _blob(home: Path, clock: SimulatedClock, synchronous: str = "FULL",
          instruments: int = 30, mongo_url: str | None = None) -> DataBlob:
    market = _market(instruments)
    if mongo_url is None:
        state = SqliteStateStore(home / "state.sqlite", synchronous=synchronous)
        state._conn.set_trace_callback(_count_commits)  # benchmark only
        config = SystradeConfig()
    else:
        from sysdata.state.mongo_store import MongoStateStore

        url = f"{mongo_url.rstrip('/')}/execbench{uuid.uuid4().hex[:8]}"
        state, config = MongoStateStore(url), SystradeConfig(state_store=url)
    return DataBlob(state, TimeSeriesStore(f"lmdb://{home / 'arctic'}"), config, home,
                    clock=clock, broker_factory=lambda blob: SimBroker(clock, home, market))


def _instruments(data: DataBlob, count: int) -> dict[str, tuple[str, str]]:
    """``count`` instruments open now, each with its nearest active contract and the next."""
    chosen: dict[str, tuple[str, str]] = {}
    for code in data.broker.list_instruments():
        if len(chosen) == count:
            break
        active = data.broker.get_active_contracts(code)
        if len(active) >= 2 and data.broker.is_open(code):
            book = data.broker.get_bid_ask(code, active[0].contract_date)
            if book.bid_size > 0 and book.ask_size > 0:
                chosen[code] = (active[0].contract_date, active[1].contract_date)
    if len(chosen) < count:
        raise SystemExit(f"only {len(chosen)} tradeable instruments in the simulated universe")
    return chosen


def run(orders: int, instruments: int, algo: str, seconds_per_pass: float,
        synchronous: str, backend: str = "sqlite") -> int:
    with tempfile.TemporaryDirectory(prefix="systrade-bench-exec-") as tmp:
        home = Path(tmp)
        clock = SimulatedClock(home, start=START)
        server, mongo_url = None, None
        if backend == "mongodb":
            mongo_url = os.environ.get("SYSTRADE_MONGO_URL")
            if not mongo_url:
                from tests.mongo_server import MongoTestServer

                server = MongoTestServer(home / "mongo")
                mongo_url = server.url
            print("MongoDB state store: " + ("the server at SYSTRADE_MONGO_URL" if server is None
                                             else "nx-27017 (wire protocol on SQLite, NOT mongod)"))
        else:
            print(f"SQLite state store, synchronous={synchronous}")
        data = _blob(home, clock, synchronous, instruments, mongo_url)
        try:
            return _run(data, clock, orders, instruments, algo, seconds_per_pass)
        finally:
            data.close()
            if server is not None:
                server.stop()


def _run(data: DataBlob, clock: SimulatedClock, orders: int, instruments: int, algo: str,
         seconds_per_pass: float) -> int:
    contracts_of = _instruments(data, instruments)
    strategies = [f"s{i:02d}" for i in range(orders // instruments)]
    targets = {}
    for n, (strategy, code) in enumerate((s, c) for s in strategies for c in contracts_of):
        target = (1 + n % 5) * (1 if n % 2 else -1)
        targets[(strategy, code)] = target
        data.optimal_positions.add(strategy, code, START, target, target, 100.0,
                                   contracts_of[code][0], START)
    execution = {"default_algo": algo}

    def contracts(_data, code):
        return contracts_of[code]

    wall0, cpu0, commits0 = time.perf_counter(), time.process_time(), COMMITS[0]
    generated = update_strategy_orders(data)
    if not generated.ok:
        raise SystemExit(f"generation failed: {generated}")
    istack = data.order_stack("instrument")
    open_ids = {o.order_id for o in istack.orders()}
    if len(open_ids) != len(targets):
        raise SystemExit(f"generated {len(open_ids)} instrument orders, expected {len(targets)}")
    wall_generated = time.perf_counter()
    sim0 = clock.now()
    done_wall: dict[int, float] = {}
    done_sim: dict[int, pd.Timedelta] = {}
    passes, pass_seconds = 0, []
    while open_ids and passes < MAX_PASSES:
        t = time.perf_counter()
        stack_handler_pass(data, contracts=contracts, execution=execution)
        pass_seconds.append(time.perf_counter() - t)
        passes += 1
        still = {o.order_id for o in istack.orders()}
        for order_id in open_ids - still:
            done_wall[order_id] = time.perf_counter() - wall_generated
            done_sim[order_id] = clock.now() - sim0
        open_ids = still
        clock.advance(pd.Timedelta(seconds=seconds_per_pass))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    commits = COMMITS[0] - commits0
    if open_ids:
        raise SystemExit(f"{len(open_ids)} instrument orders not completed after {passes} "
                         "passes")
    wrong = [(key, data.positions.get_strategy_position(*key), target)
             for key, target in targets.items()
             if data.positions.get_strategy_position(*key) != target]
    broker = {(p.instrument_code, p.contract_date): p.quantity
              for p in data.broker.get_positions()}
    ours = {k: v for k, v in data.positions.all_contract_positions().items() if v}
    if wrong or broker != ours:
        raise SystemExit(f"positions wrong: {wrong[:5]}; broker == ours: {broker == ours}")
    slowest = max(done_wall, key=done_wall.get)
    print(f"execution: {len(targets):,} instrument orders over {len(contracts_of)} instruments, "
          f"algo {algo}, simulated broker (latency 250 ms, fill opportunity every 5 s), "
          f"{seconds_per_pass:g} simulated s per pass")
    print(f"  wall time {wall:.1f} s (generation {wall_generated - wall0:.1f} s, "
          f"{passes} passes, mean {sum(pass_seconds) / passes:.2f} s, "
          f"max {max(pass_seconds):.2f} s per pass)")
    print(f"  CPU time of this process {cpu:.1f} s (the machine is shared: wall time includes "
          f"waiting for a core; load average {os.getloadavg()[0]:.1f} at the end)")
    print(f"  {len(targets) / wall:.1f} orders per second")
    if commits:
        print(f"  {commits:,} state store commits ({commits / len(targets):.2f} per order)")
    print(f"  slowest order: instrument order {slowest}, {done_wall[slowest]:.1f} s wall, "
          f"{done_sim[slowest].total_seconds():.0f} s simulated after generation")
    print(f"  all done after {max(done_sim.values()).total_seconds():.0f} simulated s; "
          f"positions = targets, ours = broker's")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 orders over 10 instruments")
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--instruments", type=int, default=50)
    parser.add_argument("--algo", choices=("best", "market"), default="best")
    parser.add_argument("--seconds-per-pass", type=float, default=5.0)
    parser.add_argument("--synchronous", choices=("FULL", "NORMAL"), default="FULL",
                        help="the state store's sqlite_synchronous (default FULL, as shipped)")
    parser.add_argument("--backend", choices=("sqlite", "mongodb"), default="sqlite",
                        help="the state store (mongodb: SYSTRADE_MONGO_URL or an nx-27017 "
                             "server started for the run)")
    args = parser.parse_args()
    if args.quick:
        args.orders, args.instruments = 100, 10
    return run(args.orders, args.instruments, args.algo, args.seconds_per_pass,
               args.synchronous, args.backend)


if __name__ == "__main__":
    sys.exit(main())
