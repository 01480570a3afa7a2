"""Reading only what is new: ``get_executions(since)`` asks TWS for the executions from then
on (``ExecutionFilter.time``), and the stack handler's complete recovery reads from one day
before the previous complete recovery, not every execution ever recorded (the IB book keeps
them all in the state store). Real ib_async against the fake TWS."""
from __future__ import annotations

import pandas as pd
import pytest

from sysbrokers.objects import OrderStatus
from sysbrokers.sim.market import default_market
from sysexecution.order_reconciliation import RECOVERY_OVERLAP, recover_executions
from tests.blob_helpers import make_blob
from tests.sysbrokers.ib_helpers import ib_broker

CODE = "SP500_micro"


@pytest.fixture
def market():
    return default_market()


def _filled(broker, clock, contract, qty, ref):
    order = broker.place_order(CODE, contract, qty, client_ref=ref)
    for _ in range(40):
        if broker.get_order(order.order_id).status is OrderStatus.FILLED:
            return order
        clock.advance(pd.Timedelta(seconds=5))
        broker.sync()
        broker.sync()
    raise AssertionError("not filled")


def _exec_filter_times(fake_tws) -> list[str]:
    """The ``time`` field of every reqExecutions (7) the fake received, in order."""
    return fake_tws.call(lambda f: [r.fields[5] for r in f.received if r.msg_id == 7])


def test_executions_since_ask_tws_only_for_the_newer_ones(fake_tws, clock, tmp_path, market):
    broker = ib_broker(fake_tws.port, clock, tmp_path / "ib_home", market)
    try:
        contract = market.active_contracts(CODE, clock.now())[0]
        first = _filled(broker, clock, contract, 3, "old")
        clock.advance(pd.Timedelta(minutes=10))
        middle = clock.now()
        second = _filled(broker, clock, contract, 1, "new")
        newer = broker.get_executions(since=middle)
        assert {e.order_id for e in newer} == {second.order_id}
        assert sum(e.quantity for e in newer) == 1
        assert _exec_filter_times(fake_tws)[-1] == middle.strftime("%Y%m%d-%H:%M:%S")
        everything = broker.get_executions()
        assert {e.order_id for e in everything} == {first.order_id, second.order_id}
        assert _exec_filter_times(fake_tws)[-1] == ""
    finally:
        broker.close()


def test_the_fake_applies_the_time_filter(fake_tws, clock, tmp_path, market, connect):
    from ib_async import ExecutionFilter

    broker = ib_broker(fake_tws.port, clock, tmp_path / "ib_home", market)
    try:
        contract = market.active_contracts(CODE, clock.now())[0]
        _filled(broker, clock, contract, 2, "old")
        clock.advance(pd.Timedelta(minutes=10))
        middle = clock.now()
        _filled(broker, clock, contract, 1, "new")
    finally:
        broker.close()
    ib = connect(7)
    utc = ib.reqExecutions(ExecutionFilter(time=middle.strftime("%Y%m%d-%H:%M:%S")))
    assert {f.execution.orderRef for f in utc} == {"new"}
    local = ib.reqExecutions(ExecutionFilter(time=middle.strftime("%Y%m%d %H:%M:%S UTC")))
    assert {f.execution.orderRef for f in local} == {"new"}
    assert {f.execution.orderRef for f in ib.reqExecutions()} == {"old", "new"}


def test_a_complete_recovery_reads_from_a_day_before_the_previous_one(fake_tws, clock,
                                                                     tmp_path, market):
    data = make_blob(tmp_path / "home", clock=clock, broker_factory=lambda blob: ib_broker(
        fake_tws.port, clock, tmp_path / "ib_home", market))
    try:
        before = len(_exec_filter_times(fake_tws))
        recover_executions(data, full=True)  # never recovered: everything
        first_at = clock.now()
        clock.advance(pd.Timedelta(hours=3))
        recover_executions(data, full=True)  # e.g. after a reconnect: from a day before
        times = _exec_filter_times(fake_tws)[before:]
        assert times[-2] == ""
        assert times[-1] == (first_at - RECOVERY_OVERLAP).strftime("%Y%m%d-%H:%M:%S")
    finally:
        data.close()
