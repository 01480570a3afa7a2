"""Rotate the echo files (what cron appends each process's output to).

    python run.py sysproduction.clean_truncate_echo_files.clean_truncate_echo_files

Each ``<echo dir>/<name>.txt`` last written before today (UTC, by the clock) is renamed
``<name>.txt.<YYYY-MM-DD>`` (the date of its last write); rotated files older than ``days``
(default 30) are deleted. Only files matching those two patterns are touched: anything else
in the folder is left alone. Only rotated files this command made (recorded in
``echos/.systrade_rotated``, :mod:`syslogdiag.rotated_files`) are ever appended to or deleted,
and symbolic links are never followed. The echo dir is ``$SYSTRADE_HOME/echos``.
"""
from __future__ import annotations

import datetime as dt
import re
import stat
from pathlib import Path

from sysdata.data_blob import DataBlob
from syslogdiag import rotated_files
from syslogdiag.cleaning import check_retention_days
from sysproduction.process_helpers import blob_for

ROTATED = re.compile(r"^(?P<name>.+)\.txt\.(?P<date>\d{4}-\d{2}-\d{2})$")


def echo_directory(home: Path) -> Path:
    return home / "echos"


def rotate_echo_files(folder: Path, today: dt.date, keep_days: int) -> tuple[list[str], list[str]]:
    """``(renamed, deleted)`` file names (see module docstring).

    Rotation and deletion go through :mod:`syslogdiag.rotated_files`: a rotated file is
    recorded in ``<folder>/.systrade_rotated``; only recorded files are ever appended to or
    deleted; symbolic links are never followed (a linked ``<name>.txt`` or target is left
    alone with a warning); nothing outside ``folder`` is touched."""
    renamed: list[str] = []
    if not folder.is_dir():  # the folder itself may be a link (e.g. to another disk)
        return renamed, []
    for path in sorted(folder.glob("*.txt")):
        try:
            info = path.lstat()
        except FileNotFoundError:
            continue
        if not stat.S_ISREG(info.st_mode):
            if stat.S_ISLNK(info.st_mode):
                rotated_files.warn(f"{path} is a symbolic link: not rotated")
            continue
        written = dt.datetime.fromtimestamp(info.st_mtime, dt.timezone.utc).date()
        if written >= today:
            continue
        target = path.with_name(f"{path.name}.{written:%Y-%m-%d}")
        if rotated_files.rotate(path, target):  # a second rotation of a day appends
            renamed.append(target.name)
    limit = today - dt.timedelta(days=keep_days)
    old = []
    for name in sorted(rotated_files.recorded(folder)):
        match = ROTATED.match(name)
        if match is None:
            continue
        try:
            day = dt.date.fromisoformat(match["date"])
        except ValueError:
            continue
        if day < limit:
            old.append(name)
    return renamed, rotated_files.delete_recorded(folder, old)


def clean_truncate_echo_files(days: int = 30, data: DataBlob | None = None) -> str:
    """Rotate yesterday's echo files and delete rotated ones older than ``days``. ``days``
    below 1 is refused before anything is opened (:func:`check_retention_days`: one line,
    exit 2), as the log cleaner refuses it."""
    days = check_retention_days(days)
    with blob_for(data, "clean_truncate_echo_files") as blob:
        renamed, deleted = rotate_echo_files(echo_directory(blob.home), blob.now().date(), days)
        return (f"clean_truncate_echo_files: {len(renamed)} rotated, {len(deleted)} deleted "
                f"(older than {days} days)")
