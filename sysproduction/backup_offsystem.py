"""Copy the backups off the system: the CSV backup, the latest state-store backup and the saved
backtest states, into a dated folder under ``offsystem_backup_directory`` (another disk, a
mounted share), optionally encrypted.

Layout: ``<offsystem_backup_directory>/systrade_<YYYYmmdd_HHMMSS>/`` holding ``csv/``,
``state/`` and ``backtests/`` (as many as exist), a ``MANIFEST.json`` listing every file it wrote
and the ownership mark (:mod:`sysdata.owned_dirs`). A copy is written as ``.partial`` and renamed
into place, under the folder's exclusive lock. After a copy, only the newest
``offsystem_backup_keep`` (default 5) copies *of ours* are kept: a folder is deleted only when it
carries our mark and holds nothing beyond its manifest's list. Anything else in the directory --
other files, folders of other tools, a copy someone added a file to -- is never touched.

The directory must exist: a missing one (an unmounted drive) is an error, never created, so a
copy never lands silently on the local disk.

The copies contain the private config: **secrets** (account ids, passwords). With
``offsystem_backup_encrypt: true`` every file is encrypted with Fernet (``cryptography``:
AES-128-CBC with HMAC-SHA256) under ``offsystem_backup_key`` (private config; generate one with
``python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"``,
and keep a copy of it somewhere else: without it the copies cannot be read). Files are encrypted
whole, in memory. :func:`decrypt_offsystem_copy` restores a readable folder.

    python run.py sysproduction.backup_offsystem.backup_offsystem
    python run.py sysproduction.backup_offsystem.decrypt_offsystem_copy --source ... --destination ...
"""
from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

from syscore.exceptions import ConfigError, InvalidData, StoreError
from sysdata.data_blob import DataBlob
from sysdata.owned_dirs import (
    OWNER_FILE,
    DirectoryKind,
    absolute,
    exclusive,
    foreign_files,
    is_owned,
    remove_owned,
    start_partial,
    swap_into_place,
)
from sysproduction.process_helpers import blob_for

log = logging.getLogger("systrade.backup_offsystem")

MANIFEST = "MANIFEST.json"
PREFIX = "systrade_"
ENCRYPTED_SUFFIX = ".fernet"
SECRETS_WARNING = ("the copy holds the private config (secrets such as account ids and "
                   "passwords): keep it where only you can read it, or set "
                   "offsystem_backup_encrypt")


class OffsystemBackupError(StoreError):
    """The off-system copy could not be made (missing or unwritable directory, no key)."""


def _manifest_files(directory: Path) -> set[str] | None:
    try:
        files = json.loads((directory / MANIFEST).read_text())["files"]
    except (OSError, ValueError, UnicodeDecodeError, KeyError, TypeError):
        return None
    return set(files) | {MANIFEST} if isinstance(files, list) else None


OFFSYSTEM_COPY = DirectoryKind("offsystem_backup_copy", "a systrade off-system backup copy",
                               contents=_manifest_files)


def _fernet(data: DataBlob):
    from cryptography.fernet import Fernet

    key = data.config.offsystem_backup_key
    if key is None:
        raise ConfigError("offsystem_backup_encrypt is true but offsystem_backup_key is not set "
                          "in private_config.yaml")
    try:
        return Fernet(key.get_secret_value().encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise ConfigError("offsystem_backup_key is not a Fernet key (32 url-safe base64-encoded "
                          "bytes)") from None


def _sources(data: DataBlob) -> dict[str, Path]:
    """What is copied: name -> file or folder (those that exist)."""
    from sysproduction.backup_db_to_csv import csv_backup_directory
    from sysproduction.backup_state_store import state_backup_directory
    from sysproduction.update_system_backtests import backtests_directory

    out: dict[str, Path] = {}
    csv = csv_backup_directory(data)
    if csv.is_dir():
        out["csv"] = csv
    states = state_backup_directory(data)
    if states.is_dir():
        # newest by the time stamp after the prefix (a home moved from SQLite to MongoDB holds
        # both kinds: by the whole name every ``state_`` would sort after every ``mongodump_``)
        latest = sorted((p for p in states.iterdir()
                         if p.name.startswith(("state_", "mongodump_"))
                         and not p.name.endswith((".partial", ".old"))),
                        key=lambda p: p.name.partition("_")[2])
        if latest:
            out["state"] = latest[-1]
    backtests = backtests_directory(data)
    if backtests.is_dir():
        out["backtests"] = backtests
    return out


def _files(source: Path) -> list[Path]:
    if source.is_file():
        return [source]
    return sorted(p for p in source.rglob("*")
                  if p.is_file() and not p.is_symlink()
                  and not any(part.endswith((".partial", ".old")) for part in
                              p.relative_to(source).parts))


def _copy(sources: dict[str, Path], partial: Path, fernet) -> list[str]:
    written = []
    for name, source in sources.items():
        for path in _files(source):
            relative = Path(name) / (path.name if source.is_file() else path.relative_to(source))
            out = partial / relative
            out.parent.mkdir(parents=True, exist_ok=True)
            if fernet is None:
                shutil.copy2(path, out)
            else:
                out = out.with_name(out.name + ENCRYPTED_SUFFIX)
                out.write_bytes(fernet.encrypt(path.read_bytes()))
            written.append(out.relative_to(partial).as_posix())
    return written


def owned_copies(root: Path) -> list[Path]:
    """Our copies under ``root``, oldest first (marked, named ``systrade_<stamp>``)."""
    return sorted(p for p in root.iterdir()
                  if p.name.startswith(PREFIX) and not p.name.endswith((".partial", ".old"))
                  and is_owned(p, OFFSYSTEM_COPY))


def _rotate(root: Path, keep: int, made: Path) -> tuple[list[str], list[str]]:
    """Delete our copies beyond the newest ``keep`` (by name), never ``made``, the copy this run
    just wrote (a clock set back would otherwise name it the oldest); a copy holding a file it
    did not write is kept and reported. Returns (deleted, kept back)."""
    deleted, kept = [], []
    for old in owned_copies(root)[:-keep]:
        if old.name == made.name:
            continue
        if foreign_files(old, OFFSYSTEM_COPY):
            kept.append(old.name)
            log.warning("off-system copy %s holds files it did not write; not deleted", old)
            continue
        remove_owned(old, OFFSYSTEM_COPY)
        deleted.append(old.name)
    return deleted, kept


def backup_offsystem(data: DataBlob | None = None) -> str:
    """Copy the CSV backup, the latest state-store backup and the backtest states into a new
    dated folder under ``offsystem_backup_directory`` (encrypted when
    ``offsystem_backup_encrypt``), then keep our newest ``offsystem_backup_keep`` copies.
    Returns a one-line summary (``not configured`` when the directory is not set).
    :class:`OffsystemBackupError` (one line, non-zero exit) when the directory is missing, not a
    directory or not writable; nothing is deleted then."""
    with blob_for(data, "backup_offsystem") as data:
        configured = data.config.offsystem_backup_directory
        if not configured:
            return "backup_offsystem: offsystem_backup_directory is not set; nothing copied"
        root = absolute(configured)
        if not root.is_dir():
            raise OffsystemBackupError(
                f"offsystem_backup_directory {root} does not exist or is not a directory (not "
                "mounted?); nothing copied. Create or mount it first")
        if not os.access(root, os.W_OK | os.X_OK):
            raise OffsystemBackupError(
                f"offsystem_backup_directory {root} is not writable; nothing copied")
        fernet = _fernet(data) if data.config.offsystem_backup_encrypt else None
        sources = _sources(data)
        real_root = root.resolve()
        for name, source in sources.items():
            if real_root.is_relative_to(source.resolve()):
                raise OffsystemBackupError(
                    f"offsystem_backup_directory {root} is inside {source} ({name}), which is "
                    "copied: every copy would hold the previous ones. Choose a folder elsewhere "
                    "(another disk); nothing copied")
        target = root / f"{PREFIX}{data.now().strftime('%Y%m%d_%H%M%S')}"
        try:
            with exclusive(target):
                partial = start_partial(target, OFFSYSTEM_COPY)
                try:
                    written = _copy(sources, partial, fernet)
                    (partial / MANIFEST).write_text(json.dumps(
                        {"format": "systrade_offsystem_copy", "format_version": 1,
                         "encrypted": fernet is not None, "sources": {k: str(v) for k, v in
                                                                      sources.items()},
                         "files": written}, indent=1, sort_keys=True))
                except BaseException:
                    # made by this run, under the lock: a half copy (full disk, unplugged
                    # drive) would otherwise stay forever, never rotated, filling the disk
                    shutil.rmtree(partial, ignore_errors=True)
                    raise
                swap_into_place(partial, target, OFFSYSTEM_COPY)
                try:
                    deleted, kept = _rotate(root, data.config.offsystem_backup_keep, target)
                except OSError as exc:  # the copy is whole: say so, not "half-written"
                    raise OffsystemBackupError(
                        f"{target} was copied, but deleting old copies under {root} failed: "
                        f"{exc.strerror or exc}") from None
        except OSError as exc:
            raise OffsystemBackupError(f"offsystem_backup_directory {root}: "
                                       f"{exc.strerror or exc}; any half-written copy was "
                                       "removed") from None
        summary = (f"backup_offsystem: {len(written)} files ({', '.join(sources) or 'nothing'})"
                   f" copied to {target}{' encrypted' if fernet else ''}; {len(deleted)} old "
                   f"copies deleted" + (f", {len(kept)} kept (foreign files)" if kept else ""))
        if fernet is None and "csv" in sources:
            log.warning("%s: %s", target, SECRETS_WARNING)
            summary += f"; {SECRETS_WARNING}"
        log.info(summary)
        return summary


def decrypt_offsystem_copy(source: str, destination: str, data: DataBlob | None = None) -> str:
    """Write a readable copy of the off-system copy ``source`` into the new folder
    ``destination`` (which must not exist), decrypting with ``offsystem_backup_key``.
    :class:`InvalidData` when a file does not decrypt with the key (wrong key, damaged file)."""
    from cryptography.fernet import InvalidToken

    with blob_for(data, "decrypt_offsystem_copy") as data:
        src, dst = absolute(source), absolute(destination)
        files = _manifest_files(src)
        if files is None:
            raise InvalidData(f"{src} is not an off-system copy (no {MANIFEST})")
        if dst.exists():
            raise InvalidData(f"{dst} exists; choose a new folder: nothing was changed")
        encrypted = json.loads((src / MANIFEST).read_text()).get("encrypted", False)
        fernet = _fernet(data) if encrypted else None
        relatives = sorted(files - {MANIFEST, OWNER_FILE})
        for relative in relatives:
            _check_inside(src, relative)
        # written into a new sibling folder and renamed into place: a failure (wrong key, damaged
        # file, full disk) leaves no half-restored destination behind
        partial = dst.with_name(f".{dst.name}.restoring")
        if partial.exists() or partial.is_symlink():
            raise InvalidData(f"{partial} exists (an earlier restore was interrupted?); delete "
                              "it yourself: nothing was changed")
        partial.mkdir(parents=True)
        try:
            for relative in relatives:
                path = src / relative
                if path.is_symlink() or not path.is_file():
                    raise InvalidData(f"{path}: listed in the manifest but not a regular file")
                if encrypted and not relative.endswith(ENCRYPTED_SUFFIX):
                    raise InvalidData(f"{path}: not an encrypted file in an encrypted copy")
                name = relative[:-len(ENCRYPTED_SUFFIX)] if encrypted else relative
                out = partial / name
                out.parent.mkdir(parents=True, exist_ok=True)
                if fernet is None:
                    shutil.copy2(path, out)
                else:
                    try:
                        out.write_bytes(fernet.decrypt(path.read_bytes()))
                    except InvalidToken:
                        raise InvalidData(f"{path}: does not decrypt with offsystem_backup_key "
                                          "(wrong key or damaged file); nothing restored") from None
            partial.rename(dst)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)  # created above, by this call
            raise
        return f"decrypt_offsystem_copy: {len(relatives)} files written to {dst}"


def _check_inside(folder: Path, relative: str) -> None:
    """:class:`InvalidData` unless the manifest entry ``relative`` names a path inside
    ``folder`` (a forged or damaged manifest could name ``../x`` or an absolute path)."""
    parts = Path(relative).parts
    if not parts or Path(relative).is_absolute() or ".." in parts or "\x00" in relative:
        raise InvalidData(f"{folder / MANIFEST}: lists {relative!r}, outside the copy "
                          "(forged or damaged manifest); nothing restored")
