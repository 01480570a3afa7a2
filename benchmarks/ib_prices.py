"""The daily bar download of 200 contracts through ib_async and the fake TWS, with IB's
historical-data pacing enforced by the server, against the bound the pacing rules allow.

    python benchmarks/ib_prices.py            # 200 contracts, 60 requests per 36 s
    python benchmarks/ib_prices.py --quick    # 40 contracts, 10 requests per 3 s (a smoke run)

IB allows 60 historical-data requests in 10 minutes. The fake TWS (``HistoryPacing``) enforces
the same count in a window scaled down (36 s instead of 600 s, so the run takes under two
minutes) and the IB broker's limiter is configured with the same figures. The bound for N
requests is ``(ceil(N / R) - 1) * W``: the last batch of R cannot start before that many windows
have passed. The time to serve the last batch is not in it: with IB's real 10-minute window it
is negligible; the scaled window is chosen long enough (3 windows = 108 s for 200 requests) that
the last batch's serving time (20 requests x about 0.2 s) stays a few per cent of the bound.
Printed: wall time, the time spent serving requests, the bound, their ratio (target: within 10 %
above 1.0; exit 1 if not), the bound plus the measured serving time of the last batch, the
requests the server answered and refused for pacing (target 0), and what the same download
would take at IB's real window.
"""
from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from sysbrokers.IB.broker import IBBroker  # noqa: E402
from sysbrokers.IB.fake_tws import FakeTwsConfig, FakeTwsThread, HistoryPacing  # noqa: E402
from sysbrokers.sim.market import default_market  # noqa: E402
from syscore.clock import SimulatedClock  # noqa: E402
from syscore.config_models import IBConfig  # noqa: E402
from sysdata.broker_config import IBFuturesConfig  # noqa: E402
from sysdata.state.sqlite_store import SqliteStateStore  # noqa: E402

NOW = pd.Timestamp("2024-01-09 15:00", tz="UTC")
IB_WINDOW_SECONDS = 600.0


def contracts(market, count: int) -> list[tuple[str, str]]:
    """``count`` (instrument, contract month) pairs: the chains listed now and in earlier
    months (expired contracts included), newest first, across the universe."""
    found: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for months_back in range(0, 24):
        when = NOW - pd.DateOffset(months=months_back)
        for code in market.instruments():
            for month in market.active_contracts(code, when):
                if (code, month) not in seen and market.listing_ns(code, month) < NOW.value:
                    seen.add((code, month))
                    found.append((code, month))
                    if len(found) == count:
                        return found
    return found


def mapping(market) -> list[IBFuturesConfig]:
    out = []
    for code in market.instruments():
        ib = market.spec(code).ib
        out.append(IBFuturesConfig(code, ib.symbol, ib.exchange, ib.currency, ib.multiplier,
                                   float(ib.price_magnifier)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="40 contracts, 10 per 3 s")
    args = parser.parse_args(argv)
    count, per_window, window = (40, 10, 3.0) if args.quick else (200, 60, 36.0)
    market = default_market()
    pairs = contracts(market, count)
    with tempfile.TemporaryDirectory(prefix="ib_prices_") as tmp:
        clock = SimulatedClock(Path(tmp) / "clock", start=NOW)
        pacing = HistoryPacing(max_requests=per_window, window_seconds=window,
                               identical_gap_seconds=window / 40)
        with FakeTwsThread(market, clock, config=FakeTwsConfig(history_pacing=pacing)) as tws:
            config = IBConfig(port=tws.port, timeout_seconds=60.0,
                              history_requests_per_window=per_window,
                              history_window_seconds=window,
                              history_identical_gap_seconds=window / 40,
                              history_retry_seconds=window / 10)
            store = SqliteStateStore(Path(tmp) / "state.sqlite")
            broker = IBBroker(config, clock, store, mapping(market), owner="bench:1")
            try:
                for code, month in pairs:  # contract details first: not paced by IB
                    broker.get_contract_details(code, month)
                started = time.perf_counter()
                bars = 0
                for code, month in pairs:
                    bars += len(broker.get_historical_bars(
                        code, month, "D", NOW - pd.Timedelta(days=365), NOW))
                wall = time.perf_counter() - started
                waited = broker.history.limiter.waited
            finally:
                broker.close()
                store.close()
            served, refused = tws.call(lambda f: (f.history_requests, f.pacing_violations))
    bound = (math.ceil(served / per_window) - 1) * window
    print(f"contracts: {len(pairs)}, daily bars: {bars:,}")
    print(f"pacing (server and client): {per_window} requests per {window:g} s "
          f"(IB: 60 per {IB_WINDOW_SECONDS:g} s)")
    print(f"historical-data requests served: {served}, refused for pacing (162): {refused}")
    print(f"wall time: {wall:.2f} s (of which waiting for pacing {waited:.2f} s)")
    print(f"time serving requests (wall - waiting): {wall - waited:.2f} s, "
          f"{1000 * (wall - waited) / max(served, 1):.0f} ms per request")
    print(f"pacing bound: {bound:.2f} s (no time for serving counted)")
    ratio = wall / bound if bound else float("nan")
    print(f"ratio wall / bound: {ratio:.3f} (target <= 1.10)")
    per_request = (wall - waited) / max(served, 1)
    last_batch = served - (math.ceil(served / per_window) - 1) * per_window
    print(f"bound + last batch's serving ({last_batch} x {1000 * per_request:.0f} ms): "
          f"{bound + last_batch * per_request:.2f} s, wall / that: "
          f"{wall / (bound + last_batch * per_request):.3f}")
    real = (math.ceil(served / 60) - 1) * IB_WINDOW_SECONDS
    if real:
        print(f"at IB's real pacing the same download takes at least {real / 60:.0f} min")
    return 0 if refused == 0 and ratio <= 1.10 else 1


if __name__ == "__main__":
    sys.exit(main())
