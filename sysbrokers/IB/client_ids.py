"""Broker client ids for IB connections, allocated in the state store.

Each process connecting to TWS / IB Gateway needs a client id no other connected session uses.
Ids are taken from ``[client_id_min, client_id_max]`` (``ib.client_id_min`` plays the role of
pysystemtrade's ``ib_idoffset``), recorded in the state store with their owner
(``<host>:<pid>``) so two processes never pick the same one, released on close, and released
for this host at machine start-up (:mod:`sysproduction.startup`).
"""
from __future__ import annotations

import os
import socket

from sysdata.process_control import ClientIdData


def default_owner() -> str:
    """``<host>:<pid>`` of this process (``SYSTRADE_HOST`` overrides the host name, as for
    process control)."""
    return f"{os.environ.get('SYSTRADE_HOST') or socket.gethostname()}:{os.getpid()}"


class ClientIdAllocator:
    """Allocates and releases this process's client ids (several when TWS refuses one)."""

    def __init__(self, data: ClientIdData, low: int, high: int, owner: str | None = None):
        if high < low:
            raise ValueError(f"client id range [{low}, {high}] is empty")
        self.data = data
        self.low = low
        self.high = high
        self.owner = owner or default_owner()
        self.held: list[int] = []

    def allocate(self) -> int:
        """The lowest id free in the store, recorded as ours (StoreError if none is free)."""
        client_id = self.data.allocate(self.low, self.high, self.owner)
        self.held.append(client_id)
        return client_id

    def release(self, client_id: int) -> None:
        if client_id in self.held:
            self.held.remove(client_id)
        self.data.release(client_id)

    def release_all(self) -> None:
        for client_id in list(self.held):
            self.release(client_id)
