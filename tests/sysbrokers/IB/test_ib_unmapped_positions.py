"""A position IB holds in a contract without an IB mapping: left out of ``get_positions`` (it
cannot be named as instrument and contract), but alerted (CRITICAL, once per broker and
quantity) and listed by ``get_unmapped_positions`` and the reconcile report, against the fake
TWS through real ib_async. It used to be dropped with a warning only: no reconciliation could
see it."""
from __future__ import annotations

import logging

import pandas as pd
import pytest

from sysbrokers.IB.broker import IBBroker
from sysbrokers.objects import OrderStatus
from sysbrokers.sim.market import default_market
from syslogdiag.alerts import list_alerts
from syslogdiag.logging_setup import setup_blob_logging, teardown_logging
from sysproduction.reporting.report import TableSection
from sysproduction.reporting.reports import reconcile_report
from tests.blob_helpers import make_blob
from tests.sysbrokers.ib_helpers import ib_config, ib_mapping

UNMAPPED = "BUND"  # held at IB, absent from the IB futures config
MAPPED = "SP500_micro"


@pytest.fixture
def market():
    return default_market()


def _hold_at_ib(fake_tws, clock, code: str, contract: str, quantity: int) -> None:
    """A position made outside systrade (straight on the simulated broker behind the fake)."""
    order = fake_tws.call(lambda f: f.broker.place_order(code, contract, quantity))
    for _ in range(40):
        clock.advance(pd.Timedelta(seconds=30))
        status = fake_tws.call(lambda f: (f.pump(), f.broker.get_order(order.order_id))[1]).status
        if status is OrderStatus.FILLED:
            return
    raise AssertionError(f"{code} order not filled: {status}")


def _broker(fake_tws, clock, store, market) -> IBBroker:
    mapping = [m for m in ib_mapping(market) if m.instrument_code != UNMAPPED]
    return IBBroker(ib_config(fake_tws.port), clock, store, mapping, owner="testhost:1",
                    sleep=lambda _s: None)


def _critical(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.levelno >= logging.CRITICAL and r.name.startswith("sysbrokers.IB")]


def test_an_unmapped_position_is_alerted_once_and_listed(fake_tws, clock, tmp_path, market,
                                                         caplog):
    bund = market.active_contracts(UNMAPPED, clock.now())[0]
    mes = market.active_contracts(MAPPED, clock.now())[0]
    _hold_at_ib(fake_tws, clock, UNMAPPED, bund, 3)
    _hold_at_ib(fake_tws, clock, MAPPED, mes, 2)
    caplog.set_level(logging.INFO)
    data = make_blob(tmp_path / "home", clock=clock,
                     broker_factory=lambda blob: _broker(fake_tws, clock, blob.state, market))
    setup_blob_logging(data, "run_stack_handler")  # what a process does: CRITICAL -> alert
    try:
        broker = data.broker
        positions = broker.get_positions()
        assert [(p.instrument_code, p.quantity) for p in positions] == [(MAPPED, 2)]
        [alerted] = _critical(caplog)
        assert "IB position without an IB mapping: FUT GBL" in alerted and "+3" in alerted
        [unmapped] = broker.get_unmapped_positions()
        assert unmapped.quantity == 3 and unmapped.description.startswith("FUT GBL ")
        assert unmapped.account == "DU1234567"
        [stored] = list_alerts(data.alerts)
        assert stored["subject"].startswith("IB position without an IB mapping: FUT GBL")

        broker.get_positions()  # the next pass: the same position is not alerted again
        assert len(_critical(caplog)) == 1
        _hold_at_ib(fake_tws, clock, UNMAPPED, bund, 1)  # it changed: alerted again
        broker.get_positions()
        assert len(_critical(caplog)) == 2 and "+4" in _critical(caplog)[-1]

        now = clock.now()
        report = reconcile_report(data, now - pd.Timedelta(days=1), now)
        [section] = [s for s in report.sections
                     if s.title == "Positions at the broker systrade cannot name"]
        assert isinstance(section, TableSection)
        assert section.table["quantity"].tolist() == [4.0]
        assert section.table["contract"].iloc[0].startswith("FUT GBL ")
    finally:
        teardown_logging()
        data.close()


def test_the_simulated_broker_has_no_unmapped_positions(tmp_path):
    from tests.blob_helpers import sim_broker_blob

    with sim_broker_blob(tmp_path / "home") as (data, _clock):
        assert data.broker.get_unmapped_positions() == []
