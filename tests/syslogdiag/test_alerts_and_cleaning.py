from __future__ import annotations

import io
import os

import pandas as pd
import pytest

from syscore.config_models import LoggingConfig, SystradeConfig
from syscore.exceptions import StoreError
from sysdata.data_blob import DataBlob
from sysdata.logs import AlertData, LogData
from sysdata.timeseries.arctic_store import TimeSeriesStore
from syslogdiag import (
    alert,
    delete_old_log_files,
    delete_old_logs,
    format_alerts,
    get_logger,
    list_alerts,
    setup_logging,
)
from syslogdiag.rotated_files import record, recorded


class FixedClock:
    def __init__(self, ts: str):
        self.current = pd.Timestamp(ts)

    def now(self) -> pd.Timestamp:
        return self.current


@pytest.fixture
def blob(tmp_path, state_store):
    timeseries = TimeSeriesStore(f"lmdb://{tmp_path / 'arctic'}")
    data = DataBlob(state_store, timeseries, SystradeConfig(), tmp_path,
                    clock=FixedClock("2024-05-01 09:30:00+00:00"))
    yield data
    timeseries.close()


def test_alert_is_stored_once_and_logged_at_critical(tmp_path, blob):
    stream = io.StringIO()
    setup_logging(LoggingConfig(file=False), tmp_path, "run_stack_handler",
                  log_data=blob.logs, clock=blob.clock, stream=stream)
    alert_id = alert(blob, "Position break SOFR", "broker 3, ours 2", instrument_code="SOFR")
    alerts = list_alerts(blob.alerts)
    assert [a["alert_id"] for a in alerts] == [alert_id]  # the alert handler did not duplicate it
    stored = alerts[0]
    assert stored["subject"] == "Position break SOFR"
    assert stored["body"] == "broker 3, ours 2"
    assert stored["timestamp"] == "2024-05-01T09:30:00.000000+00:00"
    assert stored["context"] == {"instrument_code": "SOFR"}
    assert stored["sent"] is False
    (record,) = blob.logs.find(min_level=50)
    assert record["alert_id"] == alert_id
    assert record["alert_subject"] == "Position break SOFR"
    assert record["message"] == "Position break SOFR: broker 3, ours 2"
    assert "CRITICAL systrade.alerts" in stream.getvalue()


def test_critical_log_creates_an_alert(tmp_path, blob):
    setup_logging(LoggingConfig(console=False, file=False), tmp_path, "run_daily_prices",
                  log_data=blob.logs, clock=blob.clock)
    log = get_logger("update_prices", instrument_code="GOLD")
    log.error("just an error")
    log.critical("Price spike in GOLD\nsecond line")
    log.alert("Stale prices", "no update for 3 days")
    alerts = list_alerts(blob.alerts)
    assert [a["subject"] for a in alerts] == ["Price spike in GOLD", "Stale prices"]
    assert alerts[0]["body"] == "Price spike in GOLD\nsecond line"
    assert alerts[0]["context"] == {"instrument_code": "GOLD", "logger": "systrade.update_prices",
                                    "process_name": "run_daily_prices"}
    assert alerts[1]["body"] == "Stale prices: no update for 3 days"


@pytest.mark.parametrize("kind", ["plain", "adapter", "context"])
def test_alert_with_any_logger_is_stored_once(tmp_path, blob, kind):
    import logging

    setup_logging(LoggingConfig(console=False, file=False), tmp_path, "run_stack_handler",
                  log_data=blob.logs, clock=blob.clock)
    plain = logging.getLogger("systrade.plain_alert_test")
    logger = {"plain": plain,
              "adapter": logging.LoggerAdapter(plain, {"ignored": 1}),
              "context": get_logger("plain_alert_test", strategy_name="trend")}[kind]
    alert_id = alert(blob, "Position break SOFR", "broker 3, ours 2", logger=logger,
                     instrument_code="SOFR")
    assert [a["alert_id"] for a in list_alerts(blob.alerts)] == [alert_id]
    (record,) = blob.logs.find(min_level=50)
    assert record["alert_id"] == alert_id and record["logger"] == "systrade.plain_alert_test"
    assert record["instrument_code"] == "SOFR"


def test_critical_with_alert_id_extra_on_plain_logger_is_not_stored_again(tmp_path, blob):
    import logging

    setup_logging(LoggingConfig(console=False, file=False), tmp_path, "p",
                  log_data=blob.logs, clock=blob.clock)
    logging.getLogger("systrade.x").critical("already stored", extra={"alert_id": 5})
    assert list_alerts(blob.alerts) == []


def test_logger_with_alert_target_stores_directly(blob):
    log = get_logger("x", alert_target=blob, strategy_name="trend")
    alert_id = log.alert("Trade limit hit", "SOFR 5 of 5")
    stored = blob.alerts.get(alert_id)
    assert stored["subject"] == "Trade limit hit"
    assert stored["context"] == {"strategy_name": "trend"}


def test_alert_secrets_are_masked(tmp_path, blob):
    config = SystradeConfig.model_validate({"email": {"password": "mail-pw-123"}})
    setup_logging(config, tmp_path, "p", log_data=blob.logs, stream=io.StringIO())
    alert_id = alert(blob.alerts, "login mail-pw-123 failed", "pw mail-pw-123", where="mail-pw-123")
    assert "mail-pw-123" not in repr(blob.alerts.get(alert_id))
    assert "mail-pw-123" not in repr(blob.logs.find())


def test_alert_on_failed_store_still_logs_and_raises(tmp_path, state_store):
    from sysdata.state.sqlite_store import SqliteStateStore

    closed = SqliteStateStore(tmp_path / "closed.sqlite")
    closed.close()
    stream = io.StringIO()
    setup_logging(LoggingConfig(file=False), tmp_path, "p", stream=stream)
    with pytest.raises(StoreError, match="could not store alert"):
        alert(AlertData(closed), "Broker down", "no connection", now="2024-01-01T00:00:00Z")
    assert "Broker down: no connection (alert NOT stored" in stream.getvalue()


def test_list_and_format_alerts(state_store):
    alerts = AlertData(state_store)
    old = alerts.add("Old", "body", "2024-01-01T00:00:00Z", {})
    new = alerts.add("New", "line one\nline two", "2024-01-10T00:00:00Z", {"instrument_code": "X"})
    alerts.mark_sent(old, "2024-01-01T00:05:00Z")
    now = "2024-01-10T12:00:00Z"
    assert [a["alert_id"] for a in list_alerts(alerts)] == [old, new]
    assert [a["alert_id"] for a in list_alerts(alerts, lookback_days=2, now=now)] == [new]
    assert [a["alert_id"] for a in list_alerts(alerts, unsent_only=True)] == [new]
    assert [a["alert_id"] for a in list_alerts(alerts, subject="Old")] == [old]
    text = format_alerts(list_alerts(alerts))
    assert f"#{new} 2024-01-10T00:00:00.000000+00:00 [UNSENT] New" in text
    assert "    instrument_code=X" in text and "    line two" in text
    assert "[sent] Old" in text
    assert format_alerts([]) == "No alerts."


def test_delete_old_logs(state_store):
    log_data = LogData(state_store)
    for day in (1, 5, 9):
        log_data.add({"timestamp": f"2024-01-0{day}T00:00:00.000000+00:00", "levelno": 20,
                      "message": f"day {day}"})
    removed = delete_old_logs(log_data, days=5, now="2024-01-10T00:00:00Z")
    assert removed == 1
    assert [r["message"] for r in log_data.find()] == ["day 5", "day 9"]
    with pytest.raises(ValueError):
        delete_old_logs(log_data, days=-1, now="2024-01-10T00:00:00Z")


def test_delete_old_log_files(tmp_path):
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    names = ["p.log", "p.log.2024-01-01", "p.log.2024-01-08", "q.log.1", "q.log.2", "notes.txt"]
    for name in names:
        (log_dir / name).write_text("x")
    for name in ("p.log.2024-01-01", "p.log.2024-01-08"):  # rotated by the daily handler
        record(log_dir, name)
    ancient = pd.Timestamp("2023-06-01", tz="UTC").timestamp()
    recent = pd.Timestamp("2024-01-09", tz="UTC").timestamp()
    os.utime(log_dir / "notes.txt", (ancient, ancient))  # not a log file: kept
    os.utime(log_dir / "q.log.1", (ancient, ancient))
    os.utime(log_dir / "q.log.2", (recent, recent))
    os.utime(log_dir / "p.log", (ancient, ancient))  # the live file is never removed
    removed = delete_old_log_files(log_dir, days=5, now="2024-01-10T00:00:00Z")
    # only the daily handler's rotated files are ever removed: q.log.1 (another program's
    # rotation, however old) is not ours and stays
    assert sorted(p.name for p in removed) == ["p.log.2024-01-01"]
    assert sorted(p.name for p in log_dir.iterdir()) == [
        ".systrade_rotated", "notes.txt", "p.log", "p.log.2024-01-08", "q.log.1", "q.log.2"]
    assert recorded(log_dir) == {"p.log.2024-01-08"}
    assert delete_old_log_files(tmp_path / "missing", 5, "2024-01-10T00:00:00Z") == []


def test_delete_old_log_files_leaves_what_the_handler_did_not_write(tmp_path):
    """A user's file that merely contains ``.log`` in its name, a folder and a symbolic link
    named like a rotated file all survive, however old."""
    log_dir = tmp_path / "logs"
    (log_dir / "x.log.2023-01-01").mkdir(parents=True)
    (log_dir / "x.log.2023-01-01" / "keep.txt").write_text("mine")
    precious = tmp_path / "precious.txt"
    precious.write_text("mine")
    (log_dir / "y.log.2023-01-02").symlink_to(precious)
    (log_dir / "my.login").write_text("mine")
    (log_dir / "trades.log.bak").write_text("mine")
    ancient = pd.Timestamp("2023-01-01", tz="UTC").timestamp()
    for name in ("my.login", "trades.log.bak"):
        os.utime(log_dir / name, (ancient, ancient))
    assert delete_old_log_files(log_dir, days=5, now="2024-01-10T00:00:00Z") == []
    assert sorted(p.name for p in log_dir.iterdir()) == [
        "my.login", "trades.log.bak", "x.log.2023-01-01", "y.log.2023-01-02"]
    assert precious.read_text() == "mine"


def test_delete_old_log_files_deletes_only_files_the_handler_recorded(tmp_path):
    """Deletion went by name: a user's ``trades.log.2023-01-01`` in logs/ was deleted. Now only
    files the daily handler rotated (recorded in logs/.systrade_rotated) are, and only while they
    are regular files; a recorded name that leads out of logs/ is never followed."""
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    (log_dir / "trades.log.2023-01-01").write_text("a user's file")
    (log_dir / "p.log.2023-01-01").write_text("ours")
    precious = tmp_path / "precious.log.2023-01-01"
    precious.write_text("mine")
    (log_dir / "q.log.2023-01-01").symlink_to(precious)
    for name in ("p.log.2023-01-01", "q.log.2023-01-01"):
        record(log_dir, name)
    with open(log_dir / ".systrade_rotated", "a") as ledger:  # a hand-edited record
        ledger.write("../precious.log.2023-01-01\n")
    removed = delete_old_log_files(log_dir, days=5, now="2024-01-10T00:00:00Z")
    assert [p.name for p in removed] == ["p.log.2023-01-01"]
    assert (log_dir / "trades.log.2023-01-01").read_text() == "a user's file"
    assert (log_dir / "q.log.2023-01-01").is_symlink()
    assert precious.read_text() == "mine"
