"""Logging set up by a real process from its configuration, read back by another process."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from sysdata.data_blob import DataBlob
from syslogdiag import find_logs, list_alerts

REPO = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent("""
    import os
    from sysdata.data_blob import DataBlob
    from syslogdiag import get_logger, setup_blob_logging

    data = DataBlob.from_config(process_name="run_test_process")
    setup_blob_logging(data, "run_test_process")
    log = get_logger("run_test_process", type="test").bind(instrument_code="SOFR")
    log.debug("hidden by component level")
    get_logger("other_component").info("hidden by root level")
    log.info("price updated with password hunter2-secret")
    log.critical("Broker connection lost")
    print(os.getpid())
    data.close()
""")


def test_process_logs_to_console_file_store_and_alerts(systrade_home):
    (systrade_home / "private").mkdir(exist_ok=True)
    (systrade_home / "private" / "private_config.yaml").write_text(
        "email: {password: hunter2-secret}\n"
        "logging: {level: WARNING, component_levels: {run_test_process: INFO}}\n"
    )
    env = {**os.environ, "SYSTRADE_HOME": str(systrade_home), "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", CHILD], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    child_pid = int(result.stdout.strip())

    console = result.stderr
    assert "INFO systrade.run_test_process [type=test instrument_code=SOFR] price updated" in console
    assert "hunter2-secret" not in console and "password ***" in console
    assert "hidden by" not in console  # root WARNING; the component's INFO is shown
    log_file = systrade_home / "logs" / "run_test_process.log"
    assert "CRITICAL systrade.run_test_process" in log_file.read_text()
    assert "hunter2-secret" not in log_file.read_text()

    with DataBlob.from_config(home=systrade_home) as data:
        records = find_logs(data.logs, lookback_days=1, process_name="run_test_process")
        assert [r["message"] for r in records] == [
            "price updated with password ***", "Broker connection lost"]
        assert {r["pid"] for r in records} == {child_pid}
        assert all(r["instrument_code"] == "SOFR" and r["type"] == "test" for r in records)
        alerts = list_alerts(data.alerts, lookback_days=1)
        assert [a["subject"] for a in alerts] == ["Broker connection lost"]
        assert alerts[0]["context"]["process_name"] == "run_test_process"
