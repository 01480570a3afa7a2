import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sysproduction.clean_truncate_echo_files import clean_truncate_echo_files, echo_directory
from tests.blob_helpers import FixedClock, make_blob


def touch(path, text, day: dt.date):
    path.write_text(text)
    stamp = dt.datetime.combine(day, dt.time(22, 0), dt.timezone.utc).timestamp()
    os.utime(path, (stamp, stamp))


def test_rotates_yesterdays_deletes_old_and_leaves_the_rest(tmp_path):
    blob = make_blob(tmp_path / "home", clock=FixedClock("2024-03-07 00:05"))
    echos = echo_directory(blob.home)
    echos.mkdir()
    touch(echos / "run_systems.txt", "yesterday\n", dt.date(2024, 3, 6))
    touch(echos / "run_backups.txt", "today\n", dt.date(2024, 3, 7))
    touch(echos / "run_cleaners.txt.2024-01-31", "old\n", dt.date(2024, 1, 31))
    touch(echos / "run_cleaners.txt.2024-02-20", "recent\n", dt.date(2024, 2, 20))
    touch(echos / "notes.md", "mine\n", dt.date(2020, 1, 1))
    touch(echos / "run_systems.txt.2024-03-06", "earlier rotation\n", dt.date(2024, 3, 6))
    summary = clean_truncate_echo_files(data=blob)
    assert summary == ("clean_truncate_echo_files: 1 rotated, 1 deleted (older than 30 days)")
    assert sorted(p.name for p in echos.iterdir()) == [
        "notes.md", "run_backups.txt", "run_cleaners.txt.2024-02-20",
        "run_systems.txt.2024-03-06"]
    assert (echos / "run_systems.txt.2024-03-06").read_text() == "earlier rotation\nyesterday\n"
    assert (echos / "run_backups.txt").read_text() == "today\n"
    blob.close()


REPO = Path(__file__).resolve().parents[2]


def run_command(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SYSTRADE_HOME": str(home), "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, str(REPO / "run.py"), *args], cwd=REPO, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("days", ["-1", "0"])
def test_negative_or_zero_days_is_refused_and_deletes_nothing(tmp_path, days):
    """``--days -1`` deleted every rotated echo file (the limit was tomorrow)."""
    home = tmp_path / "home"
    make_blob(home).close()
    echos = echo_directory(home)
    echos.mkdir()
    touch(echos / "run_systems.txt.2024-03-06", "kept\n", dt.date(2024, 3, 6))
    result = run_command(home, "clean_truncate_echo_files.clean_truncate_echo_files",
                         "--days", days)
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert result.stderr.strip().count("\n") == 0, result.stderr  # one line
    assert "--days must be a whole number of days, at least 1" in result.stderr
    assert (echos / "run_systems.txt.2024-03-06").read_text() == "kept\n"
