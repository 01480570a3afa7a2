"""Shared plumbing for top-level process functions: a blob if none was given, and a loop over
items where one failing item is logged and alerted without stopping the others."""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, ClassVar, TypeVar

import pandas as pd

from syscore.critical_count import counting_critical
from syscore.exceptions import InvalidData, StartupError, StoreError, one_line, problem_line
from syscore.menu import Ask, Console, Menu, Say, run_menu
from sysdata.data_blob import DataBlob
from sysdata.home_record import HomeAccess
from syslogdiag.alerts import alert
from syslogdiag.context import get_logger
from syslogdiag.logging_setup import (
    current_setup,
    log_directory,
    setup_blob_logging,
    teardown_logging,
)
from sysproduction.blob import production_blob
from sysproduction.leases import writer_leases

T = TypeVar("T")


def check_log_file_writable(data: DataBlob, process_name: str) -> None:
    """Open the process's log file for appending now (the handler opens it lazily), so an
    unwritable home or a full disk stops the command at start-up with one line instead of a
    logging traceback per record. ``OSError`` when it cannot be written."""
    if not data.config.logging.file:
        return
    with open(log_directory(data.home) / f"{process_name}.log", "a", encoding="utf-8"):
        pass


def open_blob(process_name: str, access: HomeAccess = HomeAccess.USE) -> DataBlob:
    """A blob from configuration (no logging set-up: see :func:`blob_for`); anything that
    stops it opening (configuration, home, a store) is a :class:`StartupError` naming it.
    ``access``: see :mod:`sysdata.home_record` (restores pass ``HomeAccess.RESTORE``)."""
    try:
        return production_blob(process_name=process_name, access=access)
    except Exception as exc:  # config, home or a store unusable (any backend's own errors)
        raise StartupError(f"{process_name} cannot start: {problem_line(exc)}") from exc


@contextlib.contextmanager
def blob_for(data: DataBlob | None, process_name: str,
             access: HomeAccess = HomeAccess.USE) -> Iterator[DataBlob]:
    """Yield ``data``, or a blob built from configuration and closed afterwards. A blob built
    here also gets logging (console, daily file, state store, secret redaction) unless logging is
    already set up, so every top-level call (``run.py``, cron, console scripts) is logged.
    While the block runs, the leases of the series families ``process_name`` writes are held
    (:mod:`sysproduction.leases`); :class:`LeaseHeld` when another process writes them.
    ``access`` is passed to :func:`open_blob` (restores pass ``HomeAccess.RESTORE``)."""
    if data is not None:
        with writer_leases(data, process_name):
            yield data
        return
    blob = open_blob(process_name, access=access)
    own_logging = current_setup() is None  # a top-level call (run.py, cron, console script)
    try:
        if own_logging:
            try:
                setup_blob_logging(blob, process_name)
                check_log_file_writable(blob, process_name)
            except OSError as exc:
                raise StartupError(f"{process_name} cannot start: cannot write its log file: "
                                   f"{problem_line(exc)}") from exc
        with writer_leases(blob, process_name):
            yield blob
    finally:
        if own_logging:
            teardown_logging()
        blob.close()


def run_console(data: DataBlob | None, process_name: str, menu_for: Callable[[DataBlob], Menu],
                ask: Ask = input, say: Say = print) -> None:
    """An ``interactive_*`` console: ``menu_for(blob)`` run (:func:`syscore.menu.run_menu`)
    over ``ask``/``say`` with the blob's clock, inside :func:`blob_for` (``data`` or a blob
    from configuration, with logging and leases), until ``0`` or end of input."""
    with blob_for(data, process_name) as blob:
        run_menu(menu_for(blob), Console(ask, say, now=blob.now))


class Outcome(Enum):
    """What happened to one item of a run (an instrument, an FX pair, a method of a process).

    Only ``WRITTEN`` and ``DONE`` are success with work done; ``UNCHANGED`` means there was
    nothing new (also fine); ``HELD_BACK`` (a spike stopped the write), ``REFUSED`` (a guard
    refused the update, e.g. a large capital change) and ``FAILED`` make the run not ok."""

    WRITTEN = "written"
    DONE = "done"
    UNCHANGED = "unchanged"
    HELD_BACK = "held back by spikes"
    REFUSED = "refused"
    FAILED = "failed"


#: outcomes that make a run fail (exit code 1)
NOT_OK = frozenset({Outcome.HELD_BACK, Outcome.REFUSED, Outcome.FAILED})


class WrittenResult:
    """Base of a build's result (``sysinit`` builders): the build stored what it reports, and
    a failure raises instead, so its :class:`Outcome` is always ``WRITTEN``."""

    outcome: ClassVar[Outcome] = Outcome.WRITTEN


def item_outcome(result: Any) -> Outcome:
    """The :class:`Outcome` of one item's result: its ``outcome`` attribute when it has one,
    ``REFUSED`` for a result whose ``ok`` is false, else ``DONE``."""
    outcome = getattr(result, "outcome", None)
    if isinstance(outcome, Outcome):
        return outcome
    if getattr(result, "ok", True) is False:
        return Outcome.REFUSED
    return Outcome.DONE


@dataclass
class ProcessReport:
    """Per-item results of one run: each item's result (or error) and :class:`Outcome`, the
    items left waiting (not due yet) and the number of CRITICAL records logged during it.

    ``str(report)`` is one line per item, then the summary line last, e.g.
    ``update_fx_prices: 3 written, 2 held back by spikes, 0 failed``.
    """

    process: str
    results: dict[str, Any] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    waiting: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    not_set_up: list[str] = field(default_factory=list)
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    critical: int = 0

    def add(self, key: str, result: Any) -> None:
        self.results[key] = result
        self.outcomes[key] = item_outcome(result)

    def add_failure(self, key: str, error: str) -> None:
        self.failures[key] = error
        self.outcomes[key] = Outcome.FAILED

    def note_critical(self, count: int) -> None:
        """Record that ``count`` CRITICAL records were logged during the run (the largest
        count seen wins: an outer counter sees everything an inner one saw)."""
        self.critical = max(self.critical, count)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for value in self.outcomes.values() if value is outcome)

    def keys_with(self, outcome: Outcome) -> list[str]:
        return [key for key, value in self.outcomes.items() if value is outcome]

    @property
    def ok(self) -> bool:
        """True when nothing failed, was held back or refused, and no CRITICAL was logged."""
        return not (NOT_OK & set(self.outcomes.values())) and not self.failures \
            and not self.critical

    @property
    def outcome(self) -> Outcome:
        """The whole run as one item of a larger run (a method of a ``run_*`` process)."""
        for worst in (Outcome.FAILED, Outcome.HELD_BACK, Outcome.REFUSED):
            if self.count(worst):
                return worst
        if self.count(Outcome.WRITTEN):
            return Outcome.WRITTEN
        if self.count(Outcome.DONE):
            return Outcome.DONE
        return Outcome.UNCHANGED

    @property
    def summary(self) -> str:
        """One line: counts of every outcome that occurred (``failed`` always), waiting
        items and CRITICAL alerts."""
        parts = [f"{self.count(o)} {o.value}" for o in Outcome
                 if o is not Outcome.FAILED and self.count(o)]
        parts.append(f"{self.count(Outcome.FAILED)} {Outcome.FAILED.value}")
        if self.waiting:
            parts.append(f"{len(self.waiting)} waiting")
        if self.not_set_up:
            parts.append(f"{len(self.not_set_up)} not set up")
        if self.critical:
            parts.append(f"{self.critical} CRITICAL alert{'s' if self.critical > 1 else ''}")
        return f"{self.process}: {', '.join(parts)}"

    def __str__(self) -> str:
        lines = []
        for key, outcome in self.outcomes.items():
            result = self.results.get(key)
            if isinstance(result, ProcessReport):  # a method of a run_* process, failed or not
                lines.extend(f"  {line}" for line in str(result).splitlines())
            elif outcome is Outcome.FAILED:
                lines.append(f"  {key}: FAILED {self.failures.get(key, '')}".rstrip())
            else:
                text = str(result).splitlines() or [""]
                first = text[0].removeprefix(f"{key}: ")  # a result that names its method
                lines.append(f"  {key}: {first}")
                lines.extend(f"    {line}" for line in text[1:])
        if self.waiting:
            lines.append(f"  waiting: {', '.join(self.waiting)}")
        if self.not_set_up:
            lines.append(f"  not set up (no stored prices): {', '.join(self.not_set_up)}")
        if self.ignored:
            lines.append(f"  ignored (exclude_instrument_lists.ignore_instruments): "
                         f"{', '.join(self.ignored)}")
        lines.append(self.summary)
        return "\n".join(lines)


def summary_line(result: Any) -> str:
    """The one line that sums up a result: its ``summary`` (a :class:`ProcessReport`'s last
    line) when it has one, else the first line of its text."""
    summary = getattr(result, "summary", None)
    if isinstance(summary, str):
        return summary
    text = str(result).splitlines()
    return text[0] if text else ""


def each_item(data: DataBlob, process: str, items: Iterable[T], name: Callable[[T], str],
              work: Callable[[T], Any]) -> ProcessReport:
    """Run ``work`` on every item; an exception is alerted (CRITICAL) for that item only: one
    line on the console, the traceback in the log file (when the alert itself cannot be
    raised, an ERROR record says so instead of nothing). CRITICAL records logged during the
    loop are counted into the report (so ``report.ok`` is false after any alert). A
    :class:`StartupError` (the command cannot run at all, e.g. its broker is not available) is
    not an item's failure: it propagates at once, without an alert."""
    report = ProcessReport(process)
    log = get_logger(process)
    with counting_critical(this_thread_only=True) as counter:
        for item in items:
            key = name(item)
            try:
                report.add(key, work(item))
            except StartupError:  # the command cannot run at all (e.g. no broker): not per item
                raise
            except Exception as exc:  # one bad item must not stop the loop
                error = one_line(exc)
                report.add_failure(key, error)
                try:
                    alert(data, f"{process} failed for {key}", error, logger=log, exc_info=exc)
                except StoreError:  # the alert store failed: alert() logged the CRITICAL
                    pass
                except Exception as alert_exc:  # failed before logging: say it here
                    log.error("%s failed for %s: %s (and the alert could not be raised: %s)",
                              process, key, error, one_line(alert_exc), exc_info=exc)
    report.note_critical(counter.count)
    return report


def split_ignored(data: DataBlob, codes: Iterable[str]) -> tuple[list[str], list[str]]:
    """``(active, ignored)``: ``codes`` without, and with, the instruments of the config's
    ``exclude_instrument_lists.ignore_instruments`` (order kept)."""
    ignored_set = data.config.ignored_instruments
    codes = list(codes)
    return ([c for c in codes if c not in ignored_set], [c for c in codes if c in ignored_set])


def refuse_ignored(data: DataBlob, instrument_code: str, action: str) -> None:
    """Raise :class:`InvalidData` when ``instrument_code`` is ignored (one clear line)."""
    if instrument_code in data.config.ignored_instruments:
        raise InvalidData(f"{instrument_code} is in exclude_instrument_lists.ignore_instruments: "
                          f"not {action}; take it out of that list first")


def each_instrument(data: DataBlob, process: str, instrument_code: str,
                    all_codes: Callable[[], list[str]], work: Callable[[str], Any]) -> ProcessReport:
    """Run ``work`` for one configured instrument, or for every code of ``all_codes()`` when
    ``instrument_code`` is ``ALL``; failures are alerted per instrument. Ignored instruments
    (``exclude_instrument_lists.ignore_instruments``) are skipped, named or not: listed in the
    report's ``ignored``, never worked on, never alerted."""
    codes = all_codes() if instrument_code == "ALL" else [data.instruments.require(instrument_code)]
    return each_active_item(data, process, codes, work)


def each_active_item(data: DataBlob, process: str, codes: Iterable[str],
                     work: Callable[[str], Any]) -> ProcessReport:
    """:func:`each_item` over the instrument ``codes`` that are not ignored; the ignored ones are
    listed in the report (and logged once at INFO)."""
    active, ignored = split_ignored(data, codes)
    report = each_item(data, process, active, str, work)
    report.ignored = ignored
    if ignored:
        get_logger(process).info("ignored instruments (exclude_instrument_lists."
                                 "ignore_instruments) skipped: %s", ", ".join(ignored))
    return report


def note_not_set_up(report: ProcessReport, process: str, codes: Iterable[str]) -> None:
    """Record ``codes`` as not set up (configured, nothing stored to continue from): listed in
    the report and logged once at INFO, never worked on, never alerted."""
    report.not_set_up = sorted(codes)
    if report.not_set_up:
        get_logger(process).info("not set up (configured, but nothing stored to continue "
                                 "from; not updated): %s", ", ".join(report.not_set_up))


def stored_multiple_tail(data: DataBlob, instrument_code: str, rows: int = 1) -> pd.DataFrame:
    """The last ``rows`` stored multiple-price rows, without reading the whole series (for the
    current contracts); :class:`MissingData` when the instrument has none."""
    return data.multiple_prices.tail(instrument_code, rows)
