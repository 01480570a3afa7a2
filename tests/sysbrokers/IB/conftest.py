"""Fixtures: a fake TWS on 127.0.0.1 (ephemeral port) backed by the simulated market and a
simulated broker in a temporary home, and real ib_async clients connected to it."""

from __future__ import annotations

import pandas as pd
import pytest
from ib_async import IB

from sysbrokers.IB.fake_tws import FakeTwsConfig, FakeTwsThread
from sysbrokers.sim.broker import SimBroker
from sysbrokers.sim.market import default_market
from syscore.clock import SimulatedClock

START = pd.Timestamp("2024-01-02 15:00", tz="UTC")  # a Tuesday, CME and Eurex open


@pytest.fixture
def clock(tmp_path):
    return SimulatedClock(tmp_path / "home", start=START)


@pytest.fixture
def fake_tws(tmp_path, clock):
    home = tmp_path / "home"
    market = default_market()
    server = FakeTwsThread(
        market,
        clock,
        broker_factory=lambda: SimBroker(clock, home, market),
        config=FakeTwsConfig(),
    )
    with server:
        yield server


@pytest.fixture
def connect(fake_tws):
    clients: list[IB] = []

    def _connect(client_id: int = 1, timeout: float = 5.0) -> IB:
        ib = IB()
        clients.append(ib)
        ib.connect("127.0.0.1", fake_tws.port, clientId=client_id, timeout=timeout)
        return ib

    yield _connect
    for ib in clients:
        ib.disconnect()


@pytest.fixture
def ib(connect) -> IB:
    return connect(1)
