"""Off-system copies of the backups: copy made, rotation of our own copies only, foreign files
kept, encryption round trip, missing or unwritable directory refused (one line, exit non-zero)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from cryptography.fernet import Fernet

from syscore.config_models import SystradeConfig
from syscore.exceptions import ConfigError, InvalidData
from sysdata.owned_dirs import OWNER_FILE
from sysproduction.backup_offsystem import (
    OffsystemBackupError,
    backup_offsystem,
    decrypt_offsystem_copy,
    owned_copies,
)
from sysproduction.backup_state_store import backup_state_store
from tests.blob_helpers import FixedClock, make_blob

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def clock():
    return FixedClock("2024-01-06 08:00")


@pytest.fixture
def blob(tmp_path, clock):
    data = make_blob(tmp_path / "home", clock=clock)
    csv = data.home / "backups" / "csv"
    (csv / "adjusted_prices").mkdir(parents=True)
    (csv / "adjusted_prices" / "CORN.csv").write_text("DATETIME,price\n2024-01-05,104\n")
    (csv / "private").mkdir()
    (csv / "private" / "private_config.yaml").write_text("ib: {account: U123}\n")
    state = data.home / "backtests" / "s1" / "20240105_000000"
    state.mkdir(parents=True)
    (state / "summary.json").write_text("{}")
    (data.home / "backtests" / "s1" / "20240106_000000.partial").mkdir()  # unfinished: skipped
    yield data
    data.close()


def _configure(blob, target, **kwargs):
    blob.config = SystradeConfig(offsystem_backup_directory=str(target), **kwargs)


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_not_configured_copies_nothing(blob):
    assert "not set" in backup_offsystem(data=blob)


def test_copy_of_csv_backup_latest_state_backup_and_backtests(blob, tmp_path, clock):
    backup_state_store(data=blob)
    clock.current += pd.Timedelta(minutes=1)
    latest = Path(backup_state_store(data=blob)).name
    target = tmp_path / "offsite"
    target.mkdir()
    _configure(blob, target)
    summary = backup_offsystem(data=blob)
    copy = target / "systrade_20240106_080100"
    assert _files(copy) == sorted([
        OWNER_FILE, "MANIFEST.json", "backtests/s1/20240105_000000/summary.json",
        "csv/adjusted_prices/CORN.csv", "csv/private/private_config.yaml",
        f"state/{latest}"])
    assert (copy / "csv/adjusted_prices/CORN.csv").read_text().endswith("104\n")
    assert "secrets" in summary and "4 files" in summary


def test_rotation_deletes_only_our_oldest_copies(blob, tmp_path, clock):
    target = tmp_path / "offsite"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    (target / "systrade_20000101_000000").mkdir()  # looks like ours, is not marked
    (target / "systrade_20000101_000000" / "x").write_text("keep")
    _configure(blob, target, offsystem_backup_keep=2)
    for minute in range(3):
        clock.current = pd.Timestamp("2024-01-06 08:00", tz="UTC") + pd.Timedelta(minutes=minute)
        backup_offsystem(data=blob)
    assert [p.name for p in owned_copies(target)] == ["systrade_20240106_080100",
                                                      "systrade_20240106_080200"]
    assert (target / "notes.txt").read_text() == "mine"
    assert (target / "systrade_20000101_000000" / "x").read_text() == "keep"


def test_a_copy_holding_a_foreign_file_is_not_rotated_away(blob, tmp_path, clock):
    target = tmp_path / "offsite"
    target.mkdir()
    _configure(blob, target, offsystem_backup_keep=1)
    backup_offsystem(data=blob)
    first = target / "systrade_20240106_080000"
    (first / "added_by_hand.txt").write_text("do not lose")
    clock.current += pd.Timedelta(minutes=1)
    summary = backup_offsystem(data=blob)
    assert (first / "added_by_hand.txt").read_text() == "do not lose"
    assert "1 kept (foreign files)" in summary


def test_encrypted_copy_round_trip(blob, tmp_path):
    target = tmp_path / "offsite"
    target.mkdir()
    key = Fernet.generate_key().decode()
    _configure(blob, target, offsystem_backup_encrypt=True, offsystem_backup_key=key)
    summary = backup_offsystem(data=blob)
    assert key not in summary
    copy = target / "systrade_20240106_080000"
    secret = copy / "csv/private/private_config.yaml.fernet"
    assert b"U123" not in secret.read_bytes()
    assert json.loads((copy / "MANIFEST.json").read_text())["encrypted"]
    out = tmp_path / "restored"
    decrypt_offsystem_copy(str(copy), str(out), data=blob)
    assert (out / "csv/private/private_config.yaml").read_text() == "ib: {account: U123}\n"
    assert (out / "backtests/s1/20240105_000000/summary.json").read_text() == "{}"


def test_encryption_without_a_key_is_refused_before_copying(blob, tmp_path):
    target = tmp_path / "offsite"
    target.mkdir()
    _configure(blob, target, offsystem_backup_encrypt=True)
    with pytest.raises(ConfigError, match="offsystem_backup_key is not set"):
        backup_offsystem(data=blob)
    assert list(target.iterdir()) == []


def test_a_missing_directory_is_not_created(blob, tmp_path):
    _configure(blob, tmp_path / "unmounted")
    with pytest.raises(OffsystemBackupError, match="does not exist"):
        backup_offsystem(data=blob)
    assert not (tmp_path / "unmounted").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_an_unwritable_directory_is_refused(blob, tmp_path):
    target = tmp_path / "readonly"
    target.mkdir()
    target.chmod(0o500)
    try:
        _configure(blob, target)
        with pytest.raises(OffsystemBackupError, match="not writable"):
            backup_offsystem(data=blob)
    finally:
        target.chmod(0o700)


def test_run_py_missing_directory_one_line_non_zero_exit(tmp_path):
    home = tmp_path / "home"
    make_blob(home).close()
    (home / "private").mkdir(exist_ok=True)
    (home / "private" / "private_config.yaml").write_text(
        f"offsystem_backup_directory: {tmp_path / 'unmounted'}\n")
    result = subprocess.run(
        [sys.executable, str(REPO / "run.py"), "sysproduction.backup_offsystem.backup_offsystem"],
        cwd=REPO, env={**os.environ, "SYSTRADE_HOME": str(home)}, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_file_in_place_of_the_directory_is_refused(blob, tmp_path):
    target = tmp_path / "offsite"
    target.write_text("a file")
    _configure(blob, target)
    with pytest.raises(OffsystemBackupError, match="not a directory"):
        backup_offsystem(data=blob)
    assert target.read_text() == "a file"


def test_a_forged_manifest_cannot_write_outside_the_destination(blob, tmp_path):
    source = tmp_path / "offsite" / "systrade_20240106_080000"
    (source / "csv").mkdir(parents=True)
    (source / "csv" / "x.csv").write_text("new")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (source / "MANIFEST.json").write_text(json.dumps(
        {"encrypted": False, "files": ["csv/x.csv", "../victim.txt"]}))
    (tmp_path / "offsite" / "victim.txt").write_text("forged")
    with pytest.raises(InvalidData, match="outside"):
        decrypt_offsystem_copy(str(source), str(tmp_path / "restored"), data=blob)
    assert victim.read_text() == "precious"
    assert not (tmp_path / "restored").exists()


def test_a_wrong_key_does_not_decrypt_and_leaves_no_destination(blob, tmp_path):
    target = tmp_path / "offsite"
    target.mkdir()
    _configure(blob, target, offsystem_backup_encrypt=True,
               offsystem_backup_key=Fernet.generate_key().decode())
    backup_offsystem(data=blob)
    _configure(blob, target, offsystem_backup_encrypt=True,
               offsystem_backup_key=Fernet.generate_key().decode())
    with pytest.raises(InvalidData, match="does not decrypt"):
        decrypt_offsystem_copy(str(target / "systrade_20240106_080000"),
                               str(tmp_path / "out"), data=blob)
    assert not (tmp_path / "out").exists()  # a rerun with the right key is not refused


def test_a_full_disk_mid_copy_leaves_no_partial_copy_behind(blob, tmp_path, monkeypatch):
    import errno
    import shutil

    import sysproduction.backup_offsystem as module

    target = tmp_path / "offsite"
    target.mkdir()
    _configure(blob, target)
    real = shutil.copy2
    calls = []

    def copy_until_full(src, dst, *args, **kwargs):
        calls.append(src)
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(module.shutil, "copy2", copy_until_full)
    with pytest.raises(OffsystemBackupError, match="No space left"):
        backup_offsystem(data=blob)
    assert list(target.iterdir()) == []  # the half copy does not keep filling the disk


def test_a_directory_inside_what_is_copied_is_refused(blob, tmp_path):
    target = blob.home / "backtests" / "offsite"
    target.mkdir()
    _configure(blob, target)
    with pytest.raises(OffsystemBackupError, match="inside"):
        backup_offsystem(data=blob)
    assert list(target.iterdir()) == []


def test_a_clock_behind_the_newest_copy_does_not_delete_the_copy_just_made(blob, tmp_path, clock):
    target = tmp_path / "offsite"
    target.mkdir()
    _configure(blob, target, offsystem_backup_keep=1)
    backup_offsystem(data=blob)
    clock.current -= pd.Timedelta(days=1)
    backup_offsystem(data=blob)
    assert (target / "systrade_20240105_080000" / "MANIFEST.json").is_file()


def test_a_failed_rotation_says_the_copy_was_made(blob, tmp_path, clock, monkeypatch):
    import errno

    import sysproduction.backup_offsystem as module

    target = tmp_path / "offsite"
    target.mkdir()
    _configure(blob, target, offsystem_backup_keep=1)
    backup_offsystem(data=blob)
    clock.current += pd.Timedelta(minutes=1)

    def refuse(path, kind):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(module, "remove_owned", refuse)
    with pytest.raises(OffsystemBackupError, match="was copied, but deleting old copies") as err:
        backup_offsystem(data=blob)
    assert "half-written" not in str(err.value)
    assert [p.name for p in owned_copies(target)] == ["systrade_20240106_080000",
                                                      "systrade_20240106_080100"]


def test_the_latest_state_backup_is_the_newest_whatever_its_kind(blob, tmp_path):
    """A home moved from SQLite to MongoDB holds an old ``state_*.sqlite`` and newer
    ``mongodump_*`` backups: the newest is copied, not the one whose name sorts last."""
    states = blob.home / "backups"  # backup_state_store's folder (no backup_directory set)
    (states / "state_20231201_080000.sqlite").write_bytes(b"old sqlite")
    (states / "mongodump_20240105_080000" / "systrade").mkdir(parents=True)
    (states / "mongodump_20240105_080000" / "systrade" / "orders.bson").write_bytes(b"new")
    target = tmp_path / "offsite"
    target.mkdir()
    _configure(blob, target)
    backup_offsystem(data=blob)
    copy = target / "systrade_20240106_080000"
    assert [f for f in _files(copy) if f.startswith("state/")] == ["state/systrade/orders.bson"]
