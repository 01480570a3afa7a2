import os
import subprocess
import sys
from pathlib import Path

import pytest

from syscore.exceptions import ExistingData
from sysproduction.schedule import schedule_files, write_schedule_files

ROOT = Path(__file__).resolve().parents[2]
CLI = "import sys; from syscore.cli import main; sys.exit(main(sys.argv[1:]))"


def test_write_refuses_a_file_it_did_not_generate(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    files = schedule_files("crontab", home)
    out = tmp_path / "out"
    out.mkdir()
    (out / "systrade.crontab").write_text("my own crontab\n")
    with pytest.raises(ExistingData, match="not generated"):
        write_schedule_files(files, out)
    assert (out / "systrade.crontab").read_text() == "my own crontab\n"
    (out / "systrade.crontab").unlink()
    write_schedule_files(files, out)
    write_schedule_files(files, out)  # its own earlier output is replaced
    assert "run_systems" in (out / "systrade.crontab").read_text()


def test_shipped_linux_crontab_matches_the_shipped_control_config():
    shipped = (ROOT / "linux" / "crontab").read_text()
    generated = schedule_files("crontab", Path("/home/trader/.systrade"),
                               bin_dir="/home/trader/systrade/.venv/bin",
                               echo_dir="/home/trader/echos",
                               working_dir="/home/trader/.systrade")["systrade.crontab"]
    home = os.environ.get("SYSTRADE_HOME")
    assert home is None or not (Path(home) / "private" / "private_control_config.yaml").exists()
    assert shipped == generated, (
        "regenerate: SYSTRADE_HOME=/home/trader/.systrade systrade schedule crontab --bin-dir "
        "/home/trader/systrade/.venv/bin --echo-dir /home/trader/echos > linux/crontab")


def test_linux_scripts_cover_every_process_and_method():
    from syscore.config import load_control_config
    from sysproduction.run_process import METHODS

    scripts = ROOT / "linux" / "scripts"
    control = load_control_config(ROOT / "no-such-home")
    for name in [*control.process_configuration, *METHODS, "startup", "p"]:
        script = scripts / name
        assert script.exists(), name
        assert os.access(script, os.X_OK), name


def test_cli_schedule_prints_and_writes(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "SYSTRADE_HOME": str(home)}
    result = subprocess.run([sys.executable, "-c", CLI, "schedule", "supervisor"],
                            capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("; systrade long-running processes")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "systrade.conf").write_text("[program:mine]\n")
    refused = subprocess.run([sys.executable, "-c", CLI, "schedule", "supervisor", "--output",
                              str(tmp_path / "out")], capture_output=True, text=True, env=env,
                             cwd=ROOT, timeout=120)
    assert refused.returncode == 2 and "not generated" in refused.stderr
    assert "Traceback" not in refused.stderr
