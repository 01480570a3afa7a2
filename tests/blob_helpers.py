"""Build real DataBlobs for tests (real SQLite/MongoDB and ArcticDB LMDB stores)."""
from __future__ import annotations

import uuid
from pathlib import Path

import pandas as pd

from syscore.config_models import SystradeConfig
from sysdata.data_blob import DataBlob
from sysdata.state.mongo_store import MongoStateStore
from sysdata.state.sqlite_store import SqliteStateStore
from sysdata.timeseries.arctic_store import TimeSeriesStore


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
                    broker_factory=broker_factory)
