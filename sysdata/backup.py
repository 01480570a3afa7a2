"""Whole-store backup to CSV and restore.

A backup directory holds:

- pysystemtrade's layout for the data it has a layout for (multiple, adjusted and FX prices,
  roll calendars, ``csvconfig/``, ``sysbrokers_IB/``), so pysystemtrade can read it;
- ``timeseries/<library>/<symbol>.csv`` for every other time series, with
  ``timeseries/_schema.json`` giving each symbol's column order and text columns;
- ``state/<collection>.jsonl`` (one ``{"key", "doc"}`` per line) and ``state/_counters.json``
  for every state collection;
- ``MANIFEST.json``: when, from which stores, and counts.

The backup is written to ``<destination>.partial`` and swapped in at the end, so an interrupted
backup never leaves a half-written destination. Restoring reads it all back; values and
timestamps are bit-identical (floats use round-trip repr; naive timestamps are UTC).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from syscore.dates import iso_utc
from syscore.exceptions import ExistingData, InvalidData
from sysdata.csv import pysystemtrade_layout as layout
from sysdata.csv.timeseries_csv import read_timeseries_csv, write_timeseries_csv
from sysdata.data_blob import DataBlob
from sysdata.state.base import Put

# libraries written in pysystemtrade's layout: library -> (directory, writer, reader)
PYSYSTEMTRADE_LIBRARIES = {
    "multiple_prices": (layout.MULTIPLE_DIR, layout.write_multiple_prices, layout.read_multiple_prices),
    "adjusted_prices": (layout.ADJUSTED_DIR, layout.write_adjusted_prices, layout.read_adjusted_prices),
    "fx_prices": (layout.FX_DIR, layout.write_fx_prices, layout.read_fx_prices),
    "roll_calendars": (layout.ROLL_CALENDAR_DIR, layout.write_roll_calendar, layout.read_roll_calendar),
}
STATE_DIR = "state"
TIMESERIES_DIR = "timeseries"
BATCH = 500


def backup_to_csv(data: DataBlob, destination: Path) -> dict[str, Any]:
    """Write every time series and state collection under ``destination``; returns the manifest."""
    destination = Path(destination).expanduser()
    partial = destination.with_name(destination.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    counts: dict[str, int] = {}
    schema: dict[str, dict[str, Any]] = {}
    for library in data.timeseries.libraries():
        symbols = data.timeseries.symbols(library)
        counts[f"timeseries/{library}"] = len(symbols)
        for symbol in symbols:
            frame = data.timeseries.read(library, symbol)
            if library in PYSYSTEMTRADE_LIBRARIES:
                directory, writer, _ = PYSYSTEMTRADE_LIBRARIES[library]
                writer(frame, partial / directory / f"{symbol}.csv")
                continue
            write_timeseries_csv(frame, partial / TIMESERIES_DIR / library / f"{symbol}.csv", "DATETIME")
            schema.setdefault(library, {})[symbol] = {
                "columns": list(frame.columns),
                "text_columns": [c for c in frame.columns if frame[c].dtype == object],
            }
    (partial / TIMESERIES_DIR).mkdir(exist_ok=True)
    (partial / TIMESERIES_DIR / "_schema.json").write_text(json.dumps(schema, indent=1, sort_keys=True))

    state_dir = partial / STATE_DIR
    state_dir.mkdir()
    for collection in data.state.collections():
        rows = data.state.find(collection)
        counts[f"state/{collection}"] = len(rows)
        with open(state_dir / f"{collection}.jsonl", "w") as handle:
            for key, doc in rows:
                handle.write(json.dumps({"key": key, "doc": doc}, sort_keys=True) + "\n")
    (state_dir / "_counters.json").write_text(json.dumps(data.state.counters(), indent=1, sort_keys=True))

    configs = [data.instruments.get(code) for code in data.instruments.list_codes()]
    if configs:
        layout.write_instrument_config(configs, partial / layout.CONFIG_DIR)
    parameters = {code: data.roll_parameters.get(code) for code in data.roll_parameters.list_codes()}
    if parameters:
        layout.write_roll_config(parameters, partial / layout.CONFIG_DIR)
    ib = data.broker_config.all_ib_futures()
    if ib:
        layout.write_ib_futures_config(ib, partial / "sysbrokers_IB")
    fx = data.broker_config.fx_pairs()
    if fx:
        layout.write_fx_config(fx, partial / "sysbrokers_IB")

    manifest = {"created": iso_utc(pd.Timestamp.now(tz="UTC")), "state_store": data.state.url,
                "timeseries_store": data.timeseries.uri, "counts": counts}
    (partial / "MANIFEST.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
    if destination.exists():
        old = destination.with_name(destination.name + ".old")
        if old.exists():
            shutil.rmtree(old)
        destination.rename(old)
        partial.rename(destination)
        shutil.rmtree(old)
    else:
        partial.rename(destination)
    return manifest


def stores_are_empty(data: DataBlob) -> bool:
    return not data.state.collections() and not any(
        data.timeseries.symbols(lib) for lib in data.timeseries.libraries()
    )


def restore_from_csv(data: DataBlob, source: Path, overwrite: bool = False) -> dict[str, int]:
    """Load a backup written by :func:`backup_to_csv` into the stores.

    Refuses (:class:`ExistingData`) when the stores already hold data, unless ``overwrite``.
    Every file is read and validated before anything is written.
    """
    source = Path(source).expanduser()
    if not (source / "MANIFEST.json").is_file():
        raise InvalidData(f"{source} is not a systrade backup (no MANIFEST.json)")
    if not overwrite and not stores_are_empty(data):
        raise ExistingData("the stores are not empty; restore with overwrite=True to replace data")

    pending_ts: list[tuple[str, str, pd.DataFrame]] = []
    for library, (directory, _, reader) in PYSYSTEMTRADE_LIBRARIES.items():
        for code in layout.codes_in(source / directory):
            pending_ts.append((library, code, reader(source / directory / f"{code}.csv")))
    schema = json.loads((source / TIMESERIES_DIR / "_schema.json").read_text())
    for library, symbols in schema.items():
        for symbol, info in symbols.items():
            frame = read_timeseries_csv(source / TIMESERIES_DIR / library / f"{symbol}.csv",
                                        "DATETIME", info["columns"], tuple(info["text_columns"]))
            pending_ts.append((library, symbol, frame))

    pending_state: list[Put] = []
    for path in sorted((source / STATE_DIR).glob("*.jsonl")):
        collection = path.stem
        with open(path) as handle:
            for line_number, line in enumerate(handle, start=1):
                try:
                    row = json.loads(line)
                    pending_state.append(Put(collection, row["key"], row["doc"]))
                except (json.JSONDecodeError, KeyError) as exc:
                    raise InvalidData(f"{path}: line {line_number}: {exc}") from None
    counters = json.loads((source / STATE_DIR / "_counters.json").read_text())

    for library, symbol, frame in pending_ts:
        data.timeseries.write(library, symbol, frame)
    for start in range(0, len(pending_state), BATCH):
        data.state.apply(pending_state[start:start + BATCH])
    for name, value in counters.items():
        data.state.set_counter_at_least(name, int(value))
    return {"timeseries": len(pending_ts), "state_records": len(pending_state)}


def wipe_stores(data: DataBlob) -> None:
    """Delete every time series and state record (used by restores and tests)."""
    for library in data.timeseries.libraries():
        data.timeseries.delete_library(library)
    for collection in data.state.collections():
        data.state.drop(collection)
