"""Attacks on the ledger's record numbers: restored backups, emptied stores, mixed formats."""
from __future__ import annotations

import pytest

from syscore.exceptions import LedgerBehindProjections
from sysdata.ledger import LEDGER, LedgerData, seq_key
from sysdata.state.base import Delete
from sysobjects.orders.records import Fill


def fill(exec_id, qty, order=1, contract="202403"):
    return Fill(exec_id, "CORN", contract, qty, 100.0, "2024-01-02 10:00", "trend",
                broker_order_id=order, contract_order_id=order, instrument_order_id=order)


def _restore_older_ledger(store, keep: int) -> None:
    """The ledger as an older backup had it (records after ``keep`` gone), caches newer."""
    head = LedgerData(store).head()
    store.apply([Delete(LEDGER, seq_key(seq)) for seq in range(keep + 1, head + 1)])


@pytest.mark.parametrize("keep", [2, 0], ids=["older-ledger", "emptied-ledger"])
def test_caches_ahead_of_the_ledger_refuse_a_booking_and_number_nothing(state_store, keep):
    """Restored: the ledger from an older backup, the caches from a newer one. Booking must
    not number a record after the caches (``#5`` where the ledger holds 2 records): that
    record would collide with every later record of the subject once the caches are rebuilt,
    and the subject could never be booked again."""
    ledger = LedgerData(state_store)
    for n in range(1, 5):
        ledger.book_fill(fill(f"a.{n}", 1))
    _restore_older_ledger(state_store, keep=keep)
    ledger = LedgerData(state_store)
    with pytest.raises(LedgerBehindProjections, match="ahead of the ledger"):
        ledger.book_fill(fill("a.5", 1))
    assert ledger.find_uid("fill:a.5") is None
    with pytest.raises(LedgerBehindProjections):  # nor is a position read as if all were well
        ledger.view("strategy_position", "trend/CORN")
    # the operator restores consistency (here: rebuilds from the ledger), bookings go on
    ledger.rebuild_projections()
    for n in range(5, 9):
        ledger.book_fill(fill(f"a.{n}", 1))
    assert ledger.view("strategy_position", "trend/CORN").state["position"] == keep + 4
    assert ledger.check_projections(repair=False) == []
