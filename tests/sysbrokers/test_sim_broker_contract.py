"""The simulated broker passes the broker-interface contract suite."""

from __future__ import annotations

import pandas as pd
import pytest
from broker_contract import BrokerContractTests, BrokerHarness

from sysbrokers.sim.broker import SimBroker
from sysbrokers.sim.market import default_market
from syscore.clock import SimulatedClock


@pytest.fixture(params=["2024-01-09 15:00", "2019-06-12 09:30"], ids=["cme-2024", "eurex-2019"])
def _start(request):
    return pd.Timestamp(request.param, tz="UTC")


class TestSimBrokerContract(BrokerContractTests):
    @pytest.fixture
    def harness(self, systrade_home, _start) -> BrokerHarness:
        clock = SimulatedClock(systrade_home, start=_start)
        broker = SimBroker(clock, systrade_home, default_market())
        code = "SP500_micro" if _start.year == 2024 else "BUND"
        contract = broker.market.active_contracts(code, _start)[0]
        yield BrokerHarness(
            broker=broker,
            advance=clock.advance,
            now=clock.now,
            instrument_code=code,
            contract_date=contract,
            oversized_quantity=broker.config.max_order_size + 1,
        )
        broker.close()
