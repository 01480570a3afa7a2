#!/usr/bin/env python
"""Storage benchmark: time-series (ArcticDB on LMDB) and state stores (SQLite, MongoDB).

Run by ``make bench``, or ``python benchmarks/storage.py [--quick] [--repeats N]``. Everything
goes through the public data interfaces:

* time series, in a fresh LMDB directory per repeat: ``AdjustedPricesData`` write and read of
  200 instruments x 50 years of business-day prices (one column), and ``FuturesContractPriceData``
  write and read of 200 contracts x 2 years of hourly OHLCV bars (24 bars per business day);
* state, in a fresh store per repeat: 10,000 order-sized documents inserted (``next_id`` +
  ``Insert``, one atomic change each) and 10,000 replaced (``Put``), on SQLite and MongoDB; plus
  the same inserts and updates batched through ``StateStore.apply`` (1,000 operations per
  atomic change). Orders and fills through the ledger are measured by ``benchmarks/ledger.py``.

MongoDB is the server named by ``SYSTRADE_MONGO_URL`` or, when unset, an ``nx-27017``
MongoDB-wire server started on 127.0.0.1 for the run (a Python server: its figures say nothing
about a real mongod). Each figure is the median over the repeats with the min-max spread; the
per-item column is median seconds divided by the item count.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sysdata.prices import AdjustedPricesData, FuturesContractPriceData  # noqa: E402
from sysdata.state.base import Insert, Put, StateStore  # noqa: E402
from sysdata.timeseries.arctic_store import TimeSeriesStore  # noqa: E402

BATCH_SIZE = 1000
NOTES: list[str] = []


@dataclass(frozen=True)
class Scale:
    instruments: int
    daily_years: int
    hourly_years: int
    orders: int


FULL = Scale(instruments=200, daily_years=50, hourly_years=2, orders=10_000)
QUICK = Scale(instruments=20, daily_years=10, hourly_years=1, orders=1_000)


@dataclass
class Result:
    name: str
    backend: str
    items: int
    unit: str
    seconds: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def row(self) -> str:
        per_item = self.median / self.items
        per_text = f"{per_item * 1e6:9.1f} us" if per_item < 1e-2 else f"{per_item * 1e3:9.2f} ms"
        rate = self.items / self.median if self.median > 0 else float("inf")
        return (f"{self.name:<34} {self.backend:<8} {self.items:>7} {self.unit:<8} "
                f"{self.median:9.3f} {min(self.seconds):9.3f} {max(self.seconds):9.3f} "
                f"{per_text} {rate:12,.0f}")


HEADER = (f"{'benchmark':<34} {'backend':<8} {'items':>7} {'unit':<8} "
          f"{'median s':>9} {'min s':>9} {'max s':>9} {'per item':>12} {'items/s':>12}")


# --- time series ----------------------------------------------------------------------------

def codes(scale: Scale) -> list[str]:
    return [f"BENCH{i:03d}" for i in range(scale.instruments)]


def daily_series(years: int, seed: int) -> pd.Series:
    index = pd.bdate_range(end="2024-12-31", periods=years * 261, tz="UTC")
    values = 100 + np.cumsum(np.random.default_rng(seed).normal(0, 1, len(index)))
    return pd.Series(values, index=index, name="price")


def hourly_bars(years: int, seed: int) -> pd.DataFrame:
    days = pd.bdate_range(end="2024-12-31", periods=years * 261, tz="UTC")
    index = (days.repeat(24) + pd.to_timedelta(np.tile(np.arange(24), len(days)), unit="h"))
    rng = np.random.default_rng(seed)
    close = 100 + np.cumsum(rng.normal(0, 0.2, len(index)))
    spread = np.abs(rng.normal(0, 0.1, len(index)))
    return pd.DataFrame({"OPEN": close + rng.normal(0, 0.05, len(index)), "HIGH": close + spread,
                         "LOW": close - spread, "FINAL": close,
                         "VOLUME": rng.integers(0, 500, len(index)).astype(float)}, index=index)


def timeseries_pass(store: TimeSeriesStore, daily: dict[str, pd.Series],
                    hourly: dict[str, pd.DataFrame]) -> dict[str, float]:
    """Write then read every series once; returns seconds per step (dw, dr, hw, hr)."""
    adjusted = AdjustedPricesData(store)
    contracts = FuturesContractPriceData(store)
    out = {}
    start = time.perf_counter()
    for code, series in daily.items():
        adjusted.write(code, series)
    out["dw"] = time.perf_counter() - start
    start = time.perf_counter()
    rows = sum(len(adjusted.read_series(code)) for code in daily)
    out["dr"] = time.perf_counter() - start
    assert rows == sum(len(s) for s in daily.values())
    start = time.perf_counter()
    for code, bars in hourly.items():
        contracts.write(code, "202412", bars, "H")
    out["hw"] = time.perf_counter() - start
    start = time.perf_counter()
    rows = sum(len(contracts.read(code, "202412", "H")) for code in hourly)
    out["hr"] = time.perf_counter() - start
    assert rows == sum(len(f) for f in hourly.values())
    return out


def bench_timeseries(scale: Scale, repeats: int) -> list[Result]:
    names = codes(scale)
    daily = {code: daily_series(scale.daily_years, i) for i, code in enumerate(names)}
    hourly = {code: hourly_bars(scale.hourly_years, i) for i, code in enumerate(names)}
    daily_rows = sum(len(s) for s in daily.values())
    hourly_rows = sum(len(f) for f in hourly.values())
    NOTES.append(f"time series: {len(names)} symbols per family; {daily_rows:,} daily rows "
                 f"(1 column), {hourly_rows:,} hourly bars (5 columns) per pass")
    times: dict[str, list[float]] = {k: [] for k in ("dw", "dr", "hw", "hr")}
    for repeat in range(repeats):
        with tempfile.TemporaryDirectory(prefix="systrade-bench-") as tmp:
            store = TimeSeriesStore(f"lmdb://{Path(tmp) / 'arctic'}")
            try:
                for key, seconds in timeseries_pass(store, daily, hourly).items():
                    times[key].append(seconds)
            finally:
                store.close()
        print(f"  time-series repeat {repeat + 1}/{repeats} done", file=sys.stderr)
    label_d = f"{scale.instruments}x{scale.daily_years}y daily"
    label_h = f"{scale.instruments}x{scale.hourly_years}y hourly"
    n = scale.instruments
    return [
        Result(f"adjusted write {label_d}", "lmdb", n, "symbols", times["dw"]),
        Result(f"adjusted read  {label_d}", "lmdb", n, "symbols", times["dr"]),
        Result(f"contract write {label_h}", "lmdb", n, "symbols", times["hw"]),
        Result(f"contract read  {label_h}", "lmdb", n, "symbols", times["hr"]),
    ]


# --- state ----------------------------------------------------------------------------------

def order(order_id: int, fill: int = 0) -> dict:
    return {
        "order_id": order_id, "strategy_name": "bench", "instrument_code": f"BENCH{order_id % 200:03d}",
        "trade": 5, "fill": fill, "filled_price": 101.25 if fill else None, "limit_price": None,
        "order_type": "best", "parent": None, "children": [], "locked": False, "active": True,
        "timestamp": "2024-01-02T14:00:00.000000+00:00", "comment": "benchmark order",
    }


def state_pass(store: StateStore, n: int) -> dict[str, float]:
    """``n`` order documents inserted and replaced one change at a time, then ``n`` more
    inserted and replaced in batches; seconds per step."""
    out = {}
    ids: list[int] = []
    start = time.perf_counter()
    for _ in range(n):
        order_id = store.next_id("bench_order_id")
        store.apply([Insert("bench_orders", f"{order_id:012d}", order(order_id))])
        ids.append(order_id)
    out["ins"] = time.perf_counter() - start
    start = time.perf_counter()
    for order_id in ids:
        store.apply([Put("bench_orders", f"{order_id:012d}", order(order_id, fill=5))])
    out["upd"] = time.perf_counter() - start
    assert store.get("bench_orders", f"{ids[-1]:012d}")["fill"] == 5

    first = store.next_id("bench_batch_id")
    batch_ids = list(range(first, first + n))
    store.set_counter_at_least("bench_batch_id", batch_ids[-1])
    start = time.perf_counter()
    for begin in range(0, n, BATCH_SIZE):
        store.apply([Insert("bench_batched", f"{i:012d}", order(i))
                     for i in batch_ids[begin:begin + BATCH_SIZE]])
    out["bins"] = time.perf_counter() - start
    start = time.perf_counter()
    for begin in range(0, n, BATCH_SIZE):
        store.apply([Put("bench_batched", f"{i:012d}", order(i, fill=5))
                     for i in batch_ids[begin:begin + BATCH_SIZE]])
    out["bupd"] = time.perf_counter() - start
    assert store.count("bench_batched") == n
    assert store.get("bench_batched", f"{batch_ids[-1]:012d}")["fill"] == 5
    return out


def bench_state_backend(backend: str, make_store: Callable[[], StateStore], scale: Scale,
                        repeats: int) -> list[Result]:
    n = scale.orders
    times: dict[str, list[float]] = {k: [] for k in ("ins", "upd", "bins", "bupd")}
    for repeat in range(repeats):
        store = make_store()
        try:
            for key, seconds in state_pass(store, n).items():
                times[key].append(seconds)
        finally:
            drop = getattr(store, "drop_database", None)
            if drop is not None:
                drop()
            store.close()
        print(f"  {backend} repeat {repeat + 1}/{repeats} done", file=sys.stderr)
    return [
        Result("order doc insert (next_id + Insert)", backend, n, "orders", times["ins"]),
        Result("order doc replace (Put)", backend, n, "orders", times["upd"]),
        Result(f"order insert, apply x{BATCH_SIZE}", backend, n, "orders", times["bins"]),
        Result(f"order update, apply x{BATCH_SIZE}", backend, n, "orders", times["bupd"]),
    ]


def bench_state(scale: Scale, repeats: int, backends: list[str]) -> list[Result]:
    results: list[Result] = []
    if "sqlite" in backends:
        from sysdata.state.sqlite_store import SqliteStateStore

        with tempfile.TemporaryDirectory(prefix="systrade-bench-") as tmp:
            def make_sqlite() -> StateStore:
                return SqliteStateStore(Path(tmp) / f"{uuid.uuid4().hex}.sqlite")

            results += bench_state_backend("sqlite", make_sqlite, scale, repeats)
    if "mongodb" in backends:
        from sysdata.state.mongo_store import MongoStateStore

        server = None
        base = os.environ.get("SYSTRADE_MONGO_URL", "").rstrip("/")
        with tempfile.TemporaryDirectory(prefix="systrade-bench-mongo-") as tmp:
            try:
                if not base:
                    from tests.mongo_server import MongoTestServer

                    server = MongoTestServer(Path(tmp))
                    base = server.url
                    NOTES.append("mongodb: nx-27017 (MongoDB-wire server in Python) on "
                                 "127.0.0.1, started for this run")
                else:
                    NOTES.append("mongodb: server at SYSTRADE_MONGO_URL")

                def make_mongo() -> StateStore:
                    return MongoStateStore(f"{base}/bench{uuid.uuid4().hex[:10]}")

                results += bench_state_backend("mongodb", make_mongo, scale, repeats)
            finally:
                if server is not None:
                    server.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"small run: {QUICK.instruments} instruments, {QUICK.orders} orders")
    parser.add_argument("--repeats", type=int, default=3, help="repeats per figure (default 3)")
    parser.add_argument("--backends", default="sqlite,mongodb",
                        help="state backends, comma-separated (default sqlite,mongodb)")
    parser.add_argument("--skip-timeseries", action="store_true")
    parser.add_argument("--skip-state", action="store_true")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    scale = QUICK if args.quick else FULL
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(backends) - {"sqlite", "mongodb"}
    if unknown:
        parser.error(f"unknown backends {sorted(unknown)}")
    results: list[Result] = []
    if not args.skip_timeseries:
        results += bench_timeseries(scale, args.repeats)
    if not args.skip_state:
        results += bench_state(scale, args.repeats, backends)
    print(f"systrade storage benchmark ({'quick' if args.quick else 'full'} scale, "
          f"{args.repeats} repeats; median and min-max spread; {os.cpu_count()} CPUs)")
    print(HEADER)
    print("-" * len(HEADER))
    for result in results:
        print(result.row())
    for note in NOTES:
        print(note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
