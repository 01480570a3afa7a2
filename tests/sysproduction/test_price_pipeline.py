"""The daily price processes end to end against the simulated broker and real stores."""
from __future__ import annotations

import re

import pandas as pd
import pytest

from sysbrokers.sim.bad_data import BadDataConfig, BadDataInjection, BadDataKind
from sysbrokers.sim.broker import SimBroker
from sysbrokers.sim.market import MarketModel, default_market
from sysinit.init_from_sim_universe import init_from_sim_universe
from sysobjects.multiple_prices import MultiplePrices, multiple_prices_from_contract_prices
from sysproduction.update_fx_prices import update_fx_prices
from sysproduction.update_historical_prices import update_historical_prices
from sysproduction.update_multiple_adjusted_prices import update_multiple_adjusted_prices
from sysproduction.update_sampled_contracts import key_contracts, update_sampled_contracts
from tests.blob_helpers import FixedClock, make_blob

START = "2024-06-03 22:30"
CODES = "CORN,EUROSTX"


def blob_with_market(home, clock, market=None):
    market = market or default_market(42)
    return make_blob(home, clock=clock, broker_factory=lambda blob: SimBroker(
        clock=blob.clock, home=blob.home, market=market))


@pytest.fixture
def clock():
    return FixedClock(START)


@pytest.fixture
def blob(tmp_path, clock):
    data = blob_with_market(tmp_path / "home", clock)
    init_from_sim_universe(CODES, data=data)
    yield data
    data.close()


def snapshot(data):
    out = {}
    for library in data.timeseries.libraries():
        for symbol in data.timeseries.symbols(library):
            out[(library, symbol)] = data.timeseries.read(library, symbol)
    return out, data.state.dump()


def assert_same(before, after):
    assert before[0].keys() == after[0].keys()
    for key in before[0]:
        pd.testing.assert_frame_equal(before[0][key], after[0][key], obj=str(key))
    assert before[1] == after[1]


def seed_fx_history(data, code, days_back=10):
    """Initial FX history as sysinit would load it: the broker's series up to a few days ago."""
    pair = data.broker_config.fx_pair(code)
    history = data.broker.get_fx_prices(pair.ccy1, pair.ccy2,
                                        data.now() - pd.Timedelta(days=3 * 365), data.now())
    data.fx_prices.write(code, history[history.index < data.now() - pd.Timedelta(days=days_back)])


def test_fx_update_writes_then_is_idempotent(blob, clock, caplog):
    seed_fx_history(blob, "EURUSD")
    with caplog.at_level("INFO"):
        report = update_fx_prices(data=blob)
    assert report.ok
    written = [r.getMessage() for r in caplog.records if "new prices written" in r.getMessage()]
    assert len(written) == 1 and "+00:00" not in written[0]  # a time for people, not a repr
    assert re.search(r", last \d{4}-\d\d-\d\d( \d\d:\d\d UTC)?$", written[0]), written[0]
    assert 5 <= report.results["EURUSD"].written <= 10
    series = blob.fx_prices.read_series("EURUSD")
    assert series.index.max() <= clock.now()
    assert (series > 0.5).all() and (series < 2).all()
    before = snapshot(blob)
    assert update_fx_prices(data=blob).results["EURUSD"].written == 0
    assert_same(before, snapshot(blob))
    clock.current += pd.Timedelta(days=3)
    assert update_fx_prices(data=blob).results["EURUSD"].written >= 1


def seed_multiple_prices(data, code):
    """Initial multiple prices from the stored per-contract closes of today's key contracts,
    cut a few days back so the daily update has rows to add."""
    contracts = key_contracts(data, code, data.now().date())
    closes = {c: data.contract_prices.read(code, c, "merged")["FINAL"]
              for c in contracts if data.contract_prices.has(code, c, "merged")}
    built = multiple_prices_from_contract_prices(closes, contracts)
    cut = built.data[built.data.index < data.now() - pd.Timedelta(days=5)]
    data.multiple_prices.write(code, cut)
    return contracts


def test_contracts_prices_multiple_adjusted_pipeline(blob, clock):
    chain = update_sampled_contracts(data=blob)
    assert chain.ok, chain.failures
    corn = blob.contracts.for_instrument("CORN", sampling_only=True)
    key = chain.results["CORN"].key
    assert set(key) <= {c.contract_date for c in corn}
    assert all(c.expiry_is_actual for c in corn)
    # a second run finds nothing to change
    assert update_sampled_contracts(data=blob).results["CORN"].added == []

    prices = update_historical_prices(data=blob)
    assert prices.ok, prices.failures
    hourly = blob.contract_prices.read("CORN", key[0], "H")
    daily = blob.contract_prices.read("CORN", key[0], "D")
    merged = blob.contract_prices.read("CORN", key[0], "merged")
    assert len(hourly) > 100 and len(daily) > 50
    assert len(merged) == len(hourly.index.union(daily.index))
    assert merged.index.max() <= clock.now()
    before = snapshot(blob)
    update_historical_prices(data=blob)
    assert_same(before, snapshot(blob))

    for code in ("CORN", "EUROSTX"):
        seed_multiple_prices(blob, code)
    report = update_multiple_adjusted_prices(data=blob)
    assert report.ok, report.failures
    assert report.results["CORN"].appended > 0
    multiple = MultiplePrices(blob.multiple_prices.read("CORN"))
    adjusted = blob.adjusted_prices.read_series("CORN")
    # no roll in the seeded data: adjusted equals the raw PRICE where PRICE exists
    priced = multiple.data["PRICE"].dropna()
    pd.testing.assert_series_equal(adjusted, priced, check_names=False)
    before = snapshot(blob)
    update_multiple_adjusted_prices(data=blob)
    assert_same(before, snapshot(blob))

    # a day later new bars flow all the way through
    clock.current += pd.Timedelta(days=1)
    update_historical_prices(data=blob)
    later = update_multiple_adjusted_prices(data=blob)
    assert later.results["CORN"].appended > 0
    assert blob.adjusted_prices.read_series("CORN").index[-1] > adjusted.index[-1]


def test_unregistered_roll_alerts_and_loop_continues(blob):
    update_sampled_contracts(data=blob)
    update_historical_prices(data=blob)
    for code in ("CORN", "EUROSTX"):
        seed_multiple_prices(blob, code)
    update_multiple_adjusted_prices(data=blob)
    # someone rolled CORN's multiple prices without re-stitching the adjusted prices
    frame = blob.multiple_prices.read("CORN")
    last = frame.iloc[[-1]].copy()
    last.index = last.index + pd.Timedelta(seconds=1)
    last["PRICE_CONTRACT"] = last["FORWARD_CONTRACT"].iloc[0]
    blob.multiple_prices.append("CORN", last)
    report = update_multiple_adjusted_prices(data=blob)
    assert "CORN" in report.failures and "EUROSTX" in report.results
    subjects = [a["subject"] for a in blob.alerts.all()]
    assert "update_multiple_adjusted_prices failed for CORN" in subjects


def test_spiked_contract_not_written_and_one_alert(tmp_path, clock):
    clean = blob_with_market(tmp_path / "clean", clock)
    init_from_sim_universe("CORN", data=clean)
    update_sampled_contracts(data=clean)
    key = key_contracts(clean, "CORN", clock.now().date())
    clean.close()

    # history collected up to yesterday, then a spiked bar arrives today
    yesterday = FixedClock(clock.now() - pd.Timedelta(days=1))
    injection = BadDataInjection(BadDataKind.SPIKE, "CORN", clock.now() - pd.Timedelta(hours=12),
                                 clock.now(), contract_date=key[0], factor=3.0)
    market = MarketModel(default_market(42).universe, bad_data=BadDataConfig(injections=(injection,)))
    data = blob_with_market(tmp_path / "home", yesterday, market)
    init_from_sim_universe("CORN", data=data)
    update_sampled_contracts(data=data)
    update_historical_prices(data=data)
    stored_before = data.contract_prices.read("CORN", key[0], "H")
    yesterday.current = clock.now()  # the blob's clock (and its broker's) moves to today
    report = update_historical_prices(data=data)
    result = report.results["CORN"]
    spiked = {c.contract_date for c in result.spiked}
    assert spiked == {key[0]}
    pd.testing.assert_frame_equal(data.contract_prices.read("CORN", key[0], "H"), stored_before)
    others = [c for c in result.contracts if c.contract_date != key[0]]
    assert any(c.written for c in others)  # clean contracts were still written
    alerts = [a for a in data.alerts.all() if "CORN" in a["subject"]]
    assert len(alerts) == 1 and alerts[0]["subject"] == "Price spike in CORN"
    assert not report.ok  # clean contracts were written, but CORN's spiked one was held back
    assert report.summary == ("update_historical_prices: 1 held back by spikes, 0 failed, "
                              "1 CRITICAL alert")
    assert f"{key[0]} hourly: first spike at 2024-06-03 11:00 UTC" in alerts[0]["body"]
    assert "Timestamp(" not in str(report) and "+00:00" not in alerts[0]["body"]
    data.close()


def test_download_by_zone_waits_for_its_time(blob, clock):
    update_sampled_contracts(data=blob)
    zones = {"US": "23:00", "EMEA": "18:00"}  # now 22:30 UTC: 18:30 New York, 23:30 London
    report = update_historical_prices(download_by_zone=zones, data=blob)
    assert "EUROSTX" in report.results and "CORN" not in report.results
    assert report.waiting == ["CORN"]
    # an explicit zone, and a region missing from the mapping is collected at once
    utc = update_historical_prices(download_by_zone={"US": "22:00 UTC"}, data=blob)
    assert "CORN" in utc.results and "EUROSTX" in utc.results and utc.waiting == []


def test_late_bar_is_inserted_into_history(tmp_path, clock, caplog):
    late_at = clock.now().normalize() + pd.Timedelta(hours=15)  # a CORN hourly bar today
    injection = BadDataInjection(BadDataKind.LATE, "CORN", late_at, late_at,
                                 delay=pd.Timedelta(hours=20))
    market = MarketModel(default_market(42).universe, bad_data=BadDataConfig(injections=(injection,)))
    data = blob_with_market(tmp_path / "home", clock, market)
    try:
        init_from_sim_universe("CORN", data=data)
        update_sampled_contracts(data=data)
        update_historical_prices(data=data)
        key = key_contracts(data, "CORN", clock.now().date())[0]
        assert late_at not in data.contract_prices.read("CORN", key, "H").index
        clock.current += pd.Timedelta(days=1)
        with caplog.at_level("WARNING"):
            report = update_historical_prices(data=data)
        assert report.ok, report.failures
        assert late_at in data.contract_prices.read("CORN", key, "H").index
        assert late_at in data.contract_prices.read("CORN", key, "merged").index
        assert any("late hourly bars inserted" in r.getMessage() for r in caplog.records)
    finally:
        data.close()


def test_configured_but_not_set_up_is_listed_once_and_raises_no_alert(blob, caplog):
    """pysystemtrade's convention: the daily updates work over the instruments with stored
    prices or contracts. One only configured (as hundreds of pysystemtrade's instrumentconfig
    are) is not updated and not alerted every day; a configured FX pair the broker does not
    quote, with nothing stored, likewise."""
    from sysdata.broker_config import FxPairConfig
    from sysobjects.instruments import InstrumentConfig

    blob.instruments.add(InstrumentConfig("ONLYCONFIG", pointsize=10, currency="USD"))
    blob.roll_parameters.add("ONLYCONFIG", blob.roll_parameters.get("CORN"))
    blob.broker_config.add_fx_pairs([FxPairConfig("CNHUSD", "CNH", "USD", False)])
    with caplog.at_level("INFO"):
        chains = update_sampled_contracts(data=blob)
        prices = update_historical_prices(data=blob)
        fx = update_fx_prices(data=blob)
    assert chains.ok and chains.not_set_up == ["ONLYCONFIG"], chains.failures
    assert set(chains.results) == {"CORN", "EUROSTX"}
    assert "1 not set up" in chains.summary and "not set up (no stored prices): ONLYCONFIG" \
        in str(chains)
    assert blob.contracts.for_instrument("ONLYCONFIG") == []
    assert prices.ok and "ONLYCONFIG" not in prices.results, prices.failures
    assert fx.ok and fx.not_set_up == ["CNHUSD"] and "CNHUSD" not in fx.results, fx.failures
    assert blob.alerts.all() == []
    listed = [r for r in caplog.records if "not set up" in r.getMessage()]
    assert len(listed) == 2 and all(r.levelname == "INFO" for r in listed)
    # naming the instrument starts its chain (the way to set one up by hand)
    assert update_sampled_contracts("ONLYCONFIG", data=blob).results["ONLYCONFIG"].key
    assert blob.contracts.for_instrument("ONLYCONFIG")
