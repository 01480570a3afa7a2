"""Alerts: CRITICAL events with a subject, stored for delivery (e-mail comes later) and listing.

``alert(data, "Price spike in SOFR", "…", instrument_code="SOFR")`` stores the alert in
``AlertData`` and logs a CRITICAL record carrying ``alert_id`` and ``alert_subject`` so both can be
found. Subject, body and string context are masked with the secrets of the current logging
set-up. Any CRITICAL record logged some other way is turned into an alert by the alert handler
that ``setup_logging`` installs.
"""
from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from syscore.dates import to_utc, utc_now
from syscore.exceptions import StoreError
from syslogdiag.context import (
    ALERT_ID_FIELD,
    ALERT_SUBJECT_FIELD,
    ContextLogger,
    check_context,
    get_logger,
    set_alert_store,
)
from syslogdiag.handlers import json_value
from syslogdiag.logging_setup import redact

ALERT_LOGGER = "alerts"


def _alert_data_and_now(target: Any, now: Any) -> tuple[Any, pd.Timestamp]:
    """Accept a DataBlob (alerts from ``.alerts``, time from ``.now()``) or an AlertData."""
    alert_data = getattr(target, "alerts", None)
    if alert_data is None or not hasattr(alert_data, "add"):
        alert_data = target
    if not hasattr(alert_data, "add"):
        raise TypeError(f"expected a DataBlob or AlertData, got {type(target).__name__}")
    if now is None:
        now = target.now() if hasattr(target, "now") else utc_now()
    return alert_data, to_utc(now)


def alert(target: Any, subject: str, body: str = "",
          logger: ContextLogger | logging.Logger | None = None, now: Any = None,
          exc_info: BaseException | None = None, **context: Any) -> int:
    """Store an alert and log it at CRITICAL; returns the alert id.

    ``target`` is a DataBlob or an AlertData. ``now`` (UTC) defaults to the blob's clock, or the
    wall clock for a bare AlertData. ``logger`` defaults to ``systrade.alerts``; the context of
    a :class:`ContextLogger` is stored with the alert; any logger (a plain
    :class:`logging.Logger` too) logs the record with ``alert_id`` in its context, so the alert
    handler never stores the alert a second time. If the store
    fails the CRITICAL record is still logged and :class:`StoreError` is raised. ``exc_info``
    (the exception behind the alert) puts its traceback on the record: the log file shows it,
    the console shows the one line only.
    """
    alert_data, timestamp = _alert_data_and_now(target, now)
    context = check_context(context)
    if isinstance(logger, ContextLogger):
        context = {**logger.context, **context}
    elif isinstance(logger, logging.LoggerAdapter):
        # a foreign adapter may drop or replace the call's ``extra``: log through its logger
        while isinstance(logger, logging.LoggerAdapter):
            logger = logger.logger
        logger = ContextLogger(logger)
    elif isinstance(logger, logging.Logger):
        # a plain Logger would put alert_id on the record as a bare attribute, out of the
        # handlers' sight: wrap it so the record carries alert_id in its context
        logger = ContextLogger(logger)
    subject, body = redact(str(subject)), redact(str(body))
    stored = {k: redact(v) if isinstance(v, str) else json_value(v) for k, v in context.items()}
    log = logger if logger is not None else get_logger(ALERT_LOGGER)
    text = f"{subject}: {body}" if body else subject
    try:
        alert_id = alert_data.add(subject, body, timestamp, stored)
    except Exception as exc:
        # still tell the operator (console and file), without a second attempt by the handler
        log.critical("%s (alert NOT stored: %s)", text, exc, exc_info=exc_info,
                     extra={**context, ALERT_SUBJECT_FIELD: subject, ALERT_ID_FIELD: -1})
        raise StoreError(f"could not store alert {subject!r}: {exc}") from exc
    log.critical("%s", text, exc_info=exc_info, extra={**context, ALERT_SUBJECT_FIELD: subject,
                                    ALERT_ID_FIELD: alert_id})
    _email_now(target, alert_data, timestamp, log)
    return alert_id


set_alert_store(alert)


def _email_now(target: Any, alert_data: Any, timestamp: pd.Timestamp, log: Any) -> None:
    """E-mail pending alerts at once when ``target`` is a blob whose config has e-mail; a
    failure is logged at ERROR (not CRITICAL: no alert about alerts) and retried later."""
    config = getattr(target, "config", None)
    if config is None or getattr(config, "email", None) is None:
        return
    from syslogdiag.email_delivery import deliver_for_config

    try:
        report = deliver_for_config(alert_data, config, timestamp)
    except Exception as exc:  # delivery must never break the caller
        log.error("alert e-mail delivery failed: %s", exc)
        return
    if report is not None and report.failed:
        log.error("%s", report)


def list_alerts(alert_data: Any, lookback_days: float | None = None, now: Any = None,
                unsent_only: bool = False, subject: str | None = None) -> list[dict[str, Any]]:
    """Stored alerts, oldest first: those of the last ``lookback_days`` days before ``now``
    (UTC, default wall clock; ``None`` means all), only unsent ones if ``unsent_only``, only
    those with exactly ``subject`` if given."""
    since = None
    if lookback_days is not None:
        since = to_utc(now if now is not None else utc_now()) - pd.Timedelta(days=lookback_days)
    rows = alert_data.all(since)
    if unsent_only:
        rows = [row for row in rows if not row.get("sent")]
    if subject is not None:
        rows = [row for row in rows if row.get("subject") == subject]
    return rows


def format_alerts(alerts: list[dict[str, Any]]) -> str:
    """One block per alert: ``#id timestamp [sent|UNSENT] subject`` then the indented body."""
    if not alerts:
        return "No alerts."
    lines = []
    for row in alerts:
        state = "sent" if row.get("sent") else "UNSENT"
        lines.append(f"#{row.get('alert_id')} {row.get('timestamp')} [{state}] {row.get('subject')}")
        context = row.get("context") or {}
        if context:
            lines.append("    " + " ".join(f"{k}={v}" for k, v in context.items()))
        for body_line in str(row.get("body") or "").splitlines():
            lines.append(f"    {body_line}")
    return "\n".join(lines)
