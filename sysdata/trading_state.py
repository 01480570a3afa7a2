"""The global trading state in the state store, with an audit record of every change.

Collection ``trading_state``: an append-only history, one document per change, keyed by its
sequence number (1, 2, 3, ... zero-padded): ``seq``, ``state``, ``previous``, ``reason``,
``changed_by`` and ``timestamp`` (ISO-8601 UTC). The current state is the last record's; with no
record at all it is ``ACTIVE`` (a home where nobody ever set it). A change is one insert at
"last sequence number + 1": atomic on every backend, and of two operators changing the state at
the same moment the second's insert is refused, it re-reads and its change is recorded after the
first (no change is lost, none is overwritten). Records are never changed or deleted.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from syscore.dates import iso_utc, to_utc
from syscore.exceptions import ConcurrencyError, ExistingData, InvalidData
from sysdata.state.base import Insert, StateStore
from sysobjects.trading_state import TradingState, change_trading_state

TRADING_STATE = "trading_state"
DEFAULT_STATE = TradingState.ACTIVE
RETRIES = 20


def _key(seq: int) -> str:
    return f"{seq:012d}"


@dataclass(frozen=True)
class TradingStateChange:
    """One audited change: ``seq`` (1, 2, ...), the new ``state``, the ``previous`` one, the
    operator's ``reason``, who made it (``changed_by``: a process or user name) and when
    (``timestamp``, tz-aware UTC)."""

    seq: int
    state: TradingState
    previous: TradingState
    reason: str
    changed_by: str
    timestamp: pd.Timestamp

    @classmethod
    def from_doc(cls, doc: dict) -> TradingStateChange:
        return cls(int(doc["seq"]), TradingState(doc["state"]), TradingState(doc["previous"]),
                   doc["reason"], doc.get("changed_by", ""), to_utc(doc["timestamp"]))

    def __str__(self) -> str:
        who = f" by {self.changed_by}" if self.changed_by else ""
        return (f"{self.timestamp:%Y-%m-%d %H:%M:%S} UTC  {self.previous.value} -> "
                f"{self.state.value}{who}: {self.reason}")


class TradingStateData:
    """Read and change the global trading state (see the module docstring)."""

    def __init__(self, store: StateStore):
        self.store = store

    def last_change(self) -> TradingStateChange | None:
        """The latest change, or None if the state was never set."""
        rows = self.store.find(TRADING_STATE, order_by=None, descending=True, limit=1)
        return TradingStateChange.from_doc(rows[0][1]) if rows else None

    def current(self) -> TradingState:
        """The state now (``ACTIVE`` if it was never set)."""
        last = self.last_change()
        return DEFAULT_STATE if last is None else last.state

    def set(self, state: TradingState | str, reason: str, timestamp,
            changed_by: str = "") -> TradingStateChange | None:
        """Change the state to ``state`` with a ``reason`` (required: it is the audit record);
        ``timestamp`` from the caller's clock (UTC). Returns the change recorded, or None when
        the state already is ``state`` (nothing recorded)."""
        new = state if isinstance(state, TradingState) else TradingState.parse(state)
        if not isinstance(reason, str) or not reason.strip():
            raise InvalidData("a trading state change needs a reason")
        stamp = iso_utc(timestamp)
        for _ in range(RETRIES):
            last = self.last_change()
            current = DEFAULT_STATE if last is None else last.state
            if new is current:
                return None
            change_trading_state(current, new)
            seq = 1 if last is None else last.seq + 1
            doc = {"seq": seq, "state": new.value, "previous": current.value,
                   "reason": reason.strip(), "changed_by": changed_by, "timestamp": stamp}
            try:
                self.store.apply([Insert(TRADING_STATE, _key(seq), doc)])
            except ExistingData:
                continue  # another change took that number: re-read and decide again
            return TradingStateChange.from_doc(doc)
        raise ConcurrencyError("the trading state keeps changing; try again")

    def history(self, limit: int | None = None) -> list[TradingStateChange]:
        """Every change, oldest first (only the last ``limit`` if given)."""
        rows = self.store.find(TRADING_STATE, order_by=None, descending=True, limit=limit)
        return [TradingStateChange.from_doc(doc) for _, doc in reversed(rows)]
