"""May a process start now, and is a recorded "running" process really alive?

Pure decisions over the stored process record; the caller supplies ``now``, its own host name
and a PID-liveness test (``psutil.pid_exists`` in production), so the rules are testable with
tables. A :class:`StartDecision` either allows the start, asks the process to wait (NO-RUN, a
window that opens within ``max_wait``, a previous process not yet finished) with the reason to
log, or refuses it (another instance running, status STOP, a window that does not open within
``max_wait``): a refused process exits without starting.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from syscontrol.process_status import ProcessStatus, RunState
from syscontrol.run_window import RunWindow, zone

#: A previous process must have finished within this long before a dependent one may start
#: (not counting Saturdays and Sundays for a window that does not run on weekends).
PREVIOUS_PROCESS_MAX_AGE = dt.timedelta(hours=24)
#: A process on another host whose heartbeat is older than this is taken as dead.
DEFAULT_HEARTBEAT_TIMEOUT = dt.timedelta(minutes=15)
#: A launched process waits at most this long for its window to open; longer is a refusal
#: (launched after today's window closed).
DEFAULT_MAX_WAIT = dt.timedelta(hours=12)


@dataclass(frozen=True)
class ProcessRecord:
    """A stored process record, typed. Times tz-aware UTC or None."""

    name: str
    status: ProcessStatus = ProcessStatus.GO
    run_state: RunState = RunState.NEVER_RAN
    pid: int | None = None
    host: str | None = None
    heartbeat: dt.datetime | None = None
    last_start: dt.datetime | None = None
    last_end: dt.datetime | None = None


class Verdict(Enum):
    START = "start"
    WAIT = "wait"
    REFUSE = "refuse"


@dataclass(frozen=True)
class StartDecision:
    verdict: Verdict
    reason: str = ""

    @property
    def allowed(self) -> bool:
        return self.verdict is Verdict.START


def is_alive(record: ProcessRecord, now: dt.datetime, host: str,
             pid_exists: Callable[[int], bool],
             heartbeat_timeout: dt.timedelta = DEFAULT_HEARTBEAT_TIMEOUT) -> bool:
    """Whether a record that says RUNNING belongs to a live process: on this host by its PID,
    on another host by a heartbeat younger than ``heartbeat_timeout``."""
    if record.run_state is not RunState.RUNNING:
        return False
    if record.host == host:
        return record.pid is not None and pid_exists(record.pid)
    last_sign = record.heartbeat or record.last_start
    return last_sign is not None and now - last_sign <= heartbeat_timeout


def weekday_age(since: dt.datetime, now: dt.datetime, timezone: str) -> dt.timedelta:
    """``now - since`` less the Saturdays and Sundays (local days of ``timezone``) in between:
    Friday 20:05 to Monday 07:00 is 10 h 55 min. An age over two weeks is returned whole."""
    age = now - since
    if age > dt.timedelta(days=14) or age <= dt.timedelta(0):
        return age
    tz = zone(timezone)
    day, last = since.astimezone(tz).date(), now.astimezone(tz).date()
    while day <= last:
        if day.weekday() >= 5:
            begins = dt.datetime.combine(day, dt.time(0), tzinfo=tz)
            ends = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
            overlap = min(now, ends) - max(since, begins)
            if overlap > dt.timedelta(0):
                age -= overlap
        day += dt.timedelta(days=1)
    return age


def decide_start(record: ProcessRecord, window: RunWindow, now: dt.datetime, host: str,
                 pid_exists: Callable[[int], bool],
                 previous: ProcessRecord | None = None,
                 heartbeat_timeout: dt.timedelta = DEFAULT_HEARTBEAT_TIMEOUT,
                 max_wait: dt.timedelta = DEFAULT_MAX_WAIT) -> StartDecision:
    """The decision for a process launched at ``now`` (see module docstring). Checks, in order:
    another live instance, status, window, previous process."""
    if is_alive(record, now, host, pid_exists, heartbeat_timeout):
        since = f" since {record.last_start:%Y-%m-%d %H:%M} UTC" if record.last_start else ""
        return StartDecision(Verdict.REFUSE, f"{record.name} is already running: pid "
                             f"{record.pid} on host {record.host}{since}")
    if record.status is ProcessStatus.STOP:
        return StartDecision(Verdict.REFUSE, f"{record.name} has status STOP")
    if not record.status.allows_start:
        return StartDecision(Verdict.WAIT, f"{record.name} has status {record.status.value}")
    if not window.is_open(now):
        opens = window.next_open(now)
        verdict = Verdict.WAIT if opens - now <= max_wait else Verdict.REFUSE
        return StartDecision(verdict, f"{record.name} is outside its window {window}; "
                             f"next opens {opens:%Y-%m-%d %H:%M %Z}")
    if previous is not None:
        # a weekday schedule: Friday evening's run counts on Monday morning
        age = (None if previous.last_end is None else
               now - previous.last_end if window.run_on_weekends else
               weekday_age(previous.last_end, now, window.timezone))
        finished = (previous.run_state is RunState.FINISHED and age is not None
                    and age <= PREVIOUS_PROCESS_MAX_AGE)
        if not finished:
            weekends = "" if window.run_on_weekends else ", weekends not counted"
            return StartDecision(Verdict.WAIT, f"{record.name} waits for {previous.name} to "
                                 f"finish (it has not finished in the last 24 h{weekends})")
    return StartDecision(Verdict.START)
