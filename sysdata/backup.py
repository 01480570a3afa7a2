"""Whole-store backup to CSV and restore.

A backup directory holds:

- pysystemtrade's layout for the data it has a layout for (multiple, adjusted and FX prices,
  roll calendars, ``csvconfig/``, ``sysbrokers_IB/``), so pysystemtrade can read it;
- ``timeseries/<library>/<symbol>.csv`` for every other time series, with
  ``timeseries/_schema.json`` giving each symbol's column order and text columns (text cells are
  written JSON-encoded, so an empty string or ``"NA"`` is not read back as missing);
- ``state/<collection>.jsonl`` (one ``{"key", "doc"}`` per line) and ``state/_counters.json``
  for every state collection, taken from one :meth:`StateStore.snapshot` (SQLite: one read
  transaction, so a consistent copy; MongoDB: collection by collection, so pause writers for a
  consistent copy). The ``csvconfig/`` and ``sysbrokers_IB/`` files come from the same snapshot;
- ``MANIFEST.json``: when, from which stores (credentials redacted), and counts.

The backup is written to ``<destination>.partial`` and swapped in at the end (``destination`` ->
``<destination>.old``, ``.partial`` -> ``destination``, ``.old`` deleted). If a process died
between the two renames, the next backup first puts ``.old`` back, so there is always a complete
previous backup at ``destination``.

Restoring reads and validates everything first (every state record as the store would check it,
every time-series file), then writes. While it writes, a marker document in the state collection
``_restore`` records that a restore is in progress: a restore interrupted part-way can simply be
run again (the stores are wiped and the restore starts over), and backups refuse to run until it
has finished. Values and timestamps are bit-identical (floats use round-trip repr; naive
timestamps are UTC).
"""
from __future__ import annotations

import json
import logging
import math
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from syscore.dates import iso_utc
from syscore.exceptions import ExistingData, InvalidData, StoreError
from sysdata.broker_config import FX_CONFIG, IB_FUTURES_CONFIG, FxPairConfig, IBFuturesConfig
from sysdata.csv import pysystemtrade_layout as layout
from sysdata.csv.timeseries_csv import read_timeseries_csv, write_timeseries_csv
from sysdata.data_blob import DataBlob
from sysdata.instruments import INSTRUMENTS, ROLL_PARAMETERS
from sysdata.state.base import Delete, Put, StateStore, check_key, check_name, encode_doc
from sysdata.state.mongo_store import redact_url
from sysdata.timeseries.arctic_store import normalise_frame
from sysobjects.instruments import InstrumentConfig
from sysobjects.roll_parameters import RollParameters

# libraries written in pysystemtrade's layout: library -> (directory, writer, reader)
PYSYSTEMTRADE_LIBRARIES = {
    "multiple_prices": (layout.MULTIPLE_DIR, layout.write_multiple_prices, layout.read_multiple_prices),
    "adjusted_prices": (layout.ADJUSTED_DIR, layout.write_adjusted_prices, layout.read_adjusted_prices),
    "fx_prices": (layout.FX_DIR, layout.write_fx_prices, layout.read_fx_prices),
    "roll_calendars": (layout.ROLL_CALENDAR_DIR, layout.write_roll_calendar, layout.read_roll_calendar),
}
STATE_DIR = "state"
TIMESERIES_DIR = "timeseries"
SCHEMA_FILE = "_schema.json"
COUNTERS_FILE = "_counters.json"
MANIFEST_FILE = "MANIFEST.json"
BATCH = 500

# the restore-in-progress marker: one document in its own state collection, never backed up and
# not counted when deciding whether the stores are empty
RESTORE_MARKER = "_restore"
RESTORE_MARKER_KEY = "in_progress"

log = logging.getLogger("systrade.backup")

_SECRET_PARAMETERS = re.compile(
    r"(?i)\b(secret|access|accountkey|sharedaccesssignature|password|token|sessiontoken)=([^&;]*)")


def redact_store_uri(uri: str | None) -> str | None:
    """A store URL or ArcticDB URI with its credentials hidden: the password of
    ``scheme://user:password@host`` and the values of ``secret=``, ``access=`` (and similar
    key / token parameters, e.g. Azure's ``AccountKey=``)."""
    if uri is None:
        return None
    try:
        uri = redact_url(uri)
    except ValueError:  # a URI urlparse cannot split
        pass
    return _SECRET_PARAMETERS.sub(lambda m: f"{m.group(1)}=***", uri)


# backup ---------------------------------------------------------------------------------------
def _old(destination: Path) -> Path:
    return destination.with_name(destination.name + ".old")


def recover_interrupted_swap(destination: Path) -> None:
    """If a backup died between moving ``destination`` to ``.old`` and moving ``.partial`` into
    place, put ``.old`` back; if it died after both renames, delete the leftover ``.old``."""
    old = _old(destination)
    if not old.exists():
        return
    if destination.exists():
        shutil.rmtree(old)
    else:
        old.rename(destination)
        log.warning("previous backup restored from %s (an earlier backup was interrupted)", old)


def restore_in_progress(store: StateStore) -> dict[str, Any] | None:
    """The marker of an unfinished restore, or None."""
    return store.get(RESTORE_MARKER, RESTORE_MARKER_KEY)


def _refuse_during_restore(marker: dict[str, Any] | None) -> None:
    if marker is not None:
        raise StoreError(
            f"a restore from {marker.get('source')} started at {marker.get('started')} has not "
            "finished; run it again to completion before taking a backup")


def _write_jsonl(path: Path, rows: dict[str, dict[str, Any]]) -> None:
    with open(path, "w") as handle:
        for key in sorted(rows):
            handle.write(json.dumps({"key": key, "doc": rows[key]}, sort_keys=True,
                                    allow_nan=False) + "\n")


def write_state_snapshot(dump: dict[str, dict[str, dict[str, Any]]], counters: dict[str, int],
                         directory: Path) -> dict[str, int]:
    """Write a state snapshot as ``<collection>.jsonl`` files plus ``_counters.json``;
    returns the record count per collection. The restore marker is never written."""
    directory.mkdir(parents=True, exist_ok=True)
    counts = {}
    for collection in sorted(dump):
        if collection == RESTORE_MARKER:
            continue
        _write_jsonl(directory / f"{collection}.jsonl", dump[collection])
        counts[collection] = len(dump[collection])
    (directory / COUNTERS_FILE).write_text(json.dumps(counters, indent=1, sort_keys=True))
    return counts


def _encode_text(value: Any) -> str | None:
    """A text-column cell as JSON, so that ``""``, ``"NA"`` or ``"nan"`` survive the CSV (a
    missing value is an empty field)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (str, bool, int, float)):
        return json.dumps(value, allow_nan=False)
    return json.dumps(str(value))


def _decode_text_columns(frame: pd.DataFrame, text_columns: list[str], path: Path) -> pd.DataFrame:
    for column in text_columns:
        values = []
        for row, value in enumerate(frame[column].tolist()):
            if isinstance(value, str):
                try:
                    value = json.loads(value)
                except json.JSONDecodeError:
                    raise InvalidData(f"{path}: line {row + 2}: column {column}: {value!r} is not "
                                      "a JSON-encoded text value") from None
            values.append(value)
        frame[column] = pd.Series(values, index=frame.index, dtype=object)
    return frame


def backup_to_csv(data: DataBlob, destination: Path) -> dict[str, Any]:
    """Write every time series and state collection under ``destination``; returns the manifest.

    The state part is one :meth:`StateStore.snapshot`. Time series are read one by one
    (ArcticDB has no isolation), so a series being rewritten at the same time may be copied from
    just before or just after that write. Refuses (:class:`StoreError`) while a restore is
    unfinished.
    """
    destination = Path(destination).expanduser()
    recover_interrupted_swap(destination)
    partial = destination.with_name(destination.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)

    dump, counters = data.state.snapshot()
    _refuse_during_restore(dump.get(RESTORE_MARKER, {}).get(RESTORE_MARKER_KEY))

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
            text_columns = [c for c in frame.columns if frame[c].dtype == object]
            out = frame.copy()
            for column in text_columns:
                out[column] = out[column].map(_encode_text)
            write_timeseries_csv(out, partial / TIMESERIES_DIR / library / f"{symbol}.csv", "DATETIME")
            schema.setdefault(library, {})[symbol] = {
                "columns": list(frame.columns),
                "text_columns": text_columns,
                "text_encoding": "json",
            }
    (partial / TIMESERIES_DIR).mkdir(exist_ok=True)
    (partial / TIMESERIES_DIR / SCHEMA_FILE).write_text(json.dumps(schema, indent=1, sort_keys=True))

    state_counts = write_state_snapshot(dump, counters, partial / STATE_DIR)
    counts.update({f"state/{name}": n for name, n in state_counts.items()})

    # pysystemtrade's configuration files, from the same snapshot
    instruments = dump.get(INSTRUMENTS, {})
    if instruments:
        layout.write_instrument_config(
            [InstrumentConfig.from_dict(instruments[code]) for code in sorted(instruments)],
            partial / layout.CONFIG_DIR)
    parameters = dump.get(ROLL_PARAMETERS, {})
    if parameters:
        layout.write_roll_config(
            {code: RollParameters.from_dict(doc) for code, doc in parameters.items()},
            partial / layout.CONFIG_DIR)
    ib = dump.get(IB_FUTURES_CONFIG, {})
    if ib:
        layout.write_ib_futures_config([IBFuturesConfig(**ib[code]) for code in sorted(ib)],
                                       partial / "sysbrokers_IB")
    fx = dump.get(FX_CONFIG, {})
    if fx:
        layout.write_fx_config([FxPairConfig(**fx[code]) for code in sorted(fx)],
                               partial / "sysbrokers_IB")

    manifest = {"created": iso_utc(data.now()),
                "state_store": redact_store_uri(data.state.url),
                "timeseries_store": redact_store_uri(data.timeseries.uri),
                "counts": counts}
    (partial / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    if destination.exists():
        old = _old(destination)
        destination.rename(old)
        partial.rename(destination)
        shutil.rmtree(old)
    else:
        partial.rename(destination)
    return manifest


# reading a backup -----------------------------------------------------------------------------
def read_state_jsonl(path: Path, collection: str | None = None) -> list[Put]:
    """Every record of one ``<collection>.jsonl`` file, checked exactly as the state store will
    check it on writing (collection name, key, JSON document without NaN or infinities) and for
    duplicate keys. Errors name the file and line."""
    collection = path.stem if collection is None else collection
    try:
        check_name(collection)
    except InvalidData as exc:
        raise InvalidData(f"{path}: {exc}") from None
    if collection == RESTORE_MARKER:
        raise InvalidData(f"{path}: the backup holds a restore-in-progress marker; it was taken "
                          "from an unfinished restore and is not usable")
    ops: list[Put] = []
    seen: set[str] = set()
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.readlines()
    except UnicodeDecodeError as exc:
        raise InvalidData(f"{path}: not UTF-8 text: {exc}") from None
    for line_number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict) or set(row) != {"key", "doc"}:
                raise InvalidData('expected an object with exactly "key" and "doc"')
            key = check_key(row["key"])
            encode_doc(row["doc"])
            if key in seen:
                raise InvalidData(f"duplicate key {key!r}")
        except (json.JSONDecodeError, InvalidData) as exc:
            raise InvalidData(f"{path}: line {line_number}: {exc}") from None
        seen.add(key)
        ops.append(Put(collection, key, row["doc"]))
    return ops


def _read_json_object(path: Path, expected: str) -> dict[str, Any]:
    """A JSON file holding one object; any other content is :class:`InvalidData` naming it."""
    if not path.is_file():
        raise InvalidData(f"{path}: file not found")
    try:
        value = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidData(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InvalidData(f"{path}: expected {expected}")
    return value


def read_counters(path: Path) -> dict[str, int]:
    """``_counters.json``: counter name -> last allocated value (a non-negative integer)."""
    counters = _read_json_object(path, "an object of counter name -> integer")
    for name, value in counters.items():
        try:
            check_name(name, "counter")
        except InvalidData as exc:
            raise InvalidData(f"{path}: {exc}") from None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidData(f"{path}: counter {name!r} must be a non-negative integer, "
                              f"got {value!r}")
    return counters


def read_state_directory(directory: Path) -> tuple[list[Put], dict[str, int]]:
    """Every record of a ``state/`` folder (or a JSON export of the state store) and its
    counters, fully validated."""
    if not directory.is_dir():
        raise InvalidData(f"{directory}: state folder not found")
    ops: list[Put] = []
    for path in sorted(directory.glob("*.jsonl")):
        ops.extend(read_state_jsonl(path))
    return ops, read_counters(directory / COUNTERS_FILE)


@dataclass(frozen=True)
class SeriesFile:
    library: str
    symbol: str
    path: Path
    reader: Callable[[], pd.DataFrame]

    def load(self) -> pd.DataFrame:
        """Read and check the file as the time-series store will (unique timestamps, names)."""
        frame = self.reader()
        return normalise_frame(frame, str(self.path))


def _check_symbol(symbol: str, path: Path) -> None:
    if not symbol or symbol.strip() != symbol:
        raise InvalidData(f"{path}: invalid symbol {symbol!r}")


def _read_generic(path: Path, columns: list[str], text_columns: list[str],
                  json_text: bool) -> pd.DataFrame:
    frame = read_timeseries_csv(path, "DATETIME", columns, tuple(text_columns))
    return _decode_text_columns(frame, text_columns, path) if json_text else frame


def list_series_files(source: Path) -> list[SeriesFile]:
    """Every time-series file of a backup, with how to read it. Refuses CSV files under
    ``timeseries/`` that ``_schema.json`` does not describe (they would be silently lost)."""
    files: list[SeriesFile] = []
    for library, (directory, _, reader) in PYSYSTEMTRADE_LIBRARIES.items():
        for code in layout.codes_in(source / directory):
            path = source / directory / f"{code}.csv"
            _check_symbol(code, path)
            files.append(SeriesFile(library, code, path, lambda p=path, r=reader: r(p)))
    schema_path = source / TIMESERIES_DIR / SCHEMA_FILE
    schema = _read_json_object(schema_path, "an object of library -> symbols")
    described: set[Path] = set()
    for library, symbols in schema.items():
        try:
            check_name(library, "library")
        except InvalidData as exc:
            raise InvalidData(f"{schema_path}: {exc}") from None
        if library in PYSYSTEMTRADE_LIBRARIES:
            raise InvalidData(f"{schema_path}: library {library} belongs in pysystemtrade's layout")
        if not isinstance(symbols, dict):
            raise InvalidData(f"{schema_path}: library {library}: expected symbol -> schema")
        for symbol, info in symbols.items():
            path = source / TIMESERIES_DIR / library / f"{symbol}.csv"
            _check_symbol(symbol, path)
            if not (isinstance(info, dict) and isinstance(info.get("columns"), list)
                    and isinstance(info.get("text_columns"), list)):
                raise InvalidData(f"{schema_path}: {library}/{symbol}: expected "
                                  '{"columns": [...], "text_columns": [...]}')
            described.add(path.resolve())
            json_text = info.get("text_encoding") == "json"  # absent in older backups
            files.append(SeriesFile(
                library, symbol, path,
                lambda p=path, c=list(info["columns"]), t=list(info["text_columns"]), j=json_text:
                    _read_generic(p, c, t, j)))
    for path in sorted((source / TIMESERIES_DIR).rglob("*.csv")):
        if path.resolve() not in described:
            raise InvalidData(f"{path}: not described in {schema_path}")
    return files


# restore --------------------------------------------------------------------------------------
def stores_are_empty(data: DataBlob) -> bool:
    """No state record (the restore marker aside) and no time series."""
    return not [c for c in data.state.collections() if c != RESTORE_MARKER] and not any(
        data.timeseries.symbols(lib) for lib in data.timeseries.libraries()
    )


def wipe_state(store: StateStore, keep_marker: bool = False) -> None:
    """Delete every state record and forget every counter (optionally keeping the restore
    marker)."""
    for collection in store.collections():
        if keep_marker and collection == RESTORE_MARKER:
            continue
        store.drop(collection)
    store.reset_counters()
    store.clear_pending_changes()


def wipe_timeseries(data: DataBlob) -> None:
    for library in data.timeseries.libraries():
        data.timeseries.delete_library(library)


def wipe_stores(data: DataBlob) -> None:
    """Delete every time series, every state record and every counter (used by restores and
    tests)."""
    wipe_timeseries(data)
    wipe_state(data.state)


def begin_restore(store: StateStore, source: Path, overwrite: bool, empty: bool,
                  started: Any, kind: str = "csv") -> tuple[bool, dict[str, int]]:
    """Decide whether a restore may go ahead and set the restore-in-progress marker.

    ``kind`` is ``"csv"`` (every store) or ``"state"`` (the state store only). Returns
    ``(wipe, counters_before)``: whether the stores must be wiped first (on overwrite, or when an
    earlier restore was interrupted), and counters to keep at least (those of an empty store
    restored without overwrite, so ids never repeat)."""
    marker = restore_in_progress(store)
    if marker is not None:
        if kind == "state" and marker.get("kind", "csv") == "csv":
            raise ExistingData(
                f"a full restore from {marker.get('source')} (started {marker.get('started')}) "
                "did not finish and may have left time series half-written; run that restore "
                "again first")
        log.warning("an earlier restore from %s (started %s) did not finish; starting over",
                    marker.get("source"), marker.get("started"))
        return True, dict(marker.get("counters_before") or {})
    if not overwrite and not empty:
        raise ExistingData("the stores are not empty; restore with --overwrite true to replace "
                           "everything in them with the backup")
    counters_before = {} if overwrite else store.counters()
    store.put(RESTORE_MARKER, RESTORE_MARKER_KEY, {
        "source": str(source), "kind": kind, "started": iso_utc(started),
        "overwrite": bool(overwrite),
        "counters_before": counters_before})
    return overwrite, counters_before


def finish_restore(store: StateStore, records: list[Put], counters: dict[str, int],
                   counters_before: dict[str, int]) -> None:
    """Write the state records and counters, then remove the restore marker."""
    for start in range(0, len(records), BATCH):
        store.apply(records[start:start + BATCH])
    for name, value in {**counters_before, **counters}.items():
        store.set_counter_at_least(name, max(int(value), int(counters_before.get(name, 0))))
    store.apply([Delete(RESTORE_MARKER, RESTORE_MARKER_KEY)])


def restore_from_csv(data: DataBlob, source: Path, overwrite: bool = False) -> dict[str, int]:
    """Load a backup written by :func:`backup_to_csv` into the stores.

    1. Every file is read and validated (state records exactly as the store checks them, every
       time-series file); an error names the file and line and nothing has been written.
    2. Refuses (:class:`ExistingData`) when the stores already hold data, unless ``overwrite``,
       in which case every time series, state record and counter is deleted first, so the
       stores end up holding exactly the backup.
    3. A marker (state collection ``_restore``) is set before the first write and removed after
       the last; if a restore is interrupted, running it again wipes what it wrote and starts
       over (no ``overwrite`` needed).
    """
    source = Path(source).expanduser()
    if not (source / MANIFEST_FILE).is_file():
        hint = ""
        if not source.exists() and _old(source).is_dir():
            hint = f"; {_old(source)} holds the previous backup (a backup was interrupted)"
        raise InvalidData(f"{source} is not a systrade backup (no {MANIFEST_FILE}){hint}")
    _read_json_object(source / MANIFEST_FILE, "an object (the backup's manifest)")

    # 1. validate everything before writing anything
    series = list_series_files(source)
    for item in series:
        item.load()
    records, counters = read_state_directory(source / STATE_DIR)

    # 2./3. marker, wipe, write
    wipe, counters_before = begin_restore(data.state, source, overwrite,
                                          stores_are_empty(data), data.now())
    if wipe:
        wipe_timeseries(data)
        wipe_state(data.state, keep_marker=True)
    for item in series:
        data.timeseries.write(item.library, item.symbol, item.load())
    finish_restore(data.state, records, counters, counters_before)
    return {"timeseries": len(series), "state_records": len(records), "counters": len(counters)}
