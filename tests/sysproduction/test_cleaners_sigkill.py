"""SIGKILL during echo rotation and the log and echo cleaners: a child process kills itself
before its N-th file-system change (link, unlink, rename, write, truncate, fsync), for a few
seeded N. After each kill nothing that the cleaners did not make is changed, no echo output is
lost, and a rerun completes."""
from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

from syslogdiag.rotated_files import LEDGER, record, recorded

REPO = Path(__file__).resolve().parents[2]
TODAY = dt.date(2024, 3, 7)

CHILD = r"""
import datetime as dt, os, signal, sys
from pathlib import Path
from syslogdiag.cleaning import delete_old_log_files
from sysproduction.clean_truncate_echo_files import rotate_echo_files

kill_at, home = int(sys.argv[1]), Path(sys.argv[2])
count = 0
def wrap(name):
    real = getattr(os, name)
    def changed(*args, **kwargs):
        global count
        count += 1
        if count == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args, **kwargs)
    setattr(os, name, changed)
for name in ("link", "unlink", "rename", "write", "ftruncate", "fsync"):
    wrap(name)
rotate_echo_files(home / "echos", dt.date(2024, 3, 7), 30)
delete_old_log_files(home / "logs", 30, "2024-03-07T00:05:00Z")
print(count)
"""


def _touch(path: Path, text: str, day: dt.date) -> None:
    path.write_text(text)
    stamp = dt.datetime.combine(day, dt.time(22, 0), dt.timezone.utc).timestamp()
    os.utime(path, (stamp, stamp))


def _home(root: Path) -> Path:
    home = root / "home"
    echos, logs = home / "echos", home / "logs"
    echos.mkdir(parents=True)
    logs.mkdir()
    yesterday = TODAY - dt.timedelta(days=1)
    _touch(echos / "run_a.txt", "A1\nA2\n", yesterday)
    _touch(echos / "run_b.txt", "B1\n", yesterday)
    _touch(echos / "run_b.txt.2024-03-06", "earlier\n", yesterday)  # a same-day second rotation
    _touch(echos / "run_c.txt.2024-01-01", "old\n", dt.date(2024, 1, 1))
    for name in ("run_b.txt.2024-03-06", "run_c.txt.2024-01-01"):
        record(echos, name)
    _touch(echos / "notes.txt.2020-01-01", "user\n", dt.date(2020, 1, 1))
    (logs / "p.log.2024-01-01").write_text("ours\n")
    (logs / "p.log.2024-01-02").write_text("ours\n")
    record(logs, "p.log.2024-01-01")
    record(logs, "p.log.2024-01-02")
    (logs / "trades.log.2020-01-01").write_text("user\n")
    (root / "precious.txt").write_text("mine\n")
    (logs / "q.log.2020-01-01").symlink_to(root / "precious.txt")
    return home


def _run(home: Path, kill_at: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-c", CHILD, str(kill_at), str(home)], cwd=REPO,
                          env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=120)


def _text(folder: Path, prefix: str) -> str:
    return "".join(p.read_text() for p in sorted(folder.glob(f"{prefix}*")) if p.is_file())


def _check_nothing_lost(root: Path, home: Path) -> None:
    echos, logs = home / "echos", home / "logs"
    assert (echos / "notes.txt.2020-01-01").read_text() == "user\n"
    assert (logs / "trades.log.2020-01-01").read_text() == "user\n"
    assert (logs / "q.log.2020-01-01").is_symlink()
    assert (root / "precious.txt").read_text() == "mine\n"
    a, b = _text(echos, "run_a.txt"), _text(echos, "run_b.txt")
    assert "A1\nA2\n" in a, a
    assert "earlier\n" in b and "B1\n" in b, b


def test_sigkill_during_rotation_and_cleaning_loses_nothing_and_a_rerun_completes(tmp_path):
    dry = _run(_home(tmp_path / "dry"), 0)
    assert dry.returncode == 0, dry.stderr
    total = int(dry.stdout.strip())
    assert total >= 5  # renames or links, unlinks, ledger writes, the append, deletions
    for kill_at in sorted(random.Random(8).sample(range(1, total + 1), min(6, total))):
        root = tmp_path / f"kill{kill_at}"
        home = _home(root)
        killed = _run(home, kill_at)
        assert killed.returncode == -signal.SIGKILL, (kill_at, killed.stderr)
        _check_nothing_lost(root, home)
        rerun = _run(home, 0)
        assert rerun.returncode == 0, (kill_at, rerun.stderr)
        _check_nothing_lost(root, home)
        echos = home / "echos"
        assert not (echos / "run_a.txt").exists() and not (echos / "run_b.txt").exists()
        assert (echos / "run_a.txt.2024-03-06").read_text() == "A1\nA2\n"
        # rotated names the rerun left recorded all exist (a record lost to a kill inside its
        # own rewrite only leaves a file undeleted, never a user's file deleted)
        for folder in (echos, home / "logs"):
            assert all((folder / name).exists() for name in recorded(folder)), kill_at
            assert (folder / LEDGER).is_file()
