"""run.py as a real subprocess: argument parsing, non-interactive errors, prompting on a
pseudo-terminal, exit codes. The functions below are the targets (``tests.test_run_py.*``)."""
from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Literal

REPO = Path(__file__).resolve().parent.parent
RUN_PY = REPO / "run.py"


# --- target functions (imported by the subprocesses) ----------------------------------------

def describe(destination: Path, count: int, mode: Literal["fast", "slow"] = "fast",
             names: list[str] | None = None, dry_run: bool = False, ratio: float = 0.5) -> str:
    """Echo the parsed arguments with their types."""
    return (f"destination={destination} ({type(destination).__name__}) count={count + 1} "
            f"mode={mode} names={names} dry_run={dry_run} ratio={ratio}")


def nothing() -> None:
    print("side effect only")


def fail(message: str = "it broke") -> None:
    raise RuntimeError(f"{message}\nsecond line not shown")


# --- helpers ----------------------------------------------------------------------------------

def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "SYSTRADE_RUN_PACKAGES": "tests"}
    return subprocess.run([sys.executable, str(RUN_PY), *args], cwd=REPO, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout)


class PtyProcess:
    """run.py with stdin/stdout/stderr on a pseudo-terminal (so ``isatty()`` is true)."""

    def __init__(self, *args: str):
        self.master, slave = os.openpty()
        env = {**os.environ, "PYTHONPATH": str(REPO), "SYSTRADE_RUN_PACKAGES": "tests"}
        self.process = subprocess.Popen([sys.executable, str(RUN_PY), *args], cwd=REPO,
                                        env=env, stdin=slave, stdout=slave, stderr=slave,
                                        start_new_session=True)
        os.close(slave)
        self.output = ""

    def read_until(self, text: str, timeout: float = 30, count: int = 1) -> str:
        """Read until ``text`` has appeared ``count`` times in all output so far."""
        deadline = time.monotonic() + timeout
        while self.output.count(text) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out waiting for {text!r}; got {self.output!r}")
            ready, _, _ = select.select([self.master], [], [], remaining)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:  # child closed the terminal
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"EOF waiting for {text!r}; got {self.output!r}")
                self.output += chunk.decode()
        return self.output

    def send(self, line: str) -> None:
        os.write(self.master, (line + "\n").encode())

    def finish(self, timeout: float = 30) -> int:
        code = self.process.wait(timeout=timeout)
        try:
            while True:
                ready, _, _ = select.select([self.master], [], [], 0.2)
                if not ready:
                    break
                chunk = os.read(self.master, 4096)
                if not chunk:
                    break
                self.output += chunk.decode()
        except OSError:
            pass
        os.close(self.master)
        return code


# --- tests ------------------------------------------------------------------------------------

def test_parameters_are_parsed_by_type_hints():
    result = run("tests.test_run_py.describe", "--destination", "/tmp/x", "--count", "41",
                 "--mode=slow", "--names", "SOFR, GOLD", "--dry-run", "--ratio", "2.5")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ("destination=/tmp/x (PosixPath) count=42 mode=slow "
                             "names=['SOFR', 'GOLD'] dry_run=True ratio=2.5\n")


def test_none_result_prints_nothing_extra():
    result = run("tests.test_run_py.nothing")
    assert (result.returncode, result.stdout) == (0, "side effect only\n")


def test_missing_parameter_without_terminal_is_an_error_naming_it():
    result = run("tests.test_run_py.describe", "--count", "1")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "missing required parameter --destination (Path)" in lines[0]


def test_unknown_parameter_and_bad_value_are_usage_errors():
    unknown = run("tests.test_run_py.describe", "--destination", "x", "--count", "1", "--colour",
                  "red")
    assert unknown.returncode == 2
    assert "unknown parameter --colour" in unknown.stderr
    bad = run("tests.test_run_py.describe", "--destination", "x", "--count", "lots")
    assert bad.returncode == 2
    assert "--count: expected an integer, got 'lots'" in bad.stderr
    bad_choice = run("tests.test_run_py.describe", "--destination", "x", "--count", "1",
                     "--mode", "medium")
    assert bad_choice.returncode == 2 and "one of 'fast', 'slow'" in bad_choice.stderr


def test_unknown_function_is_a_usage_error():
    result = run("no_such_module.func")
    assert result.returncode == 2
    assert "no module 'sysproduction.no_such_module'" in result.stderr
    missing = run("tests.test_run_py.no_such_function")
    assert missing.returncode == 2 and "has no function 'no_such_function'" in missing.stderr


def test_function_exception_exits_1_with_one_line_or_full_traceback():
    result = run("tests.test_run_py.fail", "--message", "disk full")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "run.py: tests.test_run_py.fail failed: RuntimeError: disk full"
    ]
    verbose = run("--traceback", "tests.test_run_py.fail")
    assert verbose.returncode == 1
    assert "Traceback (most recent call last)" in verbose.stderr
    assert 'raise RuntimeError(f"{message}' in verbose.stderr
    assert verbose.stderr.strip().endswith("failed: RuntimeError: it broke")


def test_help_lists_parameters():
    result = run("tests.test_run_py.describe", "--help")
    assert result.returncode == 0
    assert "--destination <Path> (required)" in result.stdout
    assert "--mode <one of 'fast', 'slow'> (default 'fast')" in result.stdout
    assert "Echo the parsed arguments" in result.stdout


def test_sysproduction_is_implied(tmp_path):
    result = run("backup_db_to_csv.backup_db_to_csv", "--help")
    assert result.returncode == 0, result.stderr
    assert "usage: run.py backup_db_to_csv.backup_db_to_csv" in result.stdout
    assert "--destination" in result.stdout


def test_terminal_prompts_and_reprompts_on_bad_input():
    proc = PtyProcess("tests.test_run_py.describe", "--mode", "slow")
    proc.read_until("destination (Path): ")
    proc.send("/data/out")
    proc.read_until("count (int): ")
    proc.send("many")
    proc.read_until("invalid count: expected an integer, got 'many'; try again")
    proc.read_until("count (int): ", timeout=10, count=2)  # asked again
    proc.send("6")
    code = proc.finish()
    assert code == 0, proc.output
    assert "destination=/data/out (PosixPath) count=7 mode=slow names=None" in proc.output
    assert "names (" not in proc.output  # parameters with defaults are not prompted


def test_terminal_prompt_end_of_input_is_an_error():
    proc = PtyProcess("tests.test_run_py.describe", "--destination", "/x")
    proc.read_until("count (int): ")
    os.write(proc.master, b"\x04")  # Ctrl-D: end of input
    code = proc.finish()
    assert code == 2
    assert "no value given for required parameter --count" in proc.output
