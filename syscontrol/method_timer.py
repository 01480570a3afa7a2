"""When a method of a running process is due.

A method runs when it is not completion-only, has run fewer than ``max_executions`` times
(−1: unlimited) in this process session, and at least ``frequency`` minutes have passed since it
last *started* (0: every loop, but no sooner than ``every_loop`` after its last start: zero in
real time, where a loop takes time of its own; a loop takes no simulated time, so simulated runs
give it a length). Completion-only methods run once, when the process ends.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

UNLIMITED = -1


@dataclass(frozen=True)
class MethodSchedule:
    """``frequency`` in minutes (≥ 0); ``max_executions`` ≥ 1 or −1 (unlimited)."""

    name: str
    frequency: float = 0.0
    max_executions: int = UNLIMITED
    run_on_completion_only: bool = False

    def __post_init__(self) -> None:
        if self.frequency < 0:
            raise ValueError(f"method {self.name}: frequency must be >= 0 minutes")
        if self.max_executions == 0 or self.max_executions < UNLIMITED:
            raise ValueError(f"method {self.name}: max_executions must be >= 1 or -1 (unlimited)")


@dataclass(frozen=True)
class MethodRuns:
    """What a method has done in this process session (times tz-aware)."""

    executions: int = 0
    last_start: dt.datetime | None = None
    last_end: dt.datetime | None = None

    def started(self, when: dt.datetime) -> MethodRuns:
        return replace(self, executions=self.executions + 1, last_start=when)

    def ended(self, when: dt.datetime) -> MethodRuns:
        return replace(self, last_end=when)


def is_exhausted(schedule: MethodSchedule, runs: MethodRuns) -> bool:
    """True when the method will not run again in this session (completion-only counts as
    exhausted for the loop)."""
    if schedule.run_on_completion_only:
        return True
    return schedule.max_executions != UNLIMITED and runs.executions >= schedule.max_executions


def next_due(schedule: MethodSchedule, runs: MethodRuns,
             every_loop: dt.timedelta = dt.timedelta(0)) -> dt.datetime | None:
    """When the method is next due; None when it never runs again in the loop. A method never
    run is due at once (``datetime.min`` in UTC); ``every_loop``: see module docstring."""
    if is_exhausted(schedule, runs):
        return None
    if runs.last_start is None:
        return dt.datetime.min.replace(tzinfo=dt.timezone.utc)
    step = dt.timedelta(minutes=schedule.frequency) if schedule.frequency else every_loop
    return runs.last_start + step


def is_due(schedule: MethodSchedule, runs: MethodRuns, now: dt.datetime,
           every_loop: dt.timedelta = dt.timedelta(0)) -> bool:
    due = next_due(schedule, runs, every_loop)
    return due is not None and due <= now


def all_exhausted(schedules: dict[str, MethodSchedule], runs: dict[str, MethodRuns]) -> bool:
    """True when no loop method will ever run again (the process may finish)."""
    return all(is_exhausted(s, runs.get(name, MethodRuns())) for name, s in schedules.items())
