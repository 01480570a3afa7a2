"""Leases: at most one holder at a time for a named activity (a ``run_*`` process, or the
writers of one family of time series), kept in the state store.

A lease is the document ``leases/<name>``: ``owner`` (the function or process holding it),
``pid``, ``host``, ``pid_started`` (the process's start time, so a reused pid is not taken for
the holder), ``token`` (this holding), ``started`` and ``expires`` (ISO-8601 UTC, with epoch
seconds ``started_at`` / ``expires_at`` for comparisons). Times are the machine's real clock,
not a simulated one: a lease is about real processes.

Taking, renewing and releasing are single atomic conditional updates
(:meth:`StateStore.update`: SQLite holds the write lock, MongoDB compares revisions), so two
processes can never both hold a lease. A lease can be taken when it is free, expired, or held
by a process that is dead on this host (checked with psutil). The holder renews it while it
works (:class:`LeaseKeeper`, a background thread renewing every third of the lease's length)
and deletes it when done. Within one process a lease is re-entrant: a function holding
``series/multiple_prices`` may call another that takes it too.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import psutil

from syscore.dates import iso_utc
from syscore.exceptions import LeaseHeld, StoreError
from sysdata.state.base import StateStore

LEASES = "leases"
DEFAULT_SECONDS = 300.0
log = logging.getLogger("systrade.leases")


def _process_started(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except (psutil.Error, OSError):
        return None


@dataclass(frozen=True)
class Lease:
    """One holding of a lease (what :meth:`LeaseData.take` returns)."""

    name: str
    owner: str
    token: str
    seconds: float


def _started(doc: dict[str, Any], now: float | None) -> str:
    """When the holder started: ``10:02`` today, else ``2024-01-02 10:02`` (UTC)."""
    started = pd.Timestamp(doc.get("started_at", 0), unit="s", tz="UTC")
    today = pd.Timestamp(now if now is not None else time.time(), unit="s", tz="UTC")
    return started.strftime("%H:%M" if started.date() == today.date() else "%Y-%m-%d %H:%M")


def describe_holder(doc: dict[str, Any], now: float | None = None) -> str:
    """``update_historical_prices is running: pid 1234 on host h since 10:02 UTC``."""
    return (f"{doc.get('owner', '?')} is running: pid {doc.get('pid', '?')} on host "
            f"{doc.get('host', '?')} since {_started(doc, now)} UTC")


def describe_former_holder(doc: dict[str, Any], now: float | None = None) -> str:
    """A holder whose lease is taken over (it is not running any more):
    ``run_backups (pid 1234 on host h, started 10:02 UTC``, closed by the caller."""
    return (f"{doc.get('owner', '?')} (pid {doc.get('pid', '?')} on host "
            f"{doc.get('host', '?')}, started {_started(doc, now)} UTC")


class LeaseData:
    """Take, renew and release leases in ``store`` for this process (``pid``, ``host``)."""

    def __init__(self, store: StateStore, clock: Callable[[], float] = time.time,
                 host: str | None = None, pid: int | None = None):
        self.store = store
        self.clock = clock
        self.host = host or socket.gethostname()
        self.pid = pid if pid is not None else os.getpid()
        self._pid_started = _process_started(self.pid)

    def holder(self, name: str) -> dict[str, Any] | None:
        """The current lease document of ``name`` (possibly expired), or None."""
        return self.store.get(LEASES, name)

    def holder_is_gone(self, doc: dict[str, Any], now: float) -> bool:
        """Expired, or held by a process that no longer exists on this host."""
        if float(doc.get("expires_at", 0)) <= now:
            return True
        if doc.get("host") != self.host:
            return False
        pid = int(doc.get("pid", -1))
        if not psutil.pid_exists(pid):
            return True
        started = doc.get("pid_started")
        actual = _process_started(pid)
        return started is not None and actual is not None and abs(actual - float(started)) > 1.0

    def _doc(self, name: str, owner: str, token: str, seconds: float, now: float,
             started_at: float | None = None) -> dict[str, Any]:
        started_at = now if started_at is None else started_at
        return {
            "owner": owner, "pid": self.pid, "host": self.host, "pid_started": self._pid_started,
            "token": token, "started_at": started_at, "expires_at": now + seconds,
            "started": iso_utc(pd.Timestamp(started_at, unit="s", tz="UTC")),
            "expires": iso_utc(pd.Timestamp(now + seconds, unit="s", tz="UTC")),
        }

    def take(self, name: str, owner: str, seconds: float = DEFAULT_SECONDS) -> Lease:
        """Take lease ``name`` for ``seconds``; :class:`LeaseHeld` naming the holder when
        someone else holds it. Gone holders (see :meth:`holder_is_gone`) are taken over."""
        token = uuid.uuid4().hex
        now = self.clock()
        taken_over: list[dict[str, Any]] = []

        def change(current: dict[str, Any] | None) -> dict[str, Any]:
            taken_over.clear()
            if current is not None and not self.holder_is_gone(current, now):
                return current
            if current is not None:
                taken_over.append(current)
            return self._doc(name, owner, token, seconds, now)

        result = self.store.update(LEASES, name, change)
        if result is None or result.get("token") != token:
            raise LeaseHeld(f"{describe_holder(result or {}, now)}; {owner} not started "
                            f"(lease {name}, held until {(result or {}).get('expires', '?')})")
        for previous in taken_over:
            log.warning("lease %s taken over from %s; %s)", name,
                        describe_former_holder(previous, now),
                        "expired" if float(previous.get("expires_at", 0)) <= now else
                        "process gone")
        return Lease(name, owner, token, seconds)

    def renew(self, lease: Lease) -> None:
        """Push the expiry ``lease.seconds`` ahead; :class:`LeaseHeld` if it is no longer ours
        (it expired and someone else took it)."""
        now = self.clock()

        def change(current: dict[str, Any] | None) -> dict[str, Any] | None:
            if current is None or current.get("token") != lease.token:
                return current
            return self._doc(lease.name, lease.owner, lease.token, lease.seconds, now,
                             started_at=float(current.get("started_at", now)))

        result = self.store.update(LEASES, lease.name, change)
        if result is None or result.get("token") != lease.token:
            holder = describe_holder(result, now) if result else "nobody holds it"
            raise LeaseHeld(f"lease {lease.name} of {lease.owner} was lost: {holder}")

    def release(self, lease: Lease) -> None:
        """Delete the lease if it is still ours (never someone else's)."""
        self.store.update(LEASES, lease.name,
                          lambda current: None if current is not None
                          and current.get("token") == lease.token else current)


class LeaseKeeper:
    """Renews a lease in a background thread every ``lease.seconds / 3`` until stopped. A
    lease found lost is logged (CRITICAL) and no longer renewed; :attr:`lost` says so."""

    def __init__(self, leases: LeaseData, lease: Lease):
        self.leases = leases
        self.lease = lease
        self.lost: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{lease.name}",
                                        daemon=True)

    def start(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.lease.seconds / 3):
            try:
                self.leases.renew(self.lease)
            except LeaseHeld as exc:
                self.lost = str(exc)
                log.critical("%s", exc)
                return
            except StoreError as exc:  # try again next time; expiry leaves a margin
                log.error("could not renew lease %s: %s", self.lease.name, exc)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


class _Held:
    """This process's holdings, for re-entrancy: (store url, name) -> [lease, keeper, depth]."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: dict[tuple[str, str], list[Any]] = {}


_HELD = _Held()


class hold_lease:  # noqa: N801 - used as a context manager, like contextlib's helpers
    """``with hold_lease(store, name, owner, seconds):`` takes (or re-enters) the lease, keeps
    it renewed while the block runs and releases it at the end, whatever happens."""

    def __init__(self, store: StateStore, name: str, owner: str,
                 seconds: float = DEFAULT_SECONDS, leases: LeaseData | None = None):
        self.store = store
        self.name = name
        self.owner = owner
        self.seconds = seconds
        self.leases = leases or LeaseData(store)
        self._key = (str(getattr(store, "url", id(store))), name)

    def __enter__(self) -> Lease:
        with _HELD.lock:
            entry = _HELD.entries.get(self._key)
            if entry is not None:
                entry[2] += 1
                return entry[0]
        lease = self.leases.take(self.name, self.owner, self.seconds)
        keeper = LeaseKeeper(self.leases, lease).start()
        with _HELD.lock:
            _HELD.entries[self._key] = [lease, keeper, 1]
        return lease

    def __exit__(self, *exc: object) -> None:
        with _HELD.lock:
            entry = _HELD.entries[self._key]
            entry[2] -= 1
            if entry[2] > 0:
                return
            del _HELD.entries[self._key]
        lease, keeper = entry[0], entry[1]
        keeper.stop()
        try:
            self.leases.release(lease)
        except StoreError as exc:  # it expires by itself
            log.error("could not release lease %s: %s", lease.name, exc)
