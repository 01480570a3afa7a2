"""Production price updates through the IB broker on the fake TWS give the same stored prices
as through the simulated broker directly."""
from __future__ import annotations

import pandas as pd

from sysbrokers.IB.fake_tws import FakeTwsThread
from sysbrokers.sim.broker import SimBroker
from sysbrokers.sim.market import default_market
from syscore.clock import SimulatedClock
from sysinit.init_from_sim_universe import init_from_sim_universe
from sysproduction.update_fx_prices import update_fx_prices
from sysproduction.update_historical_prices import update_historical_prices
from sysproduction.update_sampled_contracts import update_sampled_contracts
from tests.blob_helpers import SIM_START, make_blob
from tests.sysbrokers.ib_helpers import ib_config, ib_mapping

CODES = "SP500_micro,BUND,CORN"


def _run_updates(data) -> None:
    init_from_sim_universe(CODES, data=data)
    update_fx_prices(data=data)
    update_sampled_contracts(data=data)
    update_historical_prices(data=data)


def _stored(data) -> dict:
    out = {f"fx {c}": data.fx_prices.read_series(c) for c in data.fx_prices.list_codes()}
    for code in CODES.split(","):
        for contract in data.contract_prices.contracts_with_prices(code):
            out[f"{code} {contract}"] = data.contract_prices.read(code, contract)
    return out


def test_price_updates_through_ib_match_the_simulated_broker(tmp_path):
    market = default_market()
    waits: list[float] = []
    clock = SimulatedClock(tmp_path / "exchange", start=SIM_START)
    with FakeTwsThread(market, clock, broker_factory=lambda: SimBroker(
            clock, tmp_path / "exchange", market)) as tws:
        from sysbrokers.IB.broker import IBBroker

        def ib_factory(blob):
            config = ib_config(tws.port, history_requests_per_window=10_000,
                               timeout_seconds=60.0)
            return IBBroker(config, clock, blob.state, ib_mapping(market), owner="testhost:1",
                            sleep=waits.append)

        ib_data = make_blob(tmp_path / "ib", clock=clock, broker_factory=ib_factory)
        sim_data = make_blob(tmp_path / "sim", clock=clock, broker_factory=lambda blob:
                             SimBroker(clock, tmp_path / "sim", market))
        try:
            _run_updates(ib_data)
            _run_updates(sim_data)
            ib_prices, sim_prices = _stored(ib_data), _stored(sim_data)
            assert sorted(ib_prices) == sorted(sim_prices) and len(ib_prices) > 3
            for key, frame in sim_prices.items():
                assert len(frame) > 0, key
                pd.testing.assert_frame_equal(pd.DataFrame(ib_prices[key]),
                                              pd.DataFrame(frame), check_dtype=False,
                                              check_freq=False, obj=key)
            assert waits == []  # no pacing wait, no reconnect, no retry
        finally:
            ib_data.close()
            sim_data.close()
