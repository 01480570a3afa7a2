"""A systrade home remembers that it has been initialised.

When a home's stores are first created, ``$SYSTRADE_HOME/.systrade-home`` (the *marker*, JSON)
records the home's id, when it was created and which stores it uses (URLs with credentials
masked), and each store records the same home id (SQLite: its own table; MongoDB: the internal
``_home`` collection; ArcticDB: the ``_systrade_home`` library). Neither is part of the data:
backups, restores and wipes never see them.

Opening a home (:func:`open_home_stores`, called by :meth:`DataBlob.from_config`):

* **never used** (no marker, no store holds data or an id): the stores are created, stamped and
  the marker written: a fresh home needs no separate step (``systrade init`` does the same
  explicitly).
* **initialised** (a marker, or a store holding data or an id): every store must be there. A
  missing or zero-length SQLite file, a missing LMDB folder, or a store holding neither data nor
  this home's id (a dropped MongoDB database, an emptied folder) is refused with a
  :class:`StoreError` naming what is missing and what to do, *before* anything is written, so
  no process runs and no backup replaces a good one with an empty one.
* a store holding data but no id (a home from before markers existed, or a store just filled
  by a restore) is adopted: stamped with this home's id.
* a store stamped with another home's id is refused (two homes must not share a store).
* a time-series store that the marker says held data (``held_data``, recorded the first time
  an open finds a library in it) but that now holds only this home's id (its libraries
  deleted, a restore interrupted after its wipe) is refused like a missing one
  (:data:`HELD_DATA_STORES`: not the state store, which may legitimately empty). A home used by
  a single process run and emptied before any other open is not caught (nothing recorded the
  data yet), nor are a few deleted libraries or state collections among others; the backups'
  own guard (:func:`sysdata.backup.check_not_shrinking`) keeps those from replacing a good
  backup.

:class:`HomeAccess` says what the caller may do beyond that: ``RESTORE`` (restores) opens
missing or empty stores without stamping them, so they can be filled (the next open adopts
them); ``FORCE`` (``systrade init --force``) creates missing stores empty and stamps them,
keeping whatever data the others hold.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import uuid
from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import pandas as pd

from syscore.config_models import SystradeConfig
from syscore.dates import iso_utc
from syscore.exceptions import ExistingData, StoreError
from syscore.redaction import redact_url
from syscore.store_urls import lmdb_path, resolve_state_store, resolve_timeseries_uri
from sysdata.state.base import StateStore
from sysdata.timeseries.arctic_store import TimeSeriesStore

MARKER_FILE = ".systrade-home"
MARKER_FORMAT = 1
STATE, TIMESERIES = "state store", "time-series store"
RECOVERY_HINT = ("Nothing was written. Restore the stores from a backup (restore_db_from_csv "
                 "--source <backup directory>), or, if the data is gone for good, start again "
                 "with empty stores: systrade init --force")
log = logging.getLogger("systrade.home")
HELD_DATA_STORES = (TIMESERIES,)
"""The stores whose emptying is refused once they held data (module docstring). Only the
time-series store: its libraries stay until deleted, while a state store may legitimately hold
only records that go away again (a lease released, in a home where nothing else was stored yet),
so "no data" there is no sign of loss."""


class HomeAccess(Enum):
    """What opening a home may do besides using intact stores (module docstring)."""

    USE = "use"
    RESTORE = "restore"
    FORCE = "force"


@dataclass(frozen=True)
class HomeRecord:
    """The marker's content. ``created`` is ISO-8601 UTC; store URLs have credentials masked."""

    home_id: str
    created: str
    state_store: str
    timeseries_store: str
    format: int = MARKER_FORMAT
    held_data: tuple[str, ...] = ()  # the stores seen holding data (HELD_DATA_STORES)

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> HomeRecord:
        held = doc.get("held_data", [])
        if not isinstance(held, list) or not all(isinstance(name, str) for name in held):
            raise TypeError(f"held_data: expected a list of store names, got {held!r}")
        version = doc.get("format", MARKER_FORMAT)
        if isinstance(version, bool) or not isinstance(version, int):
            raise TypeError(f"format: expected a whole number, got {version!r}")
        return cls(str(doc["home_id"]), str(doc["created"]), str(doc["state_store"]),
                   str(doc["timeseries_store"]), version, tuple(held))


@dataclass(frozen=True)
class OpenedHome:
    """Stores of an opened home, its record (None only for a restore into a never-used home)
    and what opening did (``actions``: sentences for the operator, empty when nothing)."""

    state: StateStore
    timeseries: TimeSeriesStore
    record: HomeRecord | None
    actions: tuple[str, ...] = ()


#: the fields a home record must have (``format`` and ``held_data`` have defaults)
RECORD_FIELDS = ("home_id", "created", "state_store", "timeseries_store")


def marker_path(home: Path) -> Path:
    return Path(home) / MARKER_FILE


def read_home_record(home: Path) -> HomeRecord | None:
    """The home's marker, or None when it has none; :class:`StoreError` when unreadable."""
    path = marker_path(home)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise StoreError(f"cannot read the home marker {path}: {exc}") from None
    recovery = ("move it aside (or restore it from a backup) and run systrade init to record "
                "the home again")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StoreError(f"the home record {path} is damaged: it is not valid JSON ({exc.msg} "
                         f"at line {exc.lineno}, column {exc.colno}); {recovery}") from None
    if not isinstance(doc, dict):
        raise StoreError(f"the home record {path} is damaged: it holds "
                         f"{type(doc).__name__ if doc is not None else 'null'}, not the record's "
                         f"fields; {recovery}")
    missing = [name for name in RECORD_FIELDS if name not in doc]
    if missing:
        raise StoreError(f"the home record {path} is damaged: it lacks the field(s) "
                         f"{', '.join(missing)}; {recovery}")
    try:
        return HomeRecord.from_dict(doc)
    except (ValueError, TypeError) as exc:
        raise StoreError(f"the home record {path} is damaged: {exc}; {recovery}") from None


def write_home_record(home: Path, record: HomeRecord) -> None:
    """Write the marker atomically (temporary file, fsync, rename)."""
    path = marker_path(home)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(asdict(record), indent=1, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise StoreError(f"cannot write the home marker {path}: {exc.strerror or exc}") from None


def check_writable(directory: Path, what: str) -> None:
    """:class:`StoreError` (one line) when ``directory`` cannot take a small write: read-only
    file system, no permission, or a full disk."""
    probe = Path(directory) / f".systrade-write-probe.{os.getpid()}"
    try:
        with open(probe, "wb") as handle:
            handle.write(b"\0" * 4096)
            handle.flush()
        probe.unlink()
    except OSError as exc:
        with contextlib.suppress(OSError):
            probe.unlink()
        raise StoreError(f"{what} {directory} is not writable: {exc.strerror or exc}") from None


# --- opening -----------------------------------------------------------------------------------
@dataclass
class _Slot:
    """One store while the home is being opened."""

    name: str
    url: str  # credentials masked
    absent: str | None = None  # why the store is physically missing, or None
    store: Any = None
    identity: dict[str, Any] | None = None
    has_data: bool = False


def _absence_of_sqlite(path: Path) -> str | None:
    if not path.exists():
        return f"is missing (no file {path})"
    if path.is_file() and path.stat().st_size == 0:
        return f"is empty ({path} is 0 bytes)"
    return None


def _absence_of_lmdb(path: Path | None) -> str | None:
    if path is not None and not path.exists():
        return f"is missing (no folder {path})"
    return None


def _state_has_data(store: StateStore) -> bool:
    return bool(store.collections() or store.counters())


def _describe(slots: list[_Slot], reason_for_empty: str) -> str:
    parts = []
    for slot in slots:
        reason = slot.absent or reason_for_empty
        parts.append(f"the {slot.name} {slot.url} {reason}")
    return "; ".join(parts)


def _refusal(home: Path, record: HomeRecord | None, slots: list[_Slot],
             reason: str = "is empty (no data and no record of this home)") -> StoreError:
    since = (f"was initialised on {record.created}" if record is not None
             else "has been used (a store holds data)")
    what = _describe(slots, reason)
    return StoreError(f"systrade home {home} {since} but {what}. {RECOVERY_HINT}")


def open_home_stores(home: Path, config: SystradeConfig,
                     access: HomeAccess = HomeAccess.USE, log_actions: bool = True) -> OpenedHome:
    """Open (and if need be initialise) the stores of ``home`` (module docstring). What opening
    did is returned in ``actions`` and, unless ``log_actions`` is False (a caller that reports
    them itself, like ``systrade init``), also logged."""
    home = Path(home)
    location = resolve_state_store(config.state_store, home)
    ts_uri = resolve_timeseries_uri(config.timeseries_store, home)
    record = read_home_record(home)
    state = _Slot(STATE, redact_url(location.url) or location.url)
    series = _Slot(TIMESERIES, redact_url(ts_uri) or ts_uri)
    slots = [state, series]
    if location.path is not None:
        state.absent = _absence_of_sqlite(location.path)
    series.absent = _absence_of_lmdb(lmdb_path(ts_uri))
    if record is not None and access is HomeAccess.USE and (state.absent or series.absent):
        raise _refusal(home, record, [s for s in slots if s.absent])

    def open_slot(slot: _Slot) -> None:
        if slot is state:
            from sysdata.state.factory import state_store_from_url

            if location.path is not None and location.path.parent.is_dir():
                check_writable(location.path.parent, "the state store's folder")
            slot.store = state_store_from_url(config.state_store, home, config.sqlite_synchronous,
                                              timeout_seconds=config.store_timeout_seconds)
            slot.has_data = _state_has_data(slot.store)
        else:
            folder = lmdb_path(ts_uri)
            if folder is not None and folder.exists():
                check_writable(folder, "the time-series folder")
            slot.store = TimeSeriesStore(ts_uri, timeout_seconds=config.store_timeout_seconds)
        try:
            if slot is series:
                slot.has_data = bool(slot.store.libraries())
            slot.identity = slot.store.home_identity()
        except StoreError:
            raise
        except Exception as exc:  # ArcticDB raises several unrelated types
            raise StoreError(f"cannot read the {slot.name} {slot.url}: "
                             f"{redact_url(str(exc)).splitlines()[0] if str(exc) else exc!r}"
                             ) from None

    try:
        check_writable(home, "systrade home")
        for slot in slots:
            if not slot.absent:
                open_slot(slot)
        used = record is not None or any(s.identity or s.has_data for s in slots)
        if used and access is HomeAccess.USE and any(s.absent for s in slots):
            raise _refusal(home, record, [s for s in slots if s.absent])
        for slot in slots:
            if slot.store is None:
                open_slot(slot)
        return _settle(home, record, state, series, access, used, log_actions)
    except BaseException:
        for slot in slots:
            if slot.store is not None:
                with contextlib.suppress(Exception):
                    slot.store.close()
        raise


def _settle(home: Path, record: HomeRecord | None, state: _Slot, series: _Slot,
            access: HomeAccess, used: bool, log_actions: bool = True) -> OpenedHome:
    """Check identities, stamp what must be stamped and write the marker."""
    slots = [state, series]
    ids = {s.identity["home_id"] for s in slots if s.identity}
    expected = record.home_id if record is not None else None
    foreign = [s for s in slots if s.identity and expected and s.identity["home_id"] != expected]
    if foreign or (expected is None and len(ids) > 1):
        clash = foreign or slots
        names = "; ".join(f"the {s.name} {s.url} belongs to home {s.identity['home_id']} "
                          f"(created {s.identity.get('created', '?')})" for s in clash)
        mine = f"this home is {expected}" if expected else "the stores disagree"
        raise StoreError(f"systrade home {home}: {names}, but {mine}. Two homes must not share "
                         "a store: point state_store / timeseries_store at this home's stores, "
                         "or restore them from a backup")
    empty = [s for s in slots if not s.identity and not s.has_data]
    if used and empty:
        if access is HomeAccess.USE:
            raise _refusal(home, record, empty)
        if access is HomeAccess.RESTORE:
            return OpenedHome(state.store, series.store, record)
    emptied = [s for s in slots if s.identity and not s.has_data
               and record is not None and s.name in record.held_data]
    if emptied and access is HomeAccess.USE:
        raise _refusal(home, record, emptied, "holds no data any more, though it held data "
                                              "before (its data was deleted)")
    if access is HomeAccess.RESTORE and not used:
        return OpenedHome(state.store, series.store, record)

    actions: list[str] = []
    home_id = expected or (next(iter(ids)) if ids else uuid.uuid4().hex)
    created = (record.created if record is not None else
               next((s.identity.get("created") for s in slots if s.identity), None)
               or iso_utc(pd.Timestamp.now(tz="UTC")))
    identity = {"home_id": home_id, "created": created}
    for slot in slots:  # the state store first: its atomic claim settles a race between two
        if slot.identity:  # processes initialising the same fresh home
            continue
        claimed = slot.store.claim_home_identity(identity)
        if claimed["home_id"] != home_id:
            if record is not None or slot is not state:
                raise StoreError(f"the {slot.name} {slot.url} was claimed by home "
                                 f"{claimed['home_id']} while {home} was being opened")
            home_id, identity = claimed["home_id"], {"home_id": claimed["home_id"],
                                                     "created": claimed["created"]}
        if not used:
            continue
        if slot.has_data:
            actions.append(f"the {slot.name} {slot.url} holds data: recorded as this home's")
        else:
            actions.append(f"the {slot.name} {slot.url} was missing or empty: created empty")
    for slot in emptied:  # only FORCE or RESTORE get here with one
        if access is HomeAccess.FORCE:
            actions.append(f"the {slot.name} {slot.url} holds no data any more (it held data "
                           "before): recorded as empty")
    if not used:
        actions.append(f"initialised systrade home {home}: {STATE} {state.url}, "
                       f"{TIMESERIES} {series.url}")
    held = {TIMESERIES} if series.has_data else set()  # see HELD_DATA_STORES
    if record is not None and access is not HomeAccess.FORCE:  # init --force: as found now
        held |= set(record.held_data)
    new_record = HomeRecord(home_id, identity["created"], state.url, series.url,
                            held_data=tuple(sorted(held)))
    if new_record != record:
        write_home_record(home, new_record)
    for action in actions if log_actions else ():
        (log.warning if used else log.info)(action)
    return OpenedHome(state.store, series.store, new_record, tuple(actions))


def initialise_home(home: Path, config: SystradeConfig, force: bool = False) -> OpenedHome:
    """``systrade init``: create the home's stores and marker. Refuses (:class:`ExistingData`)
    when the home is already initialised, unless ``force``: then missing or empty stores are
    created empty and stamped (data in the others is kept) and the marker rewritten. What was
    done is returned in ``actions`` (not logged: the command prints it once, on stdout)."""
    record = read_home_record(home)
    if record is not None and not force:
        raise ExistingData(
            f"systrade home {home} is already initialised (on {record.created}; state store "
            f"{record.state_store}, time-series store {record.timeseries_store}); nothing was "
            "changed. Only if its data is gone for good: systrade init --force")
    return open_home_stores(home, config, HomeAccess.FORCE if force else HomeAccess.USE,
                            log_actions=False)
