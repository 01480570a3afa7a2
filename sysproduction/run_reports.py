"""Run reports: build each named report, write it as text and HTML under
``$SYSTRADE_HOME/reports/<YYYY-MM-DD>/<name>.txt|.html`` (the date is the report end, UTC), and
e-mail them (text and HTML alternatives, so the figures travel too) when e-mail is configured
(``email.host`` and ``email.to``).

    python run.py sysproduction.run_reports.run_reports
    python run.py sysproduction.run_reports.run_reports --reports pnl,trades \\
        --start 2024-01-01 --end 2024-01-31

Defaults: every report in :data:`~sysproduction.reporting.reports.DEFAULT_REPORTS`;
``end`` = the blob's clock (now, UTC); ``start`` = ``end`` minus one day. One report failing
(missing data, a bug) is logged with its traceback, marked FAILED in the summary, and does not
stop the others; the run then is not ok (exit code 1 from ``run.py``). After the first e-mail
failure the remaining reports are written but not e-mailed (each try would cost another
connection timeout); they are listed as e-mail failures. An unknown report name is
refused before anything runs. Files are written to a temporary name and renamed, so a reader
never sees half a report; an existing file for the same date and name is replaced.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from syscore.dates import to_utc
from syscore.exceptions import InvalidData
from sysdata.data_blob import DataBlob
from syslogdiag.context import get_logger
from syslogdiag.email_delivery import sender_from_config
from sysproduction.process_helpers import blob_for
from sysproduction.reporting.render import to_html, to_text
from sysproduction.reporting.reports import DEFAULT_REPORTS, REPORTS

PROCESS = "run_reports"


@dataclass
class ReportsRun:
    """What one run did: files written per report, failures, e-mails sent."""

    written: dict[str, list[Path]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    emailed: list[str] = field(default_factory=list)
    email_failures: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failures and not self.email_failures

    @property
    def summary(self) -> str:
        return (f"run_reports: {len(self.written)} written, {len(self.failures)} failed, "
                f"{len(self.emailed)} e-mailed, {len(self.email_failures)} e-mail failures")

    def __str__(self) -> str:
        lines = [self.summary]
        for name, paths in self.written.items():
            lines += [f"  {name}: {p}" for p in paths]
        lines += [f"  {name}: FAILED {error}" for name, error in self.failures.items()]
        lines += [f"  {name}: e-mail FAILED {error}" for name, error in self.email_failures.items()]
        return "\n".join(lines)


def _write(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def resolve_names(reports) -> list[str]:
    """The report names to run: a list or comma-separated text; None means the defaults."""
    if reports is None:
        return list(DEFAULT_REPORTS)
    names = [r.strip() for r in (reports.split(",") if isinstance(reports, str) else reports)]
    names = [n for n in names if n]
    unknown = [n for n in names if n not in REPORTS]
    if unknown:
        raise InvalidData(f"unknown report(s) {unknown}; known: {sorted(REPORTS)}")
    return names


def run_reports(data: DataBlob | None = None, reports: list[str] | None = None,
                start: pd.Timestamp | None = None, end: pd.Timestamp | None = None,
                sender=None) -> ReportsRun:
    """Run ``reports`` (names; default all) over [start, end] (UTC); see the module docstring.
    ``sender``: an object with ``send(subject, body)``; default from ``email`` config."""
    names = resolve_names(reports)
    with blob_for(data, PROCESS) as blob:
        log = get_logger(PROCESS)
        end_ts = to_utc(end) if end is not None else to_utc(blob.now())
        start_ts = to_utc(start) if start is not None else end_ts - pd.Timedelta(days=1)
        if start_ts >= end_ts:
            raise InvalidData(f"report start {start_ts} is not before end {end_ts}")
        folder = blob.home / "reports" / f"{end_ts:%Y-%m-%d}"
        folder.mkdir(parents=True, exist_ok=True)
        sender = sender if sender is not None else sender_from_config(blob.config)
        run = ReportsRun()
        for name in names:
            try:
                report = REPORTS[name](blob, start_ts, end_ts)
                text, html = to_text(report), to_html(report)
                text_path, html_path = folder / f"{name}.txt", folder / f"{name}.html"
                _write(text_path, text)
                _write(html_path, html)
            except Exception as exc:  # one report failing does not stop the others
                log.error("report %s failed: %s", name, exc, exc_info=True)
                run.failures[name] = f"{type(exc).__name__}: {exc}"
                continue
            run.written[name] = [text_path, html_path]
            log.info("report %s written to %s", name, html_path)
            if sender is not None and run.email_failures:
                # the mail server already failed this run: another try costs another timeout
                run.email_failures[name] = "not tried after an earlier e-mail failure"
            elif sender is not None:
                try:
                    sender.send(f"systrade report: {report.title} {end_ts:%Y-%m-%d}", text,
                                html=html)
                    run.emailed.append(name)
                except Exception as exc:
                    log.error("report %s not e-mailed: %s", name, exc)
                    run.email_failures[name] = str(exc)
        log.info(run.summary)
        return run
