"""Where the stores named in configuration live (pure parsing, no I/O).

``state_store``:

* ``sqlite`` -> ``$SYSTRADE_HOME/state.sqlite``;
* ``sqlite:///abs/path/state.sqlite`` -> the absolute path ``/abs/path/state.sqlite`` (three
  slashes then the path; ``sqlite:////abs/path`` means the same);
* ``sqlite:relative/path.sqlite`` -> ``$SYSTRADE_HOME/relative/path.sqlite``;
* ``sqlite:~/path`` or ``sqlite:///~/path`` -> under the user's home directory;
* ``mongodb://...`` / ``mongodb+srv://...`` -> a MongoDB server (passed through).

``timeseries_store`` (any ArcticDB URI; only LMDB paths are rewritten):

* unset -> ``lmdb://$SYSTRADE_HOME/arctic``;
* ``lmdb:///abs/path`` -> the absolute path; ``lmdb://relative/path`` -> under the home;
  options after ``?`` (``?map_size=2GB``) are kept;
* anything else (``s3://...``) -> passed through.

A relative path is always relative to the systrade home, never to the working directory: cron
and an operator's shell open the same store wherever they start.

A store may not be the home itself or a folder holding it (``lmdb:///`` would put ArcticDB's
folders at the file-system root, ``lmdb://..`` among the home's neighbours), nor sit inside
``$SYSTRADE_HOME/private``: every CSV backup copies that folder and a restore writes it back,
over a live store. Checked on the path as written (``..`` folded, symlinks not followed).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from syscore.exceptions import ConfigError
from syscore.redaction import redact_url

DEFAULT_STATE_FILE = "state.sqlite"
DEFAULT_TIMESERIES_DIR = "arctic"
SQLITE_PREFIX = "sqlite:"
LMDB_PREFIX = "lmdb://"
MONGO_PREFIXES = ("mongodb://", "mongodb+srv://")


@dataclass(frozen=True)
class StateLocation:
    """A resolved ``state_store``: ``path`` (absolute) for SQLite, ``url`` for MongoDB."""

    kind: str  # "sqlite" or "mongodb"
    url: str
    path: Path | None = None


def _under_home(text: str, home: Path, key: str, original: str) -> Path:
    if not text:
        raise ConfigError(f"{key}: no path in {redact_url(original)!r}")
    if text.startswith("~"):
        return Path(text).expanduser()
    path = Path(text)
    return path if path.is_absolute() else Path(home) / path


PRIVATE_DIR = "private"


def check_store_location(path: Path, home: Path, key: str, original: str) -> Path:
    """``path`` if a store may live there (module docstring), else :class:`ConfigError`."""
    where = Path(os.path.normpath(path))
    home = Path(os.path.normpath(Path(home).expanduser().absolute()))
    if where == home or where in home.parents:
        raise ConfigError(f"{key}: {redact_url(original)!r} is {where}, which holds the systrade "
                          f"home {home}; give the store a folder of its own (e.g. "
                          f"{'lmdb://arctic' if key == 'timeseries_store' else 'sqlite'})")
    private = home / PRIVATE_DIR
    if where == private or private in where.parents:
        raise ConfigError(f"{key}: {redact_url(original)!r} is {where}, inside the private config "
                          f"folder {private}, which backups copy and restores write back; "
                          "put the store elsewhere")
    return path


def sqlite_path(url: str, home: Path) -> Path:
    """The absolute file of a ``sqlite`` / ``sqlite:...`` state-store URL (module docstring)."""
    return check_store_location(_sqlite_path(url, home), home, "state_store", url)


def _sqlite_path(url: str, home: Path) -> Path:
    if url == "sqlite":
        return Path(home) / DEFAULT_STATE_FILE
    if not url.startswith(SQLITE_PREFIX):
        raise ConfigError(f"state_store: not a sqlite URL: {redact_url(url)!r}")
    rest = url[len(SQLITE_PREFIX):]
    if rest.startswith("///"):
        rest = rest[3:]
        if rest.startswith("~"):
            return Path(rest).expanduser()
        return Path("/" + rest.lstrip("/"))
    if rest.startswith("//"):
        raise ConfigError(
            f"state_store: {redact_url(url)!r} names a host; write sqlite:///absolute/path "
            "(three slashes) or sqlite:path/relative/to/home")
    return _under_home(rest, home, "state_store", url)


def check_state_url(url: str) -> str:
    """Validate the syntax of a ``state_store`` value (for the config model); returns it."""
    if url == "sqlite" or url.startswith(MONGO_PREFIXES):
        return url
    if url.startswith(SQLITE_PREFIX):
        sqlite_path(url, Path("/home-placeholder"))
        return url
    raise ConfigError("expected 'sqlite', 'sqlite:///<absolute path>', 'sqlite:<path relative "
                      "to the home>' or 'mongodb://host:port/dbname'")


def resolve_state_store(url: str, home: Path) -> StateLocation:
    """Where the state store named by ``url`` lives (module docstring)."""
    if url.startswith(MONGO_PREFIXES):
        return StateLocation("mongodb", url)
    check_state_url(url)
    path = sqlite_path(url, home)
    return StateLocation("sqlite", f"sqlite:///{str(path).lstrip('/')}", path)


def lmdb_path(uri: str) -> Path | None:
    """The folder of an (already resolved) ``lmdb://`` URI, else None."""
    if not uri.startswith(LMDB_PREFIX):
        return None
    return Path(uri[len(LMDB_PREFIX):].split("?", 1)[0])


def resolve_timeseries_uri(uri: str | None, home: Path) -> str:
    """The ArcticDB URI for ``timeseries_store`` with any LMDB path made absolute."""
    if not uri:
        return f"{LMDB_PREFIX}{Path(home) / DEFAULT_TIMESERIES_DIR}"
    if not uri.startswith(LMDB_PREFIX):
        return uri
    path_text, sep, options = uri[len(LMDB_PREFIX):].partition("?")
    path = check_store_location(_under_home(path_text, home, "timeseries_store", uri), home,
                                "timeseries_store", uri)
    return f"{LMDB_PREFIX}{path}{sep}{options}"
