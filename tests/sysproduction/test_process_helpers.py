"""ProcessReport counts what was written, held back, refused and failed; each_item keeps a
failing item to one console line (traceback in the log file) and counts CRITICAL records."""
from __future__ import annotations

import io
import logging

import pandas as pd
import pytest

from syslogdiag.logging_setup import setup_logging, teardown_logging
from sysproduction.process_helpers import Outcome, ProcessReport, each_item
from sysproduction.update_fx_prices import FxUpdate
from sysproduction.update_historical_prices import ContractUpdate, InstrumentUpdate
from tests.blob_helpers import make_blob


def fx_report() -> ProcessReport:
    report = ProcessReport("update_fx_prices")
    report.add("AUDUSD", FxUpdate("AUDUSD", 3))
    report.add("EURUSD", FxUpdate("EURUSD", 0, pd.Timestamp("2024-01-03", tz="UTC")))
    report.add("GBPUSD", FxUpdate("GBPUSD", 0))
    return report


def test_summary_counts_written_held_back_and_failed():
    report = fx_report()
    assert report.summary == ("update_fx_prices: 1 written, 1 unchanged, 1 held back by spikes, "
                              "0 failed")
    assert not report.ok  # a spike held data back
    report.add_failure("JPYUSD", "StoreError: disk full")
    report.note_critical(2)
    assert report.summary.endswith("1 held back by spikes, 1 failed, 2 CRITICAL alerts")
    assert report.keys_with(Outcome.HELD_BACK) == ["EURUSD"]


def test_text_has_one_readable_line_per_item_and_the_summary_last():
    lines = str(fx_report()).splitlines()
    assert lines == [
        "  AUDUSD: 3 prices written",
        "  EURUSD: held back: spike at 2024-01-03, nothing written "
        "(check it with interactive_manual_check_fx_prices)",
        "  GBPUSD: no new prices",
        "update_fx_prices: 1 written, 1 unchanged, 1 held back by spikes, 0 failed",
    ]


def test_ok_only_when_everything_was_written_or_unchanged():
    report = ProcessReport("p")
    report.add("a", FxUpdate("a", 2))
    report.add("b", FxUpdate("b", 0))
    assert report.ok and report.outcome is Outcome.WRITTEN
    report.note_critical(1)
    assert not report.ok  # an alert was raised during the run


def test_a_spike_in_one_contract_holds_the_instrument_back():
    update = InstrumentUpdate("CORN", [ContractUpdate("20240300", {"H": 5}),
                                       ContractUpdate("20240500", spike_at=pd.Timestamp(
                                           "2024-01-03 14:00", tz="UTC"))])
    assert update.outcome is Outcome.HELD_BACK
    assert str(update) == ("2 contracts, 5 bars written; held back by spikes: 202405 "
                           "(spike at 2024-01-03 14:00 UTC)")


def test_nested_report_outcome_is_its_worst_item():
    inner = fx_report()
    outer = ProcessReport("run_daily_prices_updates")
    outer.add("update_fx_prices", inner)
    assert outer.outcomes["update_fx_prices"] is Outcome.HELD_BACK
    assert not outer.ok


def test_results_without_an_outcome_are_done_and_a_not_ok_result_is_refused():
    class Refused:
        ok = False

    report = ProcessReport("p")
    report.add("text", "backup written to /x")
    report.add("guard", Refused())
    assert report.outcomes == {"text": Outcome.DONE, "guard": Outcome.REFUSED}
    assert report.summary == "p: 1 done, 1 refused, 0 failed"


@pytest.fixture
def blob(tmp_path):
    data = make_blob(tmp_path / "home")
    yield data
    data.close()


def test_failing_item_is_one_console_line_with_the_traceback_in_the_file(blob):
    console = io.StringIO()
    setup_logging(blob.config, blob.home, "test_items", log_data=blob.logs, stream=console)
    try:
        def work(item):
            if item == "bad":
                raise ValueError("price file cut short\nsecond line")
            return FxUpdate(item, 1)

        report = each_item(blob, "test_items", ["good", "bad", "also_good"], str, work)
    finally:
        teardown_logging()
    assert report.failures == {"bad": "ValueError: price file cut short"}
    assert report.summary == "test_items: 2 written, 1 failed, 1 CRITICAL alert"
    shown = [line for line in console.getvalue().splitlines() if line.strip()]
    assert len(shown) == 1, console.getvalue()
    assert "test_items failed for bad: ValueError: price file cut short" in shown[0]
    assert "Traceback" not in console.getvalue()
    logged = (blob.home / "logs" / "test_items.log").read_text()
    assert "Traceback (most recent call last)" in logged
    assert 'raise ValueError("price file cut short' in logged


def test_critical_records_during_the_loop_are_counted(blob):
    def work(item):
        logging.getLogger("systrade.test").critical("roll overdue for %s", item)
        return FxUpdate(item, 0)

    report = each_item(blob, "p", ["CORN"], str, work)
    assert report.critical == 1 and not report.ok


def test_a_process_report_shows_each_method_indented_and_its_own_summary_last():
    outer = ProcessReport("run_daily_prices_updates")
    outer.add("update_fx_prices", fx_report())
    outer.add("backup", "written to /b\nmanifest ok")
    lines = str(outer).splitlines()
    assert lines[0] == "    AUDUSD: 3 prices written"
    assert lines[3] == ("  update_fx_prices: 1 written, 1 unchanged, 1 held back by spikes, "
                        "0 failed")
    assert lines[4:6] == ["  backup: written to /b", "    manifest ok"]
    assert lines[-1] == "run_daily_prices_updates: 1 done, 1 held back by spikes, 0 failed"


class _BrokenClock:
    """A clock whose file cannot be read: raising an alert fails before anything is logged."""

    def now(self) -> pd.Timestamp:
        raise OSError("sim_clock.json: Input/output error")


def test_an_alert_that_cannot_be_raised_is_still_logged(tmp_path, caplog):
    data = make_blob(tmp_path / "home", clock=_BrokenClock())
    try:
        def work(item):
            raise ValueError("price file cut short")

        with caplog.at_level(logging.ERROR):
            report = each_item(data, "test_items", ["bad"], str, work)
    finally:
        data.close()
    assert report.failures == {"bad": "ValueError: price file cut short"}
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("bad" in m and "price file cut short" in m and "Input/output error" in m
               for m in messages), messages


def test_a_method_whose_items_failed_shows_its_report_not_a_blank_failed_line():
    inner = ProcessReport("update_historical_prices")
    inner.add("CORN", "3 bars written")
    inner.add_failure("VIX_mini", "UnknownContract: unknown instrument 'VIX_mini'")
    outer = ProcessReport("run_daily_prices_updates")
    outer.add("update_historical_prices", inner)
    lines = str(outer).splitlines()
    assert outer.outcomes["update_historical_prices"] is Outcome.FAILED
    assert "  update_historical_prices: FAILED " not in lines
    assert "    VIX_mini: FAILED UnknownContract: unknown instrument 'VIX_mini'" in lines
    assert "  update_historical_prices: 1 done, 1 failed" in lines
    assert lines[-1] == "run_daily_prices_updates: 1 failed"


def test_a_result_that_names_its_method_is_not_prefixed_twice():
    outer = ProcessReport("run_backups")
    outer.add("backup_db_to_csv", "backup_db_to_csv: 3 series written, 0 failed, to /b")
    assert str(outer).splitlines()[0] == "  backup_db_to_csv: 3 series written, 0 failed, to /b"


def test_a_start_up_error_in_an_item_stops_the_loop_without_alerts(blob):
    from syscore.exceptions import StartupError
    from syslogdiag.alerts import list_alerts

    calls = []

    def work(item):
        calls.append(item)
        raise StartupError("broker 'ib' is not available yet")

    with pytest.raises(StartupError, match="not available yet"):
        each_item(blob, "update_fx_prices", ["EURUSD", "GBPUSD"], str, work)
    assert calls == ["EURUSD"]
    assert list_alerts(blob.alerts) == []
