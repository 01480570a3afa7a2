"""Run several processes in simulated time, one at a time, in time order (the demo's scheduler).

Each launched process runs in its own thread, but only one thread runs at any moment: a process
runs until it *sleeps* (its runner's ``sleep``, which this scheduler provides) or ends; then the
scheduler moves the simulated clock to the earliest wake-up time among the sleeping processes
and launches (``launch(at, work)``) and wakes that one. Ties go to the earlier request. So a
simulated trading day with overlapping process windows runs deterministically, in seconds, with
every process seeing the shared simulated clock move as it would in real time. The clock never
moves backwards.
"""
from __future__ import annotations

import datetime as dt
import heapq
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


class SettableClock(Protocol):
    def now(self) -> Any: ...

    def set(self, ts: Any) -> Any: ...


@dataclass
class Launch:
    """A launched piece of work: its result or error once ``done``."""

    name: str
    at: dt.datetime
    done: bool = False
    result: Any = None
    error: BaseException | None = None
    _token: object = field(default_factory=object, repr=False)


class SimulatedScheduler:
    """See module docstring. ``max_wakes`` bounds a runaway loop (a process that never ends)."""

    def __init__(self, clock: SettableClock, max_wakes: int = 1_000_000):
        self.clock = clock
        self.max_wakes = max_wakes
        self._cond = threading.Condition()
        self._queue: list[tuple[dt.datetime, int, object]] = []
        self._order = itertools.count()
        self._active: object | None = None
        self._launches: list[Launch] = []
        self._threads: list[threading.Thread] = []

    # --- used by processes ----------------------------------------------------------------
    def sleep(self, seconds: float) -> None:
        """Yield the turn; come back when the simulated clock reaches now + ``seconds``."""
        token = self._current_token()
        with self._cond:
            wake = _as_datetime(self.clock.now()) + dt.timedelta(seconds=max(0.0, seconds))
            heapq.heappush(self._queue, (wake, next(self._order), token))
            self._active = None
            self._cond.notify_all()
            while self._active is not token:
                self._cond.wait()

    # --- used by the driver ---------------------------------------------------------------
    def launch(self, name: str, at: dt.datetime, work: Callable[[], Any]) -> Launch:
        """Run ``work()`` in its own thread from simulated time ``at`` (or now, if later)."""
        launch = Launch(name, at)
        self._launches.append(launch)

        def body() -> None:
            _TOKENS.token = launch._token
            with self._cond:
                while self._active is not launch._token:
                    self._cond.wait()
            try:
                launch.result = work()
            except BaseException as exc:  # reported to the driver, never lost
                launch.error = exc
            finally:
                with self._cond:
                    launch.done = True
                    self._active = None
                    self._cond.notify_all()

        with self._cond:
            heapq.heappush(self._queue, (at, next(self._order), launch._token))
        thread = threading.Thread(target=body, name=f"sim-{name}", daemon=True)
        self._threads.append(thread)
        thread.start()
        return launch

    def wake_all(self) -> None:
        """Bring every pending wake-up forward to the current simulated time (after asking the
        processes to stop, so they notice at once)."""
        now = _as_datetime(self.clock.now())
        with self._cond:
            self._queue = [(min(wake, now), order, token) for wake, order, token in self._queue]
            heapq.heapify(self._queue)

    def run(self, until: dt.datetime | None = None) -> list[Launch]:
        """Hand out turns in time order until nothing is left to run (or the next wake-up is
        after ``until``); returns the launches finished so far."""
        wakes = 0
        while True:
            with self._cond:
                while self._active is not None:
                    self._cond.wait()
                if not self._queue or (until is not None and self._queue[0][0] > until):
                    break
                wake, _, token = heapq.heappop(self._queue)
                if wake > _as_datetime(self.clock.now()):
                    self.clock.set(wake)
                self._active = token
                self._cond.notify_all()
            wakes += 1
            if wakes > self.max_wakes:
                raise RuntimeError(f"simulated scheduler: more than {self.max_wakes} wake-ups")
        return [launch for launch in self._launches if launch.done]

    def _current_token(self) -> object:
        token = getattr(_TOKENS, "token", None)
        if token is None:
            raise RuntimeError("sleep() called outside a launched process")
        return token


_TOKENS = threading.local()


def _as_datetime(value: Any) -> dt.datetime:
    return value.to_pydatetime() if hasattr(value, "to_pydatetime") else value
