"""Helpers for tests about processes (PIDs, liveness)."""
from __future__ import annotations

import subprocess
import sys


def dead_pid() -> int:
    """The PID of a process that has run and exited (reaped), as a crashed process leaves behind.

    The PID may be reused by the OS later; tests use it at once, as the dead-process checks do.
    """
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid
