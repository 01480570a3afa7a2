"""Build the state store named by the ``state_store`` config key."""
from __future__ import annotations

from pathlib import Path

from sysdata.state.base import StateStore


def state_store_from_url(url: str, home: Path, sqlite_synchronous: str = "FULL") -> StateStore:
    """``sqlite`` → ``$SYSTRADE_HOME/state.sqlite``; ``sqlite:///path``; ``mongodb://host/db``."""
    if url == "sqlite":
        from sysdata.state.sqlite_store import SqliteStateStore

        return SqliteStateStore(home / "state.sqlite", synchronous=sqlite_synchronous)
    if url.startswith("sqlite:///"):
        from sysdata.state.sqlite_store import SqliteStateStore

        return SqliteStateStore(Path(url[len("sqlite:///"):]).expanduser(),
                                synchronous=sqlite_synchronous)
    if url.startswith(("mongodb://", "mongodb+srv://")):
        from sysdata.state.mongo_store import MongoStateStore

        return MongoStateStore(url)
    from syscore.exceptions import ConfigError
    from sysdata.state.mongo_store import redact_url

    raise ConfigError("state_store: expected 'sqlite', 'sqlite:///path' or 'mongodb://...', "
                      f"found {redact_url(url)!r}")
