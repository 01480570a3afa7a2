"""Process-control records and broker client ids, in the state store.

A process record holds its ``status`` (GO, STOP, NO-RUN, PAUSE), its ``run_state`` (never ran,
running, finished, crashed), its PID, host, last heartbeat, start/end times (ISO UTC text) and
``methods`` (per method: executions, last start and end in this session). Stored in the state
store so a dead process is seen from any machine. The rules (transition tables, windows, dead
process detection) are in :mod:`syscontrol`; this module only stores the documents.
"""
from __future__ import annotations

from typing import Any

from syscore.exceptions import ExistingData, InvalidData, StoreError
from sysdata.state.base import Insert, StateStore

PROCESSES = "process_control"
CLIENT_IDS = "broker_client_ids"
PROCESS_STATUSES = ("GO", "STOP", "NO-RUN", "PAUSE")
RUN_STATES = ("never ran", "running", "finished", "crashed")
RECORD_FIELDS = ("status", "run_state", "pid", "host", "heartbeat", "last_start", "last_end",
                 "methods")
#: The record of a process never seen: GO and never ran.
DEFAULT_RECORD: dict[str, Any] = {"status": "GO", "run_state": "never ran", "pid": None,
                                  "host": None, "heartbeat": None, "last_start": None,
                                  "last_end": None, "methods": {}}


class ProcessControlData:
    """Process-control records in the state store (collection ``process_control``), one per
    process name: status, run state, PID, host, heartbeat and times (ISO UTC text). Every
    write is an atomic read-modify-write of the one record (:meth:`update`, :meth:`change`),
    so a heartbeat and an operator's STOP written at once both survive."""

    def __init__(self, store: StateStore):
        self.store = store

    def get(self, process_name: str) -> dict[str, Any]:
        """The record; a process never seen is ``GO`` and not running."""
        return {**DEFAULT_RECORD, **(self.store.get(PROCESSES, process_name) or {})}

    def update(self, process_name: str, **fields: Any) -> dict[str, Any]:
        unknown = set(fields) - set(RECORD_FIELDS)
        if unknown:
            raise InvalidData(f"unknown process-control fields {sorted(unknown)}")
        if "status" in fields and fields["status"] not in PROCESS_STATUSES:
            raise InvalidData(
                f"unknown process status {fields['status']!r}; expected one of {PROCESS_STATUSES}"
            )
        if "run_state" in fields and fields["run_state"] not in RUN_STATES:
            raise InvalidData(
                f"unknown run state {fields['run_state']!r}; expected one of {RUN_STATES}")
        # atomic merge: a heartbeat and an operator's STOP written at once both survive
        return self.store.update(PROCESSES, process_name,
                                 lambda doc: {**DEFAULT_RECORD, **(doc or {}), **fields})

    def change(self, process_name: str, change) -> dict[str, Any]:
        """Atomically replace the record with ``change(current record)`` (a pure function that
        may raise to refuse the change; it may run more than once on MongoDB)."""
        return self.store.update(PROCESSES, process_name,
                                 lambda doc: change({**DEFAULT_RECORD, **(doc or {})}))

    def all(self) -> dict[str, dict[str, Any]]:
        return dict(self.store.find(PROCESSES))


class ClientIdData:
    """Allocates distinct broker client ids between ``low`` and ``high`` inclusive."""

    def __init__(self, store: StateStore):
        self.store = store

    def allocate(self, low: int, high: int, owner: str = "") -> int:
        for client_id in range(low, high + 1):
            try:
                self.store.apply([Insert(CLIENT_IDS, f"{client_id:06d}",
                                         {"client_id": client_id, "owner": owner})])
                return client_id
            except ExistingData:
                continue
        raise StoreError(f"no free broker client id between {low} and {high}")

    def release(self, client_id: int) -> None:
        self.store.delete(CLIENT_IDS, f"{client_id:06d}")

    def owners(self) -> dict[int, str]:
        """Allocated client ids and their owners (``<host>:<pid>`` by convention)."""
        return {int(doc["client_id"]): str(doc.get("owner") or "")
                for _, doc in self.store.find(CLIENT_IDS)}

    def in_use(self) -> list[int]:
        return [int(doc["client_id"]) for _, doc in self.store.find(CLIENT_IDS)]

    def release_all(self) -> None:
        self.store.drop(CLIENT_IDS)
