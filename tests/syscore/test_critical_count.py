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
