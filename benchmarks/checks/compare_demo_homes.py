#!/usr/bin/env python
"""Compare two demo homes run from two versions of the code (e.g. before and after a speed-up):
the demo's output, every time series, the state store and the last CSV backup.

Run ``python benchmarks/checks/compare_demo_homes.py OLD_HOME NEW_HOME [--outputs OLD.out NEW.out]``
after ``benchmarks/demo.py --home OLD_HOME --output OLD.out`` with the old code and the same with
the new code (both on new homes). It exits 0 when they match and prints every difference:

- outputs (``--outputs``): every line equal, except the ``CPU seconds per process`` line and
  the home's own path;
- time series: the same libraries and symbols, and each frame equal value for value (bits of
  the floats, dtypes, index) — read straight from each home's ArcticDB store;
- state store: the same collections, keys and documents, except what depends on the machine
  and the wall clock (process ids, host names, heartbeats and run times of process records,
  log records, the home's identity);
- CSV backup: the same files under ``backups/csv`` with the same bytes, except
  ``MANIFEST.json`` (it records when each series version was written and where the backup is).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sysdata.state.sqlite_store import SqliteStateStore  # noqa: E402
from sysdata.timeseries.arctic_store import TimeSeriesStore  # noqa: E402

#: state collections that record the machine and the wall clock, not the trading
VOLATILE_COLLECTIONS = {"log_records", "process_control", "leases", "home", "client_ids",
                        "alert_delivery"}


def same_frame(a: pd.DataFrame, b: pd.DataFrame) -> str | None:
    if list(a.columns) != list(b.columns) or list(a.dtypes) != list(b.dtypes):
        return f"columns/dtypes {list(zip(a.columns, a.dtypes, strict=True))} vs {list(zip(b.columns, b.dtypes, strict=True))}"
    if not a.index.equals(b.index) or a.index.dtype != b.index.dtype:
        return f"index differs ({len(a)} vs {len(b)} rows)"
    for column in a.columns:
        x, y = a[column].to_numpy(), b[column].to_numpy()
        if x.dtype.kind == "f":
            if not np.array_equal(x.view("u8"), y.view("u8")):
                return f"column {column}: float bits differ"
        elif not pd.Series(x).equals(pd.Series(y)):
            return f"column {column}: values differ"
    return None


def compare_series(old: Path, new: Path) -> list[str]:
    problems = []
    a, b = TimeSeriesStore(f"lmdb://{old}/arctic"), TimeSeriesStore(f"lmdb://{new}/arctic")
    try:
        if a.libraries() != b.libraries():
            return [f"libraries: {a.libraries()} vs {b.libraries()}"]
        count = 0
        for library in a.libraries():
            sa, sb = a.symbols(library), b.symbols(library)
            if sa != sb:
                problems.append(f"{library}: symbols differ: {sorted(set(sa) ^ set(sb))[:5]}")
                continue
            for symbol in sa:
                count += 1
                why = same_frame(a.read(library, symbol), b.read(library, symbol))
                if why:
                    problems.append(f"series {library}/{symbol}: {why}")
        print(f"time series compared: {count}")
    finally:
        a.close()
        b.close()
    return problems


def compare_state(old: Path, new: Path) -> list[str]:
    dumps = []
    for home in (old, new):
        store = SqliteStateStore(home / "state.sqlite")
        try:
            dumps.append(store.snapshot()[0])
        finally:
            store.close()
    a, b = dumps
    problems = []
    names = sorted((set(a) | set(b)) - VOLATILE_COLLECTIONS)
    for name in names:
        if a.get(name) != b.get(name):
            keys = set(a.get(name, {})) ^ set(b.get(name, {}))
            changed = [k for k in set(a.get(name, {})) & set(b.get(name, {}))
                       if a[name][k] != b[name][k]]
            problems.append(f"state {name}: keys only in one: {sorted(keys)[:3]}, "
                            f"documents differing: {sorted(changed)[:3]}")
    print(f"state collections compared: {len(names)} "
          f"(skipped as machine/wall-clock records: {sorted(VOLATILE_COLLECTIONS & set(a))})")
    return problems


def compare_backups(old: Path, new: Path) -> list[str]:
    ra, rb = old / "backups" / "csv", new / "backups" / "csv"
    fa = {p.relative_to(ra).as_posix() for p in ra.rglob("*") if p.is_file()}
    fb = {p.relative_to(rb).as_posix() for p in rb.rglob("*") if p.is_file()}
    problems = [f"backup files only in one: {sorted(fa ^ fb)[:5]}"] if fa != fb else []
    skipped = {"MANIFEST.json", ".systrade-owner"}
    volatile = {f"state/{name}.jsonl" for name in VOLATILE_COLLECTIONS}
    compared = 0
    for name in sorted(fa & fb):
        if name in skipped or name in volatile:
            continue
        compared += 1
        if (ra / name).read_bytes() != (rb / name).read_bytes():
            problems.append(f"backup file {name} differs")
    print(f"backup files compared byte for byte: {compared}")
    return problems


def compare_outputs(old_out: Path, new_out: Path, old: Path, new: Path) -> list[str]:
    def lines(path: Path, home: Path) -> list[str]:
        return [line.replace(str(home), "HOME") for line in path.read_text().splitlines()
                if not line.startswith("CPU seconds per process")]

    a, b = lines(old_out, old), lines(new_out, new)
    problems = [f"output line {n}: {x!r} vs {y!r}" for n, (x, y) in enumerate(zip(a, b, strict=False), 1)
                if x != y]
    if len(a) != len(b):
        problems.append(f"output: {len(a)} vs {len(b)} lines")
    print(f"output lines compared: {min(len(a), len(b))}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--outputs", nargs=2, type=Path, metavar=("OLD_OUT", "NEW_OUT"))
    args = parser.parse_args()
    problems = []
    if args.outputs:
        problems += compare_outputs(*args.outputs, args.old, args.new)
    problems += compare_series(args.old, args.new)
    problems += compare_state(args.old, args.new)
    problems += compare_backups(args.old, args.new)
    for problem in problems[:50]:
        print(f"DIFFERENT: {problem}")
    print("homes match" if not problems else f"{len(problems)} difference(s)")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
