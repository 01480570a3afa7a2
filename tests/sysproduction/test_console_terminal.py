"""Smoke test: a console in a real terminal. tmux runs ``interactive_diagnostics`` through
``run.py`` in a detached session on its own socket; keys are sent with ``send-keys`` and the
screen read with ``capture-pane``. Every wait polls the screen until the expected text shows, up
to a deadline (no sleeps)."""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.blob_helpers import FixedClock, make_blob
from tests.sysproduction.reporting.conftest import build_scenario

REPO = Path(__file__).resolve().parents[2]
TMUX = shutil.which("tmux")
POLL_SECONDS = 0.05  # between two capture-pane calls: not a core spent spawning tmux
DEADLINE_SECONDS = 90.0

pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed (.ci/run installs it)")


class Terminal:
    """A detached tmux session on a private server (socket ``-L``), killed afterwards."""

    def __init__(self, command: str, env: dict[str, str]):
        self.socket = f"systrade-test-{uuid.uuid4().hex[:12]}"
        self.env = env
        self.tmux("-f", "/dev/null", "new-session", "-d", "-s", "console", "-x", "160",
                  "-y", "60", command)
        self.socket_path = Path(self.tmux("display-message", "-p", "#{socket_path}").strip())

    def tmux(self, *args: str) -> str:
        result = subprocess.run([TMUX, "-L", self.socket, *args], capture_output=True,
                                text=True, env=self.env, timeout=30)
        if result.returncode != 0:
            raise AssertionError(f"tmux {args[0]} failed: {result.stderr.strip()}")
        return result.stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "console", "-S", "-200")

    def type(self, *lines: str) -> None:
        for line in lines:
            self.tmux("send-keys", "-t", "console", "-l", line)
            self.tmux("send-keys", "-t", "console", "Enter")

    def wait_for(self, text: str, after: int = 0) -> str:
        """Poll until ``text`` appears on the screen at least ``after + 1`` times."""
        end = time.monotonic() + DEADLINE_SECONDS
        while True:
            screen = self.screen()
            if screen.count(text) > after:
                return screen
            if time.monotonic() > end:
                raise AssertionError(f"{text!r} did not appear within {DEADLINE_SECONDS}s:\n"
                                     f"{screen}")
            time.sleep(POLL_SECONDS)  # a poll interval (the wait is bounded by the condition)

    def close(self) -> None:
        """Kill this test's tmux server and remove its socket file (tmux leaves it)."""
        subprocess.run([TMUX, "-L", self.socket, "kill-server"], capture_output=True,
                       timeout=30)
        if self.socket_path.name == self.socket:
            self.socket_path.unlink(missing_ok=True)


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "home"
    blob = make_blob(home, clock=FixedClock("2024-01-06 08:00"))
    build_scenario(blob)
    blob.close()
    return home


def test_diagnostics_console_in_a_real_terminal(home):
    env = {**os.environ, "SYSTRADE_HOME": str(home), "PYTHONPATH": str(REPO), "TERM": "xterm"}
    command = " ".join(shlex.quote(part) for part in (
        sys.executable, str(REPO / "run.py"),
        "sysproduction.interactive_diagnostics.interactive_diagnostics"))
    # the shell stays after the console ends (``read``), so tmux never races a dying pane for
    # its last output; the exit status is printed on the screen
    terminal = Terminal(f"cd {shlex.quote(str(REPO))} && {command}; "
                        f"echo \"console exited with status $?\"; read done", env)
    try:
        terminal.wait_for("Diagnostics (read-only; times UTC)")
        screen = terminal.wait_for("choice:")  # capture-pane drops trailing blanks
        assert "6 Capital" in screen and "0 exit" in screen
        terminal.type("6")  # Capital
        terminal.wait_for("Capital (base currency)")
        terminal.type("2")  # total, broker, max, accumulated p&l or margin
        terminal.wait_for("series [total]:")
        terminal.type("acc_pnl", "")  # the series, then Enter: default rows
        screen = terminal.wait_for("2,800.00")
        assert "2024-01-05 10:00:00+00:00" in screen
        terminal.type("x")  # a bad choice: one line, the menu again
        terminal.wait_for("unknown choice 'x'")
        terminal.type("0", "0")  # back, exit
        screen = terminal.wait_for("console exited with status")
        assert "console exited with status 0" in screen and "Traceback" not in screen
    finally:
        terminal.close()


@pytest.mark.parametrize("console", ["interactive_diagnostics", "interactive_update_roll_status",
                                     "interactive_update_capital_manual",
                                     "interactive_order_stack", "interactive_controls"])
def test_console_without_a_terminal_ends_cleanly(home, console):
    """Under cron or CI there is no stdin: the console shows its menu, meets end of input and
    exits 0 without a traceback."""
    env = {**os.environ, "SYSTRADE_HOME": str(home), "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, str(REPO / "run.py"),
                             f"sysproduction.{console}.{console}"], cwd=REPO, env=env,
                            stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=180)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    assert "0 exit" in result.stdout and "choice: " in result.stdout
