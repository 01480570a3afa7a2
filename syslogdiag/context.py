"""Loggers that carry context attributes (instrument, contract, strategy, order ids, ...).

``get_logger("update_fx_prices", type="price_update")`` returns a :class:`ContextLogger`, a
:class:`logging.LoggerAdapter` whose context is attached to every record it emits. ``bind``
returns a new logger with more context; the original is unchanged::

    log = get_logger("run_stack_handler", strategy_name="trend")
    log.bind(instrument_code="SOFR", instrument_order_id=12).info("placed")

Handlers read the context with :func:`record_context`. The well-known attribute names are in
:data:`CONTEXT_FIELDS`; any other identifier is allowed too. Every record also gets the known
attributes as plain record attributes (``record.instrument_code``; ``None`` when unset) so
format strings may use them.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from syscore.exceptions import InvalidData

CONTEXT_FIELDS = (
    "type",
    "component",
    "instrument_code",
    "contract_date",
    "strategy_name",
    "instrument_order_id",
    "contract_order_id",
    "broker_order_id",
)

#: Record attribute holding the merged context mapping.
CONTEXT_ATTRIBUTE = "systrade_context"

#: Context key marking a record whose alert was already stored (so no second alert is made).
ALERT_ID_FIELD = "alert_id"
ALERT_SUBJECT_FIELD = "alert_subject"

ROOT_LOGGER_NAME = "systrade"

# names a context key may not take: they would clash with LogRecord attributes or stored fields
_RESERVED = frozenset(vars(logging.makeLogRecord({}))) | {
    "message", "asctime", CONTEXT_ATTRIBUTE, "timestamp", "level", "logger", "process_name",
    "host", "pid",
}


def check_context(context: Mapping[str, Any]) -> dict[str, Any]:
    """Validate context keys (identifiers, not reserved record attributes); returns a copy."""
    out = {}
    for key, value in context.items():
        if not isinstance(key, str) or not key.isidentifier():
            raise InvalidData(f"log context key must be an identifier, got {key!r}")
        if key in _RESERVED:
            raise InvalidData(f"log context key {key!r} is reserved by the logging system")
        out[key] = value
    return out


def logger_name(name: str) -> str:
    """Full logger name: dotted names (``sysdata.prices``) and ``systrade*`` are kept as given,
    a bare component name ``x`` becomes ``systrade.x``."""
    if not name:
        return ROOT_LOGGER_NAME
    if "." in name or name.startswith(ROOT_LOGGER_NAME):
        return name
    return f"{ROOT_LOGGER_NAME}.{name}"


def record_context(record: logging.LogRecord) -> dict[str, Any]:
    """The context attached to ``record`` (empty for records from plain loggers)."""
    context = getattr(record, CONTEXT_ATTRIBUTE, None)
    return dict(context) if isinstance(context, dict) else {}


#: How :meth:`ContextLogger.alert` stores an alert in its ``alert_target``: set by
#: :mod:`syslogdiag.alerts` when it is imported (``syslogdiag/__init__`` imports it), so that
#: this module, which the alerts module builds on, never imports it back.
_store_alert: Callable[..., int] | None = None


def set_alert_store(store: Callable[..., int]) -> None:
    """Install ``store(target, subject, body, logger=..., **context) -> alert id`` as the way
    :meth:`ContextLogger.alert` stores alerts (:func:`syslogdiag.alerts.alert`)."""
    global _store_alert
    _store_alert = store


class ContextLogger(logging.LoggerAdapter):
    """A logger with bound context. ``alert_target`` (a DataBlob or AlertData, optional) is
    where :meth:`alert` stores alerts; without it the alert is stored by the alert handler that
    :func:`syslogdiag.logging_setup.setup_logging` installs."""

    def __init__(self, logger: logging.Logger, context: Mapping[str, Any] | None = None,
                 alert_target: Any = None):
        super().__init__(logger, check_context(context or {}))
        self.alert_target = alert_target

    @property
    def context(self) -> dict[str, Any]:
        return dict(self.extra)

    def bind(self, **more: Any) -> ContextLogger:
        """A new logger with this context plus ``more`` (later values win)."""
        return ContextLogger(self.logger, {**self.extra, **check_context(more)},
                             alert_target=self.alert_target)

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        call_extra = check_context(kwargs.get("extra") or {})
        context = {**self.extra, **call_extra}
        extra = {name: context.get(name) for name in CONTEXT_FIELDS}
        extra[CONTEXT_ATTRIBUTE] = context
        kwargs["extra"] = extra
        return msg, kwargs

    def alert(self, subject: str, body: str = "", **context: Any) -> int | None:
        """Record a CRITICAL event and store an alert; returns the alert id when stored here
        (with an ``alert_target``), otherwise ``None`` (the alert handler stores it)."""
        if self.alert_target is not None:
            if _store_alert is None:  # pragma: no cover - syslogdiag/__init__ imports alerts
                raise RuntimeError("syslogdiag.alerts is not loaded: cannot store an alert")
            return _store_alert(self.alert_target, subject, body, logger=self, **context)
        self.critical("%s%s", subject, f": {body}" if body else "",
                      extra={**context, ALERT_SUBJECT_FIELD: subject})
        return None


def get_logger(name: str, alert_target: Any = None, **context: Any) -> ContextLogger:
    """A :class:`ContextLogger` on :func:`logger_name` ``(name)`` with ``context`` bound."""
    return ContextLogger(logging.getLogger(logger_name(name)), context, alert_target=alert_target)

