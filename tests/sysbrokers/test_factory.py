"""The broker built from configuration."""
from __future__ import annotations

import pandas as pd
import pytest

from sysbrokers.factory import broker_from_blob
from sysbrokers.option_routing import OptionRoutedBroker
from sysbrokers.sim.broker import SimBroker
from syscore.config_models import SystradeConfig
from syscore.exceptions import ConfigError
from sysdata.data_blob import DataBlob
from sysdata.state.sqlite_store import SqliteStateStore
from sysdata.timeseries.arctic_store import TimeSeriesStore


class Clock:
    def now(self):
        return pd.Timestamp("2024-06-03 22:30", tz="UTC")


def blob(home, **config):
    home.mkdir(parents=True, exist_ok=True)
    return DataBlob(SqliteStateStore(home / "state.sqlite"),
                    TimeSeriesStore(f"lmdb://{home / 'arctic'}"), SystradeConfig(**config), home,
                    clock=Clock(), broker_factory=broker_from_blob)


def test_sim_broker_from_config_with_bad_data_rates(tmp_path):
    clean = blob(tmp_path / "a")
    dirty = blob(tmp_path / "b", sim={"zero_price_rate": 0.5})
    try:
        # the simulated broker, option codes routed to its option half
        assert isinstance(clean.broker, OptionRoutedBroker)
        assert isinstance(clean.broker.inner, SimBroker)
        start, end = pd.Timestamp("2024-05-01", tz="UTC"), Clock().now()
        clean_bars = clean.broker.get_historical_bars("CORN", "202412", "H", start, end)
        dirty_bars = dirty.broker.get_historical_bars("CORN", "202412", "H", start, end)
        assert (clean_bars["FINAL"] == 0).sum() == 0
        share = (dirty_bars["FINAL"] == 0).mean()
        assert 0.3 < share < 0.7
        assert (tmp_path / "a" / "sim_broker" / "broker.sqlite").exists()
    finally:
        clean.close()
        dirty.close()


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ib_broker_unreachable_is_clear(tmp_path):
    port = _closed_port()
    data = blob(tmp_path, broker="ib", ib={"port": port, "timeout_seconds": 2})
    try:
        with pytest.raises(ConfigError, match=f"broker 'ib': cannot connect to IB at 127.0.0.1:{port}"):
            _ = data.broker
        assert data.client_ids.owners() == {}  # the client id taken for the attempt is released
    finally:
        data.close()


def test_ib_unreachable_is_a_start_up_error_not_a_failure_per_item(tmp_path):
    """With ``broker: ib`` and no gateway no pair can be updated: the command stops at once
    (exit 2 from every entry point, docs/exit_codes.md) instead of failing and alerting once
    per FX pair."""
    from syscore.exceptions import StartupError
    from sysdata.broker_config import FxPairConfig
    from syslogdiag.alerts import list_alerts
    from sysproduction.update_fx_prices import update_fx_prices

    data = blob(tmp_path, broker="ib", ib={"port": _closed_port(), "timeout_seconds": 2})
    try:
        data.broker_config.add_fx_pairs([FxPairConfig("EURUSD", "EUR", "USD"),
                                         FxPairConfig("GBPUSD", "GBP", "USD")])
        with pytest.raises(StartupError, match="cannot connect to IB"):
            update_fx_prices(data)
        assert list_alerts(data.alerts) == []
        with pytest.raises(ConfigError):  # still a configuration problem for its callers
            _ = data.broker
    finally:
        data.close()


def test_ib_broker_from_config_trades_through_the_fake_tws(tmp_path):
    """``broker: ib`` builds the IB broker on the blob's state store, clock and IB mapping."""
    from sysbrokers.IB.broker import IBBroker
    from sysbrokers.IB.fake_tws import FakeTwsThread
    from sysbrokers.sim.market import default_market
    from syscore.clock import SimulatedClock
    from tests.sysbrokers.ib_helpers import ib_mapping

    market = default_market()
    clock = SimulatedClock(tmp_path / "tws", start=pd.Timestamp("2024-01-09 15:00", tz="UTC"))
    with FakeTwsThread(market, clock, broker_factory=lambda: SimBroker(clock, tmp_path / "tws",
                                                                       market)) as tws:
        data = DataBlob(SqliteStateStore(tmp_path / "state.sqlite"),
                        TimeSeriesStore(f"lmdb://{tmp_path / 'arctic'}"),
                        SystradeConfig(broker="ib", ib={"port": tws.port}), tmp_path,
                        clock=clock, broker_factory=broker_from_blob)
        try:
            data.broker_config.add_ib_futures(ib_mapping(market))
            broker = data.broker
            assert isinstance(broker, IBBroker) and broker.is_connected()
            assert "CORN" in broker.list_instruments()
            assert list(data.client_ids.owners()) == [broker.client_id]
            contract = market.active_contracts("CORN", clock.now())[0]
            assert broker.get_contract_details("CORN", contract).multiplier == 50.0
            broker.close()
            assert data.client_ids.owners() == {}  # released on close
        finally:
            data.close()
