"""Single-pass process runner: methods from the control config, in order, failures contained."""
from __future__ import annotations

import pandas as pd
import pytest

from syscore.exceptions import ConfigError
from sysproduction.run_process import METHODS, method_function, run_process
from tests.blob_helpers import make_blob


@pytest.fixture
def blob(systrade_home):
    data = make_blob(systrade_home)
    data.fx_prices.write("EURUSD", pd.Series([1.1], index=pd.DatetimeIndex(["2024-01-01"])))
    yield data
    data.close()


def test_run_backups_runs_every_method(blob, systrade_home):
    report = run_process("run_backups", data=blob)
    assert report.ok, report.failures
    assert list(report.results) == ["check_ledger", "backup_db_to_csv", "backup_state_store",
                                    "backup_offsystem"]
    assert "offsystem_backup_directory is not set; nothing copied" in str(
        report.results["backup_offsystem"])
    assert (systrade_home / "backups" / "csv" / "fx_prices_csv" / "EURUSD.csv").exists()
    assert list((systrade_home / "backups").glob("state_*.sqlite"))


def test_run_backups_checks_the_ledger_first_and_fails_on_a_damaged_projection(blob):
    """A cache that differs from the ledger: repaired, alerted, and the run is a failure (cron
    sees it); the backups still run, of the repaired state."""
    from sysobjects.orders.records import Fill

    blob.ledger.book_fill(Fill("c-1.01", "CORN", "202403", 2, 450.0, "2024-01-02", "trend"))
    cached = blob.state.get("contract_positions", "CORN/202403")
    blob.state.put("contract_positions", "CORN/202403", {**cached, "position": 7})
    report = run_process("run_backups", data=blob)
    assert not report.ok and report.results["check_ledger"] == 1 and report.critical >= 1
    assert "backup_db_to_csv" in report.results and "backup_state_store" in report.results
    assert blob.positions.get_contract_position("CORN", "202403") == 2


def test_completion_only_methods_run_last_and_failures_are_contained(blob, systrade_home):
    (systrade_home / "private" / "private_control_config.yaml").write_text(
        "process_configuration:\n  run_test:\n    methods:\n"
        "      update_strategy_capital: {run_on_completion_only: true}\n"
        "      backup_db_to_csv: {}\n")
    report = run_process("run_test", data=blob)
    assert list(report.results) == ["backup_db_to_csv"]
    assert "update_strategy_capital" in report.failures  # no capital yet: alerted, not raised
    assert any("update_strategy_capital" in a["subject"] for a in blob.alerts.all())


def test_unknown_process_or_method_is_refused_before_running(blob, systrade_home):
    with pytest.raises(ConfigError, match="no process 'run_nothing'"):
        run_process("run_nothing", data=blob)
    (systrade_home / "private" / "private_control_config.yaml").write_text(
        "process_configuration:\n  run_test:\n    methods:\n"
        "      backup_db_to_csv: {}\n      make_coffee: {}\n")
    with pytest.raises(ConfigError, match="unknown method 'make_coffee'"):
        run_process("run_test", data=blob)
    assert not (systrade_home / "backups" / "csv").exists()


def test_every_shipped_method_resolves():
    from syscore.config import CONTROL_DEFAULTS_FILE, read_yaml_file

    shipped = read_yaml_file(CONTROL_DEFAULTS_FILE)["process_configuration"]
    for process in shipped.values():
        for method in process["methods"]:
            assert callable(method_function(method))
    assert set(METHODS) >= {m for p in shipped.values() for m in p["methods"]}
