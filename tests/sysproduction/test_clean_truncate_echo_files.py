import datetime as dt
import os

import pytest

from syslogdiag import rotated_files
from sysproduction.clean_truncate_echo_files import clean_truncate_echo_files, echo_directory
from tests.blob_helpers import FixedClock, make_blob
from tests.process_helpers import run_py


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
    for name in ("run_cleaners.txt.2024-01-31", "run_cleaners.txt.2024-02-20",
                 "run_systems.txt.2024-03-06"):  # made by earlier rotations
        rotated_files.record(echos, name)
    summary = clean_truncate_echo_files(data=blob)
    assert summary == ("clean_truncate_echo_files: 1 rotated, 1 deleted (older than 30 days)")
    assert sorted(p.name for p in echos.iterdir()) == [
        ".systrade_rotated", "notes.md", "run_backups.txt", "run_cleaners.txt.2024-02-20",
        "run_systems.txt.2024-03-06"]
    assert (echos / "run_systems.txt.2024-03-06").read_text() == "earlier rotation\nyesterday\n"
    assert (echos / "run_backups.txt").read_text() == "today\n"
    blob.close()


@pytest.mark.parametrize("days", ["-1", "0"])
def test_negative_or_zero_days_is_refused_and_deletes_nothing(tmp_path, days):
    """``--days -1`` deleted every rotated echo file (the limit was tomorrow)."""
    home = tmp_path / "home"
    make_blob(home).close()
    echos = echo_directory(home)
    echos.mkdir()
    touch(echos / "run_systems.txt.2024-03-06", "kept\n", dt.date(2024, 3, 6))
    result = run_py(home, "clean_truncate_echo_files.clean_truncate_echo_files",
                         "--days", days)
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert result.stderr.strip().count("\n") == 0, result.stderr  # one line
    assert "--days must be a whole number of days, at least 1" in result.stderr
    assert (echos / "run_systems.txt.2024-03-06").read_text() == "kept\n"


def test_rotation_never_follows_a_symlink_nor_writes_into_a_file_it_did_not_make(
        tmp_path, capfd):
    """A ``<name>.txt.<date>`` that existed was appended to, through a symbolic link to
    whatever file it pointed at; now only a rotated file this command made is appended to."""
    blob = make_blob(tmp_path / "home", clock=FixedClock("2024-03-07 00:05"))
    echos = echo_directory(blob.home)
    echos.mkdir()
    precious = tmp_path / "precious.txt"
    precious.write_text("mine\n")
    touch(echos / "run_systems.txt", "yesterday\n", dt.date(2024, 3, 6))
    (echos / "run_systems.txt.2024-03-06").symlink_to(precious)
    touch(echos / "run_backups.txt", "yesterday\n", dt.date(2024, 3, 6))
    touch(echos / "run_backups.txt.2024-03-06", "a user's file\n", dt.date(2024, 3, 6))
    (echos / "run_linked.txt").symlink_to(precious)
    os.utime(precious, (0, 0))
    summary = clean_truncate_echo_files(data=blob)
    assert summary.startswith("clean_truncate_echo_files: 0 rotated, 0 deleted")
    assert precious.read_text() == "mine\n"  # before: "mine\nyesterday\n"
    assert (echos / "run_backups.txt.2024-03-06").read_text() == "a user's file\n"
    assert (echos / "run_systems.txt").read_text() == "yesterday\n"  # left for the operator
    assert (echos / "run_backups.txt").read_text() == "yesterday\n"
    assert (echos / "run_linked.txt").is_symlink()
    warnings = capfd.readouterr().err
    assert "run_systems.txt.2024-03-06 exists and is a symbolic link" in warnings
    assert "run_backups.txt.2024-03-06 exists and is not a file systrade rotated" in warnings
    assert "run_linked.txt is a symbolic link: not rotated" in warnings
    blob.close()


def test_only_rotated_files_it_made_are_deleted(tmp_path):
    """Deletion after ``days`` went by name pattern: a user's ``x.txt.2020-01-01`` (or a link
    named so) was deleted. Now only files recorded by a rotation are, and never a link."""
    blob = make_blob(tmp_path / "home", clock=FixedClock("2024-03-07 00:05"))
    echos = echo_directory(blob.home)
    echos.mkdir()
    touch(echos / "run_old.txt", "rotated by us\n", dt.date(2024, 1, 2))
    touch(echos / "notes.txt.2020-01-01", "a user's file\n", dt.date(2020, 1, 1))
    precious = tmp_path / "precious.txt"
    precious.write_text("mine\n")
    assert clean_truncate_echo_files(data=blob).startswith(
        "clean_truncate_echo_files: 1 rotated, 1 deleted")
    assert not (echos / "run_old.txt.2024-01-02").exists()
    assert (echos / "notes.txt.2020-01-01").read_text() == "a user's file\n"
    # a recorded name replaced by a link is not deleted (nor what it points at)
    touch(echos / "run_again.txt", "x\n", dt.date(2024, 1, 3))
    clean_truncate_echo_files(days=100, data=blob)
    (echos / "run_again.txt.2024-01-03").unlink()
    (echos / "run_again.txt.2024-01-03").symlink_to(precious)
    clean_truncate_echo_files(data=blob)
    assert (echos / "run_again.txt.2024-01-03").is_symlink()
    assert precious.read_text() == "mine\n"
    blob.close()
