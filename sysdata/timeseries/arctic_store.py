"""Time-series store on ArcticDB (LMDB locally, S3 or any ArcticDB URI in production).

Data is grouped in *libraries* (one per symbol family: ``multiple_prices``, ``fx_prices``, ...)
holding *symbols* (``CORN``, ``CORN/202312/D``). Every frame has a unique, sorted, tz-aware UTC
``DatetimeIndex`` named ``DATETIME``; naive input timestamps are taken as UTC. ArcticDB has no
isolation between writers: exactly one process writes a given symbol family at a time (the
process-control layer guarantees it). ``update`` is never used to merge sparse rows: callers
read, combine and ``write`` (or ``append`` strictly newer rows).
"""
from __future__ import annotations

import logging
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from syscore.dates import to_utc, utc_index
from syscore.exceptions import InvalidData, MissingData, StoreError, StoreUnavailable
from syscore.redaction import redact_url, redact_with_url
from sysdata.state.base import check_name

INDEX_NAME = "DATETIME"
HOME_LIBRARY = "_systrade_home"
HOME_SYMBOL = "identity"
logging.getLogger("arcticdb").setLevel(logging.WARNING)

# LMDB must not be opened twice in one process: every TimeSeriesStore over one URI shares one
# Arctic instance, reference-counted and released when the last store closes.
_SHARED: dict[str, list] = {}
_SHARED_LOCK = threading.Lock()


def _acquire(uri: str):
    import arcticdb
    from arcticdb_ext import set_config_int

    # ArcticDB caches each symbol's version list for about 2 s. Writes prune the previous
    # version, so a process whose cache predates another process's write would read a version
    # that no longer exists (KeyNotFound). Reload the version list on every read instead: one
    # small read per series read (the data itself dominates).
    set_config_int("VersionMap.ReloadInterval", 0)
    with _SHARED_LOCK:
        entry = _SHARED.get(uri)
        if entry is None:
            entry = [arcticdb.Arctic(uri), 0]
            _SHARED[uri] = entry
        entry[1] += 1
        return entry[0]


def _release(uri: str) -> None:
    with _SHARED_LOCK:
        entry = _SHARED.get(uri)
        if entry is not None:
            entry[1] -= 1
            if entry[1] <= 0:
                del _SHARED[uri]


def normalise_frame(data: pd.DataFrame | pd.Series, what: str = "data") -> pd.DataFrame:
    """Validate and normalise a frame for storage: UTC index named DATETIME, sorted, unique."""
    if isinstance(data, pd.Series):
        data = data.to_frame(name=data.name if data.name is not None else "value")
    if not isinstance(data, pd.DataFrame):
        raise InvalidData(f"{what}: expected a pandas DataFrame, got {type(data).__name__}")
    frame = data.copy()
    frame.index = utc_index(frame.index, f"{what}: index")  # rejects NaT
    if not frame.index.is_unique:
        dupes = frame.index[frame.index.duplicated()].unique()[:3]
        raise InvalidData(f"{what}: duplicated timestamps, e.g. {list(map(str, dupes))}")
    if not frame.index.is_monotonic_increasing:
        frame = frame.sort_index()
    frame.index.name = INDEX_NAME
    frame.columns = [str(c) for c in frame.columns]
    return frame


def s3_endpoint(uri: str) -> tuple[str, int] | None:
    """``(host, port)`` of an ArcticDB ``s3://`` / ``s3s://`` URI (``s3://<host>:<bucket>?...``,
    port from ``port=`` else 80 / 443), or None for other URIs."""
    scheme, sep, rest = uri.partition("://")
    if not sep or scheme not in ("s3", "s3s"):
        return None
    location, _, query = rest.partition("?")
    host = location.split(":", 1)[0]
    port = 443 if scheme == "s3s" else 80
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if key == "port" and value.isdigit():
            port = int(value)
    return (host, port) if host else None


def check_reachable(uri: str, timeout_seconds: float) -> None:
    """:class:`StoreUnavailable` when an S3 endpoint does not accept a connection within
    ``timeout_seconds`` (ArcticDB itself retries for about 25 s before failing)."""
    endpoint = s3_endpoint(uri)
    if endpoint is None:
        return
    try:
        socket.create_connection(endpoint, timeout=timeout_seconds).close()
    except OSError as exc:
        raise StoreUnavailable(
            f"cannot reach the time-series store {redact_url(uri)} (S3 endpoint "
            f"{endpoint[0]}:{endpoint[1]}) within {timeout_seconds:g} s: "
            f"{exc.strerror or exc}") from None


@dataclass(frozen=True)
class SeriesVersion:
    """Which stored version of a series: ArcticDB's version number and the time that version was
    written (nanoseconds since the epoch, UTC, the writing machine's wall clock). A rewrite, an
    append, or a delete and re-create gives a different pair."""

    version: int
    written_ns: int


class TimeSeriesStore:
    """ArcticDB-backed store. ``uri`` is any ArcticDB URI, e.g. ``lmdb:///home/me/.systrade/arctic``.
    An S3 endpoint is checked once at open: unreachable within ``timeout_seconds`` (default 3)
    is a :class:`StoreUnavailable`."""

    def __init__(self, uri: str, timeout_seconds: float = 3.0):
        self.uri = uri
        check_reachable(uri, timeout_seconds)
        try:
            if uri.startswith("lmdb://"):
                Path(uri[len("lmdb://"):].split("?")[0]).mkdir(parents=True, exist_ok=True)
            self._instance = _acquire(uri)
        except Exception as exc:  # arcticdb raises several unrelated types
            raise StoreError(f"cannot open time-series store {redact_url(uri)}: "
                             f"{redact_with_url(str(exc), uri)}") from None
        self._closed = False
        self._libraries: dict = {}

    @property
    def _arctic(self):
        """The shared Arctic instance; :class:`StoreError` once this store is closed."""
        if self._instance is None:
            raise StoreError(f"the time-series store {redact_url(self.uri)} is closed")
        return self._instance

    def _lib(self, library: str, create: bool = True):
        check_name(library, "library")
        lib = self._libraries.get(library)
        if lib is None:
            if not create and library not in self._arctic.list_libraries():
                return None
            lib = self._arctic.get_library(library, create_if_missing=True)
            self._libraries[library] = lib
        return lib

    @staticmethod
    def _check_symbol(symbol: str) -> str:
        if not isinstance(symbol, str) or not symbol or symbol.strip() != symbol:
            raise InvalidData(f"invalid symbol {symbol!r}")
        return symbol

    def write(self, library: str, symbol: str, data: pd.DataFrame | pd.Series) -> None:
        """Replace ``symbol`` with ``data`` (whole series)."""
        frame = normalise_frame(data, f"{library}/{symbol}")
        self._lib(library).write(self._check_symbol(symbol), frame, prune_previous_versions=True)

    def append(self, library: str, symbol: str, data: pd.DataFrame | pd.Series) -> int:
        """Append rows strictly after the last stored timestamp; returns rows appended.

        Creates the symbol if it does not exist. Rows at or before the last stored timestamp are
        an error (use :meth:`write` to rewrite history deliberately).
        """
        frame = normalise_frame(data, f"{library}/{symbol}")
        if frame.empty:
            return 0
        lib = self._lib(library)
        if not lib.has_symbol(symbol):
            self.write(library, symbol, frame)
            return len(frame)
        tail = lib.tail(symbol, 1).data  # one read gives the last timestamp and the columns
        if len(tail):
            last = utc_index(tail.index)[-1]
            if frame.index[0] <= last:
                raise InvalidData(
                    f"{library}/{symbol}: cannot append rows from {frame.index[0]} at or before "
                    f"the last stored timestamp {last}"
                )
        existing_columns = list(tail.columns)
        if list(frame.columns) != existing_columns:
            raise InvalidData(
                f"{library}/{symbol}: columns {list(frame.columns)} differ from stored "
                f"{existing_columns}"
            )
        lib.append(symbol, frame, prune_previous_versions=True)
        return len(frame)

    def read(
        self,
        library: str,
        symbol: str,
        start: pd.Timestamp | str | None = None,
        end: pd.Timestamp | str | None = None,
    ) -> pd.DataFrame:
        """The stored frame (optionally between ``start`` and ``end`` inclusive, UTC).

        Raises :class:`MissingData` when the symbol does not exist.
        """
        lib = self._existing(library, symbol)
        date_range = None
        if start is not None or end is not None:
            date_range = (
                to_utc(start) if start is not None else None,
                to_utc(end) if end is not None else None,
            )
        return self._as_stored(lib.read(symbol, date_range=date_range).data)

    def read_many(self, library: str, symbols: list[str],
                  columns: list[str] | None = None) -> list[pd.DataFrame]:
        """The stored frames of ``symbols`` (in order), only ``columns`` when given, in one
        batched read (cheaper than one :meth:`read` per symbol). Raises :class:`MissingData`
        naming the first symbol that does not exist, :class:`InvalidData` when a requested
        column is missing, :class:`StoreError` for any other failed read."""
        if not symbols:
            return []
        lib = self._lib(library, create=False)
        if lib is None:
            raise MissingData(f"no data for {library}/{symbols[0]}")
        from arcticdb.version_store.library import ReadRequest

        requests = [ReadRequest(self._check_symbol(s), columns=columns) for s in symbols]
        frames = []
        for symbol, item in zip(symbols, lib.read_batch(requests), strict=True):
            data = getattr(item, "data", None)
            if not isinstance(data, pd.DataFrame):  # a DataError for this symbol
                if not lib.has_symbol(symbol):
                    raise MissingData(f"no data for {library}/{symbol}")
                text = getattr(item, "exception_string", str(item))
                raise StoreError(f"cannot read {library}/{symbol}: {text}")
            if columns is not None:
                absent = [c for c in columns if c not in data.columns]
                if absent:
                    raise InvalidData(f"{library}/{symbol}: no columns {absent}")
            frames.append(self._as_stored(data))
        return frames

    def version(self, library: str, symbol: str) -> SeriesVersion:
        """The latest version of ``symbol`` without reading its data (:class:`MissingData` when
        the symbol does not exist)."""
        item = self._existing(library, symbol).read_metadata(symbol)
        return SeriesVersion(int(item.version), int(item.timestamp))

    def versions(self, library: str) -> dict[str, SeriesVersion]:
        """The latest version of every symbol of ``library`` (none deleted), from one listing
        of the library's versions instead of one metadata read per symbol; empty when the
        library does not exist."""
        lib = self._lib(library, create=False)
        if lib is None:
            return {}
        latest = {}
        for key, info in lib.list_versions(latest_only=True, skip_snapshots=True).items():
            if not info.deleted:
                latest[key.symbol] = SeriesVersion(int(key.version), int(info.date.value))
        return latest

    def read_versioned(self, library: str, symbol: str) -> tuple[pd.DataFrame, SeriesVersion]:
        """The whole stored frame and the version it was read from (one read, so the two always
        belong together); :class:`MissingData` when the symbol does not exist."""
        item = self._existing(library, symbol).read(symbol)
        return self._as_stored(item.data), SeriesVersion(int(item.version), int(item.timestamp))

    def tail(self, library: str, symbol: str, rows: int = 1) -> pd.DataFrame:
        """The last ``rows`` rows; :class:`MissingData` when the symbol does not exist."""
        return self._as_stored(self._existing(library, symbol).tail(symbol, rows).data)

    def _existing(self, library: str, symbol: str):
        """The library holding ``symbol``; :class:`MissingData` when there is no such symbol."""
        lib = self._lib(library, create=False)
        if lib is None or not lib.has_symbol(symbol):
            raise MissingData(f"no data for {library}/{symbol}")
        return lib

    @staticmethod
    def _as_stored(frame: pd.DataFrame) -> pd.DataFrame:
        frame.index = utc_index(frame.index)
        frame.index.name = INDEX_NAME
        return frame

    def last_timestamp(self, library: str, symbol: str) -> pd.Timestamp | None:
        lib = self._lib(library, create=False)
        if lib is None or not lib.has_symbol(symbol):
            return None
        tail = lib.tail(symbol, 1).data
        if tail.empty:
            return None
        return to_utc(tail.index[-1])

    def has(self, library: str, symbol: str) -> bool:
        lib = self._lib(library, create=False)
        return bool(lib is not None and lib.has_symbol(symbol))

    def delete(self, library: str, symbol: str) -> None:
        lib = self._lib(library, create=False)
        if lib is not None and lib.has_symbol(symbol):
            lib.delete(symbol)

    def symbols(self, library: str) -> list[str]:
        lib = self._lib(library, create=False)
        return sorted(lib.list_symbols()) if lib is not None else []

    def libraries(self) -> list[str]:
        """Names of the data libraries (the home-identity library is not one of them)."""
        return sorted(lib for lib in self._arctic.list_libraries() if lib != HOME_LIBRARY)

    # the identity of the systrade home this store belongs to (see sysdata.home_record) ------
    def home_identity(self) -> dict[str, str] | None:
        """The recorded home identity, or None; kept in a library of its own that
        :meth:`libraries` does not list (so backups, restores and wipes never see it)."""
        if HOME_LIBRARY not in self._arctic.list_libraries():
            return None
        lib = self._arctic.get_library(HOME_LIBRARY)
        if not lib.has_symbol(HOME_SYMBOL):
            return None
        frame = lib.read(HOME_SYMBOL).data
        if frame.empty:
            return None
        return {str(k): str(v) for k, v in frame.iloc[-1].items()}

    def claim_home_identity(self, identity: dict[str, str]) -> dict[str, str]:
        """Record ``identity`` unless one is recorded; returns the recorded one. ArcticDB has
        no conditional write: callers serialise through the state store's claim first."""
        existing = self.home_identity()
        if existing is not None:
            return existing
        lib = self._arctic.get_library(HOME_LIBRARY, create_if_missing=True)
        index = pd.DatetimeIndex([pd.Timestamp(0, tz="UTC")], name=INDEX_NAME)
        lib.write(HOME_SYMBOL, pd.DataFrame({k: [str(v)] for k, v in identity.items()},
                                            index=index))
        return self.home_identity() or dict(identity)

    def delete_library(self, library: str) -> None:
        self._libraries.pop(library, None)
        if library in self._arctic.list_libraries():
            self._arctic.delete_library(library)

    def close(self) -> None:
        """Release this store's share of the Arctic instance (idempotent)."""
        if not self._closed:
            self._closed = True
            self._libraries.clear()
            # the last share dropped unmaps the store's files (LMDB pages read count as
            # resident memory for as long as the instance lives)
            self._instance = None
            _release(self.uri)
