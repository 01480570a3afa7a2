"""Rotated files that systrade made, and only those, in one folder (``logs/``, ``echos/``).

A rotation renames ``<folder>/<name>`` to ``<folder>/<name>.<YYYY-MM-DD>`` and writes the new
name into the folder's ledger, ``<folder>/.systrade_rotated`` (one name a line, appended under
an exclusive ``flock``). The cleaners delete only files named in that ledger: a user's file that
merely looks like a rotated one (``notes.log.2024-01-01``), a symbolic link, a folder, or a
rotated file written before the ledger existed is never deleted, whatever its age.

Rules every function here keeps:

* symbolic links are never followed: a source, target or ledger that is a link is left alone
  (``lstat`` checks, ``O_NOFOLLOW`` opens);
* a rotation never replaces or writes into a file it did not make: when the target exists and
  is not in the ledger, the source is left where it is (a warning on stderr, once per call);
* only names without a path separator are touched, so nothing outside ``folder`` is reached;
* a SIGKILL at any point loses nothing: the rotation links the target (``link`` fails when it
  exists) before it unlinks the source, and records the target after linking it (a kill in
  between leaves an unrecorded file, never deleted: delete it by hand if you want the space).
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

LEDGER = ".systrade_rotated"


def _is_regular(path: Path) -> bool:
    """True when ``path`` is a regular file, not a symbolic link (not followed)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


def _plain_name(name: str) -> bool:
    return bool(name) and "/" not in name and "\0" not in name and name not in (".", "..")


def warn(message: str) -> None:
    """One line on stderr (logging may not be set up, e.g. inside a log handler)."""
    try:
        sys.stderr.write(f"systrade: {message}\n")
    except Exception:  # noqa: BLE001 - a warning must never break the caller
        pass


@contextlib.contextmanager
def _ledger(folder: Path) -> Iterator[int]:
    """The ledger's file descriptor, opened read-write without following a link, held under
    an exclusive ``flock``. ``OSError`` (e.g. ``ELOOP``: the ledger is a symbolic link)."""
    fd = os.open(folder / LEDGER, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o644)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, f"{folder / LEDGER} is not a regular file")
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)


def _read_names(fd: int) -> list[str]:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    text = b"".join(chunks).decode("utf-8", errors="replace")
    return [line for line in text.splitlines() if _plain_name(line)]


def recorded(folder: Path) -> set[str]:
    """The names the ledger of ``folder`` lists (empty when it has none or cannot be read)."""
    folder = Path(folder)
    if not _is_regular(folder / LEDGER):
        return set()
    try:
        with _ledger(folder) as fd:
            return set(_read_names(fd))
    except OSError:
        return set()


def record(folder: Path, name: str) -> None:
    """Add ``name`` to the ledger of ``folder``."""
    with _ledger(Path(folder)) as fd:
        os.write(fd, f"{name}\n".encode())


def forget(folder: Path, names: Iterable[str]) -> None:
    """Remove ``names`` from the ledger of ``folder`` (rewritten in place under the lock)."""
    gone = set(names)
    if not gone:
        return
    with _ledger(Path(folder)) as fd:
        keep = [name for name in _read_names(fd) if name not in gone]
        os.ftruncate(fd, 0)
        os.write(fd, "".join(f"{name}\n" for name in keep).encode())


def rotate(source: Path, target: Path) -> bool:
    """Move ``source`` to ``target`` (same folder) and record ``target`` as made by systrade.

    When ``target`` already exists: if it is a rotated file systrade made (in the ledger, a
    regular file), ``source``'s bytes are appended to it and ``source`` removed; otherwise
    (a user's file, a symbolic link, a folder) nothing is changed and a warning is printed.
    A ``source`` that is not a regular file (e.g. a symbolic link) is left alone. True when
    ``source`` was rotated."""
    source, target = Path(source), Path(target)
    folder = source.parent
    if target.parent != folder or not _plain_name(target.name):
        raise ValueError(f"{target} is not a file name in {folder}")
    if not _is_regular(source):
        if source.is_symlink():
            warn(f"{source} is a symbolic link: not rotated")
        return False
    try:
        os.link(source, target, follow_symlinks=False)
    except FileExistsError:
        return _rotate_into_existing(source, target)
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
            raise
        if os.path.lexists(target):  # no hard links on this file system
            return _rotate_into_existing(source, target)
        os.rename(source, target)
        record(folder, target.name)
        return True
    record(folder, target.name)
    os.unlink(source)
    return True


def _rotate_into_existing(source: Path, target: Path) -> bool:
    folder = source.parent
    try:
        same = os.path.samefile(source, target) and _is_regular(target)
    except OSError:
        same = False
    if same:  # a rotation killed between its link and its unlink: finish it
        if target.name not in recorded(folder):
            record(folder, target.name)
        os.unlink(source)
        return True
    if not _is_regular(target) or target.name not in recorded(folder):
        kind = "a symbolic link" if target.is_symlink() else "not a file systrade rotated"
        warn(f"{target} exists and is {kind}: {source.name} was not rotated into it "
             "(nothing was changed; move that file away)")
        return False
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW)
    try:
        with open(source, "rb") as src:
            while chunk := src.read(1 << 20):
                os.write(fd, chunk)
        os.fsync(fd)
    finally:
        os.close(fd)
    # a kill here appends these bytes again on the next run: duplicated lines, nothing lost
    os.unlink(source)
    return True


def delete_recorded(folder: Path, names: Iterable[str]) -> list[str]:
    """Delete those of ``names`` that the ledger of ``folder`` lists and that are regular
    files (never a link, never a folder); forget them. Returns the names deleted."""
    folder = Path(folder)
    mine = recorded(folder)
    deleted, vanished = [], []
    for name in names:
        if name not in mine or not _plain_name(name):
            continue
        path = folder / name
        if _is_regular(path):
            os.unlink(path)
            deleted.append(name)
        elif not os.path.lexists(path):
            vanished.append(name)
    forget(folder, deleted + vanished)
    return deleted
