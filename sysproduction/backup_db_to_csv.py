"""Back up every time series, state table and the private config to CSV (pysystemtrade layout
where one exists).

The state part is one snapshot of the state store: consistent on SQLite; on MongoDB it is read
collection by collection, so pause the processes that write (or run it when they are idle) for a
consistent copy. Refuses while a restore is unfinished, and refuses a destination that is neither
absent, empty nor an earlier systrade CSV backup. The backup holds a copy of
``$SYSTRADE_HOME/private``, **secrets included**: keep it where only you can read it. See
:mod:`sysdata.backup`.

Run from cron by ``run_backups`` or by hand::

    python run.py sysproduction.backup_db_to_csv.backup_db_to_csv --destination /path
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

from syscore.exceptions import StoreError
from syscore.run_function import FOLDER_PATH
from sysdata.backup import backup_to_csv
from sysdata.data_blob import DataBlob
from sysproduction.process_helpers import blob_for

log = logging.getLogger("systrade.backup_db_to_csv")

SECRETS_WARNING = ("it includes the private config (secrets such as account ids and "
                   "passwords): keep it where only you can read it")


class BackupIncomplete(StoreError):
    """The backup was written, but some series could not be backed up."""


def csv_backup_directory(data: DataBlob) -> Path:
    configured = data.config.csv_backup_directory
    return Path(configured).expanduser() if configured else data.home / "backups" / "csv"


def backup_db_to_csv(destination: Annotated[str | None, FOLDER_PATH] = None,
                     allow_shrink: bool = False, data: DataBlob | None = None) -> str:
    """Write the whole database and the private config to CSV under ``destination`` (default:
    config ``csv_backup_directory``, else ``$SYSTRADE_HOME/backups/csv``); returns a one-line
    summary. A series that cannot be backed up does not stop the others: it is listed in the
    manifest, logged, and :class:`BackupIncomplete` is raised at the end (non-zero exit).
    A backup holding data is never replaced by one with less than half its series or state
    records unless ``allow_shrink`` (the stores have most likely lost data)."""
    # start-up problems: one line, exit 2; logging to the console and the log file
    with blob_for(data, "backup_db_to_csv") as data:
        target = Path(destination).expanduser() if destination else csv_backup_directory(data)
        manifest = backup_to_csv(data, target, allow_shrink=allow_shrink)
        series = sum(n for k, n in manifest["counts"].items() if k.startswith("timeseries/"))
        records = sum(n for k, n in manifest["counts"].items() if k.startswith("state/"))
        failed = manifest["failed"]
        summary = (f"backup_db_to_csv: {series} series written ({manifest['reused']} unchanged, "
                   f"copied from the previous backup), {len(failed)} failed, "
                   f"{records} state records, {len(manifest['private_config'])} private config "
                   f"files, to {target}")
        if manifest["private_config"]:
            log.warning("CSV backup at %s: %s", target, SECRETS_WARNING)
            summary += f"; {SECRETS_WARNING}"
        if failed:
            names = ", ".join(sorted(failed))
            log.error("%s (failed: %s)", summary, names)
            raise BackupIncomplete(f"{summary} (failed: {names}; details in the log)")
        log.info(summary)
        return summary
