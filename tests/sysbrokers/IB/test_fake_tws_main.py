"""The standalone entry point, as a real subprocess driven by a real ib_async client."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
from ib_async import IB, Future

from sysbrokers.sim.market import default_market


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
            # the home's clock is the configured one (default ``real``), not a simulated file
            now = dt.datetime.now(dt.timezone.utc)
            assert abs(ib.reqCurrentTime() - now) < dt.timedelta(hours=1)
        finally:
            ib.disconnect()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    assert (home / "sim_broker" / "broker.sqlite").exists()


def test_a_home_is_served_with_its_configured_market(tmp_path):
    """The home's processes trade on ``sim.seed`` 7: the fake TWS must quote that market (it
    used to serve seed 42 on the home's broker book whatever the configuration said)."""
    home = tmp_path / "home"
    (home / "private").mkdir(parents=True)
    (home / "private" / "private_config.yaml").write_text("clock: simulated\nsim:\n  seed: 7\n")
    end = pd.Timestamp("2023-12-20", tz="UTC")
    expected = default_market(7).bars(
        "SP500_micro", "202403", "D", end - pd.Timedelta(days=10), end
    )["FINAL"].tolist()
    other_seed = default_market(42).bars(
        "SP500_micro", "202403", "D", end - pd.Timedelta(days=10), end
    )["FINAL"].tolist()
    assert expected != other_seed
    proc = _start("--home", str(home))
    try:
        port = _port(proc)
        ib = IB()
        ib.connect("127.0.0.1", port, clientId=1, timeout=10)
        try:
            [fut] = ib.qualifyContracts(Future("MES", "202403", "CME"))
            bars = ib.reqHistoricalData(
                fut, end.to_pydatetime(), "10 D", "1 day", "TRADES", useRTH=False
            )
            assert len(bars) > 3
            assert [b.close for b in bars] == expected
        finally:
            ib.disconnect()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0


def test_a_home_that_cannot_open_is_one_line_and_exit_2(tmp_path):
    home = tmp_path / "home"
    (home / "private").mkdir(parents=True)
    (home / "private" / "private_config.yaml").write_text("broker: nonsense\n")
    proc = _start("--home", str(home))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert err.strip().count("\n") == 0 and "Traceback" not in err and "home" in err
    assert out == ""


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


def test_systrade_fake_tws_serves_a_home_whose_broker_is_ib(tmp_path):
    """``systrade fake-tws --home H``: H's processes use ``broker: ib``; the server builds the
    simulated broker from H's ``sim`` settings and serves H's simulated clock."""
    from syscore.clock import SimulatedClock

    home = tmp_path / "home"
    (home / "private").mkdir(parents=True)
    (home / "private" / "private_config.yaml").write_text(
        "broker: ib\nclock: simulated\nib:\n  port: 1\nsim:\n  seed: 7\n")
    start = pd.Timestamp("2024-01-09 15:00", tz="UTC")
    SimulatedClock(home, start=start)
    script = Path(sys.executable).parent / "systrade"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "syscore.cli"]
    proc = subprocess.Popen([*command, "fake-tws", "--home", str(home), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ))
    try:
        port = _port(proc)
        ib = IB()
        ib.connect("127.0.0.1", port, clientId=1, timeout=10)
        try:
            assert ib.reqCurrentTime() == start.to_pydatetime()
            [fut] = ib.qualifyContracts(Future("MES", "202403", "CME"))
            bars = ib.reqHistoricalData(fut, "", "5 D", "1 day", "TRADES", useRTH=False)
            expected = default_market(7).bars("SP500_micro", "202403", "D",
                                              start - pd.Timedelta(days=5), start)
            assert [b.close for b in bars] == expected["FINAL"].tolist()
        finally:
            ib.disconnect()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    assert (home / "sim_broker" / "broker.sqlite").exists()


def test_systrade_fake_tws_serves_the_home_of_systrade_home(tmp_path):
    """With SYSTRADE_HOME set, as for every other command, and no --home: it served a
    throwaway broker in a temporary directory on the machine's clock, so the home's broker
    positions vanished when it stopped."""
    from syscore.clock import SimulatedClock

    home = tmp_path / "home"
    (home / "private").mkdir(parents=True)
    (home / "private" / "private_config.yaml").write_text("broker: ib\nclock: simulated\n")
    start = pd.Timestamp("2024-01-09 15:00", tz="UTC")
    SimulatedClock(home, start=start)
    script = Path(sys.executable).parent / "systrade"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "syscore.cli"]
    proc = subprocess.Popen([*command, "fake-tws", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "SYSTRADE_HOME": str(home)})
    try:
        port = _port(proc)
        ib = IB()
        ib.connect("127.0.0.1", port, clientId=1, timeout=10)
        try:
            assert ib.reqCurrentTime() == start.to_pydatetime()  # the home's clock
        finally:
            ib.disconnect()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    assert (home / "sim_broker" / "broker.sqlite").exists()  # the home's book


def test_systrade_fake_tws_bad_arguments_name_the_command(tmp_path):
    script = Path(sys.executable).parent / "systrade"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "syscore.cli"]
    result = subprocess.run([*command, "fake-tws", "--port", "99999"], capture_output=True,
                            text=True, env=dict(os.environ), timeout=60)
    assert result.returncode == 2 and "--port must be 0..65535" in result.stderr
