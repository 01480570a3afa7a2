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


def test_the_command_prints_what_it_found_and_did(backend_blob):
    """``python run.py check_ledger.check_ledger`` printed a bare ``1`` (and the rebuild a
    bare ``18``): the operator could not tell what differed or whether it was repaired."""
    data = backend_blob
    assert "the ledger is empty" in str(check_ledger(data=data))  # a wrong SYSTRADE_HOME?
    data.ledger.book_fill(Fill("c-2.01", "CORN", "202403", 2, 450.0, "2024-01-02", "trend"))
    assert str(check_ledger(data=data)) == \
        "check_ledger: every projection agrees with the ledger (1 records)"
    cached = data.state.get("contract_positions", "CORN/202403")
    data.state.put("contract_positions", "CORN/202403", {**cached, "position": 7})
    found = check_ledger(repair=False, data=data)
    assert found == 1 and f"{found}" == (
        "check_ledger: 1 projection(s) differed from the ledger, NOT repaired (--repair False): "
        "run check_ledger to rebuild them: contract_position CORN/202403 (values in the log)")
    assert "rebuilt from the ledger: contract_position CORN/202403" in str(check_ledger(data=data))
    rebuilt = rebuild_ledger_projections(data=data)
    assert rebuilt > 0 and str(rebuilt) == (
        f"rebuild_ledger_projections: {int(rebuilt)} cached projections rewritten from 1 ledger "
        "records (the ledger is unchanged)")
