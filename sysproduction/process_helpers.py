"""Shared plumbing for top-level process functions: a blob if none was given, and a loop over
items where one failing item is logged and alerted without stopping the others."""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pandas as pd

from syscore.exceptions import InvalidData
from sysdata.data_blob import DataBlob
from syslogdiag.alerts import alert
from syslogdiag.context import get_logger
from syslogdiag.logging_setup import current_setup, setup_blob_logging, teardown_logging

T = TypeVar("T")


@contextlib.contextmanager
def blob_for(data: DataBlob | None, process_name: str) -> Iterator[DataBlob]:
    """Yield ``data``, or a blob built from configuration and closed afterwards. A blob built
    here also gets logging (console, daily file, state store, secret redaction) unless logging is
    already set up, so every top-level call (``run.py``, cron, console scripts) is logged."""
    if data is not None:
        yield data
        return
    blob = DataBlob.from_config(process_name=process_name)
    own_logging = current_setup() is None  # a top-level call (run.py, cron, console script)
    try:
        if own_logging:
            setup_blob_logging(blob, process_name)
        yield blob
    finally:
        if own_logging:
            teardown_logging()
        blob.close()


@dataclass
class ProcessReport:
    """Per-item results of one run, and the items that failed with their error."""

    process: str
    results: dict[str, Any] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    waiting: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def __str__(self) -> str:
        lines = [f"{self.process}: {len(self.results)} ok, {len(self.failures)} failed"]
        lines += [f"  {key}: {value}" for key, value in self.results.items()]
        lines += [f"  {key}: FAILED {error}" for key, error in self.failures.items()]
        if self.waiting:
            lines.append(f"  waiting: {', '.join(self.waiting)}")
        if self.ignored:
            lines.append(f"  ignored (exclude_instrument_lists.ignore_instruments): "
                         f"{', '.join(self.ignored)}")
        return "\n".join(lines)


def each_item(data: DataBlob, process: str, items: Iterable[T], name: Callable[[T], str],
              work: Callable[[T], Any]) -> ProcessReport:
    """Run ``work`` on every item; an exception is alerted (CRITICAL) for that item only."""
    report = ProcessReport(process)
    log = get_logger(process)
    for item in items:
        key = name(item)
        try:
            report.results[key] = work(item)
        except Exception as exc:  # one bad item must not stop the loop
            report.failures[key] = f"{type(exc).__name__}: {exc}"
            log.exception("%s failed for %s", process, key)
            try:
                alert(data, f"{process} failed for {key}", f"{type(exc).__name__}: {exc}",
                      logger=log)
            except Exception:  # the store itself may be what failed
                log.error("could not store alert for %s", key)
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


def stored_multiple_tail(data: DataBlob, instrument_code: str, rows: int = 1) -> pd.DataFrame:
    """The last ``rows`` stored multiple-price rows, without reading the whole series (for the
    current contracts); :class:`MissingData` when the instrument has none."""
    return data.multiple_prices.store.tail(data.multiple_prices.library, instrument_code, rows)
