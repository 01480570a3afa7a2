"""The standalone entry point, as a real subprocess driven by a real ib_async client."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from ib_async import IB


def _start(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "sysbrokers.IB.fake_tws", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )


def _port(proc: subprocess.Popen) -> int:
    line = proc.stdout.readline()
    assert line.startswith("fake TWS listening on 127.0.0.1:"), (line, proc.stderr.read())
    return int(line.rsplit(":", 1)[1])


def test_standalone_server_with_a_home_serves_ib_async_and_stops_on_sigterm(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    proc = _start("--home", str(home), "--account", "DU7654321")
    try:
        port = _port(proc)
        ib = IB()
        ib.connect("127.0.0.1", port, clientId=1, timeout=10)
        try:
            assert ib.managedAccounts() == ["DU7654321"]
            assert ib.reqCurrentTime() is not None
        finally:
            ib.disconnect()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    assert (home / "sim_broker" / "broker.sqlite").exists()


def test_missing_home_is_one_line_and_exit_2(tmp_path):
    proc = _start("--home", str(tmp_path / "nope"))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert err.strip().count("\n") == 0 and "does not exist" in err
    assert out == ""


def test_port_in_use_is_one_line_and_exit_1(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.Popen(
            [sys.executable, "-m", "sysbrokers.IB.fake_tws", "--port", str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "cannot listen" in err and "Traceback" not in err
