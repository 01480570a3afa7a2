"""Build the state store named by the ``state_store`` config key (URL rules in
:mod:`syscore.store_urls`: relative SQLite paths are relative to the home, never the cwd)."""
from __future__ import annotations

from pathlib import Path

from syscore.store_urls import resolve_state_store
from sysdata.state.base import StateStore


def state_store_from_url(url: str, home: Path, sqlite_synchronous: str = "FULL",
                         timeout_seconds: float = 3.0) -> StateStore:
    """``sqlite`` -> ``$SYSTRADE_HOME/state.sqlite``; ``sqlite:///abs/path``;
    ``sqlite:relative/to/home``; ``mongodb://host/db`` (``timeout_seconds`` bounds how long
    the server is waited for before :class:`StoreError`)."""
    location = resolve_state_store(url, home)
    if location.kind == "sqlite":
        from sysdata.state.sqlite_store import SqliteStateStore

        return SqliteStateStore(location.path, synchronous=sqlite_synchronous)
    from sysdata.state.mongo_store import MongoStateStore

    return MongoStateStore(location.url, server_timeout_ms=int(timeout_seconds * 1000))
