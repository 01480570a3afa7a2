"""Process control records, typed, with every change atomic and checked against the tables.

:class:`ProcessControl` wraps :class:`sysdata.process_control.ProcessControlData`: it converts
documents to :class:`~syscontrol.start_check.ProcessRecord`, makes each change one atomic
conditional update in the state store (so two hosts launching the same process at once cannot
both start it) and applies the transition tables of :mod:`syscontrol.process_status`.
Times are tz-aware UTC; stored as ISO-8601 text.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pandas as pd

from syscontrol.method_timer import MethodRuns
from syscontrol.process_status import ProcessStatus, RunState, change_run_state, change_status
from syscontrol.start_check import DEFAULT_HEARTBEAT_TIMEOUT, ProcessRecord, is_alive
from syscore.dates import iso_utc
from syscore.exceptions import ExistingData, InvalidData
from sysdata.process_control import ProcessControlData


class AlreadyRunning(ExistingData):
    """The process runs already (on this or another host sharing the store)."""


class NotOwner(InvalidData):
    """A process tried to change a record that another process has since claimed."""


def _time(text: str | None) -> dt.datetime | None:
    return None if text is None else pd.Timestamp(text).to_pydatetime()


def _text(value: dt.datetime | None) -> str | None:
    return None if value is None else iso_utc(value)


def record_from_doc(name: str, doc: dict[str, Any]) -> ProcessRecord:
    return ProcessRecord(
        name=name, status=ProcessStatus.parse(doc["status"]), run_state=RunState(doc["run_state"]),
        pid=doc.get("pid"), host=doc.get("host"), heartbeat=_time(doc.get("heartbeat")),
        last_start=_time(doc.get("last_start")), last_end=_time(doc.get("last_end")))


def method_runs_from_doc(doc: dict[str, Any]) -> dict[str, MethodRuns]:
    return {name: MethodRuns(int(m.get("executions", 0)), _time(m.get("last_start")),
                             _time(m.get("last_end")))
            for name, m in (doc.get("methods") or {}).items()}


class ProcessControl:
    """Typed, atomic access to process records (see module docstring)."""

    def __init__(self, data: ProcessControlData,
                 heartbeat_timeout: dt.timedelta = DEFAULT_HEARTBEAT_TIMEOUT):
        self.data = data
        self.heartbeat_timeout = heartbeat_timeout

    def record(self, name: str) -> ProcessRecord:
        return record_from_doc(name, self.data.get(name))

    def method_runs(self, name: str) -> dict[str, MethodRuns]:
        return method_runs_from_doc(self.data.get(name))

    def records(self) -> dict[str, ProcessRecord]:
        return {name: record_from_doc(name, {**self.data.get(name)})
                for name in sorted(self.data.all())}

    def set_status(self, name: str, status: ProcessStatus) -> ProcessRecord:
        def change(doc):
            current = ProcessStatus.parse(doc["status"])
            return {**doc, "status": change_status(current, status).value}
        return record_from_doc(name, self.data.change(name, change))

    def claim_start(self, name: str, host: str, pid: int, now: dt.datetime,
                    pid_exists: Callable[[int], bool]) -> ProcessRecord:
        """Mark ``name`` running as ``pid`` on ``host`` unless a live instance holds it
        (raises :class:`AlreadyRunning` naming it). A dead holder is taken over (its record
        goes through CRASHED). Method counters start afresh for the new session."""
        def change(doc):
            record = record_from_doc(name, doc)
            if is_alive(record, now, host, pid_exists, self.heartbeat_timeout):
                since = (f" since {record.last_start:%Y-%m-%d %H:%M} UTC"
                         if record.last_start else "")
                raise AlreadyRunning(f"{name} is already running: pid {record.pid} on host "
                                     f"{record.host}{since}")
            state = record.run_state
            if state is RunState.RUNNING:
                state = change_run_state(state, RunState.CRASHED)
            change_run_state(state, RunState.RUNNING)
            return {**doc, "run_state": RunState.RUNNING.value, "pid": pid, "host": host,
                    "last_start": iso_utc(now), "heartbeat": iso_utc(now), "methods": {}}
        return record_from_doc(name, self.data.change(name, change))

    def _owned_change(self, name: str, host: str, pid: int, edit) -> dict[str, Any]:
        def change(doc):
            if doc["run_state"] != RunState.RUNNING.value or doc.get("pid") != pid \
                    or doc.get("host") != host:
                raise NotOwner(f"{name} is no longer held by pid {pid} on host {host}")
            return edit(doc)
        return self.data.change(name, change)

    def heartbeat(self, name: str, host: str, pid: int, now: dt.datetime) -> None:
        self._owned_change(name, host, pid, lambda doc: {**doc, "heartbeat": iso_utc(now)})

    def method_started(self, name: str, host: str, pid: int, method: str,
                       now: dt.datetime) -> None:
        def edit(doc):
            methods = dict(doc.get("methods") or {})
            entry = dict(methods.get(method) or {})
            entry["executions"] = int(entry.get("executions", 0)) + 1
            entry["last_start"] = iso_utc(now)
            methods[method] = entry
            return {**doc, "methods": methods, "heartbeat": iso_utc(now)}
        self._owned_change(name, host, pid, edit)

    def method_ended(self, name: str, host: str, pid: int, method: str, now: dt.datetime) -> None:
        def edit(doc):
            methods = dict(doc.get("methods") or {})
            methods[method] = {**(methods.get(method) or {}), "last_end": iso_utc(now)}
            return {**doc, "methods": methods, "heartbeat": iso_utc(now)}
        self._owned_change(name, host, pid, edit)

    def finish(self, name: str, host: str, pid: int, now: dt.datetime) -> ProcessRecord:
        """The owner's clean end: FINISHED, PID cleared, end time set."""
        def edit(doc):
            change_run_state(RunState(doc["run_state"]), RunState.FINISHED)
            return {**doc, "run_state": RunState.FINISHED.value, "pid": None,
                    "last_end": iso_utc(now), "heartbeat": iso_utc(now)}
        return record_from_doc(name, self._owned_change(name, host, pid, edit))

    def mark_close(self, name: str, now: dt.datetime) -> ProcessRecord:
        """Operator's "mark as close": a running or crashed record becomes FINISHED (for a
        process the operator knows is gone). A finished or never-run record is left as is."""
        def change(doc):
            state = RunState(doc["run_state"])
            if state in (RunState.FINISHED, RunState.NEVER_RAN):
                return doc
            if state is RunState.RUNNING:
                state = change_run_state(state, RunState.CRASHED)
            change_run_state(state, RunState.FINISHED)
            return {**doc, "run_state": RunState.FINISHED.value, "pid": None,
                    "last_end": doc.get("last_end") or iso_utc(now)}
        return record_from_doc(name, self.data.change(name, change))

    def mark_dead(self, now: dt.datetime, host: str,
                  pid_exists: Callable[[int], bool]) -> list[str]:
        """Mark every RUNNING record whose process is dead (by PID on this host, by a stale
        heartbeat from another host) as CRASHED; returns the names marked."""
        marked = []
        for name in self.records():
            def change(doc, name=name):
                record = record_from_doc(name, doc)
                if record.run_state is not RunState.RUNNING or is_alive(
                        record, now, host, pid_exists, self.heartbeat_timeout):
                    return doc
                return {**doc, "run_state": change_run_state(record.run_state,
                                                             RunState.CRASHED).value}
            before = self.record(name).run_state
            after = record_from_doc(name, self.data.change(name, change)).run_state
            if before is RunState.RUNNING and after is RunState.CRASHED:
                marked.append(name)
        return marked
