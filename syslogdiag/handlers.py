"""Log handlers and the formatter: console/file text, the state store, and alerts.

* :class:`ContextFormatter` renders ``2024-01-02 14:00:00 UTC INFO logger [k=v ...] message``;
  times are always UTC.
* :func:`daily_file_handler` writes ``$SYSTRADE_HOME/logs/<process>.log``, rotated at midnight
  UTC, keeping ``retention_days`` old files.
* :class:`StateStoreHandler` writes records through ``LogData``; :class:`AlertHandler` stores an
  alert for every CRITICAL record. Neither ever raises into the caller, and neither recurses when
  the store itself logs while writing (such records still reach console and file).
"""
from __future__ import annotations

import datetime as dt
import logging
import logging.handlers
import math
import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

from syscore.dates import iso_utc
from syslogdiag import rotated_files
from syslogdiag.context import ALERT_ID_FIELD, ALERT_SUBJECT_FIELD, record_context

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(context_text)s %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S UTC"
ALERT_SUBJECT_MAX = 120

_JSON_SCALARS = (str, int, bool, type(None))


def json_value(value: Any) -> Any:
    """A JSON-storable version of a context value (non-finite floats and objects become text)."""
    if isinstance(value, _JSON_SCALARS):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return str(value)


def context_text(context: dict[str, Any]) -> str:
    """`` [k=v k2=v2]`` for the context's non-``None`` values, else ``""``."""
    shown = {k: v for k, v in context.items() if v is not None}
    if not shown:
        return ""
    return " [" + " ".join(f"{k}={v}" for k, v in shown.items()) + "]"


def exception_text(record: logging.LogRecord) -> str | None:
    if record.exc_text:
        return record.exc_text
    if record.exc_info:
        return logging.Formatter().formatException(record.exc_info)
    return None


class ContextFormatter(logging.Formatter):
    """Text formatter with UTC times and the record's context as ``[key=value ...]``."""

    converter = time.gmtime

    def __init__(self, fmt: str = TEXT_FORMAT, datefmt: str = DATE_FORMAT):
        super().__init__(fmt=fmt, datefmt=datefmt)

    def format(self, record: logging.LogRecord) -> str:
        record.context_text = context_text(record_context(record))
        return super().format(record)


class ConsoleFormatter(ContextFormatter):
    """:class:`ContextFormatter` without tracebacks and stack traces: the console shows one
    line per record, ending with ``(Type: message)`` of the exception when the message does not
    already name it; the log file keeps the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        error = exception_line(record)
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info = record.exc_text = record.stack_info = None
        try:
            text = super().format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved
        text = text.splitlines()[0] if text else text
        if error and error not in text:
            text = f"{text} ({error})"
        return text


def exception_line(record: logging.LogRecord) -> str | None:
    """``Type: first line of the message`` of the record's exception, or None. Taken from the
    (already redacted) traceback text when the redaction filter has rendered it."""
    if record.exc_info and record.exc_info[1] is not None:
        exc = record.exc_info[1]
        lines = str(exc).strip().splitlines()
        return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    if record.exc_text:
        lines = record.exc_text.rstrip().splitlines()
        frames = [i for i, line in enumerate(lines) if line.startswith((" ", "\t", "Traceback"))]
        after = frames[-1] + 1 if frames else 0
        return lines[after] if after < len(lines) else lines[-1]
    return None


class DailyFileHandler(logging.handlers.TimedRotatingFileHandler):
    """A daily file whose write failures (full disk, read-only or vanished directory) are
    reported as one line on stderr, once, instead of a logging traceback per record.

    Rotation (at midnight UTC) goes through :mod:`syslogdiag.rotated_files`: the rotated
    ``<name>.log.YYYY-MM-DD`` is recorded in ``logs/.systrade_rotated``; an existing file of
    that name is never removed or written into (Python's handler removed it: another process
    of the same name had already rotated, or it was not ours); symbolic links are never
    followed; only recorded files beyond ``backupCount`` are deleted."""

    failures = 0

    def doRollover(self) -> None:  # noqa: N802 (logging's name)
        if self.stream:
            self.stream.close()
            self.stream = None
        now = int(time.time())
        stamp = time.gmtime(self.rolloverAt - self.interval) if self.utc \
            else time.localtime(self.rolloverAt - self.interval)
        base = Path(self.baseFilename)
        target = base.with_name(f"{base.name}.{time.strftime(self.suffix, stamp)}")
        if os.path.lexists(base):
            rotated_files.rotate(base, target)
        if self.backupCount > 0:
            for path in self.getFilesToDelete():
                rotated_files.delete_recorded(base.parent, [Path(path).name])
        if not self.delay:
            self.stream = self._open()
        rollover = self.computeRollover(now)
        while rollover <= now:
            rollover += self.interval
        self.rolloverAt = rollover

    def getFilesToDelete(self) -> list[str]:  # noqa: N802 (logging's name)
        """The recorded rotated files of this log beyond ``backupCount``, oldest first."""
        base = Path(self.baseFilename)
        prefix = f"{base.name}."
        mine = sorted(name for name in rotated_files.recorded(base.parent)
                      if name.startswith(prefix) and self.extMatch.fullmatch(name[len(prefix):]))
        excess = len(mine) - self.backupCount
        return [str(base.parent / name) for name in mine[:excess]] if excess > 0 else []

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        self.failures += 1
        if self.failures > 1:
            return
        error = sys.exc_info()[1]
        reason = getattr(error, "strerror", None) or error or "unknown error"
        try:
            sys.stderr.write(f"systrade: cannot write log file {self.baseFilename}: {reason}; "
                             f"further write failures are not reported\n")
        except Exception:
            pass


def daily_file_handler(log_dir: Path, process_name: str, retention_days: int
                       ) -> logging.handlers.TimedRotatingFileHandler:
    """``<log_dir>/<process_name>.log`` rotated at midnight UTC; rotated files are named
    ``<process_name>.log.YYYY-MM-DD`` and the newest ``retention_days`` of them are kept."""
    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    return DailyFileHandler(
        log_dir / f"{process_name}.log", when="midnight", utc=True,
        backupCount=int(retention_days), encoding="utf-8", delay=True,
    )


class _GuardedHandler(logging.Handler):
    """A handler whose :meth:`write` may fail or log: failures are counted and reported once to
    stderr, and records emitted while this thread is already writing are dropped."""

    def __init__(self, level: int = logging.NOTSET):
        super().__init__(level)
        self._local = threading.local()
        self.failures = 0
        self.last_error: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(self._local, "busy", False):
            return
        self._local.busy = True
        try:
            self.write(record)
        except Exception as exc:  # never raise into the code that logged
            self.failures += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            if self.failures == 1:
                try:
                    sys.stderr.write(
                        f"systrade logging: {type(self).__name__} failed ({self.last_error}); "
                        "further failures are counted silently\n"
                    )
                except Exception:
                    pass
        finally:
            self._local.busy = False

    def write(self, record: logging.LogRecord) -> None:
        raise NotImplementedError

    def _timestamp(self, record: logging.LogRecord) -> str:
        clock = getattr(self, "clock", None)
        if clock is not None:
            return iso_utc(clock.now())
        return iso_utc(dt.datetime.fromtimestamp(record.created, tz=dt.timezone.utc))


class StateStoreHandler(_GuardedHandler):
    """Writes each record through ``log_data.add`` as one document::

        {timestamp (ISO UTC), level, levelno, logger, message, process_name, host, pid,
         <context attributes as top-level fields>, exception (traceback text, when any)}

    ``clock`` (anything with ``now()`` returning a UTC timestamp) dates the records; default is
    the record's own creation time (wall clock). A context key equal to a core field is stored
    as ``ctx_<key>``.
    """

    CORE_FIELDS = ("timestamp", "level", "levelno", "logger", "message", "process_name", "host",
                   "pid", "exception")

    def __init__(self, log_data: Any, process_name: str, level: int = logging.NOTSET,
                 clock: Any = None, host: str | None = None):
        super().__init__(level)
        self.log_data = log_data
        self.process_name = process_name
        self.clock = clock
        self.host = host or socket.gethostname()
        self.pid = os.getpid()

    def document(self, record: logging.LogRecord) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "timestamp": self._timestamp(record),
            "level": record.levelname,
            "levelno": record.levelno,
            "logger": record.name,
            "message": record.getMessage(),
            "process_name": self.process_name,
            "host": self.host,
            "pid": self.pid,
        }
        text = exception_text(record)
        if text:
            doc["exception"] = text
        for key, value in record_context(record).items():
            name = f"ctx_{key}" if key in self.CORE_FIELDS else key
            doc[name] = json_value(value)
        return doc

    def write(self, record: logging.LogRecord) -> None:
        self.log_data.add(self.document(record))


class AlertHandler(_GuardedHandler):
    """Stores an alert (``alert_data.add``) for every CRITICAL record, unless the record says its
    alert is already stored (``alert_id`` in its context or as a record attribute). The subject
    is the context ``alert_subject`` or the message's first line (at most 120 characters); the
    body is the message and any traceback; the alert context is the record's context plus logger
    and process name."""

    def __init__(self, alert_data: Any, process_name: str, clock: Any = None):
        super().__init__(logging.CRITICAL)
        self.alert_data = alert_data
        self.process_name = process_name
        self.clock = clock

    def write(self, record: logging.LogRecord) -> None:
        context = record_context(record)
        # also a bare record attribute: ``logger.critical(..., extra={"alert_id": n})`` on a
        # plain Logger marks its alert as stored too
        if context.get(ALERT_ID_FIELD) is not None or \
                getattr(record, ALERT_ID_FIELD, None) is not None:
            return
        message = record.getMessage()
        subject = context.get(ALERT_SUBJECT_FIELD)
        if not subject:
            subject = message.splitlines()[0] if message.strip() else record.name
        subject = str(subject)[:ALERT_SUBJECT_MAX]
        body = message
        text = exception_text(record)
        if text:
            body = f"{body}\n{text}"
        stored = {k: json_value(v) for k, v in context.items() if k != ALERT_SUBJECT_FIELD}
        stored.update(logger=record.name, process_name=self.process_name)
        self.alert_data.add(subject, body, self._timestamp(record), stored)


#: ``extra=`` for a record the command also reports on stdout itself (e.g. an import's rejection
#: lines): it goes to the log file, the state store and alerts, not to the console, so the
#: operator reads it once
NOT_ON_CONSOLE = {"systrade_console": False}


class ConsoleOptOutFilter(logging.Filter):
    """Drops records logged with ``extra=NOT_ON_CONSOLE`` (for the console handler)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(record, "systrade_console", True) is not False


class ProcessNameFilter(logging.Filter):
    """Sets ``record.process_name`` (for format strings)."""

    def __init__(self, process_name: str):
        super().__init__()
        self.process_name = process_name

    def filter(self, record: logging.LogRecord) -> bool:
        record.process_name = self.process_name
        return True
