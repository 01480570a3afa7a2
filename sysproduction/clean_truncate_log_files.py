"""Delete old log records from the state store and old daily log files.

    python run.py sysproduction.clean_truncate_log_files.clean_truncate_log_files
"""
from __future__ import annotations

from sysdata.data_blob import DataBlob
from syslogdiag.cleaning import check_retention_days, delete_old_log_files, delete_old_logs
from syslogdiag.logging_setup import log_directory
from sysproduction.process_helpers import blob_for


def clean_truncate_log_files(days: int | None = None, data: DataBlob | None = None) -> str:
    """Remove log records and rotated log files older than ``days`` (default config
    ``logging.file_retention_days``, 30), measured from the clock's now (UTC). ``days`` below 1
    is refused before anything is opened (:func:`check_retention_days`: one line, exit 2)."""
    if days is not None:
        days = check_retention_days(days)
    with blob_for(data, "clean_truncate_log_files") as blob:
        keep = blob.config.logging.file_retention_days if days is None else days
        records = delete_old_logs(blob.logs, keep, blob.now())
        files = delete_old_log_files(log_directory(blob.home), keep, blob.now())
        return f"removed {records} log records and {len(files)} log files older than {keep} days"
