"""Removing old log records from the state store and old rotated log files from disk."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from syscore.dates import to_utc
from syscore.run_function import ParameterError
from syslogdiag import rotated_files

_ROTATED = re.compile(r"^[^/]+\.log\.(\d{4}-\d{2}-\d{2})$")


def check_retention_days(days: object, option: str = "--days") -> int:
    """``days`` as a retention period in whole days, at least 1 (as ``logging.file_retention_days``
    requires); anything else (negative, zero, a fraction, a bool) is a :class:`ParameterError`
    (one line, exit 2), checked before anything is opened or deleted. Shared by the log and
    echo cleaners."""
    if isinstance(days, bool) or not isinstance(days, (int, float)) or days != int(days) \
            or days < 1:
        raise ParameterError(f"{option} must be a whole number of days, at least 1, got {days!r}: "
                             "nothing was deleted")
    return int(days)


def delete_old_logs(log_data: Any, days: float, now: Any) -> int:
    """Delete stored records older than ``days`` days before ``now`` (UTC); returns how many."""
    if days < 0:
        raise ParameterError(f"days must be >= 0, got {days}")
    return log_data.delete_before(to_utc(now) - pd.Timedelta(days=days))


def delete_old_log_files(log_dir: Path, days: float, now: Any) -> list[Path]:
    """Delete rotated log files in ``log_dir`` older than ``days`` days before ``now`` (UTC);
    returns the paths removed.

    Only files systrade's daily handler rotated are ever removed: ``<name>.log.YYYY-MM-DD``
    (dated by that suffix, the UTC day it covers) **recorded** by the handler in
    ``<log_dir>/.systrade_rotated`` (:mod:`syslogdiag.rotated_files`) and still a regular file.
    Current ``*.log`` files, symbolic links, folders, a user's file with a matching-looking name
    and every other file (whatever its name or age) are left alone; nothing outside ``log_dir``
    is reached.
    """
    if days < 0:
        raise ParameterError(f"days must be >= 0, got {days}")
    log_dir = Path(log_dir)
    if not log_dir.is_dir():  # the folder itself may be a link (e.g. to another disk)
        return []
    cutoff = to_utc(now) - pd.Timedelta(days=days)
    old = []
    for name in sorted(rotated_files.recorded(log_dir)):
        match = _ROTATED.search(name)
        if not match:
            continue
        try:
            stamp = to_utc(match.group(1)) + pd.Timedelta(days=1)  # end of the day it covers
        except ValueError:
            continue  # e.g. 2024-13-01: not a file the handler wrote
        if stamp < cutoff:
            old.append(name)
    return [log_dir / name for name in rotated_files.delete_recorded(log_dir, old)]
