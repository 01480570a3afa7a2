import os
import socket
import subprocess
import sys

import pytest

from syscontrol.control import ProcessControl
from syscontrol.process_status import ProcessStatus, RunState
from syscore.exceptions import InvalidData
from syslogdiag.alerts import list_alerts
from sysproduction.process_control_ops import (
    list_processes,
    mark_dead_processes,
    mark_process_close,
    set_process_status,
)
from tests.blob_helpers import FixedClock, make_blob
from tests.process_helpers import dead_pid


@pytest.fixture
def blob(tmp_path):
    data = make_blob(tmp_path / "home", clock=FixedClock("2024-03-07 21:00"))
    yield data
    data.close()


def test_list_shows_configured_processes(blob):
    rows = {row.name: row for row in list_processes(blob)}
    assert "run_daily_prices_updates" in rows and "run_systems" in rows
    assert rows["run_systems"].status == "GO" and rows["run_systems"].run_state == "never ran"


def test_set_status_one_and_all(blob):
    assert set_process_status(blob, "run_systems", "stop") == ["run_systems"]
    assert {r.name: r.status for r in list_processes(blob)}["run_systems"] == "STOP"
    names = set_process_status(blob, "ALL", "pause")
    assert "run_backups" in names
    assert {r.status for r in list_processes(blob)} == {"PAUSE"}
    with pytest.raises(InvalidData, match="unknown process 'run_nothing'"):
        set_process_status(blob, "run_nothing", "go")
    with pytest.raises(InvalidData, match="unknown process status"):
        set_process_status(blob, "run_systems", "maybe")


def test_mark_dead_alerts_once_and_mark_close(blob):
    control = ProcessControl(blob.process_control)
    now = blob.now().to_pydatetime()
    control.claim_start("run_systems", socket.gethostname(), dead_pid(), now, lambda pid: False)
    control.claim_start("run_backups", socket.gethostname(), os.getpid(), now,
                        lambda pid: False)
    assert mark_dead_processes(blob) == ["run_systems"]
    assert mark_dead_processes(blob) == []
    alerts = list_alerts(blob.alerts)
    assert [a["subject"] for a in alerts] == ["Process run_systems crashed"]
    rows = {r.name: r for r in list_processes(blob)}
    assert rows["run_systems"].run_state == "crashed" and not rows["run_systems"].alive
    assert rows["run_backups"].alive
    mark_process_close(blob, "run_systems")
    assert control.record("run_systems").run_state is RunState.FINISHED
    assert control.record("run_systems").status is ProcessStatus.GO


CLI = "import sys; from syscore.cli import main; sys.exit(main(sys.argv[1:]))"


def run_cli(home, *words):
    env = {**os.environ, "SYSTRADE_HOME": str(home)}
    return subprocess.run([sys.executable, "-c", CLI, *words], capture_output=True,
                          text=True, env=env, timeout=120)


def test_cli_process_commands(tmp_path):
    home = tmp_path / "home"
    make_blob(home).close()
    stopped = run_cli(home, "process", "stop", "run_systems")
    assert stopped.returncode == 0, stopped.stderr
    assert "status STOP: run_systems" in stopped.stdout
    listed = run_cli(home, "process", "list")
    line = next(line for line in listed.stdout.splitlines() if line.startswith("run_systems"))
    assert line.split()[1:4] == ["STOP", "never", "ran"]
    missing = run_cli(home, "process", "go")
    assert missing.returncode == 2 and "give a process name" in missing.stderr
    unknown = run_cli(home, "process", "go", "run_nothing")
    assert unknown.returncode == 2 and "unknown process 'run_nothing'" in unknown.stderr
    assert "Traceback" not in unknown.stderr
