"""Process control with real subprocesses on one home (SQLite): double launch, graceful STOP,
SIGTERM, SIGKILL detected as a crash. Waits are bounded by conditions, not sleeps."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from syscontrol.control import ProcessControl
from syscontrol.process_status import ProcessStatus, RunState
from sysdata.data_blob import DataBlob
from syslogdiag.alerts import list_alerts
from sysproduction.process_control_ops import mark_dead_processes

ROOT = Path(__file__).resolve().parents[2]
LAUNCH = "import sys; from sysproduction.process_launcher import launch_main; launch_main(sys.argv[1])"


def write_control_config(home: Path, flags: Path, methods: dict) -> None:
    private = home / "private"
    private.mkdir(parents=True, exist_ok=True)
    config = {"process_configuration": {"run_test": {
        "start_time": "00:00", "end_time": "00:00", "run_on_weekends": True,
        "methods": methods}}}
    (private / "private_control_config.yaml").write_text(yaml.safe_dump(config))


def work_method(flags: Path, **extra) -> dict:
    return {"function": "tests.syscontrol.slow_methods.work",
            "arguments": {"flag_dir": str(flags)}, **extra}


def completion(flags: Path) -> dict:
    return {"function": "tests.syscontrol.slow_methods.finish", "run_on_completion_only": True,
            "arguments": {"flag_dir": str(flags)}}


def launch(home: Path) -> subprocess.Popen:
    env = {**os.environ, "SYSTRADE_HOME": str(home), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", LAUNCH, "run_test"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_until(condition, what: str, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    return home


def control_of(home: Path) -> tuple[DataBlob, ProcessControl]:
    data = DataBlob.from_config(home=home)
    return data, ProcessControl(data.process_control)


def test_double_launch_one_runs_one_refused(home, tmp_path):
    flags = tmp_path / "flags"
    flags.mkdir()
    write_control_config(home, flags, {"work": work_method(flags, max_executions=1)})
    first = launch(home)
    wait_until(lambda: (flags / "work.started.0").exists(), "the first launch to start")
    second = launch(home)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 1, err
    assert f"already running: pid {first.pid} on host" in out
    (flags / "go").touch()
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert "all methods done (work x1)" in out
    data, control = control_of(home)
    assert control.record("run_test").run_state is RunState.FINISHED
    data.close()


@pytest.mark.parametrize("how", ["STOP", "SIGTERM"])
def test_stop_mid_run_is_graceful(home, tmp_path, how):
    flags = tmp_path / "flags"
    flags.mkdir()
    write_control_config(home, flags, {"work": work_method(flags), "done": completion(flags)})
    process = launch(home)
    wait_until(lambda: (flags / "work.started.0").exists(), "the method to start")
    data, control = control_of(home)
    if how == "STOP":
        control.set_status("run_test", ProcessStatus.STOP)
    else:
        process.send_signal(signal.SIGTERM)
    (flags / "go").touch()  # the current method ends; the process must not start another
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert (flags / "completion.ran").exists()
    assert len(list(flags.glob("work.started.*"))) == 1
    record = control.record("run_test")
    assert (record.run_state, record.pid) == (RunState.FINISHED, None)
    data.close()


def test_sigkill_is_detected_as_crash(home, tmp_path):
    flags = tmp_path / "flags"
    flags.mkdir()
    write_control_config(home, flags, {"work": work_method(flags)})
    process = launch(home)
    wait_until(lambda: (flags / "work.started.0").exists(), "the method to start")
    process.kill()
    process.communicate(timeout=60)
    data, control = control_of(home)
    assert control.record("run_test").run_state is RunState.RUNNING  # as the dead left it
    assert mark_dead_processes(data) == ["run_test"]
    assert control.record("run_test").run_state is RunState.CRASHED
    assert [a["subject"] for a in list_alerts(data.alerts)] == ["Process run_test crashed"]
    data.close()
    # a new launch takes over the crashed record and runs
    (flags / "go").touch()
    write_control_config(home, flags, {"work": work_method(flags, max_executions=1)})
    relaunch = launch(home)
    out, err = relaunch.communicate(timeout=120)
    assert relaunch.returncode == 0, err


def test_run_console_script_goes_through_process_control(home):
    """``run_cleaners`` (a console script) waits for nothing in an all-day window, runs each
    method once, and with status STOP does not start."""
    (home / "private").mkdir(parents=True, exist_ok=True)
    (home / "private" / "private_control_config.yaml").write_text(yaml.safe_dump(
        {"process_configuration": {"run_cleaners": {
            "start_time": "00:00", "end_time": "00:00", "run_on_weekends": True,
            "previous_process": None}}}))
    script = ("import sys; sys.argv[0] = 'run_cleaners'; from sysproduction.run_process "
              "import run_cleaners; sys.exit(run_cleaners())")
    env = {**os.environ, "SYSTRADE_HOME": str(home), "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == (
        "run_cleaners: all methods done (clean_truncate_backtest_states x1, "
        "clean_truncate_log_files x1, clean_truncate_echo_files x1)")
    data, control = control_of(home)
    assert control.record("run_cleaners").run_state is RunState.FINISHED
    control.set_status("run_cleaners", ProcessStatus.STOP)
    data.close()
    stopped = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=300)
    assert stopped.returncode == 0
    assert stopped.stdout.strip().splitlines()[-1] == (
        "run_cleaners: not started: run_cleaners has status STOP")


def test_sigterm_ends_a_process_waiting_for_its_window(home, tmp_path):
    import datetime as dt

    flags = tmp_path / "flags"
    flags.mkdir()
    now = dt.datetime.now(dt.timezone.utc)
    opens = (now + dt.timedelta(hours=2)).strftime("%H:%M")
    closes = (now + dt.timedelta(hours=2, minutes=30)).strftime("%H:%M")
    (home / "private").mkdir(parents=True, exist_ok=True)
    (home / "private" / "private_control_config.yaml").write_text(yaml.safe_dump(
        {"process_configuration": {"run_test": {
            "start_time": opens, "end_time": closes, "run_on_weekends": True,
            "methods": {"work": work_method(flags, max_executions=1)}}}}))

    def waiting() -> bool:
        return any("waiting" in log.read_text(errors="replace")
                   for log in (home / "logs").glob("*.log*")) if (home / "logs").exists() \
            else False

    process = launch(home)
    wait_until(waiting, "the process to wait for its window")
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)  # a 60 s poll would overrun this
    assert process.returncode == 0, err
    assert "not started: signal received before starting" in out
    assert not (flags / "work.started.0").exists()
