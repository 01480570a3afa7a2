"""Operator functions for the money ledger: check the projections, rebuild them.

``python run.py check_ledger.check_ledger [--repair False]`` and
``python run.py check_ledger.rebuild_ledger_projections`` (see ``docs/execution.md``).
"""
from __future__ import annotations

from sysdata.data_blob import DataBlob
from sysproduction.process_helpers import blob_for


def check_ledger(repair: bool = True, data: DataBlob | None = None) -> int:
    """Compare every cached projection (positions, order fills, orders) with the ledger. Each
    mismatch is logged CRITICAL (an alert) and, with ``repair``, that cache is rebuilt from the
    ledger. Returns the number of mismatches (0: everything agrees)."""
    with blob_for(data, "check_ledger") as blob:
        mismatches = blob.ledger.check_projections(repair=repair)
        blob.log.info("ledger check: %d projection(s) differed from the ledger%s",
                      len(mismatches), " and were rebuilt" if repair and mismatches else "")
        return len(mismatches)


def rebuild_ledger_projections(data: DataBlob | None = None) -> int:
    """Recompute every projection from the ledger alone; returns how many caches were
    written. The ledger itself is never changed."""
    with blob_for(data, "rebuild_ledger_projections") as blob:
        return blob.ledger.rebuild_projections()
