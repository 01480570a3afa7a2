"""Operator actions on process control: list, set status, mark close, mark dead.

The ``systrade process …`` commands and (later) the controls console call these functions;
tests call them too. Process names are those of the control config plus any with a stored
record; ``ALL`` means every configured process.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import psutil

from syscontrol.control import ProcessControl
from syscontrol.host import host_name
from syscontrol.process_status import ProcessStatus, RunState
from syscontrol.start_check import is_alive
from syscore.config import load_control_config
from syscore.exceptions import InvalidData
from sysdata.data_blob import DataBlob
from syslogdiag.alerts import alert

ALL = "ALL"


@dataclass(frozen=True)
class ProcessRow:
    """One line of ``systrade process list``: times tz-aware UTC or None."""

    name: str
    status: str
    run_state: str
    alive: bool
    pid: int | None
    host: str | None
    last_start: dt.datetime | None
    last_end: dt.datetime | None
    heartbeat: dt.datetime | None


def process_control(data: DataBlob) -> ProcessControl:
    return ProcessControl(data.process_control)


def configured_processes(data: DataBlob) -> list[str]:
    return sorted(load_control_config(data.home).process_configuration)


def _names(data: DataBlob, process_name: str) -> list[str]:
    configured = configured_processes(data)
    if process_name == ALL:
        return configured
    known = set(configured) | set(data.process_control.all())
    if process_name not in known:
        raise InvalidData(f"unknown process {process_name!r}; configured: "
                          f"{', '.join(configured)}")
    return [process_name]


def _now(data: DataBlob) -> dt.datetime:
    return data.now().to_pydatetime()


def list_processes(data: DataBlob) -> list[ProcessRow]:
    """Every configured or recorded process, with liveness judged from this host."""
    control = process_control(data)
    now, host = _now(data), host_name()
    names = sorted(set(configured_processes(data)) | set(data.process_control.all()))
    rows = []
    for name in names:
        record = control.record(name)
        rows.append(ProcessRow(name, record.status.value, record.run_state.value,
                               is_alive(record, now, host, psutil.pid_exists,
                                        control.heartbeat_timeout),
                               record.pid, record.host, record.last_start, record.last_end,
                               record.heartbeat))
    return rows


def set_process_status(data: DataBlob, process_name: str, status: str) -> list[str]:
    """Set ``status`` (go, stop, no-run, pause) for one process or ``ALL``; returns the names."""
    new = ProcessStatus.parse(status)
    control = process_control(data)
    names = _names(data, process_name)
    for name in names:
        control.set_status(name, new)
        data.log.info("process %s status set to %s", name, new.value)
    return names


def mark_process_close(data: DataBlob, process_name: str) -> list[str]:
    """Mark a process (or ``ALL``) as closed: for a process the operator knows is gone."""
    control = process_control(data)
    names = _names(data, process_name)
    for name in names:
        if control.record(name).run_state in (RunState.RUNNING, RunState.CRASHED):
            control.mark_close(name, _now(data))
            data.log.info("process %s marked as closed", name)
    return names


def mark_dead_processes(data: DataBlob) -> list[str]:
    """Mark every running record whose process is dead as crashed, with one alert each."""
    control = process_control(data)
    marked = control.mark_dead(_now(data), host_name(), psutil.pid_exists)
    for name in marked:
        record = control.record(name)
        alert(data, f"Process {name} crashed",
              f"pid {record.pid} on host {record.host} is no longer alive (last heartbeat "
              f"{record.heartbeat:%Y-%m-%d %H:%M} UTC); marked crashed. Run it again, or "
              f"'systrade process mark-close {name}' once you have checked it.")
    return marked
