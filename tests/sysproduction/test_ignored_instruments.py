"""Instruments in ``exclude_instrument_lists.ignore_instruments`` take no part in the daily
processes, the roll or backtests, and raise no alerts (real stores, simulated broker)."""
from __future__ import annotations

import pandas as pd
import pytest

from sysbrokers.sim.bad_data import BadDataConfig, BadDataInjection, BadDataKind
from sysbrokers.sim.broker import SimBroker
from sysbrokers.sim.market import MarketModel, default_market
from syscore.config_models import SystradeConfig
from syscore.exceptions import InvalidData
from sysdata.data_blob import DataBlob
from sysinit.init_from_sim_universe import init_from_sim_universe
from sysproduction.roll_adjusted_prices import roll_adjusted_prices
from sysproduction.update_historical_prices import update_historical_prices
from sysproduction.update_multiple_adjusted_prices import update_multiple_adjusted_prices
from sysproduction.update_roll_state import update_roll_state
from sysproduction.update_sampled_contracts import key_contracts, update_sampled_contracts
from sysproduction.update_system_backtests import with_instrument_exclusions
from systems.config import config_from_dict
from tests.blob_helpers import FixedClock, make_blob

NOW = pd.Timestamp("2024-06-03 22:30", tz="UTC")


def blob_on(base: DataBlob, config: SystradeConfig, market: MarketModel) -> DataBlob:
    return DataBlob(base.state, base.timeseries, config, base.home, clock=base.clock,
                    broker_factory=lambda blob: SimBroker(clock=blob.clock, home=blob.home,
                                                          market=market))


def test_ignored_instrument_is_skipped_by_every_daily_process(tmp_path):
    clock = FixedClock(NOW - pd.Timedelta(days=1))
    base = make_blob(tmp_path / "home", clock=clock)
    clean = blob_on(base, SystradeConfig(), default_market(42))
    init_from_sim_universe("CORN,EUROSTX", data=clean)
    update_sampled_contracts(data=clean)
    assert update_historical_prices(data=clean).ok
    key = key_contracts(clean, "CORN", clock.now().date())
    stored = {c.contract_date: clean.contract_prices.read("CORN", c.contract_date, "H")
              for c in clean.contracts.for_instrument("CORN", sampling_only=True)
              if clean.contract_prices.has("CORN", c.contract_date, "H")}
    assert key[0] in stored
    contracts_before = clean.state.dump()

    # today CORN serves a spike that would raise an alert; but CORN is ignored
    injection = BadDataInjection(BadDataKind.SPIKE, "CORN", NOW - pd.Timedelta(hours=12), NOW,
                                 contract_date=key[0], factor=3.0)
    spiky = MarketModel(default_market(42).universe,
                        bad_data=BadDataConfig(injections=(injection,)))
    config = SystradeConfig(exclude_instrument_lists={"ignore_instruments": ["CORN"]})
    data = blob_on(base, config, spiky)
    clock.current = NOW
    alerts_before = len(data.alerts.all())

    prices = update_historical_prices(data=data)
    assert prices.ok and prices.ignored == ["CORN"] and list(prices.results) == ["EUROSTX"]
    assert "ignored (exclude_instrument_lists.ignore_instruments): CORN" in str(prices)
    named = update_historical_prices("CORN", data=data)
    assert named.ignored == ["CORN"] and not named.results and not named.failures
    for contract, frame in stored.items():  # nothing fetched or written for CORN
        pd.testing.assert_frame_equal(data.contract_prices.read("CORN", contract, "H"), frame)

    sampled = update_sampled_contracts(data=data)
    assert sampled.ignored == ["CORN"] and "CORN" not in sampled.results
    corn_docs = {k: v for k, v in data.state.dump().items() if "CORN" in str(k)}
    assert corn_docs == {k: v for k, v in contracts_before.items() if "CORN" in str(k)}
    multiple = update_multiple_adjusted_prices("CORN", data=data)
    assert multiple.ignored == ["CORN"] and not multiple.results

    assert len(data.alerts.all()) == alerts_before  # no alert of any kind
    with pytest.raises(InvalidData, match="CORN is in exclude_instrument_lists.ignore_instruments"):
        roll_adjusted_prices("CORN", data=data)
    with pytest.raises(InvalidData, match="not rolled"):
        update_roll_state("CORN", "Passive", data=data)
    base.close()


def test_backtests_leave_out_ignored_and_duplicates_and_zero_weight_bad_markets():
    config = config_from_dict({
        "instruments": ["CORN", "SP500", "SP500_micro", "V2X", "US10"],
        "exclude_instrument_lists": {"ignore_instruments": ["CORN"], "bad_markets": ["V2X"]},
        "duplicate_instruments": {"include": {"sp500": "SP500_micro"},
                                  "exclude": {"sp500": ["SP500"]}},
    })
    codes = config.instrument_list(["CORN", "SP500", "SP500_micro", "V2X", "US10"])
    assert codes == ["SP500_micro", "V2X", "US10"]
    assert config.raw_instrument_weights(codes) == {"SP500_micro": 0.5, "V2X": 0.0, "US10": 0.5}
    assert "exclude_instrument_lists" not in config.ignored_keys


def test_production_backtests_take_the_main_config_lists():
    main = SystradeConfig(exclude_instrument_lists={"ignore_instruments": ["CORN"],
                                                    "trading_restrictions": ["US10"]},
                          duplicate_instruments={"exclude": {"sp500": "SP500"}})
    raw = {"instrument_weights": {"CORN": 0.25, "SP500": 0.25, "US10": 0.25, "GOLD": 0.25},
           "exclude_instrument_lists": {"ignore_instruments": ["GAS_US"]}}
    config = config_from_dict(with_instrument_exclusions(raw, main))
    codes = config.instrument_list()
    assert codes == ["US10", "GOLD"]
    assert config.raw_instrument_weights(codes) == {"US10": 0.0, "GOLD": 0.25}
    assert config.excluded_instruments == {"CORN", "GAS_US", "SP500"}
