"""Run simulated trading days through the real process control (what the demo does).

For each business day, every process of the control config is launched at the start of its
window (in its own zone) and runs through :class:`syscontrol.runner.ProcessRunner` with its own
data blob, as cron would launch it — but in simulated time, driven by
:class:`syscontrol.sim_scheduler.SimulatedScheduler`, so overlapping processes interleave in time
order and a day takes seconds. The home's clock must be simulated.
"""
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from syscontrol.process_status import RunState
from syscontrol.run_window import RunWindow
from syscontrol.runner import SIMULATED_EVERY_LOOP, RunnerSettings, RunOutcome
from syscontrol.sim_scheduler import SimulatedScheduler
from syscore.clock import SimulatedClock
from syscore.config import load_control_config
from syscore.exceptions import ConfigError
from sysproduction.blob import production_blob
from sysproduction.process_helpers import summary_line
from sysproduction.process_launcher import build_runner

#: In simulated time nobody is waiting for a STOP to be noticed: poll every 15 simulated minutes;
#: a frequency-0 method ("every loop") runs every 15 simulated minutes too.
SIM_SETTINGS = RunnerSettings(poll_seconds=900.0, every_loop=SIMULATED_EVERY_LOOP)


@dataclass
class ProcessDay:
    """One launch of one process on one simulated day."""

    process: str
    day: dt.date
    launched_at: dt.datetime
    outcome: RunOutcome | None = None
    error: str | None = None
    method_results: list[tuple[str, Any]] = field(default_factory=list)
    runner: Any = None
    #: CPU seconds of this launch's thread (processes take turns: this is its own share)
    cpu_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None and self.outcome is not None and self.outcome.ok


def business_days(after: dt.date, count: int) -> list[dt.date]:
    days, day = [], after
    while len(days) < count:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            days.append(day)
    return days


def session_start(window: RunWindow, day: dt.date) -> dt.datetime | None:
    """When ``window``'s session that belongs to local date ``day`` opens (UTC), or None if no
    session starts that day."""
    local_midnight = dt.datetime.combine(day, dt.time(0, 0), tzinfo=ZoneInfo(window.timezone))
    opens = window.next_open(local_midnight)
    if window.is_open(local_midnight) and window.crosses_midnight:
        # the session open at midnight started the day before; this day's starts later
        opens = window.next_open(window.closes_at(local_midnight))
    if opens.astimezone(local_midnight.tzinfo).date() != day:
        return None
    return opens.astimezone(dt.timezone.utc)


def run_simulated_days(home: Path, days: int, out: Callable[[str], None] = print,
                       processes: list[str] | None = None,
                       stop_before: str | None = None) -> list[ProcessDay]:
    """Run the ``days`` business days after the clock's current date (see module docstring).
    ``stop_before``: on the last day, leave that process (and any launched after it) unlaunched
    and the clock just before its launch, so an operator can run it by hand."""
    probe = production_blob(home, process_name="scheduler")
    try:
        if probe.config.clock != "simulated":
            raise ConfigError(f"{home}: simulated days need 'clock: simulated'")
        clock = SimulatedClock(home)
    finally:
        probe.close()
    control = load_control_config(home).process_configuration
    names = processes or sorted(control)
    unknown = set(names) - set(control) | ({stop_before} - set(control) if stop_before else set())
    if unknown:
        raise ConfigError(f"control config: unknown processes {sorted(unknown)}")
    scheduler = SimulatedScheduler(clock)
    launches: list[ProcessDay] = []
    calendar = business_days(clock.now().to_pydatetime().date(), days)
    stop_at: dt.datetime | None = None
    for index, day in enumerate(calendar):
        planned = []
        for name in names:
            config = control[name]
            window = RunWindow.from_text(config.start_time, config.end_time, config.timezone,
                                         config.run_on_weekends)
            start = session_start(window, day)
            if start is not None and start >= clock.now().to_pydatetime():
                planned.append((start, name))
        for start, name in sorted(planned):
            if index == len(calendar) - 1 and stop_before is not None and (
                    name == stop_before or (stop_at is not None and start >= stop_at)):
                stop_at = start if stop_at is None else min(stop_at, start)
                continue
            record = ProcessDay(name, day, start)
            launches.append(record)
            scheduler.launch(f"{name}@{day}", start, _work(home, name, scheduler, record, out))
    if stop_at is None:
        scheduler.run()
        return launches
    before = stop_at - dt.timedelta(minutes=1)
    scheduler.run(until=before)
    for record in launches:  # processes still running stop gracefully, now
        if record.runner is not None and (record.outcome is None and record.error is None):
            record.runner.request_stop(f"stopped before {stop_before} (--stop-before)")
    scheduler.wake_all()
    scheduler.run(until=before)
    if clock.now() < before:
        clock.set(before)
    return launches


def _work(home: Path, name: str, scheduler: SimulatedScheduler, record: ProcessDay,
          out: Callable[[str], None]):
    def work():
        started = time.thread_time()
        try:
            with production_blob(home, process_name=name) as data:
                runner = build_runner(name, data, sleep=scheduler.sleep, settings=SIM_SETTINGS,
                                      on_result=lambda m, r: record.method_results.append((m, r)))
                record.runner = runner
                record.outcome = runner.run()
        except Exception as exc:  # reported in the summary; the other processes go on
            record.error = f"{type(exc).__name__}: {exc}"
        record.cpu_seconds = time.thread_time() - started
        out(_line(record))  # only one process runs at a time: lines never interleave
        last = dict(record.method_results)  # a repeated method: its last result
        for method, result in last.items():
            first = summary_line(result)
            out(f"    {first if first.startswith(method) else f'{method}: {first}'}")
        return record
    return work


def _line(record: ProcessDay) -> str:
    head = f"{record.day} {record.launched_at:%H:%M} UTC {record.process}"
    if record.error:
        return f"{head}: ERROR {record.error}"
    outcome = record.outcome
    if outcome is None:
        return f"{head}: did not run"
    if not outcome.started:
        return f"{head}: not started: {outcome.reason}"
    runs = ", ".join(f"{m} x{n}" for m, n in outcome.executions.items())
    failed = f"; FAILED: {', '.join(outcome.failures)}" if outcome.failures else ""
    return f"{head}: {outcome.reason} ({runs}){failed}"


def all_closed(home: Path) -> dict[str, str]:
    """Process name → run state, for the summary (every process should be finished)."""
    from syscontrol.control import ProcessControl

    with production_blob(home, process_name="scheduler") as data:
        return {name: record.run_state.value
                for name, record in ProcessControl(data.process_control).records().items()
                if record.run_state is not RunState.NEVER_RAN}
