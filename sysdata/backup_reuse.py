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

Anything else renders the series from the store as a full backup does. A file that fails its
hash stops all further copying from that previous backup (it is damaged or was edited). Copies
are real copies into the new ``.partial`` folder (never hard links), so the new backup never
shares a file with the old one. The result is byte-identical to a full backup of the same store.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def series_record(relative: str, version: SeriesVersion, content: bytes, rows: int,
                  schema: dict[str, Any] | None) -> dict[str, Any]:
    """The manifest's ``series`` entry for one written file."""
    record: dict[str, Any] = {"file": relative, "version": version.version,
                              "written_ns": version.written_ns, "bytes": len(content),
                              "sha256": sha256_hex(content), "rows": rows}
    if schema is not None:
        record["schema"] = schema
    return record


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
        source = self.root / relative
        try:
            content = source.read_bytes()
        except OSError as exc:
            return self._distrust(f"{source}: cannot be read ({exc})")
        if len(content) != record.get("bytes") or sha256_hex(content) != record.get("sha256"):
            return self._distrust(f"{source}: its content differs from the hash in the "
                                  "previous backup's manifest")
        target = partial / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        return Reused(dict(record))

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
