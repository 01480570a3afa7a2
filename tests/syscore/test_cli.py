"""The ``systrade`` command, run as the installed console script (real subprocesses), and its
command registry in-process."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from syscore import cli

REPO = Path(__file__).resolve().parents[2]


def systrade(*args: str, home: Path, **env_extra: str) -> subprocess.CompletedProcess:
    script = Path(sys.executable).parent / "systrade"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "syscore.cli"]
    env = {**os.environ, "SYSTRADE_HOME": str(home), "SYSTRADE_RUN_PACKAGES": "tests",
           **env_extra}
    return subprocess.run([*command, *args], cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60)


def test_home_prints_home_and_honours_the_option(tmp_path):
    assert systrade("home", home=tmp_path).stdout.strip() == str(tmp_path.resolve())
    other = tmp_path / "other"
    result = systrade("--home", str(other), "home", home=tmp_path)
    assert result.stdout.strip() == str(other.resolve())


def test_status_summarises_config_without_secrets(tmp_path):
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "private_config.yaml").write_text(
        "state_store: mongodb://trader:Pa55word!@db.example:27017/live\n"
        "timeseries_store: s3://s3.example:bucket?access=AKIAXYZ&secret=TOPSECRETKEY\n"
        "broker: ib\n"
        "clock: simulated\n"
        "email: {host: smtp.example, to: me@example.com, password: mailsecret}\n"
        "ib: {account: U7654321}\n"
    )
    result = systrade("status", home=tmp_path)
    assert result.returncode == 2, result.stderr  # the MongoDB server does not exist
    out = result.stdout
    for secret in ("Pa55word!", "AKIAXYZ", "TOPSECRETKEY", "mailsecret", "U7654321"):
        assert secret not in out
    assert "state store:" in out and "mongodb://trader:***@db.example:27017/live" in out
    assert "s3://s3.example:bucket?access=***&secret=***" in out
    assert "broker:        ib\n" in out
    assert "clock:         simulated" in out
    assert "password set" in out and "account set" in out


def test_status_reports_config_errors(tmp_path):
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "private_config.yaml").write_text("broker: telepathy\n")
    result = systrade("status", home=tmp_path)
    assert result.returncode == 2
    assert "private_config.yaml" in result.stderr and "broker" in result.stderr


def test_status_on_a_home_that_does_not_exist_says_so(tmp_path):
    missing = tmp_path / "nowhere"
    result = systrade("status", home=missing)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"systrade status: no systrade home at {missing}: set SYSTRADE_HOME or --home to an "
        f"existing home, or create one with 'systrade init' (docs/installation.md)"]
    assert not missing.exists()  # status creates nothing


def test_init_with_an_invalid_configuration_is_a_start_up_error(tmp_path):
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "private_config.yaml").write_text("brokr: sim\n")
    result = systrade("init", home=tmp_path)
    assert result.returncode == 2, result.stderr  # docs/exit_codes.md: configuration invalid
    assert result.stderr.strip().splitlines() == [
        f"systrade init: error: {tmp_path / 'private' / 'private_config.yaml'}: unknown key "
        f"'brokr'"]
    assert not (tmp_path / "state.sqlite").exists()  # nothing was created


def test_a_command_failing_at_start_up_is_one_line(tmp_path):
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "private_config.yaml").write_text("broker: telepathy\n")
    result = systrade("demo", "--days", "1", home=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("systrade demo: error: ")
    assert "broker" in lines[0]


def test_run_passes_everything_through(tmp_path):
    ok = systrade("run", "tests.test_run_py.describe", "--destination", "/d", "--count", "1",
                  home=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("destination=/d (PosixPath) count=2")
    missing = systrade("run", "tests.test_run_py.describe", "--count", "1", home=tmp_path)
    assert missing.returncode == 2
    assert "systrade run: error: missing required parameter --destination" in missing.stderr
    failed = systrade("run", "--traceback", "tests.test_run_py.fail", home=tmp_path)
    assert failed.returncode == 1 and "Traceback" in failed.stderr


def test_unknown_command_is_an_error(tmp_path):
    result = systrade("bogus", home=tmp_path)
    assert result.returncode == 2 and "invalid choice: 'bogus'" in result.stderr


def test_registered_commands_are_dispatched(monkeypatch, capsys):
    monkeypatch.setattr(cli, "_REGISTRY", dict(cli._REGISTRY))
    calls = []

    @cli.register_command("demo-test", help="a test command",
                          configure=lambda p: p.add_argument("--days", type=int, default=5))
    def demo(args):
        calls.append(args.days)
        return 3

    assert cli.main(["demo-test", "--days", "9"]) == 3
    assert calls == [9]
    assert "demo-test" in cli.commands()
    with pytest.raises(ValueError, match="already registered"):
        cli.register_command("demo-test", help="other")(lambda args: 0)
