"""Benchmark of the market simulator and the simulated broker.

Plain script: ``.venv/bin/python benchmarks/sim.py [--years 10] [--orders 10000]``.

1. Hourly bars for every instrument of the demo universe and every contract active during the
   last ``--years`` years (each contract over its whole listed life inside the window).
2. ``--orders`` market orders through :class:`SimBroker` (own SQLite file in a temporary home,
   simulated clock advancing 2 s per order), then checks every order filled exactly.

Prints wall time, throughput and peak memory: the process's peak RSS (``getrusage``) always,
and with ``--tracemalloc`` also the tracemalloc peak of Python/NumPy allocations (tracing slows
the run several times, so timings are then not representative).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sysbrokers.objects import OrderStatus  # noqa: E402
from sysbrokers.sim.broker import SimBroker  # noqa: E402
from sysbrokers.sim.market import MarketModel  # noqa: E402
from syscore.clock import SimulatedClock  # noqa: E402


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


class _Memory:
    """Optional tracemalloc measurement around a section."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.peak_mb = float("nan")

    def __enter__(self) -> _Memory:
        if self.enabled:
            tracemalloc.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self.peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
            tracemalloc.stop()

    def describe(self) -> str:
        traced = f"tracemalloc peak {self.peak_mb:.0f} MB, " if self.enabled else ""
        return f"{traced}process peak RSS {_peak_rss_mb():.0f} MB"


def bench_bars(years: int, trace: bool) -> None:
    market = MarketModel()
    end = pd.Timestamp("2024-01-01", tz="UTC")
    start = end - pd.DateOffset(years=years)
    with _Memory(trace) as memory:
        t0 = time.perf_counter()
        n_bars = n_contracts = 0
        for code in market.instruments():
            spec = market.spec(code)
            last_expiry = (end + pd.DateOffset(months=spec.listed_months + 1)).date()
            for contract in market.contracts_expiring_between(code, start.date(), last_expiry):
                if market.listing_ns(code, contract) > end.value:
                    continue
                bars = market.bars(code, contract, "H", start, end)
                n_bars += len(bars)
                n_contracts += 1
        elapsed = time.perf_counter() - t0
    print(
        f"[bars] {len(market.instruments())} instruments, {n_contracts} contracts, {years} years hourly"
    )
    print(f"[bars] {n_bars:,} bars in {elapsed:.1f} s ({n_bars / elapsed:,.0f} bars/s)")
    print(f"[bars] {memory.describe()}")


def bench_orders(n_orders: int, trace: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        start = pd.Timestamp("2024-01-09 08:00", tz="UTC")
        clock = SimulatedClock(home, start=start)
        broker = SimBroker(clock, home)
        market = broker.market
        targets = []
        for code in market.instruments():
            contract = market.active_contracts(code, start)[0]
            targets.append((code, contract))
        with _Memory(trace) as memory:
            t0 = time.perf_counter()
            placed = 0
            i = 0
            while placed < n_orders:
                code, contract = targets[i % len(targets)]
                i += 1
                if not market.is_open(code, clock.now()):
                    continue
                quantity = (1 + i % 5) * (1 if i % 3 else -1)
                broker.place_order(code, contract, quantity, client_ref=str(placed))
                placed += 1
                clock.advance(pd.Timedelta(seconds=2))
            clock.advance(pd.Timedelta(minutes=10))
            orders = broker.get_orders()
            executions = broker.get_executions()
            elapsed = time.perf_counter() - t0
        filled = sum(o.status is OrderStatus.FILLED for o in orders)
        exact = all(o.filled_quantity == o.quantity for o in orders)
        by_order: dict[int, int] = {}
        for e in executions:
            by_order[e.order_id] = by_order.get(e.order_id, 0) + e.quantity
        consistent = all(by_order.get(o.order_id, 0) == o.filled_quantity for o in orders)
        print(
            f"[orders] {placed:,} orders placed, {filled:,} filled, {len(executions):,} executions"
        )
        print(f"[orders] every order filled exactly: {exact}; executions match fills: {consistent}")
        print(
            f"[orders] {elapsed:.1f} s ({placed / elapsed:,.0f} orders/s, incl. processing and SQLite commits)"
        )
        print(f"[orders] {memory.describe()}")
        print(f"[orders] broker file {broker.path.stat().st_size / 1e6:.1f} MB")
        broker.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--tracemalloc", action="store_true", help="also trace allocations (slow)")
    args = parser.parse_args()
    bench_bars(args.years, args.tracemalloc)
    bench_orders(args.orders, args.tracemalloc)


if __name__ == "__main__":
    main()
