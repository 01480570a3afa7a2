"""Operator functions for the money ledger: check the projections, rebuild them.

``python run.py check_ledger.check_ledger [--repair False]`` and
``python run.py check_ledger.rebuild_ledger_projections`` (see ``docs/execution.md``).
Each returns a count (an ``int``) that prints as one summary line.
"""
from __future__ import annotations

from sysdata.data_blob import DataBlob
from sysproduction.process_helpers import blob_for

SHOWN = 5  # mismatches named on the summary line; the log has every one


class LedgerCheck(int):
    """The number of projections that differed from the ledger (0: everything agrees); prints
    as ``check_ledger: ...`` naming the first :data:`SHOWN` of them and what was done."""

    def __new__(cls, mismatches, repaired: bool, checked_head: int):
        self = super().__new__(cls, len(mismatches))
        self.names = [f"{m.projection} {m.subject}" for m in mismatches]
        self.repaired, self.checked_head = repaired, checked_head
        return self

    def __str__(self) -> str:
        if not self.names and not self.checked_head:
            return ("check_ledger: the ledger is empty (no fill, order event or adjustment "
                    "was ever booked in this home): nothing to check. Is SYSTRADE_HOME the "
                    "home you meant?")
        if not self.names:
            return (f"check_ledger: every projection agrees with the ledger "
                    f"({self.checked_head:,} records)")
        shown = ", ".join(self.names[:SHOWN]) + (
            f" and {len(self.names) - SHOWN} more" if len(self.names) > SHOWN else "")
        done = "rebuilt from the ledger" if self.repaired else \
            "NOT repaired (--repair False): run check_ledger to rebuild them"
        return (f"check_ledger: {len(self.names)} projection(s) differed from the ledger, "
                f"{done}: {shown} (values in the log)")

    @property
    def ok(self) -> bool:
        """False when any projection differed (a process run then fails: cron sees it)."""
        return not self.names

    __repr__ = int.__repr__
    __format__ = object.__format__


class Rebuilt(int):
    """How many cached projections were written; prints as one line."""

    def __new__(cls, written: int, head: int):
        self = super().__new__(cls, written)
        self.head = head
        return self

    def __str__(self) -> str:
        return (f"rebuild_ledger_projections: {int(self):,} cached projections rewritten from "
                f"{self.head:,} ledger records (the ledger is unchanged)")

    __repr__ = int.__repr__
    __format__ = object.__format__


def check_ledger(repair: bool = True, data: DataBlob | None = None) -> int:
    """Compare every cached projection (positions, order fills, orders) with the ledger. Each
    mismatch is logged CRITICAL (an alert) and, with ``repair``, that cache is rebuilt from the
    ledger. Returns the number of mismatches (0: everything agrees), an ``int`` that prints
    as a summary line naming them."""
    with blob_for(data, "check_ledger") as blob:
        mismatches = blob.ledger.check_projections(repair=repair)
        blob.log.info("ledger check: %d projection(s) differed from the ledger%s",
                      len(mismatches), " and were rebuilt" if repair and mismatches else "")
        return LedgerCheck(mismatches, repair, blob.ledger.head())


def rebuild_ledger_projections(data: DataBlob | None = None) -> int:
    """Recompute every projection from the ledger alone; returns how many caches were
    written (an ``int`` that prints as a summary line). The ledger itself is never changed."""
    with blob_for(data, "rebuild_ledger_projections") as blob:
        written = blob.ledger.rebuild_projections()
        return Rebuilt(written, blob.ledger.head())
