"""Configure Python logging for one systrade process from the ``logging`` config section.

:func:`setup_logging` installs, on the root logger (so ``systrade.*`` loggers and module loggers
such as ``sysdata.prices`` are all captured):

* a console handler on stderr (``console: true``), so stdout stays free for command output;
  one line per record: tracebacks go to the log file only;
* a daily file ``$SYSTRADE_HOME/logs/<process_name>.log`` rotated at midnight UTC, keeping
  ``file_retention_days`` old files (``file: true``);
* a state-store handler at ``store_level`` writing through ``LogData`` (``store: true`` and a
  ``log_data`` given), and an alert handler storing an alert for each CRITICAL record;
* a redaction filter on every handler, masking each secret of the configuration as ``***``.

The root level is ``level``; ``component_levels`` sets the level of logger ``<component>`` and
``systrade.<component>`` (e.g. ``update_fx_prices: DEBUG`` or ``sysdata: WARNING``). Chatty
third-party libraries (pymongo, arcticdb, urllib3, asyncio, ib_async) are held at WARNING unless a
component level names them. Calling again replaces the previous set-up (no duplicate handlers);
:func:`teardown_logging` removes it.
"""
from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from syscore.config_models import LoggingConfig, SystradeConfig
from syscore.log_components import QUIET_LIBRARIES
from syslogdiag.handlers import (
    AlertHandler,
    ConsoleFormatter,
    ConsoleOptOutFilter,
    ContextFormatter,
    ProcessNameFilter,
    StateStoreHandler,
    daily_file_handler,
)
from syslogdiag.redaction import RedactingFilter, config_secrets

LOG_DIR_NAME = "logs"

# every handler setup_logging installed and teardown_logging has not yet removed (a registry,
# not a mark set on the handler objects)
_installed: list[logging.Handler] = []


def log_directory(home: Path) -> Path:
    """Where log files go: ``<home>/logs``."""
    return Path(home) / LOG_DIR_NAME


@dataclass
class LoggingSetup:
    """What :func:`setup_logging` installed (handlers may be ``None`` when disabled)."""

    process_name: str
    level: int
    redactor: RedactingFilter = field(default_factory=lambda: RedactingFilter(()))
    console: logging.Handler | None = None
    file: logging.Handler | None = None
    store: StateStoreHandler | None = None
    alerts: AlertHandler | None = None
    component_loggers: list[str] = field(default_factory=list)

    @property
    def handlers(self) -> list[logging.Handler]:
        return [h for h in (self.console, self.file, self.store, self.alerts) if h is not None]


_current: LoggingSetup | None = None


def teardown_logging() -> None:
    """Remove and close every handler installed by :func:`setup_logging`, reset the levels it
    set. Safe to call when nothing is installed."""
    global _current
    root = logging.getLogger()
    while _installed:
        handler = _installed.pop()
        root.removeHandler(handler)
        try:
            handler.close()
        except Exception:
            pass
    if _current is not None:
        for name in _current.component_loggers:
            logging.getLogger(name).setLevel(logging.NOTSET)
    _current = None


def _level(name: str) -> int:
    return logging.getLevelNamesMapping()[name.upper()]


def setup_logging(
    config: SystradeConfig | LoggingConfig,
    home: Path,
    process_name: str,
    log_data: Any = None,
    alert_data: Any = None,
    clock: Any = None,
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> LoggingSetup:
    """Install handlers for ``process_name``; returns what was installed.

    ``config`` is the whole configuration (its secrets are then masked automatically) or just
    its ``logging`` section. ``log_data`` (a ``LogData``) enables the store handler;
    ``alert_data`` defaults to an ``AlertData`` on the same store. ``clock`` (with ``now()``)
    dates stored records and alerts, default the wall clock. ``secrets`` adds values to mask.
    ``stream`` is the console stream (default ``sys.stderr``).
    """
    global _current
    if isinstance(config, SystradeConfig):
        settings = config.logging
        all_secrets = [*config_secrets(config), *secrets]
    else:
        settings = config
        all_secrets = list(secrets)
    teardown_logging()

    level = _level(settings.level)
    redactor = RedactingFilter(all_secrets)
    setup = LoggingSetup(process_name=process_name, level=level, redactor=redactor)
    naming = ProcessNameFilter(process_name)
    formatter = ContextFormatter()

    if settings.console:
        setup.console = logging.StreamHandler(stream or sys.stderr)
        setup.console.setFormatter(ConsoleFormatter())  # one line; tracebacks in the file
        setup.console.addFilter(ConsoleOptOutFilter())  # records the command prints itself
    if settings.file:
        setup.file = daily_file_handler(log_directory(home), process_name,
                                        settings.file_retention_days)
        setup.file.setFormatter(formatter)
    if settings.store and log_data is not None:
        setup.store = StateStoreHandler(log_data, process_name, level=_level(settings.store_level),
                                        clock=clock)
    if alert_data is None and log_data is not None:
        from sysdata.logs import AlertData

        alert_data = AlertData(log_data.store)
    if alert_data is not None:
        setup.alerts = AlertHandler(alert_data, process_name, clock=clock)

    root = logging.getLogger()
    for handler in setup.handlers:
        # redaction first: every later filter, formatter and handler sees masked text only
        handler.addFilter(redactor)
        handler.addFilter(naming)
        _installed.append(handler)
        root.addHandler(handler)
    root.setLevel(level)

    for library in QUIET_LIBRARIES:
        if library not in settings.component_levels:
            logging.getLogger(library).setLevel(logging.WARNING)
            setup.component_loggers.append(library)
    for component, component_level in settings.component_levels.items():
        names = [component]
        if not component.startswith("systrade"):
            names.append(f"systrade.{component}")
        for name in names:
            logging.getLogger(name).setLevel(_level(component_level))
            setup.component_loggers.append(name)
    _current = setup
    return setup


def setup_blob_logging(data: Any, process_name: str, **options: Any) -> LoggingSetup:
    """:func:`setup_logging` for a DataBlob: its config, home, ``logs`` store and clock."""
    return setup_logging(data.config, data.home, process_name, log_data=data.logs,
                         clock=data.clock, **options)


def installed_handlers() -> list[logging.Handler]:
    """The handlers currently installed on the root logger by :func:`setup_logging`."""
    return list(_installed)


def current_setup() -> LoggingSetup | None:
    """The set-up installed by the last :func:`setup_logging`, if any."""
    return _current


def redact(text: str) -> str:
    """``text`` with the secrets of the current set-up masked (unchanged when none)."""
    if _current is None:
        return text
    return _current.redactor.redact(text)
