"""One IB login managing two accounts (the fake TWS serving DU111 and DU222): the broker
trades and reports only the configured ``ib.account``, and refuses to start when that account
is not managed or when none is configured (through real ib_async)."""
from __future__ import annotations

import pandas as pd
import pytest

from sysbrokers.errors import AccountNotManaged, BrokerDisconnected
from sysbrokers.IB.fake_tws import FakeTwsConfig, FakeTwsThread
from sysbrokers.objects import OrderStatus
from sysbrokers.sim.broker import SimBroker
from sysbrokers.sim.market import default_market
from sysdata.process_control import ClientIdData
from tests.sysbrokers.ib_helpers import ib_broker

CODE = "SP500_micro"
FIRST, SECOND = "DU111", "DU222"


@pytest.fixture
def market():
    return default_market()


@pytest.fixture
def two_accounts(tmp_path, clock, market):
    home = tmp_path / "home"
    with FakeTwsThread(market, clock, config=FakeTwsConfig(accounts=(FIRST, SECOND)),
                       broker_factory=lambda: SimBroker(clock, home, market)) as tws:
        yield tws


def _broker(tws, clock, tmp_path, market, account, name="ib_home"):
    return ib_broker(tws.port, clock, tmp_path / name, market, account=account)


def _fill(broker, clock, qty, ref):
    contract = default_market().active_contracts(CODE, clock.now())[0]
    order = broker.place_order(CODE, contract, qty, client_ref=ref)
    for _ in range(40):
        if broker.get_order(order.order_id).status is OrderStatus.FILLED:
            return order
        clock.advance(pd.Timedelta(seconds=5))
        broker.sync()
        broker.sync()
    raise AssertionError("not filled")


def test_an_account_the_login_does_not_manage_refuses_to_start(two_accounts, clock, tmp_path,
                                                               market):
    with pytest.raises(AccountNotManaged, match="not one of the 2 account") as info:
        _broker(two_accounts, clock, tmp_path, market, "DU999")
    assert "DU999" not in str(info.value) and FIRST not in str(info.value)  # ids are secrets
    assert isinstance(info.value, BrokerDisconnected)  # the factory's one-line start-up error
    store = tmp_path / "ib_home" / "state.sqlite"
    from sysdata.state.sqlite_store import SqliteStateStore

    assert ClientIdData(SqliteStateStore(store)).owners() == {}  # its client id released
    assert two_accounts.call(lambda f: f.connected_client_ids) == []


def test_several_accounts_and_none_configured_refuses_to_start(two_accounts, clock, tmp_path,
                                                               market):
    with pytest.raises(AccountNotManaged, match="manages 2 accounts: set ib.account"):
        _broker(two_accounts, clock, tmp_path, market, None)


def test_positions_and_executions_are_the_configured_accounts_only(two_accounts, clock,
                                                                   tmp_path, market):
    first = _broker(two_accounts, clock, tmp_path, market, FIRST, "first")
    second = _broker(two_accounts, clock, tmp_path, market, SECOND, "second")
    try:
        mine = _fill(first, clock, 2, "first/1")
        assert [p.quantity for p in first.get_positions()] == [2]
        assert {e.order_id for e in first.get_executions()} == {mine.order_id}
        assert all(e.account == FIRST for e in first.get_executions())
        # the fake holds every position under its first account: none is the second's
        assert second.get_positions() == []
        assert second.get_executions() == []
        theirs = _fill(second, clock, 1, "second/1")
        assert {e.order_id for e in second.get_executions()} == {theirs.order_id}
        assert {e.account for e in second.get_executions()} == {SECOND}
        assert {e.order_id for e in first.get_executions()} == {mine.order_id}
    finally:
        first.close()
        second.close()
