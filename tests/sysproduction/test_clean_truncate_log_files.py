import os
import subprocess
import sys
from pathlib import Path

import pytest

from syslogdiag.logging_setup import log_directory
from tests.blob_helpers import make_blob

REPO = Path(__file__).resolve().parents[2]


def run_command(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SYSTRADE_HOME": str(home), "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, str(REPO / "run.py"), *args], cwd=REPO, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("days", ["-1", "0"])
def test_negative_or_zero_days_is_a_usage_error(tmp_path, days):
    """``--days -1`` was a traceback-free but exit-1 'failed: ValueError' after opening the
    home; it is a usage error (exit 2, one line) shared with the echo cleaner."""
    home = tmp_path / "home"
    make_blob(home).close()
    result = run_command(home, "clean_truncate_log_files.clean_truncate_log_files",
                         "--days", days)
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "--days must be a whole number of days, at least 1" in result.stderr
    assert not (log_directory(home) / "clean_truncate_log_files.log").exists()  # nothing opened
