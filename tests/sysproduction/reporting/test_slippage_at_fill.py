"""The simulated broker records the top of book at each fill; the slippage, costs and
spread-cost reports measure slippage against that mid (both state backends)."""
from __future__ import annotations

import sqlite3

import pandas as pd
import pytest

from sysbrokers.sim.store import BrokerStore
from sysexecution.broker_fills import book_executions
from sysobjects.instruments import InstrumentConfig
from sysproduction.reporting import data as figures
from sysproduction.reporting import markets
from sysproduction.reporting.render import to_text
from sysproduction.reporting.reports import REPORTS
from tests.blob_helpers import SIM_START
from tests.sysexecution.test_broker_fills import CODE, CONTRACT, family

TICK = 0.25  # SP500_micro


@pytest.fixture
def traded(sim_broker_env):
    """A buy of 3 and a sell of 2 SP500_micro market orders, filled and booked; the broker
    orders carry no mid price at submission, so any mid in the reports is the fill's."""
    data, clock = sim_broker_env
    data.instruments.add(InstrumentConfig(CODE, pointsize=5.0, asset_class="Equity",
                                          spread_cost=0.25, tick_size=TICK))
    for trade in (3, -2):
        _, _, order = family(data, trade)
        assert order.mid_price is None
        data.broker.place_order(CODE, CONTRACT, trade, client_ref=order.client_ref)
        clock.advance(pd.Timedelta(minutes=5))
    executions = data.broker.get_executions()
    assert book_executions(data, executions).booked
    return data, executions


def test_sim_executions_and_ledger_fills_carry_the_book_at_the_fill(traded):
    data, executions = traded
    for execution in executions:
        assert execution.bid is not None and execution.ask is not None
        assert execution.ask - execution.bid == pytest.approx(TICK)  # one tick, liquid
        # a market order fills at the touch (no slippage ticks configured)
        assert execution.price == (execution.ask if execution.quantity > 0 else execution.bid)
    fills = [doc["record"] for doc in data.ledger.records(0, None, where={"kind": "fill"})]
    assert {(f["bid"], f["ask"]) for f in fills} == {(e.bid, e.ask) for e in executions}


def test_slippage_against_the_mid_at_the_fill_is_half_the_spread(traded):
    data, executions = traded
    end = data.now()
    table = figures.slippage_table(data, SIM_START, end)
    assert len(table) == len(executions) and not table.empty
    assert set(table["mid_at"]) == {"fill"}
    # bought at the ask, sold at the bid: half a 0.25 spread = 0.125 points of cost each,
    # half a tick, × |quantity| × point size 5 in cash
    assert table["mid_points"].tolist() == pytest.approx([0.125] * len(table))
    assert table["mid_ticks"].tolist() == pytest.approx([0.5] * len(table))
    assert table["mid_cash"].tolist() == pytest.approx(
        [0.125 * abs(q) * 5 for q in table["quantity"]])
    for _, row in table.iterrows():
        execution = next(e for e in executions if e.price == row["price"]
                         and e.quantity == row["quantity"])
        assert row["mid"] == (execution.bid + execution.ask) / 2
    # the costs and spread-cost reports now have a row from trades alone (no spread samples)
    costs = figures.costs_table(data, SIM_START, end)
    assert costs.loc[CODE, "fills"] == len(table)
    assert costs.loc[CODE, "median_mid_slippage"] == pytest.approx(0.125)
    suggestions = markets.spread_cost_suggestions(data, SIM_START, end)
    assert suggestions.loc[CODE, "from_trades"] == pytest.approx(0.125)
    assert suggestions.loc[CODE, "blended"] == pytest.approx(0.125)  # no samples: trades only
    assert suggestions.loc[CODE, "difference_pct"] == pytest.approx(-50.0)  # vs 0.25
    text = to_text(REPORTS["slippage"](data, SIM_START, end))
    assert CODE in text and "-50.00" in text


def test_a_sim_broker_file_without_the_book_columns_is_upgraded(tmp_path):
    path = tmp_path / "broker.sqlite"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE executions (exec_id INTEGER PRIMARY KEY AUTOINCREMENT, order_id "
                "INTEGER NOT NULL, instrument_code TEXT NOT NULL, contract_date TEXT NOT NULL, "
                "quantity INTEGER NOT NULL, price REAL NOT NULL, commission REAL NOT NULL, "
                "currency TEXT NOT NULL, time_ns INTEGER NOT NULL)")
    old.execute("INSERT INTO executions(order_id, instrument_code, contract_date, quantity, "
                "price, commission, currency, time_ns) VALUES (1, 'X', '202403', 1, 10.0, 0, "
                "'USD', 5)")
    old.commit()
    old.close()
    store = BrokerStore(path)
    try:
        row = store.read("SELECT * FROM executions")[0]
        assert (row["price"], row["bid"], row["ask"]) == (10.0, None, None)  # kept, no book
    finally:
        store.close()
