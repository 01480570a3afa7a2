"""The IB broker, through real ib_async over a socket to the fake TWS, passes the same
broker-interface contract suite as the simulated broker."""
from __future__ import annotations

import pandas as pd
import pytest
from broker_contract import BrokerContractTests, BrokerHarness, BrokerSpreadContractTests

from sysbrokers.IB.fake_tws import FakeTwsConfig, FakeTwsThread
from sysbrokers.sim.broker import SimBroker
from sysbrokers.sim.market import default_market
from syscore.clock import SimulatedClock
from tests.sysbrokers.ib_helpers import ib_broker


@pytest.fixture(params=["2024-01-09 15:00", "2019-06-12 09:30"], ids=["cme-2024", "eurex-2019"])
def _start(request):
    return pd.Timestamp(request.param, tz="UTC")


class TestIBBrokerContract(BrokerContractTests, BrokerSpreadContractTests):
    @pytest.fixture
    def harness(self, tmp_path, _start) -> BrokerHarness:
        clock = SimulatedClock(tmp_path / "tws_home", start=_start)
        market = default_market()
        sim = {}

        def make_sim():
            sim["broker"] = SimBroker(clock, tmp_path / "tws_home", market)
            return sim["broker"]

        with FakeTwsThread(market, clock, broker_factory=make_sim,
                           config=FakeTwsConfig()) as tws:
            broker = ib_broker(tws.port, clock, tmp_path / "ib_home", market)

            def advance(step: pd.Timedelta) -> None:
                clock.advance(step)
                broker.sync()  # the server pumps the simulated broker after reqCurrentTime
                broker.sync()  # ... and what the pump sent has arrived

            code = "SP500_micro" if _start.year == 2024 else "BUND"
            contract, second = market.active_contracts(code, _start)[:2]
            yield BrokerHarness(
                broker=broker,
                advance=advance,
                now=clock.now,
                instrument_code=code,
                contract_date=contract,
                oversized_quantity=tws.call(lambda f: f.broker.config.max_order_size) + 1,
                second_contract_date=second,
            )
            broker.close()
