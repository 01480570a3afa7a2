"""Back up every time series and state table to CSV (pysystemtrade layout where one exists).

The state part is one snapshot of the state store: consistent on SQLite; on MongoDB it is read
collection by collection, so pause the processes that write (or run it when they are idle) for a
consistent copy. Refuses while a restore is unfinished. See :mod:`sysdata.backup`.

Run from cron by ``run_backups`` or by hand::

    python run.py sysproduction.backup_db_to_csv.backup_db_to_csv --destination /path
"""
from __future__ import annotations

import logging
from pathlib import Path

from sysdata.backup import backup_to_csv
from sysdata.data_blob import DataBlob
from sysproduction.process_helpers import open_blob

log = logging.getLogger("systrade.backup_db_to_csv")


def csv_backup_directory(data: DataBlob) -> Path:
    configured = data.config.csv_backup_directory
    return Path(configured).expanduser() if configured else data.home / "backups" / "csv"


def backup_db_to_csv(destination: str | None = None, data: DataBlob | None = None) -> str:
    """Write the whole database to CSV under ``destination`` (default: config
    ``csv_backup_directory``, else ``$SYSTRADE_HOME/backups/csv``); returns the directory."""
    own = data is None
    data = data or open_blob("backup_db_to_csv")  # start-up problems: one line, exit 2
    try:
        target = Path(destination).expanduser() if destination else csv_backup_directory(data)
        manifest = backup_to_csv(data, target)
        total = sum(manifest["counts"].values())
        log.info("CSV backup written to %s (%d series/collections entries)", target, total)
        return str(target)
    finally:
        if own:
            data.close()
