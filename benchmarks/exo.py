"""EXO backfill benchmark: a plain script that prints figures.

    python benchmarks/exo.py            # 10 products x 5 EXOs x 5 years
    python benchmarks/exo.py --quick    # 2 products x 5 EXOs x 3 months

Runs ``exo_backfill`` in a temporary home on the simulated market's option chains and prints the
wall time, CPU time, peak RSS (``/proc/self/status`` VmHWM) and the time per EXO-day. Each product
gets a continuous future, a call spread, a put spread, a bullish broken-wing collar and a
SmartEXO (Ichimoku regime on the continuous future).
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

PRODUCTS = ("GOLD", "CORN", "US10", "SP500_micro", "EUROSTX", "BUND", "CRUDE_W", "EUR",
            "SILVER", "COPPER")


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def settings(products: tuple[str, ...]) -> dict:
    exos = []
    for product in products:
        exos += [
            {"name": f"{product}_CallSpread", "product": product, "kind": "call_spread"},
            {"name": f"{product}_PutSpread", "product": product, "kind": "put_spread"},
            {"name": f"{product}_BWC", "product": product, "kind": "bullish_broken_wing_collar"},
            {"name": f"{product}_Smart", "product": product, "kind": "smart",
             "bullish": [{"type": "future"}], "bearish": [{"type": "future", "quantity": -1}],
             "neutral": []},
        ]
    return {"products": {p: {"decision_time": "19:00"} for p in products}, "exos": exos}


def main() -> None:
    quick = "--quick" in sys.argv
    products = PRODUCTS[:2] if quick else PRODUCTS
    start, end = ("2023-01-03", "2023-03-31") if quick else ("2019-01-02", "2023-12-29")
    from sysbrokers.sim.market import default_market

    available = set(default_market().instruments())
    products = tuple(p for p in products if p in available)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        (home / "private").mkdir(parents=True)
        (home / "private" / "exo_settings.yaml").write_text(yaml.safe_dump(settings(products)))
        os.environ["SYSTRADE_HOME"] = str(home)
        from sysproduction.exo_backfill import exo_backfill

        wall, cpu = time.perf_counter(), time.process_time()
        report = exo_backfill(start=start, end=end)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    days = sum(r.computed for r in report.results)
    print(f"exo backfill: {len(products)} products x {len(report.results) // len(products)} EXOs "
          f"x {start}..{end}: {days} EXO-days, {len(report.failures)} failed")
    print(f"  wall {wall:.1f} s, cpu {cpu:.1f} s, peak RSS {peak_rss_mb():.0f} MB, "
          f"{1000 * wall / max(days, 1):.2f} ms per EXO-day (machine load: "
          f"{os.getloadavg()[0]:.1f})")
    if report.failures:
        for name, why in report.failures.items():
            print(f"  FAILED {name}: {why}")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
