"""Rotate the echo files (what cron appends each process's output to).

    python run.py sysproduction.clean_truncate_echo_files.clean_truncate_echo_files

Each ``<echo dir>/<name>.txt`` last written before today (UTC, by the clock) is renamed
``<name>.txt.<YYYY-MM-DD>`` (the date of its last write); rotated files older than ``days``
(default 30) are deleted. Only files matching those two patterns are touched: anything else
in the folder is left alone. The echo dir is ``$SYSTRADE_HOME/echos``.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from sysdata.data_blob import DataBlob
from syslogdiag.cleaning import check_retention_days
from sysproduction.process_helpers import blob_for

ROTATED = re.compile(r"^(?P<name>.+)\.txt\.(?P<date>\d{4}-\d{2}-\d{2})$")


def echo_directory(home: Path) -> Path:
    return home / "echos"


def rotate_echo_files(folder: Path, today: dt.date, keep_days: int) -> tuple[list[str], list[str]]:
    """``(renamed, deleted)`` file names (see module docstring)."""
    renamed, deleted = [], []
    if not folder.is_dir():
        return renamed, deleted
    for path in sorted(folder.glob("*.txt")):
        if not path.is_file():
            continue
        written = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.timezone.utc).date()
        if written >= today:
            continue
        target = path.with_name(f"{path.name}.{written:%Y-%m-%d}")
        if target.exists():  # a second rotation of the same day: append, never overwrite
            with target.open("ab") as out:
                out.write(path.read_bytes())
            path.unlink()
        else:
            path.rename(target)
        renamed.append(target.name)
    limit = today - dt.timedelta(days=keep_days)
    for path in sorted(folder.iterdir()):
        match = ROTATED.match(path.name)
        if match and path.is_file() and dt.date.fromisoformat(match["date"]) < limit:
            path.unlink()
            deleted.append(path.name)
    return renamed, deleted


def clean_truncate_echo_files(days: int = 30, data: DataBlob | None = None) -> str:
    """Rotate yesterday's echo files and delete rotated ones older than ``days``. ``days``
    below 1 is refused before anything is opened (:func:`check_retention_days`: one line,
    exit 2), as the log cleaner refuses it."""
    days = check_retention_days(days)
    with blob_for(data, "clean_truncate_echo_files") as blob:
        renamed, deleted = rotate_echo_files(echo_directory(blob.home), blob.now().date(), days)
        return (f"clean_truncate_echo_files: {len(renamed)} rotated, {len(deleted)} deleted "
                f"(older than {days} days)")
