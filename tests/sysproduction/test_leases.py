"""Two runs of one process (or two writers of one symbol family) on one home: real processes,
on SQLite and MongoDB. The second is refused naming the first; a killed holder is taken over."""
from __future__ import annotations

import os
import select
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from sysdata.data_blob import DataBlob
from sysdata.leases import LEASES

REPO = Path(__file__).resolve().parents[2]

HOLD = """
import sys
from sysdata.data_blob import DataBlob
from sysproduction.leases import process_leases, writer_leases
kind, name = sys.argv[1], sys.argv[2]
with DataBlob.from_config(process_name="holder") as blob:
    with (process_leases(blob, name) if kind == "process" else writer_leases(blob, name)):
        print("held", flush=True)
        sys.stdin.readline()
print("released", flush=True)
"""


@pytest.fixture(params=["sqlite", "mongodb"])
def home(request, systrade_home):
    if request.param == "mongodb":
        url = f"{request.getfixturevalue('mongo_url')}/lease{uuid.uuid4().hex[:10]}"
        (systrade_home / "private" / "private_config.yaml").write_text(f"state_store: {url}\n")
    with DataBlob.from_config(systrade_home):
        pass  # initialise the home before the processes race for it
    return systrade_home


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "SYSTRADE_HOME": str(home), "PYTHONPATH": str(REPO)}


def start_holder(home: Path, kind: str, name: str) -> subprocess.Popen:
    """A process holding the lease until a line arrives on its stdin."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD, kind, name], env=_env(home), cwd=REPO,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    ready, _, _ = select.select([holder.stdout], [], [], 120)
    line = holder.stdout.readline() if ready else ""
    if line.strip() != "held":
        holder.kill()
        pytest.fail(f"holder did not take the lease: {line!r} {holder.stderr.read()}")
    return holder


def run_script(home: Path, name: str) -> subprocess.CompletedProcess:
    """A ``run_*`` name runs the single pass (``run_process``, which holds ``process/<name>``);
    any other name is its console script."""
    if name.startswith("run_"):
        command = [sys.executable, str(REPO / "run.py"), "sysproduction.run_process.run_process",
                   "--process_name", name]
    else:
        exe = Path(sys.executable).parent / name
        assert exe.exists(), f"console script {name} not installed"
        command = [str(exe)]
    return subprocess.run(command, env=_env(home), cwd=REPO, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=300)


def test_second_run_of_a_process_is_refused_naming_the_first(home):
    holder = start_holder(home, "process", "run_backups")
    try:
        second = run_script(home, "run_backups")
        assert second.returncode != 0
        assert f"run_backups is running: pid {holder.pid} on host " in second.stderr
        assert " UTC" in second.stderr
        assert not (home / "backups" / "csv").exists()  # the refused run wrote nothing
    finally:
        holder.communicate("go\n", timeout=120)
    assert holder.returncode == 0
    third = run_script(home, "run_backups")  # released: the next run goes ahead
    assert third.returncode == 0, third.stderr
    with DataBlob.from_config(home) as data:
        assert data.state.get(LEASES, "process/run_backups") is None


def test_second_writer_of_a_symbol_family_is_refused(home):
    holder = start_holder(home, "writer", "init_spot_fx")
    try:
        second = run_script(home, "update_fx_prices")
        assert second.returncode != 0
        assert f"init_spot_fx is running: pid {holder.pid} on host " in second.stderr
    finally:
        holder.communicate("go\n", timeout=120)


def test_lease_of_a_killed_holder_is_taken_over(home):
    holder = start_holder(home, "process", "run_backups")
    holder.kill()  # SIGKILL: no release
    holder.wait(timeout=60)
    with DataBlob.from_config(home) as data:
        assert data.state.get(LEASES, "process/run_backups")["pid"] == holder.pid
    after = run_script(home, "run_backups")
    assert after.returncode == 0, after.stderr
    assert (home / "backups" / "csv").is_dir()
    with DataBlob.from_config(home) as data:
        assert data.state.get(LEASES, "process/run_backups") is None
