"""A CSV backup onto a full disk (a real 256 KB tmpfs in a private mount namespace): one
line per failure on the console, no traceback, a non-zero exit, the log file written, and no
unfinished ``.partial`` left filling the disk."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.blob_helpers import make_blob

REPO = Path(__file__).resolve().parents[2]


def _private_tmpfs_prefix(mount_point: Path) -> list[str]:
    """Run the command with a 256 KB tmpfs on ``mount_point``, seen only by that command;
    after it, the listing of ``mount_point`` is printed after a ``LEFT:`` line."""
    if os.geteuid() != 0 or shutil.which("unshare") is None or \
            subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode != 0:
        pytest.skip("needs root and mount namespaces to mount a small tmpfs")
    script = (f'mount -t tmpfs -o size=256k tmpfs "{mount_point}" && {{ "$@"; rc=$?; '
              f'echo LEFT:; ls -A "{mount_point}"; exit $rc; }}')
    return ["unshare", "-m", "sh", "-c", script, "sh"]


def test_backup_onto_a_full_disk_is_one_line_per_failure_and_leaves_nothing(tmp_path):
    home, disk = tmp_path / "home", tmp_path / "disk"
    disk.mkdir()
    blob = make_blob(home)
    index = pd.date_range("2000-01-01", periods=20_000, freq="h", tz="UTC")
    for code in ("CORN", "GOLD"):  # about 0.6 MB each as CSV: more than the disk holds
        blob.timeseries.write("adjusted_prices", code,
                              pd.DataFrame({"price": range(len(index))}, index=index,
                                           dtype=float))
    blob.state.put("notes", "a", {"v": 1})  # a state store holding data, as a used home's does
    blob.close()
    env = {**os.environ, "SYSTRADE_HOME": str(home), "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [*_private_tmpfs_prefix(disk), sys.executable, str(REPO / "run.py"),
         "backup_db_to_csv.backup_db_to_csv", "--destination", str(disk / "csv")],
        cwd=REPO, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=300)
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr  # before: 30 lines per series
    assert "No space left on device" in result.stderr
    left = result.stdout.split("LEFT:", 1)[1].split()
    assert left == [], left  # before: csv.partial kept the disk full
    log_file = home / "logs" / "backup_db_to_csv.log"
    assert "Traceback" in log_file.read_text()  # the details are in the log file
