"""Store fixtures: every state-store test runs against SQLite and a real MongoDB-wire server."""
from __future__ import annotations

import uuid

import pytest

from sysdata.state.mongo_store import MongoStateStore
from sysdata.state.sqlite_store import SqliteStateStore
from sysdata.timeseries.arctic_store import TimeSeriesStore

STATE_BACKENDS = ["sqlite", "mongodb"]


def make_state_store(backend: str, tmp_path, mongo_url: str):
    if backend == "sqlite":
        return SqliteStateStore(tmp_path / "state.sqlite")
    return MongoStateStore(f"{mongo_url}/t{uuid.uuid4().hex[:12]}")


@pytest.fixture(params=STATE_BACKENDS)
def state_store(request, tmp_path):
    backend = request.param
    url = request.getfixturevalue("mongo_url") if backend == "mongodb" else ""
    store = make_state_store(backend, tmp_path, url)
    yield store
    if isinstance(store, MongoStateStore):
        store.drop_database()
    store.close()


@pytest.fixture
def ts_store(tmp_path):
    store = TimeSeriesStore(f"lmdb://{tmp_path / 'arctic'}")
    yield store
    store.close()
