"""Count the CRITICAL log records raised while a command runs.

Every CRITICAL record is an alert (see ``syslogdiag.alerts``), and a command that raised one must
not exit 0: cron would mail nothing. :func:`counting_critical` puts a counting handler on the root
logger for the duration of a ``with`` block, whatever logging set-up is (or is not) installed::

    with counting_critical() as counter:
        do_the_work()
    if counter.count:
        ...  # exit non-zero
"""
from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator


class CriticalCounter(logging.Handler):
    """A handler that counts records at CRITICAL or above (any logger, any thread).

    While it is the root logger's only handler it passes records on to
    :data:`logging.lastResort` (WARNING and above to stderr), as Python does when no handler
    is installed: adding the counter must not silence a command that sets up no logging."""

    def __init__(self, thread: int | None = None) -> None:
        super().__init__(level=logging.NOTSET)
        self._lock_count = threading.Lock()
        self.thread = thread
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        mine = self.thread is None or record.thread == self.thread
        if record.levelno >= logging.CRITICAL and mine:
            with self._lock_count:
                self.count += 1
        last_resort = logging.lastResort
        if last_resort is not None and record.levelno >= last_resort.level \
                and logging.getLogger().handlers == [self]:
            last_resort.handle(record)


@contextlib.contextmanager
def counting_critical(this_thread_only: bool = False) -> Iterator[CriticalCounter]:
    """A :class:`CriticalCounter` on the root logger until the block ends; with
    ``this_thread_only`` it counts only records logged by the calling thread (a loop inside a
    process whose other threads log on their own)."""
    counter = CriticalCounter(threading.get_ident() if this_thread_only else None)
    root = logging.getLogger()
    root.addHandler(counter)
    try:
        yield counter
    finally:
        root.removeHandler(counter)
