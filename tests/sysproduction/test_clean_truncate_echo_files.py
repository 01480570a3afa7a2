import datetime as dt
import os

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
