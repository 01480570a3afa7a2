"""Run once when a machine boots (before any ``run_*`` process), like pysystemtrade's startup.

    python run.py sysproduction.startup.startup

Marks as closed every process record of **this host** (``SYSTRADE_HOST`` or the OS host name)
that says running or crashed — after a reboot none of them can be alive — and releases the
broker client ids this host held (owner ``<host>:<pid>``, or no owner). Records and client ids of
other hosts sharing the store are left alone: their processes may be running.
"""
from __future__ import annotations

from dataclasses import dataclass

import psutil

from syscontrol.control import ProcessControl
from syscontrol.host import host_name
from syscontrol.process_status import RunState
from sysdata.data_blob import DataBlob
from sysproduction.process_helpers import blob_for


def _still_alive(pid: int | None, since) -> bool:
    """A live process with that PID that was started no later than the record's start (a PID
    reused after a reboot belongs to a younger process)."""
    if pid is None or since is None:
        return False
    try:
        created = psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
    return created <= since.timestamp() + 5.0


@dataclass(frozen=True)
class StartupReport:
    closed: tuple[str, ...]
    client_ids_released: tuple[int, ...]
    ok: bool = True

    def __str__(self) -> str:
        closed = ", ".join(self.closed) or "none"
        ids = ", ".join(str(i) for i in self.client_ids_released) or "none"
        return f"startup: processes marked closed: {closed}; client ids released: {ids}"


def startup(data: DataBlob | None = None) -> StartupReport:
    """See module docstring."""
    with blob_for(data, "startup") as blob:
        host = host_name()
        control = ProcessControl(blob.process_control)
        now = blob.now().to_pydatetime()
        closed = []
        for name, record in control.records().items():
            if record.host != host or record.run_state not in (RunState.RUNNING,
                                                                RunState.CRASHED):
                continue
            if _still_alive(record.pid, record.last_start):
                continue
            control.mark_close(name, now)
            closed.append(name)
        released = []
        for client_id, owner in blob.client_ids.owners().items():
            owner_host = owner.rpartition(":")[0] if ":" in owner else ""
            if owner == "" or owner_host == host:
                blob.client_ids.release(client_id)
                released.append(client_id)
        if closed or released:
            blob.log.warning("startup: marked closed %s; released client ids %s",
                             closed, released)
        return StartupReport(tuple(closed), tuple(sorted(released)))
