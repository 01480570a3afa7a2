from __future__ import annotations

import io
import logging
import logging.handlers
import time

import pandas as pd
import pytest

from syscore.config_models import LoggingConfig, SystradeConfig
from syscore.exceptions import InvalidData
from sysdata.logs import LogData
from syslogdiag import find_logs, format_logs, get_logger, setup_logging
from syslogdiag.context import record_context
from syslogdiag.logging_setup import installed_handlers, log_directory, teardown_logging
from syslogdiag.rotated_files import record, recorded


class FixedClock:
    def __init__(self, ts: str):
        self.ts = pd.Timestamp(ts)

    def now(self) -> pd.Timestamp:
        return self.ts


def _ours(root: logging.Logger) -> list[logging.Handler]:
    installed = installed_handlers()
    return [h for h in root.handlers if h in installed]


class ListHandler(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


def test_bind_adds_context_without_changing_the_original():
    sink = ListHandler()
    base = logging.getLogger("systrade.ctx_test")
    base.addHandler(sink)
    base.setLevel(logging.INFO)
    try:
        log = get_logger("ctx_test", type="price_update", strategy_name="trend")
        child = log.bind(instrument_code="SOFR", contract_date="20240300")
        child.info("hello %s", "world", extra={"broker_order_id": 7})
        log.info("plain")
    finally:
        base.removeHandler(sink)
    first, second = sink.records
    assert first.getMessage() == "hello world"
    assert record_context(first) == {"type": "price_update", "strategy_name": "trend",
                                     "instrument_code": "SOFR", "contract_date": "20240300",
                                     "broker_order_id": 7}
    assert first.instrument_code == "SOFR"
    assert record_context(second) == {"type": "price_update", "strategy_name": "trend"}
    assert second.instrument_code is None
    assert log.logger.name == "systrade.ctx_test"
    assert get_logger("sysdata.prices").logger.name == "sysdata.prices"


def test_reserved_or_bad_context_keys_are_refused():
    with pytest.raises(InvalidData, match="reserved"):
        get_logger("x", levelno=3)
    with pytest.raises(InvalidData, match="identifier"):
        get_logger("x").bind(**{"not an id": 1})


def test_setup_is_idempotent(tmp_path, state_store):
    config = LoggingConfig()
    log_data = LogData(state_store)
    for _ in range(3):
        setup = setup_logging(config, tmp_path, "proc", log_data=log_data, stream=io.StringIO())
    root = logging.getLogger()
    assert len(_ours(root)) == 4  # console, file, store, alerts
    assert set(_ours(root)) == set(setup.handlers)
    get_logger("proc").info("once")
    assert [r["message"] for r in log_data.find()] == ["once"]


def test_installed_handlers_are_registered_not_marked(tmp_path):
    root = logging.getLogger()
    foreign = ListHandler()
    root.addHandler(foreign)
    try:
        before = set(vars(logging.StreamHandler(io.StringIO())))
        setup = setup_logging(LoggingConfig(file=False), tmp_path, "proc", stream=io.StringIO())
        # no attribute was set on the handler objects to recognise them later
        assert set(vars(setup.console)) == before
        assert installed_handlers() == setup.handlers
        setup_logging(LoggingConfig(file=False), tmp_path, "proc", stream=io.StringIO())
        assert len(_ours(root)) == 1 and setup.console not in root.handlers
        teardown_logging()
        assert installed_handlers() == [] and _ours(root) == []
        assert foreign in root.handlers  # somebody else's handler is left alone
    finally:
        root.removeHandler(foreign)


def test_store_records_have_core_fields_and_context(tmp_path, state_store):
    log_data = LogData(state_store)
    setup_logging(LoggingConfig(console=False, file=False), tmp_path, "run_daily_prices",
                  log_data=log_data, clock=FixedClock("2024-03-01 10:00:00+00:00"))
    log = get_logger("update_prices", type="price_update").bind(instrument_code="SOFR",
                                                                 contract_order_id=12)
    log.warning("stale price for %s", "SOFR")
    get_logger("other").info("unrelated")
    rows = log_data.find(instrument_code="SOFR")
    assert len(rows) == 1
    row = rows[0]
    assert row["timestamp"] == "2024-03-01T10:00:00.000000+00:00"
    assert (row["level"], row["levelno"]) == ("WARNING", logging.WARNING)
    assert row["logger"] == "systrade.update_prices"
    assert row["message"] == "stale price for SOFR"
    assert row["process_name"] == "run_daily_prices"
    assert row["type"] == "price_update" and row["contract_order_id"] == 12
    assert isinstance(row["pid"], int) and row["host"]
    found = find_logs(log_data, lookback_days=1, now="2024-03-01 12:00:00+00:00",
                      contract_order_id=12)
    assert found == rows
    assert find_logs(log_data, lookback_days=1, now="2024-03-03 12:00:00+00:00") == []
    text = format_logs(found)
    assert "WARNING run_daily_prices systrade.update_prices" in text
    assert "instrument_code=SOFR" in text and "stale price for SOFR" in text


def test_exception_text_is_stored(tmp_path, state_store):
    log_data = LogData(state_store)
    setup_logging(LoggingConfig(console=False, file=False), tmp_path, "p", log_data=log_data)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        get_logger("p").exception("failed")
    (row,) = log_data.find()
    assert row["level"] == "ERROR"
    assert "RuntimeError: boom" in row["exception"]


def test_store_level_and_component_levels(tmp_path):
    from sysdata.state.sqlite_store import SqliteStateStore

    store = SqliteStateStore(tmp_path / "s.sqlite")
    log_data = LogData(store)
    stream = io.StringIO()
    config = LoggingConfig(level="INFO", store_level="WARNING", file=False,
                           component_levels={"update_fx_prices": "DEBUG",
                                             "update_historical_prices": "ERROR"})
    setup_logging(config, tmp_path, "p", log_data=log_data, stream=stream)
    get_logger("update_fx_prices").debug("noisy debug")
    get_logger("update_historical_prices").warning("quiet warning")
    get_logger("plain").debug("plain debug")
    get_logger("plain").info("plain info")
    get_logger("plain").warning("plain warning")
    console = stream.getvalue()
    assert "noisy debug" in console
    assert "quiet warning" not in console
    assert "plain debug" not in console
    assert "plain info" in console
    assert [r["message"] for r in log_data.find()] == ["plain warning"]
    store.close()


def test_store_failure_never_raises(tmp_path, capsys):
    from sysdata.state.sqlite_store import SqliteStateStore

    store = SqliteStateStore(tmp_path / "s.sqlite")
    store.close()  # every write now fails
    stream = io.StringIO()
    setup = setup_logging(LoggingConfig(file=False), tmp_path, "p", log_data=LogData(store),
                          stream=stream)
    log = get_logger("p")
    log.info("first")
    log.info("second")
    log.critical("third")  # the alert handler fails too
    assert setup.store.failures == 3
    assert setup.alerts.failures == 1
    assert "first" in stream.getvalue() and "third" in stream.getvalue()
    assert capsys.readouterr().err.count("StateStoreHandler failed") == 1


class LoggingLogData(LogData):
    """A LogData whose store logs on every write, as a real backend might."""

    def add(self, record):
        logging.getLogger("sysdata.state").warning("store writing %s", record["message"])
        return super().add(record)


def test_store_logging_while_writing_does_not_recurse(tmp_path, state_store):
    stream = io.StringIO()
    log_data = LoggingLogData(state_store)
    setup_logging(LoggingConfig(file=False), tmp_path, "p", log_data=log_data, stream=stream)
    get_logger("p").info("outer")
    assert [r["message"] for r in log_data.find()] == ["outer"]
    assert "store writing outer" in stream.getvalue()  # still reaches the console


def test_daily_file_rotates_at_midnight_utc(tmp_path):
    setup = setup_logging(LoggingConfig(console=False, file_retention_days=7), tmp_path, "proc")
    handler = setup.file
    assert isinstance(handler, logging.handlers.TimedRotatingFileHandler)
    assert (handler.when, handler.utc, handler.backupCount) == ("MIDNIGHT", True, 7)
    log = get_logger("proc", instrument_code="GOLD")
    log.info("before midnight")
    path = log_directory(tmp_path) / "proc.log"
    assert "INFO systrade.proc [instrument_code=GOLD] before midnight" in path.read_text()
    handler.rolloverAt = int(time.time()) - 1  # pretend midnight (UTC) has just passed
    log.info("after midnight")
    rotated = sorted(p.name for p in log_directory(tmp_path).iterdir())
    yesterday = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400))
    assert rotated == [".systrade_rotated", "proc.log", f"proc.log.{yesterday}"]
    assert "after midnight" in path.read_text()
    assert "before midnight" not in path.read_text()
    assert recorded(log_directory(tmp_path)) == {f"proc.log.{yesterday}"}  # made by us


def _rollover(tmp_path, retention=7):
    setup = setup_logging(LoggingConfig(console=False, file_retention_days=retention), tmp_path,
                          "proc")
    log = get_logger("proc")
    log.info("before midnight")
    setup.file.rolloverAt = int(time.time()) - 1  # pretend midnight (UTC) has just passed
    return setup, log


def test_rotation_never_removes_or_follows_an_existing_target(tmp_path):
    """Python's handler removed an existing ``proc.log.<yesterday>`` before renaming onto it:
    the rotation of another process of the same name, a user's file, or a link's target."""
    logs = log_directory(tmp_path)
    logs.mkdir(parents=True)
    yesterday = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400))
    (logs / f"proc.log.{yesterday}").write_text("a user's file\n")
    setup, log = _rollover(tmp_path)
    log.info("after midnight")
    teardown_logging()
    assert (logs / f"proc.log.{yesterday}").read_text() == "a user's file\n"
    assert "before midnight" in (logs / "proc.log").read_text()  # not rotated: nothing lost
    assert recorded(logs) == set()


def test_handler_retention_deletes_only_rotations_it_recorded(tmp_path):
    """The handler's own ``backupCount`` deleted every ``proc.log.<date>`` by pattern."""
    logs = log_directory(tmp_path)
    logs.mkdir(parents=True)
    precious = tmp_path / "precious.txt"
    precious.write_text("mine")
    (logs / "proc.log.2001-01-01").write_text("a user's file")
    (logs / "proc.log.2001-01-02").symlink_to(precious)
    for day in ("2002-01-01", "2002-01-02"):  # rotated by us earlier
        (logs / f"proc.log.{day}").write_text("ours")
        record(logs, f"proc.log.{day}")
    setup, log = _rollover(tmp_path, retention=1)
    log.info("after midnight")
    teardown_logging()
    left = sorted(p.name for p in logs.iterdir())
    yesterday = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400))
    assert left == [".systrade_rotated", "proc.log", "proc.log.2001-01-01", "proc.log.2001-01-02",
                    f"proc.log.{yesterday}"]
    assert precious.read_text() == "mine"


def test_secrets_never_reach_console_file_or_store(tmp_path, state_store):
    config = SystradeConfig.model_validate({
        "state_store": "mongodb://trader:hunter2pw@db.example:27017/systrade",
        "email": {"password": "s3cr3t-mail"},
        "ib": {"account": "U1234567"},
    })
    log_data = LogData(state_store)
    stream = io.StringIO()
    setup_logging(config, tmp_path, "p", log_data=log_data, stream=stream)
    log = get_logger("p", broker_account="U1234567")
    log.info("login with %s to account %s", "s3cr3t-mail", "U1234567")
    log.warning("connect to mongodb://trader:hunter2pw@db.example:27017/systrade")
    try:
        raise ValueError("bad password s3cr3t-mail")
    except ValueError:
        log.exception("mail failed")
    outputs = {
        "console": stream.getvalue(),
        "file": (log_directory(tmp_path) / "p.log").read_text(),
        "store": repr(log_data.find()),
    }
    for where, text in outputs.items():
        for secret in ("s3cr3t-mail", "U1234567", "hunter2pw"):
            assert secret not in text, f"{secret} leaked to {where}"
        assert "login with *** to account ***" in text, where
        assert "mongodb://trader:***@db.example" in text, where
        assert "bad password ***" in text, where
