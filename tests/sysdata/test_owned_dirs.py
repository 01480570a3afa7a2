"""The one rule for replacing or deleting a directory: only an empty one or one of the kind the
command writes (carrying its mark); anything else is refused and left byte-for-byte."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from sysdata import owned_dirs
from sysdata.owned_dirs import OWNER_FILE, DirectoryKind, NotOwnedDirectory

KIND = DirectoryKind("thing", "a systrade thing",
                     legacy=lambda d: (d / "LEGACY_MANIFEST").is_file())
OTHER = DirectoryKind("other", "a systrade other thing")


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def user_folder(tmp_path):
    folder = tmp_path / "mine"
    (folder / "sub").mkdir(parents=True)
    (folder / "thesis.txt").write_text("years of work")
    (folder / "sub" / "data.csv").write_bytes(b"\x00\x01binary")
    return folder


def test_user_folder_is_never_replaced_nor_deleted(user_folder):
    before = tree(user_folder)
    with pytest.raises(NotOwnedDirectory, match="not a systrade thing"):
        owned_dirs.check_replaceable(user_folder, KIND)
    with pytest.raises(NotOwnedDirectory):
        owned_dirs.start_partial(user_folder, KIND)
    with pytest.raises(NotOwnedDirectory):
        owned_dirs.remove_owned(user_folder, KIND)
    assert tree(user_folder) == before
    assert not owned_dirs.sibling(user_folder, ".partial").exists()


def test_a_directory_of_another_kind_is_not_ours(tmp_path):
    folder = tmp_path / "x"
    folder.mkdir()
    owned_dirs.mark_owned(folder, OTHER)
    (folder / "f").write_text("1")
    with pytest.raises(NotOwnedDirectory):
        owned_dirs.remove_owned(folder, KIND)
    assert (folder / "f").exists()


def test_file_and_symlink_are_refused(tmp_path, user_folder):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    link = tmp_path / "link"
    link.symlink_to(user_folder)
    for path in (a_file, link):
        with pytest.raises(NotOwnedDirectory):
            owned_dirs.check_replaceable(path, KIND)
        with pytest.raises(NotOwnedDirectory):
            owned_dirs.remove_owned(path, KIND)
    assert a_file.read_text() == "x" and (user_folder / "thesis.txt").exists()


def test_root_is_refused():
    with pytest.raises(NotOwnedDirectory, match="root"):
        owned_dirs.absolute("/")


@pytest.mark.parametrize("existing", ["absent", "empty", "legacy", "marked"])
def test_replace_own_empty_absent_and_legacy(tmp_path, existing):
    target = tmp_path / "t"
    if existing != "absent":
        target.mkdir()
    if existing == "legacy":
        (target / "LEGACY_MANIFEST").write_text("{}")
    if existing == "marked":
        owned_dirs.mark_owned(target, KIND)
        (target / "old content").write_text("old")
    partial = owned_dirs.start_partial(target, KIND)
    (partial / "content").write_text("new")
    owned_dirs.swap_into_place(partial, target, KIND)
    assert sorted(p.name for p in target.iterdir()) == [OWNER_FILE, "content"]
    assert json.loads((target / OWNER_FILE).read_text()) == {"kind": "thing"}
    assert not owned_dirs.sibling(target, ".partial").exists()
    assert not owned_dirs.sibling(target, ".old").exists()


def test_a_foreign_partial_or_old_sibling_is_left_alone(tmp_path, user_folder):
    target = tmp_path / "t"
    partial = owned_dirs.sibling(target, ".partial")
    user_folder.rename(partial)
    before = tree(partial)
    with pytest.raises(NotOwnedDirectory):
        owned_dirs.start_partial(target, KIND)
    assert tree(partial) == before
    # a foreign ".old" is neither put back nor deleted
    old = owned_dirs.sibling(target, ".old")
    partial.rename(old)
    owned_dirs.recover_interrupted_swap(target, KIND)
    assert not target.exists() and tree(old) == before
