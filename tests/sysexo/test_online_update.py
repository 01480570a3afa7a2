"""The online update computes the same rows as the backfill and refuses what is not backfilled."""
from __future__ import annotations

import pandas as pd

from sysexo.backfill import backfill_problem
from syslogdiag.alerts import list_alerts
from sysproduction.exo_backfill import exo_backfill
from sysproduction.run_exo_update import update_exo_product
from tests.blob_helpers import FixedClock, make_blob
from tests.sysexo.test_backfill import END, NAMES, START, home_with_settings, reference, series

__all__ = ["reference"]  # the module fixture: the uninterrupted backfill


def test_backfill_then_online_days_equal_the_backfill(reference, tmp_path):
    _, frames = reference
    home = home_with_settings(tmp_path / "home")
    clock = FixedClock("2023-04-20 12:00")
    blob = make_blob(home, clock=clock)
    exo_backfill(start=START, end="2023-04-19", chunk=5, data=blob)
    for day in pd.bdate_range("2023-04-20", END):
        clock.current = pd.Timestamp(day.date(), tz="UTC") + pd.Timedelta(hours=21)
        report = update_exo_product("GOLD", data=blob, min_rows=20)
        assert report.ok and report.updated == NAMES, str(report)
    blob.close()
    for name, frame in series(home).items():
        pd.testing.assert_frame_equal(frame, frames[name], check_exact=True)


def test_before_decision_time_waits(reference, tmp_path):
    home = home_with_settings(tmp_path / "home")
    blob = make_blob(home, clock=FixedClock("2023-04-20 18:59"))
    report = update_exo_product("GOLD", data=blob, min_rows=1)
    assert report.ok and report.waiting.startswith("before today's decision time 19:00")
    blob.close()


def test_not_backfilled_is_refused_with_an_alert(tmp_path):
    home = home_with_settings(tmp_path / "home")
    blob = make_blob(home, clock=FixedClock("2023-04-20 21:00"))
    report = update_exo_product("GOLD", data=blob)
    assert not report.ok and set(report.refused) == set(NAMES)
    assert "EXO backfill required: 0 rows stored" in report.refused["GOLD_ContFut"]
    subjects = [a["subject"] for a in list_alerts(blob.alerts, lookback_days=None)]
    assert "EXO backfill required: GOLD_ContFut" in subjects
    blob.close()


def test_backfill_problem_rules():
    index = pd.date_range("2023-01-02", periods=250, freq="B", tz="UTC")
    frame = pd.DataFrame({"exo": 0.0}, index=index)
    last = index[-1].date()
    assert backfill_problem(frame, last) == ""
    assert "more than 7 days old" in backfill_problem(frame, last + pd.Timedelta(days=8))
    assert "199 rows stored" in backfill_problem(frame.iloc[:199], last)


def test_install_writes_one_process_per_product_and_respects_foreign_files(tmp_path):
    import pytest

    from syscore.config import load_control_config
    from syscore.exceptions import ExistingData
    from sysexo.settings import load_exo_settings
    from sysproduction.exo_install import install_exo_processes

    home = home_with_settings(tmp_path / "home")
    settings = load_exo_settings(home / "private" / "exo_settings.yaml")
    install_exo_processes(home, settings)
    install_exo_processes(home, settings)  # its own output is replaced
    process = load_control_config(home).process_configuration["run_exo_update_GOLD"]
    assert (process.start_time, process.end_time) == ("19:00", "22:00")
    method = process.methods["update_exo_GOLD"]
    assert method.arguments == {"product": "GOLD"} and method.max_executions == 1
    targets = process.methods["update_exo_optimal_positions_GOLD"]
    assert targets.run_on_completion_only and targets.arguments == {"product": "GOLD"}
    from sysproduction.run_process import method_function
    from sysproduction.update_exo_optimal_positions import update_exo_optimal_positions
    assert method_function("x", targets.function) is update_exo_optimal_positions
    assert "run_daily_prices_updates" in load_control_config(home).process_configuration
    target = home / "private" / "generated_control_config.yaml"
    target.write_text("process_configuration: {}\n")
    with pytest.raises(ExistingData, match="not written by 'systrade exo install'"):
        install_exo_processes(home, settings)
    assert target.read_text() == "process_configuration: {}\n"
