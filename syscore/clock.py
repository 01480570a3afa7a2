"""Where "now" comes from.

Every component that needs the current time is given a :class:`Clock`. Production uses
:class:`RealClock`; paper trading and tests use :class:`SimulatedClock`, whose time lives in a
small JSON file under the home directory so that every process sharing one ``SYSTRADE_HOME``
sees the same simulated time.

All timestamps are tz-aware UTC :class:`pandas.Timestamp` objects with nanosecond resolution.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol, runtime_checkable

import pandas as pd

from syscore.dates import aware_to_utc

CLOCK_FILE_NAME = "sim_clock.json"
DEFAULT_SIMULATED_START = pd.Timestamp("2024-01-02 14:00", tz="UTC")




@runtime_checkable
class Clock(Protocol):
    """Source of the current time."""

    def now(self) -> pd.Timestamp:
        """Current time, tz-aware UTC."""
        ...


class RealClock:
    """The machine's wall clock, in UTC."""

    def now(self) -> pd.Timestamp:
        return pd.Timestamp.now(tz="UTC")

    def __repr__(self) -> str:
        return "RealClock()"


class SimulatedClock:
    """A clock whose time is stored in ``<home>/sim_clock.json`` and moves only when told.

    The file is written by atomic replace (write a temporary file, ``os.replace``; with
    ``durable=True`` also ``fsync`` so the time survives a power cut, not only a killed process)
    and read-modify-write operations (:meth:`advance`) hold an exclusive ``flock`` on a sibling
    lock file, so concurrent processes never lose an advance.

    If the file does not exist yet it is created at ``start`` (default
    :data:`DEFAULT_SIMULATED_START`, 2024-01-02 14:00 UTC, a Tuesday when most markets are open).
    """

    def __init__(self, home: Path | str, start: pd.Timestamp | None = None, durable: bool = False):
        self._durable = durable
        self._dir = Path(home)
        self._dir.mkdir(parents=True, exist_ok=True)
        self.path = self._dir / CLOCK_FILE_NAME
        self._lock_path = self._dir / (CLOCK_FILE_NAME + ".lock")
        initial = aware_to_utc(start) if start is not None else DEFAULT_SIMULATED_START
        with self._locked():
            if not self.path.exists():
                self._write(initial)

    def now(self) -> pd.Timestamp:
        return self._read()

    def set(self, ts: pd.Timestamp | dt.datetime | str) -> pd.Timestamp:
        """Set the simulated time (moving backwards is allowed: tests may rewind)."""
        value = aware_to_utc(ts)
        with self._locked():
            self._write(value)
        return value

    def advance(self, delta: dt.timedelta | pd.Timedelta) -> pd.Timestamp:
        """Move the simulated time forward by ``delta`` (must be >= 0); returns the new time."""
        step = pd.Timedelta(delta)
        if step < pd.Timedelta(0):
            raise ValueError(f"cannot advance a clock by a negative amount ({step})")
        with self._locked():
            value = self._read() + step
            self._write(value)
        return value

    def __repr__(self) -> str:
        return f"SimulatedClock({str(self._dir)!r})"

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self._lock_path, "a+") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _read(self) -> pd.Timestamp:
        with open(self.path, encoding="utf-8") as handle:
            payload = json.load(handle)
        return pd.Timestamp(int(payload["utc_ns"]), tz="UTC")

    def _write(self, value: pd.Timestamp) -> None:
        payload = {"utc_ns": int(value.value), "utc": value.isoformat()}
        fd, tmp = tempfile.mkstemp(dir=self._dir, prefix=".sim_clock.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(payload, handle)
                if self._durable:
                    handle.flush()
                    os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise


def clock_from_config(kind: str, home: Path | str) -> Clock:
    """Build a clock from configuration: ``kind`` is ``"real"`` or ``"simulated"``.

    ``home`` is the SYSTRADE_HOME directory (used by the simulated clock for its state file).
    """
    normalised = kind.strip().lower()
    if normalised == "real":
        return RealClock()
    if normalised == "simulated":
        return SimulatedClock(home)
    raise ValueError(f"clock kind must be 'real' or 'simulated', got {kind!r}")
