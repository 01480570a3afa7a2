"""Helpers for tests about processes (PIDs, liveness)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def dead_pid() -> int:
    """The PID of a process that has run and exited (reaped), as a crashed process leaves behind.

    The PID may be reused by the OS later; tests use it at once, as the dead-process checks do.
    """
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


REPO = Path(__file__).resolve().parents[1]


def run_py(home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python run.py ARGS`` in a subprocess on ``home`` (no stdin, as cron runs it), using
    this checkout's code; output captured as text."""
    env = {**os.environ, "SYSTRADE_HOME": str(home), "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, str(REPO / "run.py"), *args], cwd=REPO, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout)
