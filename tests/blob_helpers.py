"""Build real DataBlobs for tests (real SQLite/MongoDB and ArcticDB LMDB stores)."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from sysbrokers.factory import broker_from_blob
from syscore.config_models import SystradeConfig
from sysdata.data_blob import DataBlob
from sysdata.state.mongo_store import MongoStateStore
from sysdata.state.sqlite_store import SqliteStateStore
from sysdata.timeseries.arctic_store import TimeSeriesStore

SIM_START = pd.Timestamp("2024-01-09 15:00", tz="UTC")  # a Tuesday: every market is open


class FixedClock:
    """A clock that returns a set time (tz-aware UTC) until moved."""

    def __init__(self, now="2024-01-02 12:00"):
        ts = pd.Timestamp(now)
        self.current = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")

    def now(self) -> pd.Timestamp:
        return self.current


def make_blob(home: Path, backend: str = "sqlite", mongo_url: str | None = None,
              clock=None, broker_factory=None) -> DataBlob:
    """A blob on real stores under ``home``; ``broker_factory(blob)`` builds its broker
    (default: from configuration, i.e. the simulated broker)."""
    home.mkdir(parents=True, exist_ok=True)
    if backend == "sqlite":
        state = SqliteStateStore(home / "state.sqlite")
        config = SystradeConfig()
    else:
        url = f"{mongo_url}/t{uuid.uuid4().hex[:12]}"
        state = MongoStateStore(url)
        config = SystradeConfig(state_store=url)
    timeseries = TimeSeriesStore(f"lmdb://{home / 'arctic'}")
    return DataBlob(state, timeseries, config, home, clock=clock or FixedClock(),
                    broker_factory=broker_factory or broker_from_blob)


@contextmanager
def sim_broker_blob(home: Path, backend: str = "sqlite", mongo_url: str | None = None,
                    start: pd.Timestamp | None = None) -> Iterator[tuple[DataBlob, object]]:
    """``(blob, clock)``: a blob on real stores under ``home`` whose broker is the simulated
    broker (default market, option codes routed: :class:`OptionRoutedBroker`) on a :class:`~syscore.clock.SimulatedClock` starting at ``start``
    (tz-aware UTC); the blob and every broker it built are closed on exit."""
    from sysbrokers.option_routing import OptionRoutedBroker
    from sysbrokers.sim.broker import SimBroker
    from sysbrokers.sim.market import default_market
    from syscore.clock import SimulatedClock

    clock = SimulatedClock(home, start=start)
    brokers: list[SimBroker] = []

    def factory(blob: DataBlob) -> OptionRoutedBroker:
        brokers.append(SimBroker(clock, home, default_market()))
        return OptionRoutedBroker(brokers[-1])  # as the production factory builds it

    data = make_blob(home, backend, mongo_url, clock=clock, broker_factory=factory)
    try:
        yield data, clock
    finally:
        data.close()
        for broker in brokers:
            broker.close()


def reopened(data: DataBlob, home: Path, clock) -> DataBlob:
    """A new blob on ``data``'s stores with a new broker connection (its broker factory): what
    a restarted process sees. Close it when done."""
    if data.config.state_store.startswith("mongodb"):
        state = MongoStateStore(data.config.state_store)
    else:
        state = SqliteStateStore(home / "state.sqlite")
    return DataBlob(state, TimeSeriesStore(f"lmdb://{home / 'arctic'}"), data.config, home,
                    clock=clock, broker_factory=data._broker_factory)
