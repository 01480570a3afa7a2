"""The operator's ledger check and rebuild, on each state backend."""
from __future__ import annotations

from sysobjects.orders.records import Fill
from sysproduction.check_ledger import check_ledger, rebuild_ledger_projections


def test_check_reports_and_repairs_then_rebuild_keeps_positions(backend_blob):
    data = backend_blob
    data.ledger.book_fill(Fill("c-1.01", "CORN", "202403", 2, 450.0, "2024-01-02", "trend"))
    assert check_ledger(data=data) == 0
    cached = data.state.get("contract_positions", "CORN/202403")
    data.state.put("contract_positions", "CORN/202403", {**cached, "position": 7})
    assert check_ledger(repair=False, data=data) == 1
    assert check_ledger(data=data) == 1  # reported and repaired
    assert check_ledger(data=data) == 0
    assert rebuild_ledger_projections(data=data) > 0
    assert data.positions.get_contract_position("CORN", "202403") == 2
