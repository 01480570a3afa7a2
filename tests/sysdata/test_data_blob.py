"""The DataBlob built from configuration, on the embedded default and on MongoDB."""
from __future__ import annotations

import pandas as pd
import pytest

from syscore.exceptions import ConfigError, StoreError
from sysdata.data_blob import DataBlob
from sysobjects.instruments import InstrumentConfig


def test_embedded_default_creates_stores_under_home(systrade_home):
    with DataBlob.from_config(systrade_home) as data:
        data.instruments.add(InstrumentConfig("CORN", pointsize=50))
        data.fx_prices.write("EURUSD", pd.Series([1.1], index=pd.DatetimeIndex(["2024-01-01"])))
        assert data.state.url.endswith("state.sqlite")
        assert data.timeseries.uri == f"lmdb://{systrade_home / 'arctic'}"
        assert data.now().tzinfo is not None
    assert (systrade_home / "state.sqlite").exists()
    with DataBlob.from_config(systrade_home) as again:  # a second process sees the same data
        assert again.instruments.list_codes() == ["CORN"]
        assert again.fx_prices.read_series("EURUSD").iloc[0] == 1.1


def test_mongodb_state_store_from_private_config(systrade_home, mongo_url):
    (systrade_home / "private" / "private_config.yaml").write_text(
        f"state_store: {mongo_url}/blobtest\n")
    with DataBlob.from_config(systrade_home) as data:
        data.instruments.add(InstrumentConfig("US10", pointsize=1000))
        assert data.state.url.startswith("mongodb://")
        assert data.instruments.list_codes() == ["US10"]
        data.state.drop("instruments")


def test_unreachable_mongodb_is_clear_error(systrade_home):
    (systrade_home / "private" / "private_config.yaml").write_text(
        "state_store: mongodb://trader:hunter2@127.0.0.1:9/none\n")
    with pytest.raises(StoreError, match="cannot reach MongoDB at mongodb://") as raised:
        DataBlob.from_config(systrade_home)
    assert "hunter2" not in str(raised.value)
    assert not (systrade_home / "state.sqlite").exists()  # no fallback to the embedded store
    assert not (systrade_home / "arctic").exists()


def test_bad_config_stops_before_any_store_is_created(systrade_home):
    (systrade_home / "private" / "private_config.yaml").write_text("state_store: 42\n")
    with pytest.raises(ConfigError):
        DataBlob.from_config(systrade_home)
    assert not (systrade_home / "state.sqlite").exists()
    assert not (systrade_home / "arctic").exists()


def test_simulated_clock_shared_by_blobs_of_one_home(systrade_home):
    (systrade_home / "private" / "private_config.yaml").write_text("clock: simulated\n")
    with DataBlob.from_config(systrade_home) as first, DataBlob.from_config(systrade_home) as second:
        first.clock.set(pd.Timestamp("2030-01-02 10:00", tz="UTC"))
        assert second.now() == pd.Timestamp("2030-01-02 10:00", tz="UTC")


def test_a_blob_without_broker_factory_says_so(systrade_home):
    """sysdata does not import sysbrokers: the broker is wired in by the caller."""
    with DataBlob.from_config(systrade_home) as data:
        with pytest.raises(ConfigError, match="no broker"):
            _ = data.broker
