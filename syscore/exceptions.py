"""Exception hierarchy shared by every package.

Every error that reaches an operator names what went wrong and where; nothing returns a
success/failure sentinel.
"""
from __future__ import annotations


class SystradeError(Exception):
    """Base class for all systrade errors."""


class ConfigError(SystradeError):
    """Configuration could not be loaded or failed validation."""


class InvalidData(SystradeError, ValueError):
    """Input data is malformed (bad CSV, bad value, bad code)."""


class MissingData(SystradeError, KeyError):
    """Requested data does not exist in the store."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class ExistingData(SystradeError):
    """Data already exists and the call would overwrite it without permission."""


class UnknownInstrument(MissingData):
    """An instrument code that is not configured."""


class StoreError(SystradeError):
    """A storage backend failed (connection, corruption)."""


class StoreUnavailable(StoreError):
    """The store's server cannot be reached (connection refused, timed out): retrying the next
    item at once is pointless."""


class ConcurrencyError(StoreError):
    """A concurrent writer changed a record this writer expected unchanged."""


class LedgerBehindProjections(StoreError):
    """A ledger projection (cache) covers records the ledger does not hold: the ledger was
    restored from an older backup than its caches, or emptied. Nothing is booked until the
    operator restores the ledger (or deliberately rebuilds the caches from it)."""


class InvalidTransition(SystradeError):
    """A state machine was asked for a transition its table does not allow."""


class StartupError(SystradeError):
    """A command could not start: its configuration, home directory or a store is unusable
    (bad config, unreachable server, read-only home, full disk). Entry points print the one-line
    message and exit 2; nothing has been written."""


class BrokerUnavailable(StartupError, ConfigError):
    """The configured broker cannot be used (``broker: ib`` before the IB connection exists):
    no item of a command can run, so it stops at once (exit 2) rather than failing per item."""


class LeaseHeld(ConcurrencyError):
    """Another process holds the lease (a ``run_*`` process or a writer of a symbol family is
    already running); the message names it: owner, pid, host and since when."""


def first_line(exc: BaseException) -> str:
    """The first line of ``exc``'s message, or its type name when the message is empty."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def one_line(exc: BaseException) -> str:
    """``Type: first line of the message`` (no traceback), for a failure report."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def problem_line(exc: BaseException) -> str:
    """One line naming what stopped a command (an ``OSError``: the reason and the path, e.g.
    ``Read-only file system: /home/x/.systrade/state.sqlite``), else :func:`first_line`."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror}{where}"
    return first_line(exc)
