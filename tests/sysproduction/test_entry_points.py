"""Every entry point, run as a real subprocess: start-up failures are one line on stderr and exit
2 (never a traceback), a run that held data back exits 1 and ends with its summary line,
``run_*`` scripts refuse arguments, ``run.py`` refuses functions outside the project."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sysbrokers.sim.configured import FX_ANCHOR_COLLECTION, fx_anchor_document
from sysinit.init_from_sim_universe import init_from_sim_universe
from tests.blob_helpers import FixedClock, make_blob

REPO = Path(__file__).resolve().parents[2]


def _script(module: str, name: str) -> list[str]:
    """A console script as pyproject declares it (``module:name``), run by this interpreter so
    the worktree's code is the one tested (``sys.exit(name())``, as pip's wrapper does)."""
    return [sys.executable, "-c", f"import sys; sys.argv[0] = {name!r}; "
                                  f"from {module} import {name}; sys.exit({name}())"]


ENTRY_POINTS = {
    "run_backups": _script("sysproduction.run_process", "run_backups"),
    "update_fx_prices": _script("sysproduction.scripts", "update_fx_prices"),
    "run.py": [sys.executable, str(REPO / "run.py"), "update_fx_prices.update_fx_prices"],
    "systrade run": [sys.executable, "-c", "import sys; from syscore.cli import main; "
                     "sys.exit(main())", "run", "update_fx_prices.update_fx_prices"],
}


def run(command: list[str], home: Path, *extra: str, prefix: list[str] | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "SYSTRADE_HOME": str(home), "PYTHONPATH": str(REPO)}
    return subprocess.run([*(prefix or []), *command, *extra], cwd=REPO, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout)


def assert_one_line_exit_2(result: subprocess.CompletedProcess, *words: str) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert result.returncode == 2, (result.returncode, result.stderr)
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "home"
    (home / "private").mkdir(parents=True)
    return home


def write_private_config(home: Path, content: bytes) -> None:
    (home / "private" / "private_config.yaml").write_bytes(content)


# --- start-up failures -----------------------------------------------------------------------

@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_bad_config_is_one_line_and_exit_2(entry, home):
    write_private_config(home, b"broker: telepathy\n")
    assert_one_line_exit_2(run(ENTRY_POINTS[entry], home), "private_config.yaml", "broker")


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_config_path_that_is_a_directory_is_one_line_and_exit_2(entry, home):
    (home / "private" / "private_config.yaml").mkdir()
    assert_one_line_exit_2(run(ENTRY_POINTS[entry], home), "private_config.yaml",
                           "is a directory")


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_config_that_is_not_utf8_is_one_line_and_exit_2(entry, home):
    write_private_config(home, b"broker: sim\nbase_currency: \xff\xfeUSD\n")
    assert_one_line_exit_2(run(ENTRY_POINTS[entry], home), "private_config.yaml", "UTF-8")


@pytest.mark.parametrize("entry", ["run_backups", "run.py"])
def test_unreachable_mongodb_is_one_line_and_exit_2(entry, home):
    write_private_config(home, b"state_store: mongodb://127.0.0.1:9/systrade\n")
    assert_one_line_exit_2(run(ENTRY_POINTS[entry], home), "cannot start", "MongoDB")


def read_only_prefix(path: Path) -> list[str]:
    """A command prefix under which ``path`` is read-only: file modes for an ordinary user,
    a read-only bind mount in a private mount namespace for root (modes do not stop root)."""
    if os.geteuid() != 0:
        for item in [path, *path.rglob("*")]:
            item.chmod(item.stat().st_mode & ~0o222)
        return []
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if shutil.which("unshare") is None or probe.returncode != 0:
        pytest.skip("running as root without mount namespaces: cannot make a read-only home")
    script = (f'mount --bind "{path}" "{path}" && mount -o remount,bind,ro "{path}" && '
              f'exec "$@"')
    return ["unshare", "-m", "sh", "-c", script, "sh"]


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_read_only_home_is_one_line_and_exit_2(entry, home):
    blob = make_blob(home)
    blob.fx_prices.write("EURUSD", pd.Series([1.1], index=pd.DatetimeIndex(["2024-01-01"])))
    blob.close()
    prefix = read_only_prefix(home)
    try:
        result = run(ENTRY_POINTS[entry], home, prefix=prefix)
    finally:
        for item in [home, *home.rglob("*")]:
            item.chmod(item.stat().st_mode | 0o200)
    assert_one_line_exit_2(result, "cannot start", str(home))


# --- a run that did not write everything -------------------------------------------------------

@pytest.fixture
def home_with_fx_spike(home):
    """A home whose stored EURUSD history is three times the broker's (whose simulated EURUSD is
    anchored on the untripled prices): the next update sees a spike and holds EURUSD back."""
    now = pd.Timestamp.now(tz="UTC")
    blob = make_blob(home, clock=FixedClock(now - pd.Timedelta(days=5)))
    init_from_sim_universe("CORN,EUROSTX", data=blob)
    pair = blob.broker_config.fx_pair("EURUSD")
    prices = blob.broker.get_fx_prices(pair.ccy1, pair.ccy2, blob.now() - pd.Timedelta(days=90),
                                       blob.now())
    blob.fx_prices.write("EURUSD", prices * 3)
    # the simulator continues stored FX history from an anchor computed once: pin it to the
    # broker's own prices, so the stored (tripled) history disagrees with what the broker serves
    blob.state.put(FX_ANCHOR_COLLECTION, "EURUSD", fx_anchor_document(prices))
    stored = blob.fx_prices.read_series("EURUSD")
    blob.close()
    return home, stored


@pytest.mark.parametrize("entry", ["update_fx_prices", "run.py"])
def test_held_back_update_exits_1_and_ends_with_the_summary(entry, home_with_fx_spike):
    home, stored = home_with_fx_spike
    result = run(ENTRY_POINTS[entry], home)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == "update_fx_prices: 1 held back by spikes, 0 failed, 1 CRITICAL alert"
    assert lines[0].startswith("  EURUSD: held back: spike at ")
    assert "FxUpdate(" not in result.stdout and "Timestamp(" not in result.stdout
    assert "Traceback" not in result.stderr
    with make_blob(home) as blob:  # nothing written
        pd.testing.assert_series_equal(blob.fx_prices.read_series("EURUSD"), stored)


def test_full_disk_under_the_log_file_is_one_line_not_a_traceback(home_with_fx_spike):
    home, _ = home_with_fx_spike
    (home / "logs").mkdir(exist_ok=True)
    (home / "logs" / "update_fx_prices.log").symlink_to("/dev/full")
    result = run(ENTRY_POINTS["update_fx_prices"], home)
    assert "Traceback" not in result.stderr and "Logging error" not in result.stderr
    assert result.stderr.count("cannot write log file") == 1
    assert "No space left on device" in result.stderr
    assert result.returncode == 1  # the spike still counts


# --- arguments -----------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["--instrument", "CORN"], "unknown parameter --instrument for run_backups (parameters: none)"),
    (["--data", "x"], "unknown parameter --data"),
    (["now"], "unexpected argument 'now'"),
])
def test_run_scripts_refuse_unknown_arguments(args, message, home):
    result = run(ENTRY_POINTS["run_backups"], home, *args)
    assert_one_line_exit_2(result, message)
    assert not (home / "backups").exists()


def test_data_is_not_a_parameter_of_console_scripts(home):
    result = run(ENTRY_POINTS["update_fx_prices"], home, "--data", "blob")
    assert_one_line_exit_2(result, "unknown parameter --data")
    shown = run(ENTRY_POINTS["update_fx_prices"], home, "--help")
    assert shown.returncode == 0 and "--data" not in shown.stdout


@pytest.mark.parametrize("spec", ["os.system", "subprocess.run", "shutil.rmtree",
                                  "syscore.home.os.system"])
def test_run_py_refuses_functions_outside_the_project(spec, home, tmp_path):
    marker = tmp_path / "should_not_exist"
    result = run([sys.executable, str(REPO / "run.py")], home, spec, "--command",
                 f"touch {marker}")
    assert_one_line_exit_2(result)
    assert "only functions of the packages" in result.stderr or "no module" in result.stderr
    assert not marker.exists()


def declared_scripts() -> dict[str, str]:
    import tomllib

    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]


#: values for required parameters, so the script gets as far as opening its stores
REQUIRED = {
    "restore_db_from_csv": ["--source", "{tmp}"],
    "roll_adjusted_prices": ["--instrument_code", "CORN"],
    "import_pysystemtrade_csv": ["--source_dir", "{tmp}"],
    "interactive_manual_check_fx_prices": ["--fx_code", "EURUSD"],
    "interactive_manual_check_historical_prices": ["--instrument_code", "CORN"],
}


@pytest.mark.parametrize("name", sorted(declared_scripts()))
def test_every_console_script_reports_a_start_up_failure_in_one_line(name, home, tmp_path):
    write_private_config(home, b"logging: {level: \xe9\n")
    module, function = declared_scripts()[name].split(":")
    extra = [word.format(tmp=tmp_path) for word in REQUIRED.get(name, [])]
    (tmp_path / "multiple_prices_csv").mkdir(exist_ok=True)  # a folder with the import layout
    (tmp_path / "multiple_prices_csv" / "CORN.csv").write_text("DATETIME,PRICE\n")
    if name == "systrade":
        extra = ["status"]
    result = run(_script(module, function), home, *extra)
    assert_one_line_exit_2(result, "private_config.yaml", "UTF-8")
