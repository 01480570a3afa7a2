"""The broker built from configuration."""
from __future__ import annotations

import pandas as pd
import pytest

from sysbrokers.factory import broker_from_blob
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
        assert isinstance(clean.broker, SimBroker)
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


def test_ib_broker_not_yet_available_is_clear(tmp_path):
    data = blob(tmp_path, broker="ib")
    try:
        with pytest.raises(ConfigError, match="Interactive Brokers"):
            _ = data.broker
    finally:
        data.close()


def test_ib_not_yet_available_is_a_start_up_error_not_a_failure_per_item(tmp_path):
    """With ``broker: ib`` no pair can be updated: the command stops at once (exit 2 from every
    entry point, docs/exit_codes.md) instead of failing and alerting once per FX pair."""
    from syscore.exceptions import StartupError
    from sysdata.broker_config import FxPairConfig
    from syslogdiag.alerts import list_alerts
    from sysproduction.update_fx_prices import update_fx_prices

    data = blob(tmp_path, broker="ib")
    try:
        data.broker_config.add_fx_pairs([FxPairConfig("EURUSD", "EUR", "USD"),
                                         FxPairConfig("GBPUSD", "GBP", "USD")])
        with pytest.raises(StartupError, match="not available yet"):
            update_fx_prices(data)
        assert list_alerts(data.alerts) == []
        with pytest.raises(ConfigError):  # still a configuration problem for its callers
            _ = data.broker
    finally:
        data.close()
