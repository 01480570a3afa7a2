"""The reconcile report lists the broker's own recent executions, each marked booked or not on
our ledger (simulated broker, SQLite and MongoDB)."""
from __future__ import annotations

import pandas as pd

from sysobjects.orders.records import Fill
from sysproduction.reporting.data import broker_trades_table
from sysproduction.reporting.render import to_text
from sysproduction.reporting.reports import REPORTS
from tests.blob_helpers import SIM_START

CODE, CONTRACT = "SP500_micro", "202403"
START = SIM_START - pd.Timedelta(hours=1)


def test_broker_trades_marked_booked_or_not(sim_broker_env):
    data, clock = sim_broker_env
    data.broker.place_order(CODE, CONTRACT, 2, client_ref="ours")
    data.broker.place_order(CODE, CONTRACT, -1, client_ref="outside")  # a trade made by hand
    clock.advance(pd.Timedelta(minutes=5))
    end = SIM_START + pd.Timedelta(minutes=5)
    executions = data.broker.get_executions()
    ours = [e for e in executions if e.client_ref == "ours"]
    outside = [e for e in executions if e.client_ref == "outside"]
    assert ours and outside
    for e in ours:  # booked on our ledger as our fills
        data.ledger.book_fill(Fill(e.exec_id, e.instrument_code, CONTRACT, e.quantity, e.price,
                                   e.timestamp, strategy_name="trend"))
    table = broker_trades_table(data, START, end)
    booked = dict(zip(table["exec_id"], table["booked"], strict=True))
    assert booked == {**{e.exec_id: True for e in ours}, **{e.exec_id: False for e in outside}}
    assert table["quantity"].sum() == 2 - 1
    text = to_text(REPORTS["reconcile"](data, START, end))
    assert f"{len(outside)} not booked on our ledger" in text
    # outside the period: nothing listed
    assert broker_trades_table(data, START - pd.Timedelta(days=2), START).empty
