"""Price-pipeline benchmarks: a plain script that prints figures.

    python benchmarks/prices.py

Sections:

1. Full re-stitch (Panama back-adjustment) of the 11 pysystemtrade reference instruments from
   their multiple prices, with conformance against the shipped adjusted prices.
2. Rebuild of multiple prices from derived per-contract prices and the shipped roll calendars.
3. Spike check of 100,000 hourly bars (all new; and 24 new bars against 100,000 stored).
4. ``update_multiple_adjusted_prices`` for 200 instruments (``--instruments N``), each with ten
   years of daily multiple prices and one new day of hourly bars in its current contracts, through
   the real stores (SQLite + ArcticDB on LMDB in a temporary home).

Reference data: ``$SYSTRADE_REFERENCE_DATA/pysystemtrade`` (default ``../shared/reference``
relative to the repository root); sections 1-2 are skipped if it is absent.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from sysobjects.adjusted_prices import panama_adjust  # noqa: E402
from sysobjects.multiple_prices import MultiplePrices  # noqa: E402
from sysobjects.multiple_prices_build import (  # noqa: E402
    build_multiple_prices,
    contract_prices_from_multiple_prices,
)
from sysobjects.roll_calendar import CalendarConvention, RollCalendar  # noqa: E402
from sysobjects.spike_check import check_for_spikes  # noqa: E402

INSTRUMENTS = (
    "CORN", "CRUDE_W", "EDOLLAR", "EUR", "EUROSTX", "GAS_US", "GOLD", "OAT", "SP500_micro",
    "US10", "VIX",
)


def reference_root() -> Path:
    configured = os.environ.get("SYSTRADE_REFERENCE_DATA")
    base = Path(configured) if configured else REPO_ROOT / ".." / "shared" / "reference"
    return (base / "pysystemtrade").resolve()


def read_csv(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, index_col=0)
    frame.index = pd.to_datetime(frame.index).tz_localize("UTC")  # naive = UTC
    return frame


def best_of(func, repeat: int = 3) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    return best, result


def restitch(root: Path) -> None:
    print("1. Full re-stitch of adjusted prices from multiple prices (best of 3)")
    print(f"   {'instrument':<12}{'rows':>8}{'rolls':>7}{'stitch ms':>11}{'max |err|':>12}{'NaN ok':>8}")
    total_rows, total_time, worst = 0, 0.0, 0.0
    for name in INSTRUMENTS:
        multiple = MultiplePrices(read_csv(root / "multiple_prices_csv" / f"{name}.csv"))
        expected = read_csv(root / "adjusted_prices_csv" / f"{name}.csv")["price"]
        seconds, adjusted = best_of(lambda m=multiple: panama_adjust(m))
        ours = adjusted.data.reindex(expected.index)
        error = float(np.nanmax(np.abs(ours.to_numpy() - expected.to_numpy())))
        nan_ok = bool((ours.isna() == expected.isna()).all())
        worst = max(worst, error)
        total_rows += len(multiple)
        total_time += seconds
        print(f"   {name:<12}{len(multiple):>8}{len(multiple.roll_positions()):>7}"
              f"{seconds * 1e3:>11.2f}{error:>12.2e}{str(nan_ok):>8}")
    print(f"   total: {total_rows} rows in {total_time * 1e3:.1f} ms; worst error {worst:.2e}")


def rebuild(root: Path) -> None:
    print("2. Rebuild multiple prices from per-contract prices + shipped roll calendar")
    total = 0.0
    for name in INSTRUMENTS:
        multiple = MultiplePrices(read_csv(root / "multiple_prices_csv" / f"{name}.csv"))
        prices = contract_prices_from_multiple_prices(multiple)
        convention = (CalendarConvention.LAST_OF_OLD if name == "SP500_micro"
                      else CalendarConvention.FIRST_OF_NEW)
        calendar = RollCalendar(read_csv(root / "roll_calendars_csv" / f"{name}.csv"), convention)
        seconds, built = best_of(lambda p=prices, c=calendar: build_multiple_prices(p, c))
        total += seconds
        print(f"   {name:<12}{len(built):>8} rows  {len(calendar):>4} calendar rows  "
              f"{seconds * 1e3:>8.1f} ms  ({convention.value})")
    print(f"   total {total * 1e3:.1f} ms")


def spikes() -> None:
    print("3. Spike check (span 500, max spike 8)")
    rng = np.random.default_rng(42)
    n = 100_000
    index = pd.date_range("2010-01-01", periods=n, freq="h", tz="UTC")
    prices = pd.Series(1000 + np.cumsum(rng.normal(0, 0.5, n)), index=index)
    prices.iloc[n // 2] += 200.0  # one injected bad bar
    empty = prices.iloc[:0]
    seconds, result = best_of(lambda: check_for_spikes(empty, prices))
    print(f"   100,000 new bars, no history: {seconds * 1e3:.1f} ms, spikes at "
          f"{[str(t) for t in result.spikes]}")
    more = pd.Series(
        prices.iloc[-1] + np.cumsum(rng.normal(0, 0.5, 24)),
        index=pd.date_range(index[-1] + pd.Timedelta(hours=1), periods=24, freq="h"),
    )
    seconds, result = best_of(lambda: check_for_spikes(prices, more))
    print(f"   24 new bars vs 100,000 stored: {seconds * 1e3:.1f} ms, {len(result.spikes)} spikes")


def instrument_count() -> int:
    if "--instruments" in sys.argv:
        return int(sys.argv[sys.argv.index("--instruments") + 1])
    return 50 if "--quick" in sys.argv else 200


def daily_update(count: int) -> None:
    """Section 4: the daily multiple/adjusted update through the stores."""
    import tempfile

    from syscore.config_models import SystradeConfig
    from sysdata.data_blob import DataBlob
    from sysdata.state.sqlite_store import SqliteStateStore
    from sysdata.timeseries.arctic_store import TimeSeriesStore
    from sysobjects.instruments import InstrumentConfig
    from sysobjects.roll_parameters import RollParameters
    from sysproduction.update_multiple_adjusted_prices import update_multiple_adjusted_prices

    print(f"4. update_multiple_adjusted_prices, {count} instruments x 10 years daily + 1 new day")
    rng = np.random.default_rng(7)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        data = DataBlob(SqliteStateStore(home / "state.sqlite"),
                        TimeSeriesStore(f"lmdb://{home / 'arctic'}"), SystradeConfig(), home)
        days = pd.bdate_range("2014-06-02", "2024-05-31", tz="UTC") + pd.Timedelta(hours=23)
        new_hours = pd.date_range("2024-06-03 08:00", periods=10, freq="h", tz="UTC")
        setup_start = time.perf_counter()
        configs = [InstrumentConfig(f"I{i:03d}", pointsize=10) for i in range(count)]
        data.instruments.add_many(configs)
        for config in configs:
            code = config.instrument_code
            data.roll_parameters.add(code, RollParameters("HMUZ", "HMUZ", -5, 1, 14))
            price = 100 + np.cumsum(rng.normal(0, 1, len(days)))
            frame = pd.DataFrame({
                "CARRY": price + 1, "CARRY_CONTRACT": "20240900", "PRICE": price,
                "PRICE_CONTRACT": "20240600", "FORWARD": price + 1, "FORWARD_CONTRACT": "20240900",
            }, index=days)
            data.multiple_prices.write(code, frame)
            data.adjusted_prices.write(code, frame["PRICE"].rename("price"))
            for contract, offset in (("202406", 0.0), ("202409", 1.0)):
                close = price[-1] + offset + np.cumsum(rng.normal(0, 0.2, len(new_hours)))
                bars = pd.DataFrame({"OPEN": close, "HIGH": close, "LOW": close, "FINAL": close,
                                     "VOLUME": 10.0}, index=new_hours)
                data.contract_prices.write(code, contract, bars, "merged")
        print(f"   setup: {time.perf_counter() - setup_start:.1f} s")
        start = time.perf_counter()
        report = update_multiple_adjusted_prices(data=data)
        first = time.perf_counter() - start
        start = time.perf_counter()
        update_multiple_adjusted_prices(data=data)  # nothing new: the idempotent re-run
        again = time.perf_counter() - start
        appended = sum(r.appended for r in report.results.values())
        print(f"   update: {first:.2f} s ({first / count * 1e3:.1f} ms per instrument), "
              f"{appended} rows appended, {len(report.failures)} failures")
        print(f"   re-run with nothing new: {again:.2f} s")
        data.close()


def main() -> None:
    root = reference_root()
    if root.is_dir():
        restitch(root)
        rebuild(root)
    else:
        print(f"reference data not found at {root}: sections 1-2 skipped")
    spikes()
    daily_update(instrument_count())


if __name__ == "__main__":
    main()
