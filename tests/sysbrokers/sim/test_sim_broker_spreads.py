"""Spread orders on the simulated broker's own file: a file written before spread orders is
upgraded when opened (nothing lost), and both legs of a fill land at the same instant."""

from __future__ import annotations

import sqlite3

import pandas as pd

from sysbrokers.objects import OrderStatus, SpreadLeg
from sysbrokers.sim.broker import SimBroker, default_broker_path
from syscore.clock import SimulatedClock

T0 = pd.Timestamp("2024-01-09 15:00", tz="UTC")
CODE, NEAR, FAR = "SP500_micro", "202403", "202406"


def _as_before_spreads(path) -> None:
    """Make the file look like one written before spread orders: no ``orders.legs``, no
    ``executions.leg``, one execution per order and instant."""
    conn = sqlite3.connect(str(path))
    conn.executescript(
        "DROP INDEX executions_once_per_leg;"
        "ALTER TABLE executions DROP COLUMN leg;"
        "ALTER TABLE orders DROP COLUMN legs;"
        "CREATE UNIQUE INDEX executions_once ON executions(order_id, time_ns);")
    conn.close()


def test_a_file_from_before_spreads_is_upgraded_and_keeps_its_fills(systrade_home):
    clock = SimulatedClock(systrade_home, start=T0)
    broker = SimBroker(clock, systrade_home)
    outright = broker.place_order(CODE, NEAR, 2, client_ref="old")
    clock.advance(pd.Timedelta(minutes=1))
    assert broker.get_order(outright.order_id).status is OrderStatus.FILLED
    before = broker.get_executions()
    broker.close()
    _as_before_spreads(default_broker_path(systrade_home))

    broker = SimBroker(clock, systrade_home)
    try:
        assert broker.get_executions() == before  # nothing lost
        assert broker.get_order(outright.order_id).legs == ()
        spread = broker.place_spread_order(CODE, (SpreadLeg(FAR, 1), SpreadLeg(NEAR, -1)), 1,
                                           client_ref="new")
        clock.advance(pd.Timedelta(minutes=1))
        assert broker.get_order(spread.order_id).status is OrderStatus.FILLED
        legs = [e for e in broker.get_executions() if e.order_id == spread.order_id]
        assert sorted((e.contract_date, e.quantity) for e in legs) == [(NEAR, -1), (FAR, 1)]
        assert legs[0].timestamp == legs[1].timestamp  # one instant, two executions
        positions = {p.contract_date: p.quantity for p in broker.get_positions()}
        assert positions == {NEAR: 1, FAR: 1}
    finally:
        broker.close()
