"""Fixtures for logging tests: real state stores (SQLite and a MongoDB-wire server) and a clean
root logger after every test."""
from __future__ import annotations

import uuid

import pytest

from sysdata.state.mongo_store import MongoStateStore
from sysdata.state.sqlite_store import SqliteStateStore
from syslogdiag.logging_setup import teardown_logging


@pytest.fixture(params=["sqlite", "mongodb"])
def state_store(request, tmp_path):
    if request.param == "sqlite":
        store = SqliteStateStore(tmp_path / "state.sqlite")
    else:
        mongo_url = request.getfixturevalue("mongo_url")
        store = MongoStateStore(f"{mongo_url}/t{uuid.uuid4().hex[:12]}")
    yield store
    if isinstance(store, MongoStateStore):
        store.drop_database()
    store.close()


@pytest.fixture(autouse=True)
def _clean_logging():
    teardown_logging()
    yield
    teardown_logging()
