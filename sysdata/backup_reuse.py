"""Incremental CSV backups: copy a series' file from the previous backup when the series has not
changed since, instead of reading and rendering it again.

A backup's manifest records, for every series it wrote (``series`` in ``MANIFEST.json``), the
stored version it was rendered from (:class:`~sysdata.timeseries.arctic_store.SeriesVersion`),
the file, its size, its SHA-256 and its data rows; the manifest also records ``renderer``, a
digest of the code and library versions that render the files (:func:`renderer_digest`).

The next backup copies a series' file from the previous backup only when all of these hold:

- the previous backup passes :func:`load_previous` (its manifest reads, has the same format,
  renderer and time-series store, lists the series section, and every file it lists is present
  with the size it records);
- the series is at the very version recorded (version number *and* the time it was written:
  a rewrite, an append, a delete and re-create or a restore all change it);
- the file's bytes have the recorded size and SHA-256, checked on the bytes that are copied.

A series that changed since is read from the store; when only rows were added after the ones
the previous backup holds, its file is *extended*: the previous file's bytes plus the new rows
rendered alone. That happens only when all of these hold (else the whole series is rendered):

- the previous backup passes :func:`load_previous` and its record of the series has a
  ``layout`` (index and column names and dtypes) equal to the series' layout now, and a
  ``rows_digest`` equal to the digest of the series' first ``rows`` rows now
  (:func:`row_fingerprints`: the exact bits of every number and timestamp, and a hash of the
  ``repr`` of every other value), so those rows would render to the same text;
- no timestamp of the series has a sub-second part (the writer's timestamp format depends on
  the whole index) and no column name needs quoting;
- the previous file has the recorded size and SHA-256, and its header line is the header the
  writer gives now.

Each line of a series file depends only on its row, its columns and their dtypes, so the
extended file is byte-identical to rendering the whole series.

A file that fails its hash stops all further copying from that previous backup (it is damaged or
was edited). Copies are real copies into the new ``.partial`` folder (never hard links), so the
new backup never shares a file with the old one. The result is byte-identical to a full backup
of the same store.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sysdata.timeseries.arctic_store import SeriesVersion

log = logging.getLogger("systrade.backup")

#: modules whose code decides the bytes of a series file (a change to any renders everything)
RENDER_MODULES = ("sysdata.backup", "sysdata.csv.timeseries_csv",
                  "sysdata.csv.pysystemtrade_layout", "sysdata.timeseries.arctic_store")


def renderer_digest() -> str:
    """SHA-256 (hex) of the source of :data:`RENDER_MODULES` and the pandas, numpy and arcticdb
    versions: two backups with the same digest render a series version to the same bytes."""
    import importlib
    from importlib.metadata import version

    digest = hashlib.sha256()
    for name in RENDER_MODULES:
        module = importlib.import_module(name)
        digest.update(name.encode() + b"\0" + Path(module.__file__).read_bytes() + b"\0")
    for package in ("pandas", "numpy", "arcticdb"):
        digest.update(f"{package}={version(package)}\0".encode())
    return digest.hexdigest()


def sha256_hex(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def frame_layout(frame: pd.DataFrame) -> list[str]:
    """Index and column names with their dtypes, e.g. ``["DATETIME:datetime64[ns, UTC]",
    "price:float64"]``: what, besides the values, decides how a row renders."""
    return [f"{frame.index.name}:{frame.index.dtype}"] + [
        f"{column}:{dtype}" for column, dtype in zip(frame.columns, frame.dtypes, strict=True)]


def _column_fingerprint(values: np.ndarray | pd.api.extensions.ExtensionArray) -> np.ndarray:
    """One uint64 per value: the value's own bits for numpy numbers, booleans and timestamps
    (``-0.0`` and ``0.0`` differ), else a 64-bit hash of its ``repr`` (``1`` and ``"1"``
    differ)."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "biufmM" \
            and values.dtype.itemsize <= 8:
        raw = np.ascontiguousarray(values)
        return raw.view(f"u{raw.dtype.itemsize}").astype(np.uint64)
    texts = np.array([repr(value) for value in values], dtype=object)
    return pd.util.hash_array(texts, categorize=False)


def row_fingerprints(frame: pd.DataFrame) -> np.ndarray:
    """A C-ordered ``rows x (1 + columns)`` uint64 array; row ``i`` depends only on row ``i``
    (index value and cells), so the first ``n`` rows of two frames with the same layout give
    the same first ``n`` rows here exactly when those rows are equal (up to 64-bit hash
    collisions of non-numeric values)."""
    index = frame.index
    columns = [_column_fingerprint(index.asi8 if isinstance(index, pd.DatetimeIndex)
                                   else index.to_numpy())]
    for i in range(frame.shape[1]):
        column = frame.iloc[:, i]
        columns.append(_column_fingerprint(
            column.to_numpy() if isinstance(column.dtype, np.dtype) else column.array))
    if not len(frame):
        return np.zeros((0, len(columns)), dtype=np.uint64)
    return np.ascontiguousarray(np.column_stack(columns))


def rows_digest(fingerprints: np.ndarray) -> str:
    """SHA-256 (hex) of :func:`row_fingerprints` rows (little-endian bytes)."""
    return hashlib.sha256(fingerprints.astype("<u8").tobytes()).hexdigest()


def series_record(relative: str, version: SeriesVersion, content: bytes, rows: int,
                  schema: dict[str, Any] | None, frame: pd.DataFrame | None = None,
                  fingerprints: np.ndarray | None = None) -> dict[str, Any]:
    """The manifest's ``series`` entry for one written file; with ``frame`` (the series as
    rendered) and its ``fingerprints``, also its ``layout`` and ``rows_digest`` (so the next
    backup can extend the file, see the module docstring)."""
    record: dict[str, Any] = {"file": relative, "version": version.version,
                              "written_ns": version.written_ns, "bytes": len(content),
                              "sha256": sha256_hex(content), "rows": rows}
    if schema is not None:
        record["schema"] = schema
    if frame is not None and fingerprints is not None:
        record["layout"] = frame_layout(frame)
        record["rows_digest"] = rows_digest(fingerprints)
    return record


_NEEDS_QUOTING = ('"', ",", "\n", "\r")


def extendable(frame: pd.DataFrame) -> bool:
    """Whether rows of ``frame`` render independently of the others (no sub-second timestamp,
    no column name the CSV writer would quote)."""
    names = [str(frame.index.name), *map(str, frame.columns)]
    if any(mark in name for name in names for mark in _NEEDS_QUOTING):
        return False
    index = frame.index
    return isinstance(index, pd.DatetimeIndex) and not (index.microsecond != 0).any()


@dataclass(frozen=True)
class Extension:
    """The previous backup's file of a series whose first ``rows`` rows are unchanged."""

    content: bytes
    rows: int


@dataclass(frozen=True)
class Reused:
    """A series file copied from the previous backup: its manifest record."""

    record: dict[str, Any]


class PreviousBackup:
    """The previous backup as a source of unchanged series files (see the module docstring)."""

    def __init__(self, root: Path, series: dict[str, dict[str, Any]]):
        self.root = root
        self._series = series
        self.trusted = True

    def copy_if_unchanged(self, key: str, relative: str, version: SeriesVersion,
                          partial: Path) -> Reused | None:
        """Copy ``relative`` into ``partial`` when series ``key`` is at ``version`` and the file
        matches its recorded size and hash; None (nothing written) otherwise."""
        if not self.trusted:
            return None
        record = self._series.get(key)
        if (not isinstance(record, dict) or record.get("file") != relative
                or record.get("version") != version.version
                or record.get("written_ns") != version.written_ns):
            return None
        content = self._verified(relative, record)
        if content is None:
            return None
        target = partial / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        return Reused(dict(record))

    def previous_rows(self, key: str, relative: str, frame: pd.DataFrame,
                      fingerprints: np.ndarray) -> Extension | None:
        """The previous file of series ``key`` when ``frame`` is that file's rows plus rows
        after them (see the module docstring); None otherwise."""
        if not self.trusted or not extendable(frame):
            return None
        record = self._series.get(key)
        if not isinstance(record, dict) or record.get("file") != relative:
            return None
        rows = record.get("rows")
        if (not isinstance(rows, int) or isinstance(rows, bool) or not 0 <= rows <= len(frame)
                or record.get("layout") != frame_layout(frame)
                or record.get("rows_digest") != rows_digest(fingerprints[:rows])):
            return None
        content = self._verified(relative, record)
        return None if content is None else Extension(content, rows)

    def _verified(self, relative: str, record: dict[str, Any]) -> bytes | None:
        """The previous backup's file ``relative`` when it has the size and SHA-256 that
        ``record`` holds; else None, and no more files are taken from this backup."""
        source = self.root / relative
        try:
            content = source.read_bytes()
        except OSError as exc:
            return self._distrust(f"{source}: cannot be read ({exc})")
        if len(content) != record.get("bytes") or sha256_hex(content) != record.get("sha256"):
            return self._distrust(f"{source}: its content differs from the hash in the "
                                  "previous backup's manifest")
        return content

    def _distrust(self, reason: str) -> None:
        log.warning("%s: no more series are copied from the previous backup; rendering them "
                    "from the store", reason)
        self.trusted = False
        return None


def _safe_relative(name: Any) -> bool:
    return (isinstance(name, str) and bool(name) and not Path(name).is_absolute()
            and ".." not in Path(name).parts)


def load_previous(destination: Path, expected: dict[str, Any], manifest_file: str
                  ) -> PreviousBackup | None:
    """The backup at ``destination`` as a source of unchanged series, or None (render
    everything) when it has no manifest, its manifest's ``format``, ``format_version``,
    ``renderer``, ``timeseries_store`` or ``timeseries_identity`` differ from ``expected``, it
    has no ``series`` section, or a file it lists is missing or not of the size it records.
    The reason is logged."""
    path = destination / manifest_file
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        log.warning("%s: unreadable (%s): rendering every series", path, exc)
        return None
    if not isinstance(manifest, dict):
        return None
    for key, value in expected.items():
        if manifest.get(key) != value:
            log.info("%s: %s differs from this backup's: rendering every series", path, key)
            return None
    files, series = manifest.get("files"), manifest.get("series")
    if not isinstance(files, dict) or not isinstance(series, dict):
        log.info("%s: no series fingerprints (an older backup): rendering every series", path)
        return None
    for name, entry in files.items():
        if not _safe_relative(name) or not isinstance(entry, dict):
            log.warning("%s: files: %r is not a file of the backup: rendering every series",
                        path, name)
            return None
        file = destination / name
        if not file.is_file() or ("bytes" in entry and file.stat().st_size != entry["bytes"]):
            log.warning("%s: missing or not of the size its manifest records: rendering every "
                        "series", file)
            return None
    for key, record in series.items():
        name = record.get("file") if isinstance(record, dict) else None
        if not _safe_relative(name) or name not in files \
                or (destination / name).stat().st_size != record.get("bytes"):
            log.warning("%s: series %s: its file is not listed or not of the recorded size: "
                        "rendering every series", path, key)
            return None
    return PreviousBackup(destination, series)
