"""Back up the state store as a whole, and restore it.

SQLite: a consistent copy made with SQLite's online backup API while other processes write.
MongoDB: ``mongodump`` when it is installed (the URL, with its password, is passed in a
temporary 0600 ``--config`` file, never on the command line), else a JSON-lines export of every
collection and counter (the same format as the ``state/`` folder of a CSV backup) taken with
:meth:`StateStore.snapshot`, which on MongoDB reads collection by collection: pause writers for a
consistent copy.

    python run.py sysproduction.backup_state_store.backup_state_store
    python run.py sysproduction.backup_state_store.restore_state_store --backup <file or folder>
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path
from typing import Annotated
from urllib.parse import unquote, urlparse

import yaml

from syscore.exceptions import InvalidData, StoreError
from syscore.run_function import FOLDER_PATH
from sysdata import owned_dirs
from sysdata.backup import (
    COUNTERS_FILE,
    DIAGNOSTICS,
    NOT_DATA,
    RESTORE_MARKER,
    begin_restore,
    finish_restore,
    read_state_directory,
    redact_store_uri,
    restore_in_progress,
    wipe_state,
    write_state_snapshot,
)
from sysdata.data_blob import DataBlob
from sysdata.home_record import HomeAccess
from sysdata.owned_dirs import DirectoryKind, NotOwnedDirectory, sibling
from sysdata.state.base import Put, StateStore, check_key, check_name, encode_doc
from sysdata.state.sqlite_store import SqliteStateStore
from sysproduction.process_helpers import blob_for

log = logging.getLogger("systrade.backup_state_store")


def state_backup_directory(data: DataBlob) -> Path:
    configured = data.config.backup_directory
    return Path(configured).expanduser() if configured else data.home / "backups"


def _is_legacy_state_export(directory: Path) -> bool:
    """A JSON state export written before ownership marks: ``_counters.json`` and nothing but
    ``*.jsonl`` files."""
    if not (directory / COUNTERS_FILE).is_file():
        return False
    return all(p.is_file() and (p.suffix == ".jsonl" or p.name == COUNTERS_FILE)
               for p in directory.iterdir())


def _state_export_files(directory: Path) -> set[str] | None:
    """The files a state export wrote, from its manifest (None without one)."""
    try:
        counts = json.loads((directory / EXPORT_MANIFEST).read_text())["counts"]
    except (OSError, ValueError, UnicodeDecodeError, KeyError, TypeError):
        return None
    if not isinstance(counts, dict):
        return None
    return {f"{name}.jsonl" for name in counts} | {COUNTERS_FILE, EXPORT_MANIFEST}


def _state_export_may_hold(relative: str) -> bool:
    """A file a state export writes (for a ``.partial`` or a legacy export: no file list)."""
    return "/" not in relative and (relative.endswith(".jsonl")
                                    or relative in (COUNTERS_FILE, EXPORT_MANIFEST))


EXPORT_MANIFEST = "MANIFEST.json"
STATE_EXPORT = DirectoryKind("state_export", "a systrade state-store export",
                             legacy=_is_legacy_state_export, contents=_state_export_files,
                             may_hold=_state_export_may_hold)


def export_state_json(store: StateStore, directory: Path) -> Path:
    """Write one snapshot of the store (every record and counter) as JSON lines into
    ``directory`` with a ``MANIFEST.json`` of record counts per collection; written to
    ``<directory>.partial`` first and renamed when complete. ``directory`` may only be absent, empty or an earlier state export (anything else is
    refused before anything is written)."""
    directory = owned_dirs.absolute(directory)
    with owned_dirs.exclusive(directory):  # a second export at the same time is refused
        owned_dirs.recover_interrupted_swap(directory, STATE_EXPORT)
        owned_dirs.check_replaceable(directory, STATE_EXPORT)
        dump, counters = store.snapshot()
        partial = owned_dirs.start_partial(directory, STATE_EXPORT)
        counts = write_state_snapshot(dump, counters, partial)
        (partial / EXPORT_MANIFEST).write_text(json.dumps(
            {"format": "systrade_state_export", "counts": counts}, indent=1, sort_keys=True))
        return owned_dirs.swap_into_place(partial, directory, STATE_EXPORT)


def is_sqlite_state_file(path: Path) -> bool:
    """True when ``path`` is a SQLite file holding systrade's state tables."""
    if not path.is_file() or path.is_symlink():
        return False
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = {row[0] for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return False
    return {"docs", "counters"} <= tables


def backup_sqlite_file(store: SqliteStateStore, target: Path) -> Path:
    """Online backup of a SQLite state store into ``target`` through ``<target>.partial``.
    ``target`` (and a leftover ``.partial``) may only be absent or an earlier systrade state
    file: anything else is refused (:class:`NotOwnedDirectory`) and left untouched."""
    partial = sibling(target, ".partial")
    for path in (target, partial):
        if (path.exists() or path.is_symlink()) and not is_sqlite_state_file(path):
            raise NotOwnedDirectory(
                f"{path} exists and is not a systrade state backup; refusing to replace it: "
                "nothing was changed. Choose another destination, or move it away yourself")
    partial.unlink(missing_ok=True)
    store.backup_to(partial)
    partial.replace(target)
    return target


def _hide_secrets(text: str, url: str) -> str:
    """``text`` with ``url`` and its password (raw and percent-decoded) hidden."""
    text = text.replace(url, redact_store_uri(url))
    try:
        password = urlparse(url).password
    except ValueError:
        password = None
    for secret in {password, unquote(password or "")} - {None, ""}:
        text = text.replace(secret, "***")
    return text


def run_mongodump(url: str, target: Path) -> Path:
    """``mongodump`` of the database named by ``url`` into ``target``. The URL goes through a
    temporary YAML ``--config`` file readable only by this user, so the password is never on the
    command line (visible in ``ps``). A failure raises :class:`StoreError` with the password
    hidden."""
    handle, config_path = tempfile.mkstemp(prefix="systrade_mongodump_", suffix=".yaml")
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "w") as config_file:
            yaml.safe_dump({"uri": url}, config_file)
        try:
            subprocess.run(["mongodump", f"--config={config_path}", f"--out={target}"],
                           check=True, capture_output=True, text=True)
        except subprocess.CalledProcessError as exc:
            detail = _hide_secrets(f"{exc.stderr or ''}{exc.stdout or ''}".strip(), url)
            raise StoreError(f"mongodump of {redact_store_uri(url)} failed (exit code "
                             f"{exc.returncode}): {detail}") from None
        except OSError as exc:
            raise StoreError(f"cannot run mongodump: {_hide_secrets(str(exc), url)}") from None
    finally:
        Path(config_path).unlink(missing_ok=True)
    return target


def backup_state_store(destination: Annotated[str | None, FOLDER_PATH] = None,
                       data: DataBlob | None = None) -> str:
    """Back up the state store into ``destination`` (default ``backup_directory`` config, else
    ``$SYSTRADE_HOME/backups``); returns the path written. Refuses while a restore is
    unfinished."""
    # start-up problems: one line, exit 2; logging to the console and the log file
    with blob_for(data, "backup_state_store") as data:
        marker = restore_in_progress(data.state)
        if marker is not None:
            raise StoreError(f"a restore from {marker.get('source')} has not finished; run it "
                             "again to completion before taking a backup")
        directory = Path(destination).expanduser() if destination else state_backup_directory(data)
        stamp = data.now().strftime("%Y%m%d_%H%M%S")
        url = data.config.state_store
        if isinstance(data.state, SqliteStateStore):
            directory.mkdir(parents=True, exist_ok=True)
            target = backup_sqlite_file(data.state, directory / f"state_{stamp}.sqlite")
        elif shutil.which("mongodump") and url.startswith(("mongodb://", "mongodb+srv://")):
            target = directory / f"mongodump_{stamp}"
            if target.exists() and not (target.is_dir() and not any(target.iterdir())):
                raise NotOwnedDirectory(f"{target} already exists; refusing to dump into it: "
                                        "nothing was changed")
            directory.mkdir(parents=True, exist_ok=True)
            target = run_mongodump(url, target)
        else:
            target = export_state_json(data.state, directory / f"state_{stamp}")
        log.info("state store backed up to %s", target)
        return str(target)


def _read_sqlite_backup(path: Path) -> tuple[list[Put], dict[str, int]]:
    """Every record and counter of a SQLite state file, opened read-only and checked as the
    state store will check it."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            rows = conn.execute("SELECT collection, key, doc FROM docs "
                                "ORDER BY collection, key").fetchall()
            counters = dict(conn.execute("SELECT name, value FROM counters").fetchall())
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise InvalidData(f"{path}: not a systrade SQLite state file: {exc}") from None
    ops = []
    for collection, key, text in rows:
        try:
            if collection == RESTORE_MARKER:
                raise InvalidData("the backup was taken during an unfinished restore")
            check_name(collection)
            check_key(key)
            doc = json.loads(text)
            encode_doc(doc)
        except (InvalidData, json.JSONDecodeError) as exc:
            raise InvalidData(f"{path}: {collection}/{key}: {exc}") from None
        ops.append(Put(collection, key, doc))
    for name, value in counters.items():
        if not isinstance(value, int) or value < 0:
            raise InvalidData(f"{path}: counter {name!r} is not a non-negative integer")
    return ops, counters


def read_state_backup(path: Path) -> tuple[list[Put], dict[str, int]]:
    """Records and counters of a state backup: a SQLite file or a JSON export folder."""
    if path.is_file():
        return _read_sqlite_backup(path)
    if path.is_dir():
        if not (path / COUNTERS_FILE).is_file() and any(path.rglob("*.bson")):
            raise InvalidData(f"{path} is a mongodump; restore it with mongorestore")
        records = read_state_directory(path)
        _check_export_manifest(path, records[0])
        return records
    raise InvalidData(f"{path}: no such state backup")


def _check_export_manifest(directory: Path, records: list[Put]) -> None:
    """A JSON export's ``MANIFEST.json`` (absent in exports written before it existed): every
    collection it lists has that many records, and no other collection file is present."""
    path = directory / EXPORT_MANIFEST
    if not path.exists():
        log.warning("%s has no %s (an older export): its record counts cannot be checked",
                    directory, EXPORT_MANIFEST)
        return
    try:
        manifest = json.loads(path.read_text())
        counts = manifest["counts"]
        if not isinstance(counts, dict):
            raise TypeError
    except (ValueError, UnicodeDecodeError, KeyError, TypeError):
        raise InvalidData(f"{path}: not a state export manifest") from None
    found: dict[str, int] = {}
    for record in records:
        found[record.collection] = found.get(record.collection, 0) + 1
    for file in sorted(directory.glob("*.jsonl")):
        if file.stem not in counts:
            raise InvalidData(f"{file}: not listed in the manifest {path}")
    for collection, expected in sorted(counts.items()):
        file = directory / f"{collection}.jsonl"
        if not file.is_file():
            raise InvalidData(f"{file}: file missing (listed in the manifest)")
        if found.get(collection, 0) != expected:
            raise InvalidData(f"{file}: {found.get(collection, 0)} records, the manifest says "
                              f"{expected}: the file is cut short or damaged")


def state_store_is_empty(store: StateStore) -> bool:
    return not [c for c in store.collections() if c not in NOT_DATA | DIAGNOSTICS]


def restore_state_store(backup: str, overwrite: bool = False, data: DataBlob | None = None) -> str:
    """Load a state backup (SQLite file or JSON export folder) into the configured state store.

    Every record is read and checked before anything is written. Refuses (ExistingData) if the
    state store holds records, unless ``overwrite``: then every record and counter is deleted
    first, so the store ends up holding exactly the backup. An interrupted restore can be run
    again (it starts over). Time series are not touched. Holds the leases
    ``restore_db_from_csv`` holds (every series family, :mod:`sysproduction.leases`): refused,
    with nothing changed, while a writer runs."""
    # start-up problems: one line; logging to the console and the log file; every series lease
    # held, as restore_db_from_csv holds them (sysproduction.leases): refused while any writer runs
    with blob_for(data, "restore_state_store", access=HomeAccess.RESTORE) as data:
        path = Path(backup).expanduser()
        ops, counters = read_state_backup(path)
        wipe, counters_before = begin_restore(data.state, path, overwrite,
                                              state_store_is_empty(data.state), data.now(),
                                              kind="state")
        if wipe:
            wipe_state(data.state, keep_marker=True)
        finish_restore(data.state, ops, counters, counters_before)
        message = f"restored {len(ops)} state records and {len(counters)} id counters from {path}"
        log.info(message)
        return message
