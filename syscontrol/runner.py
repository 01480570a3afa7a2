"""The loop of a ``run_*`` process: wait to start, run methods on their timers, stop gracefully.

:class:`ProcessRunner` is given everything it touches (typed process control, the clock, a
``sleep`` that waits — ``time.sleep`` in production, an advance of the simulated clock in the
demo and tests —, the methods as plain callables, this host and PID, a PID-liveness test), so
the whole lifecycle runs in tests in simulated time.

1. **Wait**: :func:`~syscontrol.start_check.decide_start` is re-checked every ``poll`` seconds
   (default 60); wait reasons are logged when they change and at most every 10 minutes. A
   refusal (already running, STOP, window not opening within ``max_wait``) ends the run without
   starting. The start itself is an atomic claim in the store: of two launches, one starts.
2. **Loop**: the due methods run in configured order; the process stops after the current
   method when its status becomes STOP (or SIGTERM/SIGINT arrives), when its window closes, or
   when every method has used its ``max_executions``. PAUSE skips methods and keeps polling.
   A method that raises is logged (traceback in the log file) and counted; the others go on.
   The heartbeat is written at least every ``heartbeat_every``.
3. **Finish**: completion-only methods run once, then the record is marked finished. If the
   record was taken from this process (an operator's mark-close, a takeover), the runner stops
   without touching it.
"""
from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from syscontrol.control import AlreadyRunning, NotOwner, ProcessControl
from syscontrol.method_timer import MethodRuns, MethodSchedule, all_exhausted, is_due, next_due
from syscontrol.process_status import ProcessStatus, RunState
from syscontrol.run_window import RunWindow
from syscontrol.start_check import DEFAULT_MAX_WAIT, Verdict, decide_start
from syscore.clock import Clock

LOG_WAIT_EVERY = dt.timedelta(minutes=10)
#: Set by SIGTERM/SIGINT: a real-time sleep (:func:`interruptible_sleep`) ends at once.
SIGNALLED = threading.Event()


def interruptible_sleep(seconds: float, step: float = 0.5) -> None:
    """``time.sleep`` in slices of ``step`` seconds that ends early once a stop signal came
    (Python resumes a plain sleep after a signal handler, so a waiting process would otherwise
    notice SIGTERM only after its whole poll interval)."""
    end = time.monotonic() + max(0.0, seconds)
    while not SIGNALLED.is_set():
        left = end - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(step, left))


@dataclass(frozen=True)
class RunnerSettings:
    """Timings in seconds unless typed otherwise. ``every_loop``: the least time between two
    starts of a method with frequency 0 ("every loop"; see :mod:`syscontrol.method_timer`)."""

    poll_seconds: float = 60.0
    heartbeat_every: dt.timedelta = dt.timedelta(minutes=1)
    max_wait: dt.timedelta = DEFAULT_MAX_WAIT
    every_loop: dt.timedelta = dt.timedelta(0)


#: ``every_loop`` in simulated time (the demo, simulated days, a process launched on a
#: simulated-clock home): a method takes no simulated time, so with none a frequency-0 method
#: would run every half simulated second (a stack handler: ~170,000 passes a simulated day).
SIMULATED_EVERY_LOOP = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class RunOutcome:
    """What a launch did. ``started`` False: ``reason`` says why it did not start."""

    name: str
    started: bool
    reason: str
    refused_running: bool = False
    executions: dict[str, int] = field(default_factory=dict)
    failures: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.refused_running and not self.failures

    def __str__(self) -> str:
        if not self.started:
            return f"{self.name}: not started: {self.reason}"
        runs = ", ".join(f"{m} x{n}" for m, n in self.executions.items()) or "no methods"
        failed = f"; failed: {', '.join(self.failures)}" if self.failures else ""
        return f"{self.name}: {self.reason} ({runs}){failed}"


class ProcessRunner:
    """One launch of one process (see module docstring)."""

    def __init__(self, name: str, window: RunWindow, schedules: Mapping[str, MethodSchedule],
                 methods: Mapping[str, Callable[[], Any]], control: ProcessControl, clock: Clock,
                 sleep: Callable[[float], None], host: str, pid: int,
                 pid_exists: Callable[[int], bool], previous_process: str | None = None,
                 settings: RunnerSettings = RunnerSettings(),
                 log: logging.Logger | None = None,
                 is_failure: Callable[[Any], bool] = lambda result: False,
                 on_result: Callable[[str, Any], None] | None = None):
        missing = set(schedules) - set(methods)
        if missing:
            raise ValueError(f"{name}: no callable for methods {sorted(missing)}")
        self.name, self.window, self.schedules, self.methods = name, window, dict(schedules), methods
        self.control, self.clock, self.sleep = control, clock, sleep
        self.host, self.pid, self.pid_exists = host, pid, pid_exists
        self.previous_process, self.settings = previous_process, settings
        self.log = log or logging.getLogger(f"syscontrol.{name}")
        self.is_failure = is_failure
        self.on_result = on_result
        self._stop_request = ""
        self._failures: list[str] = []
        self._runs: dict[str, MethodRuns] = {}

    # --- public ---------------------------------------------------------------------------
    def run(self) -> RunOutcome:
        previous_handlers = self._install_signal_handlers()
        try:
            refusal = self._wait_for_start()
            if refusal is not None:
                return refusal
            reason = self._loop()
            if reason == "taken over":
                return self._outcome(True, "the process record was taken from this process")
            self._run_completion_methods()
            try:
                self.control.finish(self.name, self.host, self.pid, self._now())
            except NotOwner:
                return self._outcome(True, "the process record was taken from this process")
            self.log.info("%s finished: %s", self.name, reason)
            return self._outcome(True, reason)
        finally:
            self._restore_signal_handlers(previous_handlers)

    # --- phases ---------------------------------------------------------------------------
    def _wait_for_start(self) -> RunOutcome | None:
        last_logged: dict[str, dt.datetime] = {}
        while True:
            now = self._now()
            previous = (self.control.record(self.previous_process)
                        if self.previous_process else None)
            decision = decide_start(self.control.record(self.name), self.window, now, self.host,
                                    self.pid_exists, previous,
                                    self.control.heartbeat_timeout, self.settings.max_wait)
            if decision.verdict is Verdict.START:
                try:
                    self.control.claim_start(self.name, self.host, self.pid, now, self.pid_exists)
                except AlreadyRunning as exc:
                    return RunOutcome(self.name, False, str(exc), refused_running=True)
                self.log.info("%s started: pid %s on host %s", self.name, self.pid, self.host)
                return None
            if decision.verdict is Verdict.REFUSE:
                running = "already running" in decision.reason
                self.log.info("%s not started: %s", self.name, decision.reason)
                return RunOutcome(self.name, False, decision.reason, refused_running=running)
            logged = last_logged.get(decision.reason)
            if logged is None or now - logged >= LOG_WAIT_EVERY:
                self.log.info("%s waiting: %s", self.name, decision.reason)
                last_logged[decision.reason] = now
            wait = self.settings.poll_seconds
            if not self.window.is_open(now):
                opens = self.window.next_open(now)
                wait = max(1.0, min(wait, (opens - now).total_seconds()))
            self.sleep(wait)
            if self._stop_request:
                return RunOutcome(self.name, False, f"{self._stop_request} before starting")

    def _loop(self) -> str:
        last_heartbeat = self._now()
        paused_logged: dt.datetime | None = None
        loop_methods = [m for m, s in self.schedules.items() if not s.run_on_completion_only]
        while True:
            now = self._now()
            record = self.control.record(self.name)
            if (record.run_state is not RunState.RUNNING or record.pid != self.pid
                    or record.host != self.host):
                self.log.error("%s: its process record was taken over; stopping", self.name)
                return "taken over"
            stop = self._stop_reason(record.status, now)
            if stop:
                return stop
            if now - last_heartbeat >= self.settings.heartbeat_every:
                self._heartbeat(now)
                last_heartbeat = now
            if record.status is ProcessStatus.PAUSE:
                if paused_logged is None or now - paused_logged >= LOG_WAIT_EVERY:
                    self.log.info("%s paused: methods skipped", self.name)
                    paused_logged = now
            else:
                paused_logged = None
                for method in loop_methods:
                    status = self.control.record(self.name).status
                    if self._stop_reason(status, self._now()) or not status.allows_methods:
                        break
                    if is_due(self.schedules[method], self._method_runs(method), self._now(),
                              self.settings.every_loop):
                        self._call(method)
            status = self.control.record(self.name).status
            stop = self._stop_reason(status, self._now())
            if stop:
                return stop
            self.sleep(self._seconds_to_next(loop_methods if status.allows_methods else []))

    def _stop_reason(self, status: ProcessStatus, now: dt.datetime) -> str:
        if self._stop_request:
            return self._stop_request
        if status.asks_stop:
            return "status STOP"
        if not self.window.is_open(now):
            return "end of its window"
        if all_exhausted(self.schedules, self._runs):
            return "all methods done"
        return ""

    def _seconds_to_next(self, loop_methods: list[str]) -> float:
        """Until the next method is due (or the poll interval, or the window's end), at least
        half a second. ``loop_methods`` empty (paused): the poll interval."""
        now = self._now()
        dues = [next_due(self.schedules[m], self._method_runs(m), self.settings.every_loop)
                for m in loop_methods]
        dues = [d for d in dues if d is not None]
        horizon = self.settings.poll_seconds
        if dues:
            horizon = min(horizon, max(0.0, (min(dues) - now).total_seconds()))
        if self.window.is_open(now):
            horizon = min(horizon, max(0.0, (self.window.closes_at(now) - now).total_seconds()))
        return max(horizon, 0.5)

    def _run_completion_methods(self) -> None:
        for method, schedule in self.schedules.items():
            if schedule.run_on_completion_only:
                self._call(method)

    # --- helpers --------------------------------------------------------------------------
    def _call(self, method: str) -> None:
        started = self._now()
        self._runs[method] = self._method_runs(method).started(started)
        self._owned(lambda: self.control.method_started(self.name, self.host, self.pid, method,
                                                        started))
        try:
            result = self.methods[method]()
            if self.is_failure(result):
                self._failures.append(method)
            if self.on_result is not None:
                self.on_result(method, result)
        except Exception as exc:  # a failed method is logged and counted; the others go on
            self._failures.append(method)
            self.log.error("%s: method %s failed: %s", self.name, method, exc,
                           exc_info=exc)
        ended = self._now()
        self._runs[method] = self._runs[method].ended(ended)
        self._owned(lambda: self.control.method_ended(self.name, self.host, self.pid, method,
                                                      ended))

    def _owned(self, write: Callable[[], None]) -> None:
        try:
            write()
        except NotOwner:
            pass  # the loop notices at its next check and stops

    def _heartbeat(self, now: dt.datetime) -> None:
        self._owned(lambda: self.control.heartbeat(self.name, self.host, self.pid, now))

    def _method_runs(self, method: str) -> MethodRuns:
        return self._runs.get(method, MethodRuns())

    def _now(self) -> dt.datetime:
        value = self.clock.now()
        return value.to_pydatetime() if isinstance(value, pd.Timestamp) else value

    def _outcome(self, started: bool, reason: str) -> RunOutcome:
        return RunOutcome(self.name, started, reason,
                          executions={m: r.executions for m, r in self._runs.items()},
                          failures=tuple(self._failures))

    def _install_signal_handlers(self) -> dict[int, Any]:
        import threading

        if threading.current_thread() is not threading.main_thread():
            return {}
        previous = {}
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.getsignal(signum)
            signal.signal(signum, self._on_signal)
        return previous

    def _restore_signal_handlers(self, previous: dict[int, Any]) -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    def _on_signal(self, signum, frame) -> None:
        self.log.info("%s: signal %s received; stopping after the current method", self.name,
                      signum)
        self._stop_request = "signal received"
        SIGNALLED.set()

    def request_stop(self, reason: str = "stop requested") -> None:
        """Stop after the current method, as on STOP (completion methods run); a process still
        waiting to start gives up. Safe to call from another thread."""
        self._stop_request = reason
