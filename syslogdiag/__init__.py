"""Logging with context, handlers (console, daily file, state store, alerts), alerts, queries.

Typical process start::

    from syslogdiag import get_logger, setup_blob_logging
    data = DataBlob.from_config(process_name="run_daily_prices")
    setup_blob_logging(data, "run_daily_prices")   # config, home, data.logs, data.clock
    log = get_logger("run_daily_prices", type="price_update").bind(instrument_code="SOFR")
"""
from syslogdiag.alerts import alert, format_alerts, list_alerts
from syslogdiag.cleaning import delete_old_log_files, delete_old_logs
from syslogdiag.context import CONTEXT_FIELDS, ContextLogger, get_logger
from syslogdiag.log_query import find_logs, format_logs
from syslogdiag.logging_setup import (
    LoggingSetup,
    log_directory,
    setup_blob_logging,
    setup_logging,
    teardown_logging,
)
from syslogdiag.redaction import RedactingFilter, config_secrets, redact_url

__all__ = [
    "CONTEXT_FIELDS", "ContextLogger", "LoggingSetup", "RedactingFilter", "alert",
    "config_secrets", "delete_old_log_files", "delete_old_logs", "find_logs", "format_alerts",
    "format_logs", "get_logger", "list_alerts", "log_directory", "redact_url", "setup_blob_logging", "setup_logging",
    "teardown_logging",
]
