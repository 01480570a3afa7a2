"""The simulated broker passes the broker-interface contract suite."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from broker_contract import (
    BrokerContractTests,
    BrokerHarness,
    BrokerOptionContractTests,
    BrokerSpreadContractTests,
    OptionHarness,
)

from sysbrokers.broker import Broker
from sysbrokers.errors import NotSupportedByBroker
from sysbrokers.objects import OptionContract
from sysbrokers.sim.broker import SimBroker
from sysbrokers.sim.market import default_market
from sysbrokers.sim.options import OptionCalendar, SimOptionChains
from syscore.clock import SimulatedClock
from sysobjects.black76 import OptionRight


@pytest.fixture(params=["2024-01-09 15:00", "2019-06-12 09:30"], ids=["cme-2024", "eurex-2019"])
def _start(request):
    return pd.Timestamp(request.param, tz="UTC")


class TestSimBrokerContract(BrokerContractTests, BrokerSpreadContractTests):
    @pytest.fixture
    def harness(self, systrade_home, _start) -> BrokerHarness:
        clock = SimulatedClock(systrade_home, start=_start)
        broker = SimBroker(clock, systrade_home, default_market())
        code = "SP500_micro" if _start.year == 2024 else "BUND"
        contract, second = broker.market.active_contracts(code, _start)[:2]
        yield BrokerHarness(
            broker=broker,
            advance=clock.advance,
            now=clock.now,
            instrument_code=code,
            contract_date=contract,
            oversized_quantity=broker.config.max_order_size + 1,
            second_contract_date=second,
        )
        broker.close()


class TestSimBrokerOptions(BrokerOptionContractTests):
    """Options on the front future: a serial option a month before it (exercise into the
    live future) and the main option expiring with it (cash at intrinsic value)."""

    @pytest.fixture
    def options(self, systrade_home, _start) -> OptionHarness:
        clock = SimulatedClock(systrade_home, start=_start)
        market = default_market()
        code = "SP500_micro" if _start.year == 2024 else "BUND"
        chains = SimOptionChains(market, {code: OptionCalendar(serial_months=1)})
        broker = SimBroker(clock, systrade_home, market, option_chains=chains)
        contract = market.active_contracts(code, _start)[0]
        serial, main = chains.listings(code, contract)
        strikes = chains.quoted_strikes(code, serial, _start)

        def option(listing):
            return OptionContract(code, contract, OptionRight.CALL, strikes[0], listing.expiry,
                                  listing.option_code)

        def expiry(c):
            return pd.Timestamp(broker.option_expiry_ns(c), tz="UTC")

        def final_price(c):
            # the future's mid just before the option's expiry instant, on the tick
            tick = market.spec(code).tick_size
            mid = float(market.mid_price(code, contract, np.array([expiry(c).value - 1]))[0])
            return round(mid / tick) * tick

        base = BrokerHarness(broker=broker, advance=clock.advance, now=clock.now,
                             instrument_code=code, contract_date=contract,
                             oversized_quantity=broker.config.max_order_size + 1)
        yield OptionHarness(base, option(serial), option(main), strikes, final_price, expiry,
                            float(market.spec(code).multiplier))
        broker.close()


def test_a_broker_without_options_says_so():
    futures_only = type("FuturesOnly", (Broker,), {})
    futures_only.__abstractmethods__ = frozenset()
    broker = futures_only()
    with pytest.raises(NotSupportedByBroker, match="not supported by this broker"):
        broker.get_option_positions()
    with pytest.raises(NotSupportedByBroker):
        broker.place_option_order(None, 1)
    for call in (lambda: broker.modify_option_order("1", limit_price=1.0),
                 lambda: broker.cancel_option_order("1"), broker.get_option_orders,
                 broker.get_option_executions, lambda: broker.find_option_orders("x")):
        with pytest.raises(NotSupportedByBroker):
            call()
