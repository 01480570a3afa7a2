#!/usr/bin/env python
"""Ledger benchmark: fills booked, orders updated and positions read through the interfaces.

``python benchmarks/ledger.py [--fills 100000] [--orders 10000] [--mongo-fills 10000]
[--mongo-orders 1000] [--backend sqlite|mongodb|both] [--sqlite-synchronous FULL|NORMAL]
[--quick]``

For each state backend, in a fresh store:

1. ``--orders`` broker orders created (``OrderStackData.add_order``: one ``created`` event each);
2. ``--fills`` fills booked (``LedgerData.book_fill``: the ledger insert plus its five projection
   updates), spread over the orders, 200 instruments, 5 strategies and 2 contract months; then 1%
   of them delivered again (each a no-op);
3. every order updated once (``OrderStackData.apply_event`` by id, a ``sent`` event);
4. the position of one instrument read 200 times (``PositionData.get_strategy_position``) when
   the ledger holds 1% of the fills and again when it holds all of them: the same cost at both
   sizes is what "O(1) from the projection" means here.

Each line: the number of calls, the median latency per call with the 5th-95th percentile and
the maximum, the store work per call (SQLite: SQL statements and commits, each commit one fsync
with the default ``synchronous=FULL``; MongoDB: commands sent, i.e. round trips) and the total
wall time. The machine's load average (``/proc/loadavg``) is printed before and after. While
it runs, every 10,000 fills or orders a progress line goes to stderr with the rate, the median
and the round trips of those 10,000 calls (so the cost at 10,000, 50,000 and 100,000 fills can
be compared, and a run stopped early still says something).

SQLite runs the full sizes by default. MongoDB is the server named by ``SYSTRADE_MONGO_URL``
or else an ``nx-27017`` server started for the run: a *Python* implementation of the MongoDB
wire protocol on SQLite (the test server, not mongod), where one round trip costs milliseconds.
There the counts are smaller by default (``--mongo-fills``/``--mongo-orders``), and a run that
books fewer than 100,000 fills or updates fewer than 10,000 orders adds lines "SCALED to ..."
(measured median per call x the full count): an estimate, labelled as such. ``--quick``: small
counts on both backends (a smoke run). Results are checked at the end of each backend's run
(positions equal the sum of the fills, duplicates booked nothing, the ledger has every record):
a line "<backend> checked: ..." says so; a failed check is one line "CHECK FAILED", exit 1.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sysdata.ledger import LedgerData  # noqa: E402
from sysdata.orders import OrderStackData  # noqa: E402
from sysdata.positions import PositionData  # noqa: E402
from sysdata.state.base import StateStore  # noqa: E402
from sysobjects.orders.orders import BrokerOrder, Leg  # noqa: E402
from sysobjects.orders.records import Fill  # noqa: E402
from sysobjects.orders.status import OrderEventType  # noqa: E402

CONTRACTS = ("202403", "202406")
READS = 200
FULL_FILLS, FULL_ORDERS = 100_000, 10_000


class Work:
    """Counts what the store sends: SQL statements and commits (SQLite), commands (MongoDB)."""

    def __init__(self):
        self.statements = self.commits = self.commands = 0

    def sql(self, statement: str) -> None:
        self.statements += 1
        if statement.lstrip()[:6].upper() == "COMMIT":
            self.commits += 1

    def snapshot(self) -> tuple[int, int, int]:
        return self.statements, self.commits, self.commands


WORK = Work()


def _listen_to_mongo() -> None:
    import pymongo.monitoring

    class Listener(pymongo.monitoring.CommandListener):
        def started(self, event):
            WORK.commands += 1

        def succeeded(self, event):
            pass

        def failed(self, event):
            pass

    pymongo.monitoring.register(Listener())


@dataclass
class Figure:
    what: str
    backend: str
    count: int
    latencies: list[float]
    total: float
    work: tuple[int, int, int] = (0, 0, 0)
    estimate: bool = False

    def line(self) -> str:
        if self.estimate:
            return (f"{self.what:<36} {self.backend:<8} {self.count:>8,}  ESTIMATE "
                    f"{self.total:8,.0f} s (median per call x count)")
        lat = sorted(self.latencies)
        qs = statistics.quantiles(lat, n=20, method="inclusive") if len(lat) > 1 \
            else [lat[0]] * 19  # inclusive: never outside the measured range
        med = statistics.median(lat)
        statements, commits, commands = (w / self.count for w in self.work)
        work = f"{commands:5.1f} round trips" if commands else \
            f"{statements:5.1f} stmts {commits:3.1f} commits"
        return (f"{self.what:<36} {self.backend:<8} {self.count:>8,}  median {med * 1e3:8.3f} ms"
                f"  p5-p95 {qs[0] * 1e3:7.3f}-{qs[-1] * 1e3:8.3f}  max {lat[-1] * 1e3:8.1f} ms"
                f"  {work}  total {self.total:7.1f} s")


def timed(calls, label: str = "") -> tuple[list[float], float, tuple[int, int, int]]:
    before = WORK.snapshot()
    latencies, start = [], time.perf_counter()
    window, window_start, window_work = 10_000, start, WORK.snapshot()
    for n, call in enumerate(calls, 1):
        t = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - t)
        if label and n % window == 0:  # progress, and the rate at this size (growth shows)
            now, work = time.perf_counter(), WORK.snapshot()
            trips = (work[2] - window_work[2]) / window
            print(f"  ... {label}: {n:,} in {now - start:,.0f} s; calls {n - window + 1:,}-"
                  f"{n:,}: {window / (now - window_start):6.1f}/s, median "
                  f"{statistics.median(latencies[-window:]) * 1e3:7.3f} ms"
                  + (f", {trips:4.1f} round trips" if trips else "")
                  + f", load {loadavg()}", file=sys.stderr, flush=True)
            window_start, window_work = now, work
    after = WORK.snapshot()
    return latencies, time.perf_counter() - start, tuple(a - b for a, b in zip(after, before, strict=True))


def make_fill(i: int, n_orders: int) -> Fill:
    order_id = i % n_orders + 1
    return Fill(f"bench.{i:09d}.01", f"I{i % 200:03d}", CONTRACTS[i % 2], 1 if i % 3 else -2,
                100.0 + i % 17, "2024-01-02 10:00", f"s{i % 5}", broker_order_id=order_id,
                contract_order_id=order_id, instrument_order_id=order_id % 1000 + 1)


def run(store: StateStore, backend: str, n_fills: int, n_orders: int) -> list[Figure]:
    ledger = LedgerData(store)
    stack = OrderStackData(store, "broker", ledger)
    positions = PositionData(store, ledger)
    figures = []

    def create(order_id: int):
        return lambda: stack.add_order(BrokerOrder(
            order_id=order_id, strategy_name="s0", instrument_code="I000",
            legs=tuple(Leg(c, 1000) for c in CONTRACTS)), "2024-01-02 09:00")

    figures.append(Figure("order created (add_order)", backend, n_orders,
                          *timed((create(i + 1) for i in range(n_orders)), "orders created")))

    def read_position():
        return lambda: positions.get_strategy_position("s1", "I001")

    early = max(1, n_fills // 100)
    lat_a, tot_a, work_a = timed(lambda i=i: ledger.book_fill(make_fill(i, n_orders))
                                 for i in range(early))
    figures.append(Figure(f"position read, ledger {early:,} fills", backend, READS,
                          *timed(read_position() for _ in range(READS))))
    lat_b, tot_b, work_b = timed((lambda i=i: ledger.book_fill(make_fill(i, n_orders))
                                  for i in range(early, n_fills)), f"{backend} fills booked")
    figures.append(Figure("fill booked (book_fill)", backend, n_fills, lat_a + lat_b,
                          tot_a + tot_b, tuple(a + b for a, b in zip(work_a, work_b, strict=True))))
    figures.append(Figure(f"position read, ledger {n_fills:,} fills", backend, READS,
                          *timed(read_position() for _ in range(READS))))
    dupes = max(1, n_fills // 100)
    figures.append(Figure("fill delivered again (no-op)", backend, dupes, *timed(
        lambda i=i: ledger.book_fill(make_fill(i * 97 % n_fills, n_orders))
        for i in range(dupes))))
    figures.append(Figure("order updated (apply_event)", backend, n_orders, *timed((
        lambda i=i: stack.apply_event(i + 1, OrderEventType.SENT, "2024-01-02 09:01", "sent")
        for i in range(n_orders)), f"{backend} orders updated")))

    # checks: nothing lost, nothing doubled
    expected: dict[tuple[str, str], int] = {}
    for i in range(n_fills):
        f = make_fill(i, n_orders)
        key = (f.strategy_name, f.instrument_code)
        expected[key] = expected.get(key, 0) + f.quantity
    got = positions.all_strategy_positions()
    if got != {k: v for k, v in expected.items() if v}:
        raise CheckFailed(f"{backend}: positions differ from the fills")
    if ledger.head() != n_orders * 2 + n_fills:
        raise CheckFailed(f"{backend}: the ledger holds {ledger.head():,} records, expected "
                          f"{n_orders * 2 + n_fills:,}")
    order = stack.get_order(1)
    if sum(order.filled) != sum(make_fill(i, n_orders).quantity
                                for i in range(0, n_fills, n_orders)):
        raise CheckFailed(f"{backend}: order 1's fills differ from the fills booked")
    print(f"{backend} checked: {len(got)} positions = the sum of {n_fills:,} fills, "
          f"{dupes} duplicate deliveries booked nothing, the ledger holds "
          f"{ledger.head():,} records", flush=True)
    return figures


class CheckFailed(Exception):
    """A benchmark result is wrong (not an assert: ``python -O`` must not skip it)."""


def scaled(figures: list[Figure]) -> list[Figure]:
    """Add a line "SCALED to 100,000 fills / 10,000 orders" (median per call x full count) for
    a run made with fewer: an estimate, labelled as such."""
    out = list(figures)
    for fig in figures:
        full = FULL_FILLS if fig.what.startswith("fill booked") else \
            FULL_ORDERS if fig.what.startswith("order updated") else None
        if full is not None and fig.count < full:
            est = statistics.median(fig.latencies) * full
            out.append(Figure(f"{fig.what.split(' (')[0]} SCALED to {full:,}", fig.backend,
                              full, [], est, estimate=True))
    return out


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def sqlite_store(directory: Path, synchronous: str):
    from sysdata.state.sqlite_store import SqliteStateStore

    store = SqliteStateStore(directory / "state.sqlite", synchronous=synchronous)
    store._conn.set_trace_callback(WORK.sql)  # counts statements and commits (benchmark only)
    return store


def mongo_store(tmp: Path):
    from sysdata.state.mongo_store import MongoStateStore

    url = os.environ.get("SYSTRADE_MONGO_URL")
    server = None
    if not url:
        from tests.mongo_server import MongoTestServer

        server = MongoTestServer(tmp / "mongo")
        url = server.url
    return MongoStateStore(f"{url.rstrip('/')}/ledgerbench{uuid.uuid4().hex[:8]}"), server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fills", type=int, default=FULL_FILLS)
    parser.add_argument("--orders", type=int, default=FULL_ORDERS)
    parser.add_argument("--mongo-fills", type=int, default=10_000)
    parser.add_argument("--mongo-orders", type=int, default=1_000)
    parser.add_argument("--backend", choices=("sqlite", "mongodb", "both"), default="both")
    parser.add_argument("--sqlite-synchronous", choices=("FULL", "NORMAL"), default="FULL")
    parser.add_argument("--quick", action="store_true",
                        help="small counts on both backends (2,000/200 SQLite, 500/100 MongoDB)")
    args = parser.parse_args(argv)
    if args.quick:
        args.fills, args.orders, args.mongo_fills, args.mongo_orders = 2_000, 200, 500, 100
    print(f"load average before: {loadavg()}  ({os.cpu_count()} CPUs)", flush=True)
    figures: list[Figure] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        if args.backend in ("sqlite", "both"):
            store = sqlite_store(tmp_path, args.sqlite_synchronous)
            try:
                figures += scaled(run(store, f"sqlite/{args.sqlite_synchronous[0]}", args.fills,
                                      args.orders))
            finally:
                store.close()
            notes.append(f"sqlite/{args.sqlite_synchronous[0]}: SQLite file, WAL, "
                         f"synchronous={args.sqlite_synchronous}")
        if args.backend in ("mongodb", "both"):
            _listen_to_mongo()
            store, server = mongo_store(tmp_path)
            try:
                figures += scaled(run(store, "mongo", args.mongo_fills, args.mongo_orders))
            finally:
                store.drop_database()
                store.close()
                if server is not None:
                    server.stop()
            notes.append("mongo: " + ("the server at SYSTRADE_MONGO_URL" if server is None else
                                      "an nx-27017 server started for this run: a Python "
                                      "MongoDB-wire-protocol server on SQLite, NOT mongod"))
    for fig in figures:
        print(fig.line())
    for note in notes:
        print(note)
    print(f"load average after: {loadavg()}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except CheckFailed as exc:
        print(f"ledger benchmark: CHECK FAILED: {exc}", file=sys.stderr)
        sys.exit(1)
