"""Back up the state store as a whole.

SQLite: a consistent copy made with SQLite's online backup API while other processes write.
MongoDB: ``mongodump`` when it is installed, else a JSON-lines export of every collection and
counter (the same format as the ``state/`` folder of a CSV backup).

    python run.py sysproduction.backup_state_store.backup_state_store
"""
from __future__ import annotations

import json
import logging
import shutil
import subprocess
from pathlib import Path

from sysdata.data_blob import DataBlob
from sysdata.state.base import Put, StateStore
from sysdata.state.sqlite_store import SqliteStateStore

log = logging.getLogger("systrade.backup_state_store")


def state_backup_directory(data: DataBlob) -> Path:
    configured = data.config.backup_directory
    return Path(configured).expanduser() if configured else data.home / "backups"


def export_state_json(store: StateStore, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for collection in store.collections():
        with open(directory / f"{collection}.jsonl", "w") as handle:
            for key, doc in store.find(collection):
                handle.write(json.dumps({"key": key, "doc": doc}, sort_keys=True) + "\n")
    (directory / "_counters.json").write_text(json.dumps(store.counters(), sort_keys=True))
    return directory


def backup_state_store(destination: str | None = None, data: DataBlob | None = None) -> str:
    """Back up the state store into ``destination`` (default ``backup_directory`` config, else
    ``$SYSTRADE_HOME/backups``); returns the path written."""
    own = data is None
    data = data or DataBlob.from_config(process_name="backup_state_store")
    try:
        directory = Path(destination).expanduser() if destination else state_backup_directory(data)
        stamp = data.now().strftime("%Y%m%d_%H%M%S")
        if isinstance(data.state, SqliteStateStore):
            target = data.state.backup_to(directory / f"state_{stamp}.sqlite")
        elif shutil.which("mongodump") and data.config.state_store.startswith("mongodb://"):
            target = directory / f"mongodump_{stamp}"
            subprocess.run(["mongodump", f"--uri={data.config.state_store}", f"--out={target}"],
                           check=True, capture_output=True)
        else:
            target = export_state_json(data.state, directory / f"state_{stamp}")
        log.info("state store backed up to %s", target)
        return str(target)
    finally:
        if own:
            data.close()


def restore_state_store(backup: str, data: DataBlob | None = None) -> str:
    """Copy every record of a state backup (SQLite file or JSON export directory) into the
    configured state store, replacing records with the same keys."""
    own = data is None
    data = data or DataBlob.from_config(process_name="restore_state_store")
    try:
        path = Path(backup).expanduser()
        if path.is_file():
            source = SqliteStateStore(path)
            try:
                ops = [Put(c, k, d) for c in source.collections() for k, d in source.find(c)]
                counters = source.counters()
            finally:
                source.close()
        else:
            ops, counters = [], json.loads((path / "_counters.json").read_text())
            for file in sorted(path.glob("*.jsonl")):
                for line in file.read_text().splitlines():
                    row = json.loads(line)
                    ops.append(Put(file.stem, row["key"], row["doc"]))
        for start in range(0, len(ops), 500):
            data.state.apply(ops[start:start + 500])
        for name, value in counters.items():
            data.state.set_counter_at_least(name, int(value))
        return f"restored {len(ops)} state records from {path}"
    finally:
        if own:
            data.close()
