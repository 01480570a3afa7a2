"""The two state machines of a ``run_*`` process.

:class:`ProcessStatus` is what the operator sets (``systrade process stop NAME``): it gates new
starts and tells a running process to pause or stop. :class:`RunState` is what the process itself
records as it lives: started, finished cleanly, or found dead. Each has a transition table; an
illegal transition raises :class:`IllegalTransition`.
"""
from __future__ import annotations

from enum import Enum

from syscore.exceptions import InvalidData


class IllegalTransition(InvalidData):
    """A state change that the transition table does not allow."""


class ProcessStatus(Enum):
    """Operator's control of a process.

    - ``GO``: may start (inside its window) and runs its methods.
    - ``STOP``: a running process stops gracefully after its current method (running its
      completion methods); a launched process that has not started exits without starting.
    - ``NO_RUN``: a running process goes on; a launched process waits and does not start.
    - ``PAUSE``: a process may start and stays alive and responsive to STOP, but runs no
      methods until the status is GO (or NO-RUN) again.

    Setting GO launches nothing: cron (or supervisor/systemd) launches processes.
    """

    GO = "GO"
    STOP = "STOP"
    NO_RUN = "NO-RUN"
    PAUSE = "PAUSE"

    @classmethod
    def parse(cls, text: str) -> ProcessStatus:
        """``"go"``, ``"no-run"``, ``"NO_RUN"``… to a status; anything else raises InvalidData."""
        key = str(text).strip().upper().replace("_", "-")
        for status in cls:
            if status.value == key:
                return status
        raise InvalidData(f"unknown process status {text!r}; expected one of "
                          f"{', '.join(s.value.lower() for s in cls)}")

    @property
    def allows_start(self) -> bool:
        return self in (ProcessStatus.GO, ProcessStatus.PAUSE)

    @property
    def allows_methods(self) -> bool:
        """Whether a running process runs its methods (NO-RUN lets a running process go on)."""
        return self in (ProcessStatus.GO, ProcessStatus.NO_RUN)

    @property
    def asks_stop(self) -> bool:
        return self is ProcessStatus.STOP


#: The operator may move any status to any other; setting the same status is a no-op.
STATUS_TRANSITIONS: dict[ProcessStatus, frozenset[ProcessStatus]] = {
    status: frozenset(ProcessStatus) for status in ProcessStatus
}


class RunState(Enum):
    """Life of a process as the process (or a dead-process check) records it."""

    NEVER_RAN = "never ran"
    RUNNING = "running"
    FINISHED = "finished"
    CRASHED = "crashed"


#: ``RUNNING → RUNNING`` is not allowed: a second start while the first runs is refused.
#: ``CRASHED → FINISHED`` is the operator's "mark close" after inspecting a crash.
RUN_TRANSITIONS: dict[RunState, frozenset[RunState]] = {
    RunState.NEVER_RAN: frozenset({RunState.RUNNING}),
    RunState.RUNNING: frozenset({RunState.FINISHED, RunState.CRASHED}),
    RunState.FINISHED: frozenset({RunState.RUNNING}),
    RunState.CRASHED: frozenset({RunState.RUNNING, RunState.FINISHED}),
}


def change_status(current: ProcessStatus, new: ProcessStatus) -> ProcessStatus:
    """``new`` if the table allows ``current → new``; raises :class:`IllegalTransition`."""
    if new is not current and new not in STATUS_TRANSITIONS[current]:
        raise IllegalTransition(f"process status cannot go from {current.value} to {new.value}")
    return new


def change_run_state(current: RunState, new: RunState) -> RunState:
    """``new`` if the table allows ``current → new``; raises :class:`IllegalTransition`."""
    if new not in RUN_TRANSITIONS[current]:
        raise IllegalTransition(f"a process cannot go from {current.value} to {new.value}")
    return new
