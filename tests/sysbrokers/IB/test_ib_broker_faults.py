"""The IB broker (real ib_async over a socket) against the fake TWS's scripted faults:
client id in use (326), pacing (162), unknown contracts (200), competing sessions (10197),
informational order errors (10349), split frames, stalls, and a disconnect with working orders
and fills during the outage."""
from __future__ import annotations

import logging
import time

import pandas as pd
import pytest

from sysbrokers.errors import (
    BrokerDisconnected,
    BrokerError,
    InvalidOrderState,
    MarketDataUnavailable,
    OrderRejected,
    PacingViolation,
    UnknownContract,
)
from sysbrokers.IB.fake_tws import messages as m
from sysbrokers.objects import (
    CommissionEvent,
    ConnectionEvent,
    ExecutionEvent,
    OrderStatus,
    OrderType,
)
from sysbrokers.sim.market import default_market
from sysdata.process_control import ClientIdData
from tests.sysbrokers.ib_helpers import ib_broker

CODE = "SP500_micro"
PACING = "Historical Market Data Service error message:API historical data query cancelled: " \
         "pacing violation"


@pytest.fixture
def market():
    return default_market()


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def broker(fake_tws, clock, tmp_path, market, sleeps):
    b = ib_broker(fake_tws.port, clock, tmp_path / "ib_home", market, sleeps=sleeps)
    yield b
    b.close()


def _front(market, clock) -> str:
    return market.active_contracts(CODE, clock.now())[0]


STEP = pd.Timedelta(seconds=30)


def _advance(broker, clock, step=STEP):
    clock.advance(step)
    broker.sync()
    broker.sync()


def _received(fake_tws, msg_id: int) -> int:
    return fake_tws.call(lambda f: sum(1 for r in f.received if r.msg_id == msg_id))


# ------------------------------------------------------------------ client ids
def test_client_id_in_use_326_takes_the_next_id_at_once(fake_tws, connect, clock, tmp_path,
                                                        market):
    other = connect(1)  # a session outside systrade holds client id 1
    assert other.isConnected()
    started = time.monotonic()
    # a connect timeout far above any scheduling delay: finishing well inside it can only
    # mean the 326 was acted on, not waited out (a loaded machine cannot make this flaky)
    b = ib_broker(fake_tws.port, clock, tmp_path / "ib_home", market, timeout_seconds=300.0)
    elapsed = time.monotonic() - started
    try:
        assert b.client_id == 2 and b.is_connected()
        assert elapsed < 150.0  # ib_async alone waits the whole connect timeout on 326
        owners = ClientIdData(b.book.store).owners()
        assert owners == {2: "testhost:1"}  # the refused id 1 was released
    finally:
        b.close()
    assert ClientIdData(b.book.store).owners() == {}  # released on close


def test_two_brokers_on_one_store_get_distinct_client_ids(fake_tws, clock, tmp_path, market):
    a = ib_broker(fake_tws.port, clock, tmp_path / "ib_home", market)
    b = ib_broker(fake_tws.port, clock, tmp_path / "ib_home", market)
    try:
        assert {a.client_id, b.client_id} == {1, 2}
        assert sorted(fake_tws.call(lambda f: f.connected_client_ids)) == [1, 2]
    finally:
        a.close()
        b.close()


def test_unreachable_gateway_is_one_clear_error(clock, tmp_path, market):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(BrokerDisconnected, match=f"cannot connect to IB at 127.0.0.1:{port}"):
        ib_broker(port, clock, tmp_path / "ib_home", market)


# ------------------------------------------------------------------ pacing (162)
def test_pacing_violation_is_retried_after_a_back_off(fake_tws, broker, clock, market, sleeps):
    contract = _front(market, clock)
    now = clock.now()
    before = _received(fake_tws, 20)
    fake_tws.call(lambda f: f.fail_next(20, 162, PACING))
    bars = broker.get_historical_bars(CODE, contract, "D", now - pd.Timedelta(days=30), now)
    assert len(bars) > 10
    assert _received(fake_tws, 20) - before == 2  # refused once, asked again
    assert sleeps == [0.0]  # history_retry_seconds (0 in tests), before the one retry


def test_pacing_violation_every_time_gives_up_with_a_clear_error(fake_tws, broker, clock,
                                                                 market, sleeps):
    contract = _front(market, clock)
    now = clock.now()
    for _ in range(4):  # history_retries = 3: four refusals
        fake_tws.call(lambda f: f.fail_next(20, 162, PACING))
    with pytest.raises(PacingViolation, match="pacing"):
        broker.get_historical_bars(CODE, contract, "D", now - pd.Timedelta(days=30), now)
    assert len(sleeps) == 3


def test_no_data_162_is_an_empty_frame_not_a_retry(fake_tws, broker, clock, market, sleeps):
    contract = _front(market, clock)
    now = clock.now()
    fake_tws.call(lambda f: f.fail_next(20, 162, "Historical Market Data Service error "
                                                 "message:HMDS query returned no data"))
    bars = broker.get_historical_bars(CODE, contract, "D", now - pd.Timedelta(days=30), now)
    assert bars.empty and list(bars.columns) == ["OPEN", "HIGH", "LOW", "FINAL", "VOLUME"]
    assert sleeps == []


def test_bars_match_the_simulated_broker(fake_tws, broker, clock, market):
    """Same labels (bar ends, UTC) and prices as the simulated broker gives directly."""
    contract = _front(market, clock)
    now = clock.now()
    for freq, days in (("D", 90), ("H", 10)):
        start = now - pd.Timedelta(days=days)
        ib_bars = broker.get_historical_bars(CODE, contract, freq, start, now)
        sim_bars = market.bars(CODE, contract, freq, start, now, as_of=now)
        assert len(ib_bars) > 5
        pd.testing.assert_index_equal(ib_bars.index, sim_bars.index)
        pd.testing.assert_frame_equal(ib_bars[["OPEN", "HIGH", "LOW", "FINAL"]],
                                      sim_bars[["OPEN", "HIGH", "LOW", "FINAL"]].astype(float),
                                      check_freq=False)


# ------------------------------------------------------------------ contracts (200)
def test_unknown_contract_month_is_one_clear_error(broker):
    with pytest.raises(UnknownContract, match=r"SP500_micro 209912 .*no security definition, 200"):
        broker.get_contract_details(CODE, "209912")


def _ib_async_records(caplog, level):
    return [r for r in caplog.records if r.name.startswith("ib_async") and r.levelno >= level]


def test_codes_the_broker_handles_are_not_error_lines_from_ib_async(broker, market, clock,
                                                                    caplog):
    """ib_async logged 'Error 200 ...' at ERROR for every month IB does not list yet (each
    daily price update printed a screen of them) and 'Error 162 ... returned no data' for an
    empty window: the broker handles both; the lines stay in the log at INFO."""
    caplog.set_level(logging.INFO)
    now = clock.now()
    later = market.active_contracts(CODE, now)[-1]
    unlisted = str(int(later[:4]) + 3) + later[4:6]
    assert broker.get_historical_bars(CODE, unlisted, "D", now - pd.Timedelta(days=5),
                                      now).empty
    with pytest.raises(UnknownContract):
        broker.get_contract_details(CODE, "209912")
    assert _ib_async_records(caplog, logging.WARNING) == []
    kept = [r.getMessage() for r in _ib_async_records(caplog, logging.INFO)]
    assert any(text.startswith("Error 200") for text in kept)


def test_a_refused_connection_is_our_one_line_not_ib_async_errors(clock, tmp_path, market,
                                                                  caplog):
    import socket

    caplog.set_level(logging.INFO)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(BrokerDisconnected):
        ib_broker(port, clock, tmp_path / "ib_home", market)
    assert _ib_async_records(caplog, logging.WARNING) == []


def test_expiries_come_from_contract_details(broker, market, clock):
    contract = _front(market, clock)
    details = broker.get_contract_details(CODE, contract)
    assert details.expiry == market.spec(CODE).expiry(contract)
    corn = broker.get_active_contracts("CORN")[0]
    assert corn.multiplier == pytest.approx(50.0)  # IB multiplier 5000 / price magnifier 100


# ------------------------------------------------------------------ market data
def test_bid_ask_snapshot_with_sizes(broker, market, clock):
    quote = broker.get_bid_ask(CODE, _front(market, clock))
    assert 0 < quote.bid < quote.ask and quote.bid_size >= 1 and quote.ask_size >= 1


def test_competing_session_10197_is_market_data_unavailable(fake_tws, broker, market, clock):
    contract = _front(market, clock)
    fake_tws.call(lambda f: f.fail_next(1, 10197, "No market data during competing live "
                                                  "session"))
    with pytest.raises(MarketDataUnavailable, match="10197"):
        broker.get_bid_ask(CODE, contract)
    assert broker.get_bid_ask(CODE, contract).bid > 0  # the next snapshot is fine


def test_split_frames_and_a_stall(fake_tws, broker, market, clock):
    contract = _front(market, clock)
    fake_tws.call(lambda f: f.split_frames(3))
    assert broker.get_bid_ask(CODE, contract).ask > 0
    fake_tws.call(lambda f: f.split_frames(0))
    broker.connection.config = broker.connection.config.model_copy(
        update={"timeout_seconds": 0.5})
    fake_tws.call(lambda f: f.stall())
    with pytest.raises(BrokerDisconnected, match="did not answer"):
        broker.get_positions()
    fake_tws.call(lambda f: f.resume())
    assert broker.get_positions() == []


# ------------------------------------------------------------------ orders
def test_informational_10349_does_not_cancel_a_live_order(fake_tws, broker, market, clock):
    contract = _front(market, clock)
    quote = broker.get_bid_ask(CODE, contract)
    far = round(quote.bid * 0.8 / 0.25) * 0.25
    order = broker.place_order(CODE, contract, 1, OrderType.LIMIT, far, client_ref="ref/10349")
    client_id = broker.client_id
    fake_tws.call(lambda f: f.client_session(client_id).send(
        m.error(int(order.order_id), 10349, "Order TIF was set to DAY based on order preset")))
    broker.sync()
    assert any(t.orderStatus.status == "Cancelled" for t in broker.ib.trades())  # ib_async's view
    assert broker.get_order(order.order_id).status is OrderStatus.PENDING_SUBMIT
    _advance(broker, clock, pd.Timedelta(seconds=1))  # the simulated exchange accepts it
    assert broker.get_order(order.order_id).status is OrderStatus.WORKING
    assert order.order_id in [o.order_id for o in broker.get_orders(open_only=True)]
    moved = broker.modify_order(order.order_id, limit_price=far - 0.25)
    assert moved.limit_price == pytest.approx(far - 0.25)
    broker.cancel_order(order.order_id)
    for _ in range(20):
        if broker.get_order(order.order_id).status is OrderStatus.CANCELLED:
            break
        _advance(broker, clock, pd.Timedelta(seconds=1))
    assert broker.get_order(order.order_id).status is OrderStatus.CANCELLED


def test_orders_are_found_after_a_restart_and_ids_are_never_reused(fake_tws, clock, tmp_path,
                                                                    market):
    contract = _front(market, clock)
    first = ib_broker(fake_tws.port, clock, tmp_path / "ib_home", market)
    order = first.place_order(CODE, contract, 2, client_ref="systrade/broker/42")
    for _ in range(20):
        if first.get_order(order.order_id).status is OrderStatus.FILLED:
            break
        _advance(first, clock)
    first.close()
    second = ib_broker(fake_tws.port, clock, tmp_path / "ib_home", market)
    try:
        found = second.find_orders("systrade/broker/42")
        assert [o.order_id for o in found] == [order.order_id]
        assert found[0].status is OrderStatus.FILLED and found[0].filled_quantity == 2
        again = second.place_order(CODE, contract, 1, client_ref="systrade/broker/43")
        assert int(again.order_id) > int(order.order_id)
    finally:
        second.close()


def test_a_restarted_gateway_does_not_give_old_executions_to_new_orders(clock, tmp_path,
                                                                         market):
    """The fake TWS restarted on the same simulated book (a second ``systrade demo --broker
    ib``) handed out the permIds of the first run again; the broker keys orders by permId, so
    the new order took the old order's executions ('executions (8) exceed the quantity (1)')
    and the stack saw it stuck."""
    from sysbrokers.IB.fake_tws import FakeTwsConfig, FakeTwsThread
    from sysbrokers.sim.broker import SimBroker

    home = tmp_path / "home"

    def gateway() -> FakeTwsThread:
        return FakeTwsThread(market, clock, config=FakeTwsConfig(),
                             broker_factory=lambda: SimBroker(clock, home, market))

    contract = _front(market, clock)
    with gateway() as tws:
        first = ib_broker(tws.port, clock, tmp_path / "ib_home", market)
        old = _filled_market_order(first, clock, contract, 3, "systrade/broker/1")
        old_perm = first.book.orders[old.order_id].perm_id
        first.close()
    with gateway() as tws:
        second = ib_broker(tws.port, clock, tmp_path / "ib_home", market)
        try:
            new = _filled_market_order(second, clock, contract, 1, "systrade/broker/2")
            assert second.book.orders[new.order_id].perm_id != old_perm
            assert second.get_order(new.order_id).filled_quantity == 1
            assert second.get_order(old.order_id).filled_quantity == 3
            mine = [e.quantity for e in second.get_executions() if e.order_id == new.order_id]
            assert sum(mine) == 1
        finally:
            second.close()


def test_disconnect_with_working_orders_and_fills_during_the_outage(fake_tws, broker, market,
                                                                    clock):
    contract = _front(market, clock)
    quote = broker.get_bid_ask(CODE, contract)
    far = round(quote.bid * 0.8 / 0.25) * 0.25
    resting = broker.place_order(CODE, contract, 1, OrderType.LIMIT, far, client_ref="rest")
    filling = broker.place_order(CODE, contract, 3, client_ref="fill")
    broker.drain_events()
    fake_tws.call(lambda f: f.drop_connections())
    assert broker.connection.wait_until(lambda: not broker.ib.isConnected(), timeout=5)
    # the market order fills at the simulated broker while we are blind
    clock.advance(pd.Timedelta(minutes=2))
    fake_tws.call(lambda f: f.pump())
    assert broker.connection.blind_since is not None
    positions = broker.get_positions()  # reconnects and reconciles first
    for _ in range(20):
        if broker.get_order(filling.order_id).status is OrderStatus.FILLED:
            break
        _advance(broker, clock, pd.Timedelta(seconds=1))
    assert broker.get_order(filling.order_id).status is OrderStatus.FILLED
    assert broker.get_order(resting.order_id).status is OrderStatus.WORKING
    positions = {(p.instrument_code, p.contract_date): p.quantity for p in broker.get_positions()}
    assert positions == {(CODE, contract): 3}
    executions = [e for e in broker.get_executions() if e.order_id == filling.order_id]
    assert sum(e.quantity for e in executions) == 3
    assert all(e.commission is not None for e in executions)
    events = broker.drain_events()
    broker.reconcile()  # reconciling again changes nothing
    events += broker.drain_events()
    exec_events = [e.execution.exec_id for e in events if isinstance(e, ExecutionEvent)]
    assert sorted(exec_events) == sorted(e.exec_id for e in executions)  # each exactly once
    connection = [e.connected for e in events if isinstance(e, ConnectionEvent)]
    assert connection == [False, True]
    assert broker.connection.blind_since is None


def test_blind_longer_than_the_policy_says_halt(fake_tws, clock, tmp_path, market):
    b = ib_broker(fake_tws.port, clock, tmp_path / "ib_home", market,
                  disconnect_halt_seconds=60.0)
    try:
        assert not b.should_halt()
        fake_tws.call(lambda f: f.drop_connections())
        assert b.connection.wait_until(lambda: not b.ib.isConnected(), timeout=5)
        clock.advance(pd.Timedelta(seconds=30))
        assert not b.should_halt()
        clock.advance(pd.Timedelta(seconds=31))
        assert b.should_halt()
        b.connect()
        assert not b.should_halt()
    finally:
        b.close()


def test_a_silent_gateway_fails_the_heartbeat_and_is_reconnected(fake_tws, broker):
    assert broker.heartbeat(timeout=5.0)
    fake_tws.call(lambda f: f.stall())
    assert not broker.heartbeat(timeout=0.3)
    assert not broker.is_connected() and broker.connection.blind_since is not None
    fake_tws.call(lambda f: f.resume())
    assert broker.get_positions() == []  # reconnected
    assert broker.is_connected() and broker.connection.blind_since is None
    events = broker.drain_events()
    assert [e.connected for e in events if isinstance(e, ConnectionEvent)] == [False, True]


def test_connectivity_lost_1100_is_blind_until_1102(fake_tws, broker):
    fake_tws.call(lambda f: f.broadcast_error(1100, "Connectivity between IB and Trader "
                                                    "Workstation has been lost."))
    broker.sync()
    assert broker.connection.blind_since is not None
    events = broker.drain_events()
    assert [e.connected for e in events if isinstance(e, ConnectionEvent)] == [False]
    before = _received(fake_tws, 7)
    fake_tws.call(lambda f: f.broadcast_error(1102, "Connectivity between IB and Trader "
                                                    "Workstation has been restored - data "
                                                    "maintained."))
    events = broker.drain_events()
    assert broker.connection.blind_since is None
    assert [e.connected for e in events if isinstance(e, ConnectionEvent)] == [True]
    assert _received(fake_tws, 7) == before + 1  # reconciled: the day's executions read again


def test_request_ids_stay_above_our_order_ids(fake_tws, clock, tmp_path, market):
    """A second client id starts TWS's id sequence at 1: its request ids must not meet the
    ids of our orders, or a request's error (200) would be taken as the order's."""
    contract = _front(market, clock)
    first = ib_broker(fake_tws.port, clock, tmp_path / "ib_home", market)
    quote = first.get_bid_ask(CODE, contract)
    far = round(quote.bid * 0.8 / 0.25) * 0.25
    orders = [first.place_order(CODE, contract, 1, OrderType.LIMIT, far) for _ in range(12)]
    for o in orders:
        first.cancel_order(o.order_id)
    for _ in range(20):
        if all(first.get_order(o.order_id).is_terminal for o in orders):
            break
        _advance(first, clock, pd.Timedelta(seconds=1))
    assert all(first.get_order(o.order_id).status is OrderStatus.CANCELLED for o in orders)
    second = ib_broker(fake_tws.port, clock, tmp_path / "ib_home", market)  # client id 2
    try:
        assert second.client_id == 2
        assert second.ib.client.getReqId() > max(int(o.order_id) for o in orders)
        for _ in range(5):
            with pytest.raises(UnknownContract):
                second.get_contract_details(CODE, "209912")
        assert all(second.get_order(o.order_id).status is OrderStatus.CANCELLED
                   for o in orders)
    finally:
        second.close()
        first.close()


def test_bars_of_a_contract_not_listed_yet_are_empty_as_with_the_simulated_broker(broker,
                                                                                   clock):
    now = clock.now()
    later = broker.get_historical_bars(CODE, "202912", "D", now - pd.Timedelta(days=30), now)
    assert later.empty and list(later.columns) == ["OPEN", "HIGH", "LOW", "FINAL", "VOLUME"]
    with pytest.raises(UnknownContract):  # long expired: IB does not know it any more
        broker.get_historical_bars(CODE, "201003", "D", now - pd.Timedelta(days=30), now)


# ------------------------------------------------------------------ execution corrections
def _filled_market_order(broker, clock, contract, qty, ref):
    order = broker.place_order(CODE, contract, qty, client_ref=ref)
    for _ in range(20):
        if broker.get_order(order.order_id).status is OrderStatus.FILLED:
            break
        _advance(broker, clock, pd.Timedelta(seconds=1))
    assert broker.get_order(order.order_id).status is OrderStatus.FILLED
    return order


def test_a_corrected_execution_is_not_counted_twice(fake_tws, broker, market, clock):
    contract = _front(market, clock)
    order = _filled_market_order(broker, clock, contract, 3, "corr")
    events = broker.drain_events()
    first = [e.execution for e in events if isinstance(e, ExecutionEvent)]
    assert sum(e.quantity for e in first) == 3
    original = first[-1]
    # IB corrects the last execution: same stem, ".02", a new price, the same quantity
    new_id = fake_tws.call(lambda f: f.correct_execution(original.exec_id,
                                                         price=original.price + 0.25))
    assert new_id.rsplit(".", 1)[0] == original.exec_id.rsplit(".", 1)[0]
    broker.sync()
    events = broker.drain_events()
    later = [e.execution for e in events if isinstance(e, ExecutionEvent)]
    # every execution the ledger is handed (events, then get_executions) adds up to 3
    assert sum(e.quantity for e in first + later) == 3
    assert broker.get_order(order.order_id).filled_quantity == 3
    booked = {e.exec_id: e.quantity for e in first + later}
    for e in broker.get_executions():
        booked.setdefault(e.exec_id, e.quantity)
    assert sum(booked.values()) == 3


def test_a_correction_of_the_quantity_is_booked_as_the_difference(fake_tws, broker, market,
                                                                   clock):
    contract = _front(market, clock)
    order = _filled_market_order(broker, clock, contract, 3, "corrq")
    first = [e.execution for e in broker.drain_events() if isinstance(e, ExecutionEvent)]
    original = first[-1]
    fake_tws.call(lambda f: f.correct_execution(original.exec_id,
                                                shares=abs(original.quantity) - 1))
    broker.sync()
    later = [e.execution for e in broker.drain_events() if isinstance(e, ExecutionEvent)]
    assert sum(e.quantity for e in first + later) == 2
    assert broker.get_order(order.order_id).filled_quantity == 2


def test_a_correction_made_while_we_were_down_is_not_booked_twice_after_a_restart(
        fake_tws, clock, tmp_path, market):
    contract = _front(market, clock)
    first = ib_broker(fake_tws.port, clock, tmp_path / "ib_home", market)
    order = _filled_market_order(first, clock, contract, 3, "systrade/broker/7")
    booked = {e.execution.exec_id: e.execution.quantity for e in first.drain_events()
              if isinstance(e, ExecutionEvent)}
    assert sum(booked.values()) == 3
    first.close()
    original = max(booked)
    # IB corrects the execution while no systrade process is connected: after the restart
    # reqExecutions reports only the correction (same stem, ".02")
    fake_tws.call(lambda f: f.correct_execution(original, price=1.0))
    second = ib_broker(fake_tws.port, clock, tmp_path / "ib_home", market)
    try:
        for e in second.drain_events() + [ExecutionEvent(x) for x in second.get_executions()]:
            if isinstance(e, ExecutionEvent):
                booked.setdefault(e.execution.exec_id, e.execution.quantity)
        assert sum(booked.values()) == 3  # the ledger books each exec id once
        assert second.get_order(order.order_id).filled_quantity == 3
    finally:
        second.close()


def test_a_commission_report_before_its_execution_is_not_lost(fake_tws, broker, market, clock):
    contract = _front(market, clock)
    fake_tws.call(lambda f: f.commission_before_execution())
    order = _filled_market_order(broker, clock, contract, 2, "comm-first")
    broker.sync()
    events = broker.drain_events()
    executions = [e.execution for e in events if isinstance(e, ExecutionEvent)]
    assert sum(e.quantity for e in executions) == 2
    commissions = {e.report.exec_id: e.report.commission for e in events
                   if isinstance(e, CommissionEvent)}
    assert set(commissions) == {e.exec_id for e in executions}
    assert all(c > 0 for c in commissions.values())
    assert broker.get_order(order.order_id).commission == pytest.approx(
        sum(commissions.values()))


def test_an_order_of_an_earlier_client_id_is_never_placed_again_by_a_modify(
        fake_tws, connect, clock, tmp_path, market):
    contract = _front(market, clock)
    first = ib_broker(fake_tws.port, clock, tmp_path / "ib_home", market)
    quote = first.get_bid_ask(CODE, contract)
    far = round(quote.bid * 0.8 / 0.25) * 0.25
    order = first.place_order(CODE, contract, 1, OrderType.LIMIT, far, client_ref="old/1")
    _advance(first, clock, pd.Timedelta(seconds=1))
    assert first.get_order(order.order_id).status is OrderStatus.WORKING
    old_id = first.client_id
    first.close()
    connect(old_id)  # the old id is taken (a zombie session): the restart gets another one
    second = ib_broker(fake_tws.port, clock, tmp_path / "ib_home", market)
    try:
        assert second.client_id != old_id
        assert second.get_order(order.order_id).status is OrderStatus.WORKING
        with pytest.raises(InvalidOrderState, match="client id"):
            second.modify_order(order.order_id, limit_price=far - 0.25)
        with pytest.raises(InvalidOrderState, match="client id"):
            second.cancel_order(order.order_id)
        second.sync()
        live = fake_tws.call(lambda f: [o for o in f.desk.orders.values() if not o.done])
        assert len(live) == 1  # the modify did not place a second order
    finally:
        second.close()


def test_cancelled_with_fills_not_yet_reported_is_not_final(fake_tws, broker, market, clock):
    """TWS's orderStatus says Cancelled with 1 filled before that fill's execDetails: the
    order is not finished (the stack would send the rest again) until the execution is in."""
    contract = _front(market, clock)
    quote = broker.get_bid_ask(CODE, contract)
    far = round(quote.bid * 0.8 / 0.25) * 0.25
    order = broker.place_order(CODE, contract, 2, OrderType.LIMIT, far, client_ref="cxl/1")
    _advance(broker, clock, pd.Timedelta(seconds=1))
    tracked = broker.book.orders[order.order_id]
    assert tracked.order.status is OrderStatus.WORKING
    client_id = broker.client_id
    fake_tws.call(lambda f: f.client_session(client_id).send(m.order_status(
        int(order.order_id), "Cancelled", 1, 0, far, tracked.perm_id, 0, far, client_id)))
    broker.sync()
    seen = broker.get_order(order.order_id)
    assert seen.status is OrderStatus.PENDING_CANCEL
    assert not seen.is_terminal


def test_a_refused_modify_leaves_the_order_working(fake_tws, broker, market, clock):
    """201 for a modify (off-tick price) refuses the change, not the order: it still works at
    IB, so it must not look REJECTED (the stack would send it again)."""
    contract = _front(market, clock)
    quote = broker.get_bid_ask(CODE, contract)
    far = round(quote.bid * 0.8 / 0.25) * 0.25
    order = broker.place_order(CODE, contract, 1, OrderType.LIMIT, far, client_ref="mod/1")
    _advance(broker, clock, pd.Timedelta(seconds=1))
    assert broker.get_order(order.order_id).status is OrderStatus.WORKING
    with pytest.raises(OrderRejected):
        broker.modify_order(order.order_id, limit_price=far - 0.1)  # off the 0.25 tick
    broker.sync()
    seen = broker.get_order(order.order_id)
    assert seen.status is OrderStatus.WORKING
    assert seen.limit_price == pytest.approx(far)
    assert order.order_id in [o.order_id for o in broker.get_orders(open_only=True)]
    live = fake_tws.call(lambda f: [o for o in f.desk.orders.values() if not o.done])
    assert len(live) == 1


def test_a_refused_modify_does_not_cancel_a_partly_filled_order(fake_tws, broker, market,
                                                                 clock):
    """The 201 refused the change only: the order fills on at IB; in our book it must stay
    PARTIALLY_FILLED (CANCELLED would make the stack send its rest a second time)."""
    contract = _front(market, clock)
    quote = broker.get_bid_ask(CODE, contract)
    order = broker.place_order(CODE, contract, 490, OrderType.LIMIT, quote.ask,
                               client_ref="mod/2")
    _advance(broker, clock, pd.Timedelta(seconds=1))
    seen = broker.get_order(order.order_id)
    assert seen.status in (OrderStatus.WORKING, OrderStatus.PARTIALLY_FILLED)
    with pytest.raises(OrderRejected):
        broker.modify_order(order.order_id, quantity=501)  # above the size limit: 201
    for _ in range(5):
        _advance(broker, clock, pd.Timedelta(seconds=1))
    seen = broker.get_order(order.order_id)
    at_ib = fake_tws.call(lambda f: [(o.filled, o.total, o.done) for o in f.desk.orders.values()])
    assert 0 < seen.filled_quantity < 490  # partly filled and still working at IB
    assert not at_ib[0][2]
    assert seen.status is OrderStatus.PARTIALLY_FILLED


def _late_answer_to_a_modify(fake_tws, clock, tmp_path, market, new_limit_of):
    """A resting limit order, a modify sent while TWS is stalled (its wait times out), then
    TWS answers. Returns (broker, order, far)."""
    b = ib_broker(fake_tws.port, clock, tmp_path / "ib_home", market, timeout_seconds=1.0)
    contract = _front(market, clock)
    quote = b.get_bid_ask(CODE, contract)
    far = round(quote.bid * 0.8 / 0.25) * 0.25
    order = b.place_order(CODE, contract, 1, OrderType.LIMIT, far, client_ref="late/1")
    _advance(b, clock, pd.Timedelta(seconds=1))
    assert b.get_order(order.order_id).status is OrderStatus.WORKING
    fake_tws.call(lambda f: f.stall())
    with pytest.raises(BrokerError, match="did not confirm"):
        b.modify_order(order.order_id, limit_price=new_limit_of(far))
    fake_tws.call(lambda f: f.resume())  # TWS answers the modify now
    for _ in range(3):
        b.sync()
    return b, order, far


def test_a_201_after_the_modify_wait_timed_out_leaves_the_order_working(fake_tws, clock,
                                                                         tmp_path, market):
    """The refusal came after modify_order had given up waiting: it was kept as a rejection
    of the order itself, and the order's next fill turned it CANCELLED while it kept filling
    at IB, so the stack would send its rest again."""
    b = ib_broker(fake_tws.port, clock, tmp_path / "ib_home", market, timeout_seconds=1.0)
    try:
        contract = _front(market, clock)
        quote = b.get_bid_ask(CODE, contract)
        order = b.place_order(CODE, contract, 490, OrderType.LIMIT, quote.ask,
                              client_ref="late/2")
        _advance(b, clock, pd.Timedelta(seconds=1))
        assert b.get_order(order.order_id).status in (OrderStatus.WORKING,
                                                      OrderStatus.PARTIALLY_FILLED)
        fake_tws.call(lambda f: f.stall())
        with pytest.raises(BrokerError, match="did not confirm"):
            b.modify_order(order.order_id, quantity=501)  # above the size limit: 201, late
        fake_tws.call(lambda f: f.resume())
        for _ in range(5):
            _advance(b, clock, pd.Timedelta(seconds=1))  # it fills on at IB
        seen = b.get_order(order.order_id)
        at_ib = fake_tws.call(lambda f: [(o.filled, o.done) for o in f.desk.orders.values()])
        assert len(at_ib) == 1  # one order at IB, nothing sent twice
        assert seen.status in (OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED)
        assert seen.filled_quantity == at_ib[0][0] and seen.quantity == 490
        assert seen.status is OrderStatus.FILLED or not at_ib[0][1]
    finally:
        b.close()


def test_a_late_confirmation_of_a_modify_is_taken(fake_tws, clock, tmp_path, market):
    b, order, far = _late_answer_to_a_modify(fake_tws, clock, tmp_path, market,
                                             lambda far: far - 0.25)
    try:
        seen = b.get_order(order.order_id)
        assert seen.status is OrderStatus.WORKING
        assert seen.limit_price == pytest.approx(far - 0.25)
        assert b._modifying == {}  # settled: a later error is about the order again
    finally:
        b.close()
