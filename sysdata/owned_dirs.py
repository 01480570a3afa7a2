"""Replacing and deleting directories: only ever one that systrade wrote itself.

The rule, for every command that replaces or deletes a directory (CSV backups, state exports,
saved backtest states and their clean-up): a directory may be replaced or deleted only when it is
empty or carries the ownership mark of the kind of directory the command writes, and holds
nothing else than what it wrote (:func:`foreign_files`: its manifest's file list; without one,
only the mark, or for a leftover ``.partial`` or a legacy directory only files of the kind's
shape). Anything else --
a user's folder, ``~``, the systrade home, a backup of another kind -- is refused with
:class:`NotOwnedDirectory` and left exactly as it was.

The mark is a small JSON file, :data:`OWNER_FILE`, written into the directory *first*, before any
content, so that even a half-written ``.partial`` directory is recognisably ours. Directories
written before the mark existed are recognised by a kind-specific ``legacy`` test (e.g. a CSV
backup's ``MANIFEST.json``).

Replacement is atomic: new content is written to ``<target>.partial``; then ``target`` is renamed
to ``<target>.old``, ``.partial`` to ``target``, and ``.old`` is deleted. If a process dies between
the two renames, :func:`recover_interrupted_swap` (run at the start of the next replacement) puts
``.old`` back, so a previous complete directory is never lost.

Two replacements of one directory at once (two backups started together, by hand and by cron)
would delete each other's ``.partial`` and swap a half-written one into place. A replacement
therefore runs inside :func:`exclusive`, an exclusive ``flock`` on the target's parent folder,
held from the checks to the swap: a second one is refused with :class:`DirectoryBusy` (nothing
changed). The kernel drops the lock when its holder dies, so a SIGKILLed replacement never
blocks the next one. It covers every process of this machine (and NFS clients where the server
supports locks); one replacement at a time per parent folder.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from syscore.exceptions import ConcurrencyError, ExistingData

OWNER_FILE = ".systrade_owner.json"

log = logging.getLogger("systrade.owned_dirs")


class NotOwnedDirectory(ExistingData):
    """A command was asked to replace or delete a directory systrade did not write."""


class DirectoryBusy(ConcurrencyError):
    """Another process is replacing a directory in the same parent folder right now."""


@dataclass(frozen=True)
class DirectoryKind:
    """A kind of directory systrade writes and may later replace or delete.

    ``name`` is stored in the mark; ``description`` is what an operator reads (``"a systrade CSV
    backup"``); ``legacy`` recognises directories of this kind written before marks existed;
    ``contents`` (optional) returns the relative paths (POSIX) of every file such a directory
    wrote, from its own manifest, or None when it cannot tell (no manifest yet, or an old one
    without a file list): a file beyond those is someone else's, and the directory is then not
    replaced. ``may_hold`` (optional) says, for a relative path, whether a directory of this
    kind may have written it: used only when ``contents`` cannot tell for a leftover
    ``.partial`` or a legacy directory (see :func:`foreign_files`).

    A kind without ``contents`` (it keeps no list of its files) trusts its mark alone."""

    name: str
    description: str
    legacy: Callable[[Path], bool] | None = None
    contents: Callable[[Path], set[str] | None] | None = None
    may_hold: Callable[[str], bool] | None = None


def sibling(path: Path, suffix: str) -> Path:
    """``<path><suffix>`` next to ``path`` (e.g. ``backup.partial``)."""
    return path.with_name(path.name + suffix)


def absolute(path: Path | str) -> Path:
    """``path`` with ``~`` expanded, made absolute (symlinks are not followed)."""
    out = Path(path).expanduser().absolute()
    if not out.name:  # "/" has no name and no sibling
        raise NotOwnedDirectory(f"{out}: refusing to use the file-system root as a destination")
    return out


def mark_owned(directory: Path, kind: DirectoryKind) -> None:
    """Write the ownership mark of ``kind`` into ``directory`` (which must exist)."""
    (directory / OWNER_FILE).write_text(json.dumps({"kind": kind.name}) + "\n")


def is_owned(directory: Path, kind: DirectoryKind) -> bool:
    """True when ``directory`` is a real directory (not a symlink) carrying ``kind``'s mark, or
    recognised by ``kind.legacy``."""
    if directory.is_symlink() or not directory.is_dir():
        return False
    mark = directory / OWNER_FILE
    if mark.is_file() and not mark.is_symlink():
        try:
            return json.loads(mark.read_text()).get("kind") == kind.name
        except (ValueError, UnicodeDecodeError, AttributeError):
            return False
    if kind.legacy is not None:
        try:
            return bool(kind.legacy(directory))
        except OSError:
            return False
    return False


def _unaccounted(directory: Path, kind: DirectoryKind) -> tuple[list[str], bool]:
    """(:func:`foreign_files`, whether the kind could list what it wrote)."""
    if kind.contents is None:
        return [], True
    expected = kind.contents(directory)
    files = sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*")
                   if not p.is_dir() and p.relative_to(directory).as_posix() != OWNER_FILE)
    if expected is not None:
        return [f for f in files if f not in expected], True
    unfinished = directory.name.endswith(".partial") or not (directory / OWNER_FILE).is_file()
    if unfinished and kind.may_hold is not None:
        return [f for f in files if not kind.may_hold(f)], False
    return files, False


def foreign_files(directory: Path, kind: DirectoryKind) -> list[str]:
    """Files in an owned ``directory`` that it did not write, sorted (the mark is never one).

    - ``kind.contents`` lists the files (its manifest): every other file is foreign;
    - it cannot tell (no manifest, or one without a file list): for a leftover ``.partial``
      (the manifest is written last) or a legacy directory (no mark), the files ``kind.may_hold``
      does not allow are foreign; for a marked, complete directory every file is (a mark
      without a manifest is a copied mark, or a backup someone emptied out: not ours to delete);
    - a kind without ``contents`` keeps no list: empty (the mark is trusted)."""
    return _unaccounted(directory, kind)[0]
def _is_empty_directory(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink() and not any(path.iterdir())


def _refusal(path: Path, kind: DirectoryKind, verb: str) -> NotOwnedDirectory:
    if path.is_symlink():
        what = "is a symbolic link"
    elif not path.is_dir():
        what = "is a file, not a directory"
    else:
        what = f"is not {kind.description} (it has no {OWNER_FILE})"
    return NotOwnedDirectory(
        f"{path} {what}; refusing to {verb} it: nothing was changed. Choose another "
        "destination, or move it away yourself")


def _check_nothing_foreign(path: Path, kind: DirectoryKind, verb: str) -> None:
    extra, listed = _unaccounted(path, kind)
    if extra:
        more = f" and {len(extra) - 1} more" if len(extra) > 1 else ""
        what = (f"is {kind.description} but also holds files it did not write" if listed else
                f"looks like {kind.description} but has no manifest listing the files it wrote, "
                "and holds files systrade cannot account for")
        raise NotOwnedDirectory(
            f"{path} {what} ({extra[0]}{more}); refusing "
            f"to {verb} it: nothing was changed. Move those files out first (or, if it is an "
            "unfinished copy of your own, delete the folder yourself)")


def check_replaceable(target: Path, kind: DirectoryKind) -> None:
    """Raise :class:`NotOwnedDirectory` unless ``target`` does not exist, is an empty directory,
    or is a directory of ``kind`` holding only files it wrote."""
    if not target.exists() and not target.is_symlink():
        return
    if _is_empty_directory(target):
        return
    if not is_owned(target, kind):
        raise _refusal(target, kind, "replace")
    _check_nothing_foreign(target, kind, "replace")


def remove_owned(path: Path, kind: DirectoryKind) -> None:
    """Delete ``path`` if it is an empty directory or a directory of ``kind``; anything else is
    refused (:class:`NotOwnedDirectory`) and left untouched. A missing path is a no-op."""
    if not path.exists() and not path.is_symlink():
        return
    if _is_empty_directory(path):
        path.rmdir()
        return
    if not is_owned(path, kind):
        raise _refusal(path, kind, "delete")
    _check_nothing_foreign(path, kind, "delete")
    shutil.rmtree(path)


def recover_interrupted_swap(target: Path, kind: DirectoryKind) -> None:
    """If a replacement died between moving ``target`` to ``.old`` and moving ``.partial`` into
    place, put ``.old`` back; if it died after both renames, delete the leftover ``.old``. A
    ``.old`` that is not of ``kind`` is never touched (the replacement will refuse instead)."""
    old = sibling(target, ".old")
    if not old.exists() or not is_owned(old, kind):
        return
    if target.exists() or target.is_symlink():
        if is_owned(target, kind) or _is_empty_directory(target):
            remove_owned(old, kind)  # refuses an ``.old`` holding files it did not write
    else:
        old.rename(target)
        log.warning("previous %s put back from %s (an earlier run was interrupted)",
                    kind.description, old)


def start_partial(target: Path, kind: DirectoryKind) -> Path:
    """Check that ``target`` may be replaced, then create ``<target>.partial`` carrying the mark
    (a leftover ``.partial`` of the same kind is deleted first); returns it."""
    check_replaceable(target, kind)
    partial = sibling(target, ".partial")
    remove_owned(partial, kind)
    partial.mkdir(parents=True)
    mark_owned(partial, kind)
    return partial


def swap_into_place(partial: Path, target: Path, kind: DirectoryKind) -> Path:
    """Atomically replace ``target`` (absent, empty, or of ``kind``) with ``partial``."""
    check_replaceable(target, kind)
    if target.exists():
        old = sibling(target, ".old")
        remove_owned(old, kind)
        target.rename(old)
        partial.rename(target)
        shutil.rmtree(old)  # it was ``target``, checked above
    else:
        partial.rename(target)
    return target


@contextlib.contextmanager
def exclusive(target: Path) -> Iterator[None]:
    """Hold the replacement lock of ``target`` (an exclusive ``flock`` on its parent folder,
    created if missing) while the block runs; :class:`DirectoryBusy` at once, changing nothing,
    when another process holds it. Wrap the whole replacement in it: the interrupted-swap
    recovery, the checks, writing ``.partial`` and :func:`swap_into_place`."""
    parent = absolute(target).parent
    parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            raise DirectoryBusy(
                f"{target}: another process is writing a systrade folder in {parent} right now "
                "(a backup or export started twice?); nothing was changed. Run again when it "
                "has finished") from None
        yield
    finally:
        os.close(descriptor)  # releases the lock
