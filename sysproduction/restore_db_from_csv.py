"""Restore a wiped (or new) home from a CSV backup written by ``backup_db_to_csv``.

    python run.py sysproduction.restore_db_from_csv.restore_db_from_csv --source /path
"""
from __future__ import annotations

import logging
from typing import Annotated

from syscore.run_function import FOLDER_PATH
from sysdata.backup import restore_from_csv
from sysdata.data_blob import DataBlob
from sysdata.home_record import HomeAccess
from sysproduction.process_helpers import blob_for

log = logging.getLogger("systrade.restore_db_from_csv")


def restore_db_from_csv(source: Annotated[str, FOLDER_PATH], overwrite: bool = False,
                        overwrite_private: bool = False, accept_incomplete: bool = False,
                        data: DataBlob | None = None) -> str:
    """Load every time series, state record and id counter from ``source``, and its private
    config into ``$SYSTRADE_HOME/private``.

    The backup is checked against its manifest and every file validated before anything is
    written (a damaged backup is refused, naming the file and line). Refuses if the stores hold
    data, unless ``overwrite`` is true: then every time series, state record and counter is
    deleted first and the stores end up holding exactly the backup. A private config file that
    already exists and differs from the backup's is kept unless ``overwrite_private``. A backup
    whose manifest lists failed series is refused unless ``accept_incomplete``. A restore that
    was interrupted can be run again (it starts over). Holds the lease of every time-series
    family (:mod:`sysproduction.leases`): refused while a price, capital or backtest writer
    runs, and they are refused while it does."""
    # start-up problems: one line; logging to the console and the log file; every series
    # lease held (sysproduction.leases): refused while any writer runs
    with blob_for(data, "restore_db_from_csv", access=HomeAccess.RESTORE) as data:
        counts = restore_from_csv(data, source, overwrite=overwrite,
                                  overwrite_private=overwrite_private,
                                  accept_incomplete=accept_incomplete)
        message = (f"restored {counts['timeseries']} time series, {counts['state_records']} "
                   f"state records, {counts['counters']} id counters and "
                   f"{len(counts['private_restored'])} private config files from {source}")
        if counts["private_kept"]:
            kept = ", ".join(counts["private_kept"])
            message += (f"; kept your existing {kept} (it differs from the backup's copy under "
                        f"{source}: compare them and copy the backup's over yours if you want "
                        "it; --overwrite_private true does this on restore)")
            log.warning(message)
        else:
            log.info(message)
        return message
