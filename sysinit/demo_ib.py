"""``systrade demo --broker ib``: the demo's simulated days through ib_async and the fake TWS.

:func:`fake_tws_for_home` starts ``python -m sysbrokers.IB.fake_tws --home HOME --port 0`` as
its own process (the home's simulated clock and simulated broker, built from its ``sim``
settings), waits for its ``listening`` line, then points ``private_config.yaml`` at it
(``broker: ib``, ``ib.host`` 127.0.0.1, ``ib.port``; the fake does not enforce IB's pacing, so
the broker's pacing waits are switched off). On leaving, also after a failure, the original
``private_config.yaml`` is put back (the home is a ``broker: sim`` demo home again: the same
book, read directly) and the fake is stopped (SIGTERM; killed if it has not stopped within
30 s). The fake's stderr goes to ``<home>/fake_tws.log``.
"""
from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from syscore.exceptions import StartupError
from syscore.home import private_dir

READY_SECONDS = 60.0
STOP_SECONDS = 30.0
LOG_NAME = "fake_tws.log"


def ib_settings(port: int) -> dict:
    """The ``ib:`` section of a demo home served by the fake TWS on ``port``."""
    return {"host": "127.0.0.1", "port": port, "timeout_seconds": 60.0,
            "history_requests_per_window": 1_000_000, "history_window_seconds": 0.0,
            "history_identical_gap_seconds": 0.0, "reconnect_initial_seconds": 0.5}


def _wait_ready(proc: subprocess.Popen, log: Path) -> int:
    ready, _, _ = select.select([proc.stdout], [], [], READY_SECONDS)
    line = proc.stdout.readline() if ready else ""
    prefix = "fake TWS listening on "
    if not line.startswith(prefix):
        detail = log.read_text().strip().splitlines()[-1:] if log.exists() else []
        raise StartupError("the fake TWS did not start"
                           + (f": {detail[0]}" if detail else f" within {READY_SECONDS:.0f} s"))
    return int(line.strip().rsplit(":", 1)[1])


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_SECONDS)
    if proc.stdout is not None:
        proc.stdout.close()


@contextmanager
def fake_tws_for_home(home: Path) -> Iterator[int]:
    """Run the fake TWS for ``home`` with its config pointed at it; yields the port."""
    config_path = private_dir(home) / "private_config.yaml"
    original = config_path.read_text()
    log_path = home / LOG_NAME
    with open(log_path, "a") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sysbrokers.IB.fake_tws", "--home", str(home), "--port", "0"],
            stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, text=True,
            env=dict(os.environ))
    try:
        port = _wait_ready(proc, log_path)
        config = yaml.safe_load(original) or {}
        config["broker"] = "ib"
        config["ib"] = {**(config.get("ib") or {}), **ib_settings(port)}
        config_path.write_text("# written by `systrade demo --broker ib` while it runs; the "
                               "original is put back at the end\n"
                               + yaml.safe_dump(config, sort_keys=False))
        try:
            yield port
        finally:
            config_path.write_text(original)
    finally:
        _stop(proc)
