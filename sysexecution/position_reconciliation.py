"""Stack handler step: contract positions against the broker's; breaks lock, then unlock.

Run after the pass has booked every execution the broker reports, so that a break is a real
difference, not a fill in flight. A new break (see :func:`sysexecution.reconcile.position_breaks`)
locks its instrument with reason :data:`~sysexecution.reconcile.BREAK_LOCK_REASON` and is
returned in ``lock`` once (the caller raises one CRITICAL alert for it); while locked the gate sends nothing for it. When the break clears (e.g. a
balance trade, or the broker's late fill booked) the lock lifts itself. A lock with any other
reason (an operator's) is never lifted here.
"""
from __future__ import annotations

from dataclasses import dataclass

from sysdata.data_blob import DataBlob
from sysexecution.reconcile import (
    BREAK_LOCK_REASON,
    LockChanges,
    PositionBreak,
    lock_changes,
    position_breaks,
)
from sysobjects.contracts import validate_contract_date


@dataclass(frozen=True)
class Reconciliation:
    changes: LockChanges
    breaks: tuple[PositionBreak, ...]

    def describe(self, instrument_code: str) -> str:
        return "; ".join(str(b) for b in self.breaks if b.instrument_code == instrument_code)


def reconcile_positions(data: DataBlob) -> Reconciliation:
    """Compare, lock and unlock (see module docstring)."""
    ours = data.positions.all_contract_positions()
    theirs: dict[tuple[str, str], int] = {}
    for p in data.broker.get_positions():
        key = (p.instrument_code, validate_contract_date(p.contract_date))
        theirs[key] = theirs.get(key, 0) + p.quantity
    breaks = position_breaks(ours, theirs)
    locks = {code: data.locks.reason(code) or "" for code in data.locks.locked_instruments()}
    changes = lock_changes(breaks, locks)
    now = data.now()
    for code in changes.lock:
        data.locks.lock(code, now, BREAK_LOCK_REASON)
    for code in changes.unlock:
        data.locks.unlock(code)
    return Reconciliation(changes, tuple(breaks))
