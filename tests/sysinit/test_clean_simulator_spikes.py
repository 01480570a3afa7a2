"""The clean simulated market (no bad data configured) passes the spike check: the initial loads
(init_spot_fx, init_history_from_broker) find no suspected spike, and the simulator's hourly and
daily bars stay within ``max_price_spike`` everywhere. Before the fix, init_spot_fx reported
suspected spikes in EURUSD and hourly bars tripped the check about once a week per 30
instruments (a jump landing in one hourly bar)."""
from __future__ import annotations

import shutil

import pandas as pd
import pytest

from sysbrokers.sim.broker import SimBroker
from sysbrokers.sim.market import default_market
from sysinit.import_pysystemtrade_csv import import_pysystemtrade_csv
from sysinit.init_from_sim_universe import init_from_sim_universe
from sysinit.init_history_from_broker import init_history_from_broker
from sysinit.init_spot_fx import init_spot_fx
from sysobjects.spike_check import SpikeCheckSettings, check_for_spikes
from tests.blob_helpers import FixedClock, make_blob

NOW = "2024-06-03 22:30"


def sim_blob(home):
    market = default_market(42)
    return make_blob(home, clock=FixedClock(NOW), broker_factory=lambda blob: SimBroker(
        clock=blob.clock, home=blob.home, market=market))


def test_init_spot_fx_on_the_clean_simulator_finds_no_spike(tmp_path, pysystemtrade_reference):
    data = sim_blob(tmp_path / "home")
    source = tmp_path / "src"
    shutil.copytree(pysystemtrade_reference / "sysbrokers_IB", source / "sysbrokers_IB")
    import_pysystemtrade_csv(str(source), data=data)
    try:
        report = init_spot_fx("ALL", data=data)  # from the simulator's start, 2000-01-03
        assert sorted(report.results) == ["AUDUSD", "CHFUSD", "EURUSD", "GBPUSD", "JPYUSD"]
        for code, result in report.results.items():
            assert result.rows > 6000, code
            assert result.suspected_spikes == [], (code, result.suspected_spikes)
        assert not [a for a in data.alerts.all() if "pike" in a["subject"]]
    finally:
        data.close()


def test_init_history_from_broker_on_the_clean_simulator_finds_no_spike(tmp_path):
    data = sim_blob(tmp_path / "home")
    try:
        # instruments whose daily bars tripped the check before the fix
        init_from_sim_universe("LIVECOW,FTSE100,BTP", data=data)
        report = init_history_from_broker(years=9, data=data)
        assert report.ok, report.failures
        assert len(report.results) == 3
        spiky = {code: r.suspected_spikes for code, r in report.results.items()
                 if r.suspected_spikes}
        assert spiky == {}
        assert all(r.bars_written > 9 * 250 for r in report.results.values())
        assert not [a for a in data.alerts.all() if "pike" in a["subject"]]
    finally:
        data.close()


@pytest.mark.parametrize("frequency, start, end", [
    ("H", "2023-01-01", "2024-01-01"),
    ("D", "2005-01-01", "2024-01-01"),
])
def test_every_instrument_bars_pass_the_spike_check(frequency, start, end):
    market = default_market(42)
    settings = SpikeCheckSettings(max_price_spike=8.0, min_reference_changes=20)
    begin, finish = pd.Timestamp(start, tz="UTC"), pd.Timestamp(end, tz="UTC")
    worst = {}
    for code in market.instruments():
        contracts = market.contracts_expiring_between(
            code, begin.date(), (finish + pd.Timedelta(days=120)).date())
        for contract in contracts[:: max(1, len(contracts) // 4)]:
            bars = market.bars(code, contract, frequency, begin, finish)["FINAL"]
            if len(bars) < 30:
                continue
            checked = check_for_spikes(bars.iloc[:0], bars, settings)
            worst[(code, contract)] = float(checked.checked["ratio"].iloc[20:].max())
            assert not checked.has_spikes, (code, contract, list(checked.spikes))
    assert len(worst) > 60
    assert max(worst.values()) < 7.5  # with room under the threshold of 8
