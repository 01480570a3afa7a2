"""Restore a wiped (or new) home from a CSV backup written by ``backup_db_to_csv``.

    python run.py sysproduction.restore_db_from_csv.restore_db_from_csv --source /path
"""
from __future__ import annotations

import logging

from sysdata.backup import restore_from_csv
from sysdata.data_blob import DataBlob
from sysproduction.process_helpers import open_blob

log = logging.getLogger("systrade.restore_db_from_csv")


def restore_db_from_csv(source: str, overwrite: bool = False, data: DataBlob | None = None) -> str:
    """Load every time series, state record and id counter from ``source``.

    Everything is validated before anything is written. Refuses if the stores hold data, unless
    ``overwrite`` is true: then every time series, state record and counter is deleted first and
    the stores end up holding exactly the backup. A restore that was interrupted can be run again
    (it starts over)."""
    own = data is None
    data = data or open_blob("restore_db_from_csv")  # start-up problems: one line, exit 2
    try:
        counts = restore_from_csv(data, source, overwrite=overwrite)
        message = (f"restored {counts['timeseries']} time series, {counts['state_records']} "
                   f"state records and {counts['counters']} id counters from {source}")
        log.info(message)
        return message
    finally:
        if own:
            data.close()
