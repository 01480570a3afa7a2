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
- ``private/``: a copy of ``$SYSTRADE_HOME/private`` (the private config: **it holds secrets**);
- ``MANIFEST.json``: when, from which stores (credentials redacted), and every file with its
  data rows (series), records (state files) or size in bytes (any other file), and the series
  that could not be backed up; under ``series`` each series' ArcticDB version, file, size, SHA-256
  and rows, and ``renderer`` (see :mod:`sysdata.backup_reuse`: a series unchanged since the
  previous backup is copied from it, byte-identical to rendering it again).

``destination`` may only be absent, empty or an earlier systrade CSV backup (see
:mod:`sysdata.owned_dirs`): any other folder is refused before anything is read or written. The
backup is written to ``<destination>.partial`` and swapped in at the end (``destination`` ->
``<destination>.old``, ``.partial`` -> ``destination``, ``.old`` deleted). If a process died
between the two renames, the next backup first puts ``.old`` back, so there is always a complete
previous backup at ``destination``.

Restoring checks the backup against its manifest and validates everything first (every file
present, row and record counts, every state record as the store would check it, every value
by the rules the importer applies: numbers finite, prices and volumes within bounds, FX rates
positive and within bounds, see :mod:`sysdata.csv.pysystemtrade_layout`), then writes. While it writes, a marker document in the state collection
``_restore`` records that a restore is in progress: a restore interrupted part-way can simply be
run again (the stores are wiped and the restore starts over), and backups refuse to run until it
has finished. Values and timestamps are bit-identical (floats use round-trip repr; naive
timestamps are UTC).
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import math
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from syscore.dates import iso_utc
from syscore.exceptions import ExistingData, InvalidData, StoreError
from syscore.store_urls import lmdb_path
from sysdata import owned_dirs
from sysdata.backup_reuse import (
    PreviousBackup,
    load_previous,
    renderer_digest,
    row_fingerprints,
    series_record,
)
from sysdata.broker_config import FX_CONFIG, IB_FUTURES_CONFIG, FxPairConfig, IBFuturesConfig
from sysdata.csv import pysystemtrade_layout as layout
from sysdata.csv.timeseries_csv import ValueRule, read_timeseries_csv, write_timeseries_csv
from sysdata.data_blob import DataBlob
from sysdata.instruments import INSTRUMENTS, ROLL_PARAMETERS
from sysdata.leases import LEASES
from sysdata.logs import ALERT_DELIVERY, ALERTS, LOGS
from sysdata.owned_dirs import OWNER_FILE, DirectoryKind, sibling
from sysdata.state.base import Delete, Put, StateStore, check_key, check_name, encode_doc
from sysdata.state.mongo_store import redact_url
from sysdata.timeseries.arctic_store import SeriesVersion, normalise_frame
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
MANIFEST_FORMAT = "systrade_csv_backup"
MANIFEST_VERSION = 2
PRIVATE_DIR = "private"
BATCH = 500

# the restore-in-progress marker: one document in its own state collection, never backed up and
# not counted when deciding whether the stores are empty
RESTORE_MARKER = "_restore"
RESTORE_MARKER_KEY = "in_progress"
#: collections that are not data: the restore marker and the leases of running processes
#: (:mod:`sysdata.leases`). Never backed up, restored, wiped, nor counted as data.
NOT_DATA = frozenset({RESTORE_MARKER, LEASES})
#: what a command writes about itself while it runs (its log records and alerts): a home holding
#: only these is empty for a restore (the restore's own warnings land there before it checks)
DIAGNOSTICS = frozenset({LOGS, ALERTS, ALERT_DELIVERY})

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
def _is_legacy_csv_backup(directory: Path) -> bool:
    """A CSV backup written before ownership marks: its ``MANIFEST.json`` is an object with
    ``created`` and ``counts``."""
    path = directory / MANIFEST_FILE
    if not path.is_file():
        return False
    try:
        manifest = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(manifest, dict) and {"created", "counts"} <= set(manifest)


def _csv_backup_files(directory: Path) -> set[str] | None:
    """The files a CSV backup wrote, from its manifest (None for a backup from before manifest
    format 2, or without a readable manifest)."""
    try:
        manifest = json.loads((directory / MANIFEST_FILE).read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict):
        return None
    return set(files) | {MANIFEST_FILE}


def _csv_backup_may_hold(relative: str) -> bool:
    """A path a CSV backup writes: its manifest, or anything under one of its folders (for a
    ``.partial`` or a legacy backup, which have no file list)."""
    top = relative.split("/", 1)
    return relative == MANIFEST_FILE or (len(top) == 2 and top[0] in _CSV_BACKUP_FOLDERS)


_CSV_BACKUP_FOLDERS = frozenset({*(d for d, _, _ in PYSYSTEMTRADE_LIBRARIES.values()),
                                 layout.CONFIG_DIR, "sysbrokers_IB", TIMESERIES_DIR, STATE_DIR,
                                 PRIVATE_DIR})
CSV_BACKUP = DirectoryKind("csv_backup", "a systrade CSV backup", legacy=_is_legacy_csv_backup,
                           contents=_csv_backup_files, may_hold=_csv_backup_may_hold)


def _old(destination: Path) -> Path:
    return sibling(destination, ".old")


def recover_interrupted_swap(destination: Path) -> None:
    """If a backup died between moving ``destination`` to ``.old`` and moving ``.partial`` into
    place, put ``.old`` back; if it died after both renames, delete the leftover ``.old`` (only
    ever a CSV backup: see :mod:`sysdata.owned_dirs`)."""
    owned_dirs.recover_interrupted_swap(destination, CSV_BACKUP)


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
        if collection in NOT_DATA:
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


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def series_file(library: str, symbol: str) -> str:
    """Where a series goes in the backup, relative to its root."""
    if library in PYSYSTEMTRADE_LIBRARIES:
        return f"{PYSYSTEMTRADE_LIBRARIES[library][0]}/{symbol}.csv"
    return f"{TIMESERIES_DIR}/{library}/{symbol}.csv"


def _backup_series(data: DataBlob, library: str, symbol: str, partial: Path,
                   previous: PreviousBackup | None,
                   listed: SeriesVersion | None = None) -> dict[str, Any]:
    """Write one series into the backup: copied from ``previous`` when it is unchanged since,
    the previous file extended by the new rows when rows were only added after it, else
    rendered from the store (see :mod:`sysdata.backup_reuse`); returns its manifest ``series``
    record (with ``reused``: whether it was copied, and ``extended``: whether it was
    extended). ``listed``: the series' version from the library's listing (else read)."""
    relative = series_file(library, symbol)
    key = f"{library}/{symbol}"
    if previous is not None:
        version = listed if listed is not None else data.timeseries.version(library, symbol)
        reused = previous.copy_if_unchanged(key, relative, version, partial)
        if reused is not None:
            return {**reused.record, "reused": True, "extended": False}
    frame, version = data.timeseries.read_versioned(library, symbol)
    fingerprints = row_fingerprints(frame)
    extension = (previous.previous_rows(key, relative, frame, fingerprints)
                 if previous is not None else None)
    target = partial / relative
    content = None
    if extension is not None:
        schema = _render_series(library, frame.iloc[extension.rows:], target)
        header, _, new_rows = target.read_bytes().partition(b"\n")
        if extension.content.partition(b"\n")[0] == header:
            content = extension.content + new_rows
            target.write_bytes(content)
    if content is None:
        extension = None
        schema = _render_series(library, frame, target)
        content = target.read_bytes()
    return {**series_record(relative, version, content, len(frame), schema, frame, fingerprints),
            "reused": False, "extended": extension is not None}


def _render_series(library: str, frame: pd.DataFrame, target: Path) -> dict[str, Any] | None:
    """Render ``frame`` as the CSV file ``target`` (pysystemtrade's layout for its libraries);
    returns the ``_schema.json`` entry of a library in ``timeseries/`` (None for the others)."""
    if library in PYSYSTEMTRADE_LIBRARIES:
        _, writer, _ = PYSYSTEMTRADE_LIBRARIES[library]
        writer(frame, target)
        return None
    text_columns = [c for c in frame.columns if frame[c].dtype == object]
    out = frame.copy()
    for column in text_columns:
        out[column] = out[column].map(_encode_text)
    write_timeseries_csv(out, target, "DATETIME")
    return {"columns": list(frame.columns), "text_columns": text_columns,
            "text_encoding": "json"}


def _backup_private_config(home: Path, partial: Path) -> list[str]:
    """Copy every regular file of ``<home>/private`` into ``private/`` of the backup (mode
    0600, folder 0700: it holds secrets); returns their paths relative to the backup."""
    source = home / PRIVATE_DIR
    if not source.is_dir():
        return []
    copied = []
    for path in sorted(source.rglob("*")):
        if not path.is_file():
            continue
        relative = f"{PRIVATE_DIR}/{path.relative_to(source).as_posix()}"
        target = partial / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        (partial / PRIVATE_DIR).chmod(0o700)
        shutil.copyfile(path, target)
        target.chmod(0o600)
        copied.append(relative)
    return copied


#: collections that legitimately shrink a lot (old log records are cleaned away)
SHRINK_IGNORED = frozenset({"state/log_records"})


class BackupWouldShrink(ExistingData):
    """The stores hold far fewer series or records than the backup they would replace."""


def _previous_counts(destination: Path) -> tuple[int, int] | None:
    """``(series, state records)`` of the backup already at ``destination`` (None if none)."""
    try:
        manifest = json.loads((destination / MANIFEST_FILE).read_text())
        counts = manifest["counts"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(counts, dict):
        return None
    series = sum(int(n) for k, n in counts.items() if str(k).startswith("timeseries/"))
    records = sum(int(n) for k, n in counts.items()
                  if str(k).startswith("state/") and k not in SHRINK_IGNORED)
    return series, records


def check_not_shrinking(destination: Path, series_now: int, records_now: int) -> None:
    """Refuse (:class:`BackupWouldShrink`) to replace a backup holding data with one holding
    less than half as many series or state records: the stores have most likely lost data
    (a deleted library, a vanished store recreated empty), and the backup is what a restore
    needs. ``--allow_shrink true`` overrides it after a deliberate clean-up."""
    previous = _previous_counts(destination)
    if previous is None:
        return
    series_before, records_before = previous
    for what, before, now in (("time series", series_before, series_now),
                              ("state records", records_before, records_now)):
        if before > 0 and now * 2 < before:
            raise BackupWouldShrink(
                f"not replacing the backup at {destination}: it holds {before} {what} but the "
                f"stores now hold {now}; the stores may have lost data (restore from this "
                f"backup), or pass --allow_shrink true if you removed them on purpose")


def backup_to_csv(data: DataBlob, destination: Path, allow_shrink: bool = False
                  ) -> dict[str, Any]:
    """Write every time series and state collection, and the private config, under
    ``destination``; returns the manifest (see :func:`_backup_to_csv`). A second backup into
    the same folder while this one runs is refused (:class:`~sysdata.owned_dirs.DirectoryBusy`,
    see :func:`sysdata.owned_dirs.exclusive`)."""
    destination = owned_dirs.absolute(destination)
    check_outside_live_data(destination, data)
    with owned_dirs.exclusive(destination):
        return _backup_to_csv(data, destination, allow_shrink)


def check_outside_live_data(destination: Path, data: DataBlob) -> None:
    """Refuse (:class:`~sysdata.owned_dirs.NotOwnedDirectory`) a destination inside the home's
    private config (every backup copies that folder: each would hold the one before it, and a
    restore would write them all back) or inside the time-series store's folder."""
    where = Path(os.path.normpath(destination))
    folders = {"the private config folder": Path(data.home) / PRIVATE_DIR}
    store = lmdb_path(data.timeseries.uri or "")
    if store is not None:
        folders["the time-series store"] = store
    for what, folder in folders.items():
        folder = Path(os.path.normpath(Path(folder).expanduser().absolute()))
        if where == folder or folder in where.parents:
            raise owned_dirs.NotOwnedDirectory(
                f"{destination} is inside {what} {folder}; refusing to back up there: nothing "
                "was changed. Choose a destination outside it (default: "
                "$SYSTRADE_HOME/backups/csv)")


def _backup_to_csv(data: DataBlob, destination: Path, allow_shrink: bool = False
                   ) -> dict[str, Any]:
    """Write every time series and state collection, and the private config, under
    ``destination``; returns the manifest.

    ``destination`` may only be absent, an empty folder or an earlier systrade CSV backup:
    anything else is refused (:class:`~sysdata.owned_dirs.NotOwnedDirectory`) before anything
    is read or written. The state part is one :meth:`StateStore.snapshot`. Time series are read
    one by one (ArcticDB has no isolation), so a series being rewritten at the same time may be
    copied from just before or just after that write. A series that cannot be backed up is
    listed under ``failed`` in the manifest and the others are still written: the caller must
    report it. Refuses (:class:`StoreError`) while a restore is unfinished.
    """
    destination = owned_dirs.absolute(destination)
    recover_interrupted_swap(destination)
    owned_dirs.check_replaceable(destination, CSV_BACKUP)

    dump, counters = data.state.snapshot()
    _refuse_during_restore(dump.get(RESTORE_MARKER, {}).get(RESTORE_MARKER_KEY))

    # listed once: listing an ArcticDB library's symbols is slow (a quarter second on LMDB)
    symbols = {library: data.timeseries.symbols(library)
               for library in data.timeseries.libraries()}
    if not allow_shrink:
        series_now = sum(len(names) for names in symbols.values())
        records_now = sum(len(docs) for name, docs in dump.items()
                          if f"state/{name}" not in SHRINK_IGNORED)
        check_not_shrinking(destination, series_now, records_now)
    reuse_key = {"format": MANIFEST_FORMAT, "format_version": MANIFEST_VERSION,
                 "renderer": renderer_digest(),
                 "timeseries_store": redact_store_uri(data.timeseries.uri),
                 "timeseries_identity": data.timeseries.home_identity()}
    previous = load_previous(destination, reuse_key, MANIFEST_FILE)
    partial = owned_dirs.start_partial(destination, CSV_BACKUP)
    try:
        manifest = _write_backup(data, partial, dump, counters, previous, reuse_key, symbols)
        owned_dirs.swap_into_place(partial, destination, CSV_BACKUP)
    except BaseException as exc:
        # a full disk (or a kill signal turned exception) must not leave the unfinished copy
        # filling the disk: it is ours, remove it; the previous backup was never touched
        with contextlib.suppress(OSError, owned_dirs.NotOwnedDirectory):
            owned_dirs.remove_owned(partial, CSV_BACKUP)
        if isinstance(exc, OSError):
            raise StoreError(f"cannot write the backup at {destination}: "
                             f"{exc.strerror or exc}; the unfinished copy was removed and the "
                             "previous backup, if any, is untouched") from exc
        raise
    return manifest


def _write_backup(data: DataBlob, partial: Path, dump: dict[str, dict[str, dict[str, Any]]],
                  counters: dict[str, int], previous: PreviousBackup | None,
                  reuse_key: dict[str, Any], symbols: dict[str, list[str]]
                  ) -> dict[str, Any]:
    """Write the backup's content and manifest into ``partial``: the series ``symbols`` lists
    per library, copying unchanged series from ``previous`` and extending the files of series
    that only gained rows (see :mod:`sysdata.backup_reuse`); returns the manifest plus
    ``reused`` (the number of series copied) and ``extended`` (the number extended)."""
    counts: dict[str, int] = {}
    schema: dict[str, dict[str, Any]] = {}
    rows: dict[str, int] = {}
    series: dict[str, dict[str, Any]] = {}
    failed: dict[str, str] = {}
    reused = extended = 0
    for library, names in symbols.items():
        written = 0
        # one listing of the library's versions, not one metadata read per series
        listed = data.timeseries.versions(library) if previous is not None else {}
        for symbol in names:
            try:
                record = _backup_series(data, library, symbol, partial, previous,
                                        listed.get(symbol))
            except Exception as exc:  # one bad series must not stop the others
                failed[f"{library}/{symbol}"] = _one_line(exc)
                log.exception("backup of time series %s/%s failed", library, symbol)
                continue
            reused += record.pop("reused")
            extended += record.pop("extended")
            if "schema" in record:
                schema.setdefault(library, {})[symbol] = record["schema"]
            series[f"{library}/{symbol}"] = record
            rows[record["file"]] = record["rows"]
            written += 1
        counts[f"timeseries/{library}"] = written
    log.info("CSV backup: %d series copied unchanged from the previous backup, %d extended "
             "with their new rows, %d rendered", reused, extended,
             len(series) - reused - extended)
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
    private = _backup_private_config(data.home, partial)

    # every file of the backup, with its data rows (series) or records (state)
    files: dict[str, dict[str, int]] = {}
    for path in sorted(partial.rglob("*")):
        if path.is_file() and path != partial / OWNER_FILE:  # config files, schema, counters
            files[path.relative_to(partial).as_posix()] = {"bytes": path.stat().st_size}
    for relative, n in rows.items():
        files[relative] = {"rows": n}
    for name, n in state_counts.items():
        files[f"{STATE_DIR}/{name}.jsonl"] = {"records": n}

    manifest = {"format": MANIFEST_FORMAT,
                "format_version": MANIFEST_VERSION,
                "created": iso_utc(data.now()),
                "state_store": redact_store_uri(data.state.url),
                "timeseries_store": redact_store_uri(data.timeseries.uri),
                "counts": counts,
                "files": files,
                "private_config": private,
                "failed": failed,
                "renderer": reuse_key["renderer"],
                "timeseries_identity": reuse_key["timeseries_identity"],
                "series": series}
    (partial / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return {**manifest, "reused": reused, "extended": extended}


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
    """One time-series CSV of a backup: ``library``/``symbol`` in the time-series store and the
    ``path`` it is read from (``reader`` returns the raw frame). Timestamps tz-aware UTC once
    loaded; values in the units of the library. Reading has no side effect."""

    library: str
    symbol: str
    path: Path
    reader: Callable[[], pd.DataFrame]

    def load(self) -> pd.DataFrame:
        """Read and check the file as the time-series store will (unique timestamps, names)
        and with the value rules the importer applies (:func:`series_rules`); errors name the
        file, line and value as written."""
        return normalise_frame(self.reader(), str(self.path))


# value rules of the series not in pysystemtrade's layout (those have their readers' rules, the
# importer's): every number finite, and for these libraries the rules of what they hold
LIBRARY_RULES = {"futures_contract_prices": layout.CONTRACT_PRICE_RULES}


def series_rules(library: str, numeric_columns: list[str]) -> tuple[ValueRule, ...]:
    """Value rules for a generic series of ``library``: :data:`LIBRARY_RULES` for a library it
    names (on the columns it has), and every numeric column finite."""
    present = set(numeric_columns)
    rules = tuple(ValueRule(tuple(c for c in rule.columns if c in present), rule.reason, rule.bad)
                  for rule in LIBRARY_RULES.get(library, ()))
    return (*layout.finite_rules(tuple(numeric_columns)), *rules)


def _check_symbol(symbol: str, path: Path) -> None:
    if not symbol or symbol.strip() != symbol:
        raise InvalidData(f"{path}: invalid symbol {symbol!r}")


def _read_generic(path: Path, library: str, columns: list[str], text_columns: list[str],
                  json_text: bool) -> pd.DataFrame:
    numeric = [c for c in columns if c not in text_columns]
    frame = read_timeseries_csv(path, "DATETIME", columns, tuple(text_columns),
                                rules=series_rules(library, numeric))
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
                lambda p=path, lib=library, c=list(info["columns"]), t=list(info["text_columns"]),
                j=json_text: _read_generic(p, lib, c, t, j)))
    for path in sorted((source / TIMESERIES_DIR).rglob("*.csv")):
        if path.resolve() not in described:
            raise InvalidData(f"{path}: not described in {schema_path}")
    return files


# checking a backup against its manifest ------------------------------------------------------
@dataclass(frozen=True)
class CheckedBackup:
    """A backup that passed :func:`check_backup`: what to write."""

    manifest: dict[str, Any]
    series: list[SeriesFile]
    records: list[Put]
    counters: dict[str, int]
    private: list[str]


def count_csv_rows(path: Path) -> int:
    """Data rows of a CSV file written by a backup, checking its shape: it ends with a line
    break (a file cut mid-line does not) and every row has as many fields as the header.
    Errors (:class:`InvalidData`) name the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidData(f"{path}: not UTF-8 text: {exc}") from None
    if not text:
        raise InvalidData(f"{path}: empty file (not even a header line)")
    if not text.endswith("\n"):
        raise InvalidData(f"{path}: line {text.count(chr(10)) + 1}: the file is cut short "
                          "(its last line is incomplete)")
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    rows = 0
    for row in reader:
        if len(row) != len(header):
            raise InvalidData(f"{path}: line {reader.line_num}: {len(row)} fields, the header "
                              f"has {len(header)}")
        rows += 1
    return rows


def _manifest_entry(manifest_path: Path, name: str, entry: Any) -> dict[str, int]:
    if not isinstance(entry, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in entry.values()):
        raise InvalidData(f"{manifest_path}: files: {name}: expected an object of counts")
    return entry


def _check_count(path: Path, found: int, expected: int | None, unit: str) -> None:
    if expected is not None and found != expected:
        raise InvalidData(f"{path}: {found} {unit}, the manifest says {expected}: the file is "
                          "cut short or damaged")


def check_backup(source: Path, accept_incomplete: bool = False) -> CheckedBackup:
    """Check a CSV backup completely without writing anything; returns what to restore.

    - ``MANIFEST.json`` exists; every file it lists is present (a missing file or folder is
      named) and no series or state file it does not list is present;
    - every CSV ends with a line break, has as many fields on each line as in its header, and
      holds as many data rows as the manifest says; every state file holds as many records;
    - every value is valid as the stores and the importer check it: timestamps parse and are
      unique, numbers are numbers and finite, prices and volumes within the importer's bounds,
      FX rates > 0 and within bounds (:func:`series_rules`), state records are JSON documents
      without NaN or infinities;
    - the backup is complete: series that failed when it was taken are refused unless
      ``accept_incomplete``.

    Backups from before manifest format 2 carry only per-library and per-collection counts;
    those are checked instead. Errors raise :class:`InvalidData` naming the file and line.
    """
    manifest_path = source / MANIFEST_FILE
    if not manifest_path.is_file():
        hint = ""
        if not source.exists() and _old(source).is_dir():
            hint = f"; {_old(source)} holds the previous backup (a backup was interrupted)"
        raise InvalidData(f"{source} is not a systrade backup (no {MANIFEST_FILE}){hint}")
    manifest = _read_json_object(manifest_path, "an object (the backup's manifest)")
    failed = manifest.get("failed") or {}
    if failed and not accept_incomplete:
        names = ", ".join(sorted(failed))
        raise InvalidData(f"{manifest_path}: the backup is incomplete: {len(failed)} series "
                          f"failed when it was taken ({names}); restore with "
                          "--accept_incomplete true to restore everything else")
    listed = manifest.get("files")
    if listed is not None and not isinstance(listed, dict):
        raise InvalidData(f"{manifest_path}: files: expected an object of file -> counts")
    found_rows: dict[str, tuple[int, int]] = {}  # checked after the line-level checks
    found_bytes: dict[str, tuple[int, int]] = {}  # checked after the content checks
    if listed is not None:
        for name in sorted(listed):
            entry = _manifest_entry(manifest_path, name, listed[name])
            if Path(name).is_absolute() or ".." in Path(name).parts:
                raise InvalidData(f"{manifest_path}: files: {name}: not inside the backup")
            path = source / name
            if not path.is_file():
                folder = path.parent
                while folder != source and not folder.parent.is_dir():
                    folder = folder.parent
                if folder != source and not folder.is_dir():
                    raise InvalidData(f"{folder}: folder missing (the manifest lists {name})")
                raise InvalidData(f"{path}: file missing (listed in the manifest)")
            if "rows" in entry:
                found_rows[name] = (count_csv_rows(path), entry["rows"])
            if "bytes" in entry:
                found_bytes[name] = (path.stat().st_size, entry["bytes"])

    series = list_series_files(source)
    for item in series:
        relative = item.path.relative_to(source).as_posix()
        if listed is not None and relative not in listed:
            raise InvalidData(f"{item.path}: not listed in the manifest {manifest_path}")
        item.load()
    for name, (found, expected) in sorted(found_rows.items()):  # after the line-level checks
        _check_count(source / name, found, expected, "data rows")
    state_dir = source / STATE_DIR
    if listed is not None:
        for path in sorted(state_dir.glob("*.jsonl")):
            if path.relative_to(source).as_posix() not in listed:
                raise InvalidData(f"{path}: not listed in the manifest {manifest_path}")
    records, counters = read_state_directory(state_dir)
    by_collection: dict[str, int] = {}
    for record in records:
        by_collection[record.collection] = by_collection.get(record.collection, 0) + 1
    if listed is not None:
        for name, entry in listed.items():
            if "records" in entry:
                collection = Path(name).stem
                _check_count(source / name, by_collection.get(collection, 0),
                             entry["records"], "records")
    else:
        _check_legacy_counts(source, manifest, series, by_collection)
    for name, (found, expected) in sorted(found_bytes.items()):
        _check_count(source / name, found, expected, "bytes")
    private = sorted(name for name in (listed or {}) if name.startswith(f"{PRIVATE_DIR}/"))
    return CheckedBackup(manifest, series, records, counters, private)


def _check_legacy_counts(source: Path, manifest: dict[str, Any], series: list[SeriesFile],
                         by_collection: dict[str, int]) -> None:
    """A backup from before manifest format 2: compare the symbols per library and records per
    collection with the manifest's ``counts``."""
    counts = manifest.get("counts")
    if not isinstance(counts, dict):
        raise InvalidData(f"{source / MANIFEST_FILE}: counts: expected an object")
    log.warning("%s is an older backup without a list of files: only its counts per library "
                "and collection can be checked", source)
    symbols: dict[str, int] = {}
    for item in series:
        symbols[item.library] = symbols.get(item.library, 0) + 1
    for name, expected in counts.items():
        family, _, what = name.partition("/")
        found = (symbols.get(what, 0) if family == "timeseries"
                 else by_collection.get(what, 0) if family == "state" else expected)
        if found != expected:
            unit = "series" if family == "timeseries" else "records"
            raise InvalidData(f"{source}: {name}: {found} {unit} found, the manifest says "
                              f"{expected}: files are missing or cut short")


def restore_private_config(source: Path, files: list[str], home: Path,
                           overwrite: bool) -> tuple[list[str], list[str]]:
    """Copy the backup's private config files into ``<home>/private``; returns (restored,
    kept). A file that is missing is written; one identical to the backup's is left; one that
    differs is kept (listed in ``kept``) unless ``overwrite``. Files are written 0600 through a
    temporary file and an atomic rename."""
    restored, kept = [], []
    for name in files:
        relative = Path(name).relative_to(PRIVATE_DIR)
        if ".." in relative.parts:
            raise InvalidData(f"{source / MANIFEST_FILE}: files: {name}: not inside private/")
        content = (source / name).read_bytes()
        target = home / PRIVATE_DIR / relative
        if target.is_file() and target.read_bytes() == content:
            continue
        if target.exists() and not overwrite:
            kept.append(name)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = sibling(target, ".restoring")
        tmp.write_bytes(content)
        tmp.chmod(0o600)
        tmp.replace(target)
        restored.append(name)
    return restored, kept


# restore --------------------------------------------------------------------------------------
def stores_holding_data(data: DataBlob) -> list[str]:
    """``"state store"`` and/or ``"time-series store"``: the stores holding a state record (the
    restore marker and leases: :data:`NOT_DATA`; log records and alerts: :data:`DIAGNOSTICS`,
    aside) or a time series."""
    holding = []
    if [c for c in data.state.collections() if c not in NOT_DATA | DIAGNOSTICS]:
        holding.append("state store")
    if any(data.timeseries.symbols(lib) for lib in data.timeseries.libraries()):
        holding.append("time-series store")
    return holding


def stores_are_empty(data: DataBlob) -> bool:
    """No state record (see :func:`stores_holding_data`) and no time series."""
    return not stores_holding_data(data)


def _not_empty_message(holding: list[str]) -> str:
    """Why a restore without overwrite is refused, naming the stores that hold data."""
    if len(holding) == 1:
        other = "time-series store" if holding[0] == "state store" else "state store"
        what = f"the {holding[0]} holds data (the {other} is empty)"
    else:
        what = "the stores are not empty"
    return (f"{what}; restore with --overwrite true to replace everything in both stores with "
            "the backup (anything recorded since the backup is lost: keep a copy first, e.g. "
            "backup_state_store)")


def wipe_state(store: StateStore, keep_marker: bool = False) -> None:
    """Delete every state record and forget every counter (optionally keeping the restore
    marker)."""
    for collection in store.collections():
        if (keep_marker and collection == RESTORE_MARKER) or collection == LEASES:
            continue  # leases belong to running processes (the restore's own among them)
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
                  started: Any, kind: str = "csv",
                  holding: list[str] | None = None) -> tuple[bool, dict[str, int]]:
    """Decide whether a restore may go ahead and set the restore-in-progress marker.

    ``kind`` is ``"csv"`` (every store) or ``"state"`` (the state store only); ``holding``
    names the stores that hold data, for the refusal (default: "the stores"). Returns
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
        if kind == "csv" and holding:
            raise ExistingData(_not_empty_message(holding))
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
    """Write the state records and counters, then remove the restore marker. Leases in a
    backup (taken before they were left out) are stale holdings: skipped."""
    records = [r for r in records if r.collection != LEASES]
    for start in range(0, len(records), BATCH):
        store.apply(records[start:start + BATCH])
    for name, value in {**counters_before, **counters}.items():
        store.set_counter_at_least(name, max(int(value), int(counters_before.get(name, 0))))
    store.apply([Delete(RESTORE_MARKER, RESTORE_MARKER_KEY)])


def restore_from_csv(data: DataBlob, source: Path, overwrite: bool = False,
                     overwrite_private: bool = False,
                     accept_incomplete: bool = False) -> dict[str, Any]:
    """Load a backup written by :func:`backup_to_csv` into the stores.

    1. The backup is checked against its manifest and every file is read and validated (see
       :func:`check_backup`); an error names the file (and line) and nothing has been written.
       A backup whose manifest lists series that failed when it was taken is refused unless
       ``accept_incomplete``.
    2. Refuses (:class:`ExistingData`) when the stores already hold data, unless ``overwrite``,
       in which case every time series, state record and counter is deleted first, so the
       stores end up holding exactly the backup.
    3. A marker (state collection ``_restore``) is set before the first write and removed after
       the last; if a restore is interrupted, running it again wipes what it wrote and starts
       over (no ``overwrite`` needed).
    4. The private config files of the backup are written into ``<home>/private`` where missing;
       an existing file that differs is kept unless ``overwrite_private``.

    Returns counts and the private config files ``private_restored`` / ``private_kept``.
    """
    source = Path(source).expanduser()
    checked = check_backup(source, accept_incomplete=accept_incomplete)

    holding = stores_holding_data(data)
    wipe, counters_before = begin_restore(data.state, source, overwrite, not holding,
                                          data.now(), holding=holding)
    if wipe:
        wipe_timeseries(data)
        wipe_state(data.state, keep_marker=True)
    for item in checked.series:
        data.timeseries.write(item.library, item.symbol, item.load())
    finish_restore(data.state, checked.records, checked.counters, counters_before)
    restored, kept = restore_private_config(source, checked.private, data.home, overwrite_private)
    return {"timeseries": len(checked.series), "state_records": len(checked.records),
            "counters": len(checked.counters), "private_restored": restored,
            "private_kept": kept}
