"""The ``systrade`` commands a trader runs on a home with ``broker: ib`` (real subprocesses),
against the fake TWS on 127.0.0.1 or a port nobody listens on."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from sysbrokers.IB.fake_tws import FakeTwsThread
from sysbrokers.sim.broker import SimBroker
from sysbrokers.sim.market import default_market
from syscore.clock import SimulatedClock
from tests.sysbrokers.IB.conftest import START

REPO = Path(__file__).resolve().parents[3]


def systrade(*args: str, home: Path) -> subprocess.CompletedProcess:
    script = Path(sys.executable).parent / "systrade"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "syscore.cli"]
    env = {**os.environ, "SYSTRADE_HOME": str(home)}
    return subprocess.run([*command, *args], cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=120)


def _ib_home(home: Path, port: int) -> Path:
    (home / "private").mkdir(parents=True)
    (home / "private" / "private_config.yaml").write_text(
        f"broker: ib\nib:\n  port: {port}\n  timeout_seconds: 10\n  reconnect_attempts: 0\n")
    return home


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_status_of_an_ib_home_reads_the_gateway(tmp_path):
    """``systrade status`` refused every ``broker: ib`` home ('not yet available', exit 2)."""
    market = default_market()
    clock = SimulatedClock(tmp_path / "exchange", start=START)
    with FakeTwsThread(market, clock, broker_factory=lambda: SimBroker(
            clock, tmp_path / "exchange", market)) as tws:
        result = systrade("status", home=_ib_home(tmp_path / "home", tws.port))
        connected = tws.call(lambda f: len(f.received) > 0)
    assert result.returncode == 0, result.stderr
    assert "broker:        ib\n" in result.stdout
    assert "broker positions unavailable" not in result.stdout
    assert "breaks: 0" in result.stdout
    assert connected  # the positions came from the Gateway
    assert result.stderr == ""


def test_status_with_the_gateway_down_is_one_line_and_exit_2(tmp_path):
    """docs/installation.md: a broker that cannot be reached is exit 2; it was exit 0, with
    ib_async's own 'API connection failed' lines on stderr."""
    port = _free_port()
    result = systrade("status", home=_ib_home(tmp_path / "home", port))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"systrade status: broker 'ib': cannot connect to IB at 127.0.0.1:{port} (client id 1): "
        + result.stderr.split("(client id 1): ", 1)[1].strip()]
    assert "broker positions unavailable" in result.stdout  # what can be shown is shown
