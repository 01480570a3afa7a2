"""CRITICAL records are counted during a block, whatever logging is set up."""
from __future__ import annotations

import logging

from syscore.critical_count import counting_critical


def test_counts_critical_records_only_inside_the_block():
    log = logging.getLogger("systrade.test_critical")
    log.critical("before")
    with counting_critical() as counter:
        log.error("not critical")
        log.critical("one")
        logging.getLogger("elsewhere").critical("two")
    log.critical("after")
    assert counter.count == 2
    assert counter not in logging.getLogger().handlers


def test_records_still_reach_stderr_when_nothing_else_handles_them(capsys):
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers = []
    try:
        with counting_critical():
            logging.getLogger("systrade.quiet").warning("disk almost full")
    finally:
        root.handlers = saved
    assert "disk almost full" in capsys.readouterr().err


def test_this_thread_only_ignores_other_threads():
    import threading

    log = logging.getLogger("systrade.test_threads")
    with counting_critical(this_thread_only=True) as mine, counting_critical() as everyone:
        worker = threading.Thread(target=lambda: log.critical("from a worker"))
        worker.start()
        worker.join()
        log.critical("from the caller")
    assert (mine.count, everyone.count) == (1, 2)
