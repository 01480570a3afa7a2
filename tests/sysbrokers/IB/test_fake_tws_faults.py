"""Market data and scriptable faults, through the real ib_async client."""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import pytest
from ib_async import Forex, Future

from sysbrokers.sim.market import default_market
from tests.sysbrokers.IB.conftest import START


def wait_until(ib, condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        ib.waitOnUpdate(timeout=0.1)


@pytest.fixture
def mes(ib):
    [fut] = ib.qualifyContracts(Future("MES", "202403", "CME"))
    return fut


def test_snapshot_bid_ask_and_sizes_are_the_market_quote(ib, mes):
    [ticker] = ib.reqTickers(mes)
    q = default_market().quotes("SP500_micro", "202403", np.array([START.value]))
    assert (ticker.bid, ticker.ask) == (q.bid[0], q.ask[0])
    assert (ticker.bidSize, ticker.askSize) == (q.bid_size[0], q.ask_size[0])


def test_fx_snapshot_is_one_tick_around_the_mid(ib):
    [eur] = ib.qualifyContracts(Forex("EURUSD"))
    [ticker] = ib.reqTickers(eur)
    mid = default_market().fx_rate("EUR", "USD", np.array([START.value]))[0]
    assert ticker.bid <= mid <= ticker.ask
    assert ticker.ask - ticker.bid == pytest.approx(0.00005)


def test_streaming_quotes_follow_the_clock(ib, mes, clock, fake_tws):
    ticker = ib.reqMktData(mes)
    wait_until(ib, lambda: not math.isnan(ticker.bid))
    first = ticker.bid
    later = START + pd.Timedelta(hours=3)
    q = default_market().quotes("SP500_micro", "202403", np.array([later.value]))
    assert q.bid[0] != first  # the test moves the market
    clock.set(later)
    fake_tws.call(lambda f: f.pump())
    wait_until(ib, lambda: ticker.bid == q.bid[0])
    ib.cancelMktData(mes)


@pytest.mark.parametrize(
    "code,text",
    [
        (354, "Requested market data is not subscribed."),
        (10197, "No market data during competing live session"),
    ],
)
def test_one_shot_market_data_errors(ib, mes, fake_tws, code, text):
    fake_tws.call(lambda f: f.fail_next(1, code, text))
    errors = []
    ib.errorEvent += lambda req_id, c, t, contract: errors.append(c)
    ib.reqTickers(mes)
    assert errors == [code]
    [ticker] = ib.reqTickers(mes)
    assert not math.isnan(ticker.bid) and errors == [code]


def test_connectivity_codes_are_broadcast(ib, fake_tws):
    codes = []
    ib.errorEvent += lambda req_id, code, text, contract: codes.append((req_id, code))
    fake_tws.call(
        lambda f: f.broadcast_error(
            1100, "Connectivity between IB and Trader Workstation has been lost."
        )
    )
    fake_tws.call(
        lambda f: f.broadcast_error(
            1102,
            "Connectivity between IB and Trader Workstation has been restored - data maintained.",
        )
    )
    wait_until(ib, lambda: (-1, 1102) in codes)
    assert codes == [(-1, 1100), (-1, 1102)]


def test_socket_drop_disconnects_and_reconnect_resyncs(connect, fake_tws, clock):
    ib = connect(2)
    dropped = []
    ib.disconnectedEvent += lambda: dropped.append(True)
    fake_tws.call(lambda f: f.drop_connections())
    with pytest.raises(ConnectionError):  # the request in flight fails
        ib.reqCurrentTime()
    assert dropped
    assert not ib.isConnected()
    fake_tws.call(lambda f: f.broker.place_order("SP500_micro", "202403", 1))
    clock.advance(pd.Timedelta(minutes=1))
    ib.connect("127.0.0.1", fake_tws.port, clientId=2, timeout=5)
    assert {p.contract.localSymbol: p.position for p in ib.positions()} == {"MESH4": 1}


def test_stall_keeps_the_socket_open_and_answers_after_resume(ib, mes, fake_tws):
    fake_tws.call(lambda f: f.stall())
    bars = ib.reqHistoricalData(mes, "", "5 D", "1 day", "TRADES", False, timeout=0.3)
    assert list(bars) == []  # ib_async gives up: empty, as with a silent TWS
    assert ib.isConnected()
    received = fake_tws.call(lambda f: [r.msg_id for r in f.received])
    assert 20 in received
    fake_tws.call(lambda f: f.resume())
    assert ib.reqCurrentTime() is not None


def test_frames_split_into_small_pieces_are_reassembled_by_ib_async(ib, mes, fake_tws):
    reads: list[int] = []
    ib.client.conn.hasData += lambda data: reads.append(len(data))
    fake_tws.call(lambda f: f.split_frames(3))
    details = ib.reqContractDetails(mes)
    bars = ib.reqHistoricalData(mes, "", "10 D", "1 day", "TRADES", False)
    fake_tws.call(lambda f: f.split_frames(0))
    assert details[0].contract.localSymbol == "MESH4"
    assert len(bars) > 5
    assert min(reads) <= 3  # frames really arrived in pieces


def test_split_frames_during_connect(fake_tws):
    from ib_async import IB

    fake_tws.call(lambda f: f.split_frames(16))
    ib = IB()
    try:
        ib.connect("127.0.0.1", fake_tws.port, clientId=12, timeout=5)
        assert ib.managedAccounts() == ["DU1234567"]
    finally:
        ib.disconnect()
