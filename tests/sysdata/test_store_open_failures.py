"""Opening a home fails early with one clear StoreError line: unreachable MongoDB, read-only
home, full disk."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from syscore.exceptions import StoreError
from sysdata.data_blob import DataBlob
from sysdata.state.mongo_store import MongoStateStore
from tests.mongo_server import free_port


def test_unreachable_mongodb_fails_once_at_open_with_the_configured_timeout(systrade_home):
    port = free_port()  # nothing listens there
    (systrade_home / "private" / "private_config.yaml").write_text(
        f"state_store: mongodb://trader:s3cret@127.0.0.1:{port}/live\n"
        "store_timeout_seconds: 0.5\n")
    with pytest.raises(StoreError) as caught:
        DataBlob.from_config(systrade_home)
    message = str(caught.value)
    assert message.startswith(f"cannot reach MongoDB at mongodb://trader:***@127.0.0.1:{port}/live"
                              " within 0.5 s")
    assert "\n" not in message and "s3cret" not in message and "Topology" not in message
    assert not (systrade_home / "arctic").exists()  # nothing else was opened or created


def test_mongodb_client_timeouts_come_from_config(mongo_url):
    store = MongoStateStore(f"{mongo_url}/timeouts", server_timeout_ms=1500)
    try:
        options = store._client.options
        assert options.server_selection_timeout == 1.5
        assert options.pool_options.connect_timeout == 1.5
    finally:
        store.close()


def _can_mount() -> bool:
    return os.geteuid() == 0 and shutil.which("mount") is not None


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB tmpfs (needs root; skipped otherwise), unmounted afterwards."""
    if not _can_mount():
        pytest.skip("needs root to mount a small tmpfs")
    mount = tmp_path / "disk"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount tmpfs: {result.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_full_disk_at_open_is_one_clear_line(small_disk):
    home = small_disk / "home"
    (home / "private").mkdir(parents=True)
    with DataBlob.from_config(home):
        pass
    filler = small_disk / "filler"
    with open(filler, "wb") as handle:  # fill the disk
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass
    with pytest.raises(StoreError) as caught:
        DataBlob.from_config(home)
    assert "No space left on device" in str(caught.value)
    assert str(home) in str(caught.value) and "\n" not in str(caught.value)


def test_read_only_home_at_open_is_one_clear_line(small_disk):
    home = small_disk / "home"
    (home / "private").mkdir(parents=True)
    with DataBlob.from_config(home):
        pass
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    with pytest.raises(StoreError) as caught:
        DataBlob.from_config(home)
    assert "Read-only file system" in str(caught.value)
    assert "not writable" in str(caught.value) and "\n" not in str(caught.value)


def test_read_only_fresh_home_is_one_clear_line(small_disk):
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    with pytest.raises(StoreError, match="Read-only file system"):
        DataBlob.from_config(Path(small_disk) / "home")


def test_unreachable_s3_time_series_store_fails_at_open(systrade_home):
    port = free_port()
    (systrade_home / "private" / "private_config.yaml").write_text(
        f"timeseries_store: s3://127.0.0.1:bucket?port={port}&access=AKIA&secret=xyz\n"
        "store_timeout_seconds: 0.5\n")
    with pytest.raises(StoreError) as caught:
        DataBlob.from_config(systrade_home)
    message = str(caught.value)
    assert message.startswith("cannot reach the time-series store s3://127.0.0.1:bucket?")
    assert f"(S3 endpoint 127.0.0.1:{port}) within 0.5 s" in message
    assert "xyz" not in message and "AKIA" not in message and "\n" not in message


def test_s3_endpoint_parsing():
    from sysdata.timeseries.arctic_store import s3_endpoint

    assert s3_endpoint("s3://s3.eu-west-2.amazonaws.com:my-bucket?aws_auth=true") == (
        "s3.eu-west-2.amazonaws.com", 80)
    assert s3_endpoint("s3s://minio.local:b?port=9000") == ("minio.local", 9000)
    assert s3_endpoint("lmdb:///tmp/x") is None
