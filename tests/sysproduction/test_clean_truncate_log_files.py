
import pytest

from syslogdiag.logging_setup import log_directory
from tests.blob_helpers import make_blob
from tests.process_helpers import run_py


@pytest.mark.parametrize("days", ["-1", "0"])
def test_negative_or_zero_days_is_a_usage_error(tmp_path, days):
    """``--days -1`` was a traceback-free but exit-1 'failed: ValueError' after opening the
    home; it is a usage error (exit 2, one line) shared with the echo cleaner."""
    home = tmp_path / "home"
    make_blob(home).close()
    result = run_py(home, "clean_truncate_log_files.clean_truncate_log_files",
                         "--days", days)
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "--days must be a whole number of days, at least 1" in result.stderr
    assert not (log_directory(home) / "clean_truncate_log_files.log").exists()  # nothing opened
