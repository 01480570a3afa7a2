"""A home remembers that it was initialised: a vanished store is refused, never recreated empty."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from syscore.config_models import SystradeConfig
from syscore.exceptions import ExistingData, StoreError
from sysdata.data_blob import DataBlob
from sysdata.home_record import (
    MARKER_FILE,
    HomeAccess,
    initialise_home,
    open_home_stores,
    read_home_record,
)
from sysdata.state.base import Delete, Put
from sysdata.state.mongo_store import MongoStateStore
from sysobjects.instruments import InstrumentConfig

REPO = Path(__file__).resolve().parents[2]
EURUSD = pd.Series([1.1, 1.2], index=pd.DatetimeIndex(["2024-01-01", "2024-01-02"]))


def fill(home: Path) -> None:
    """Open the home through configuration and store one record and one series."""
    with DataBlob.from_config(home) as data:
        data.instruments.add(InstrumentConfig("CORN", pointsize=50))
        data.fx_prices.write("EURUSD", EURUSD)


def test_first_open_initialises_the_home_and_records_both_stores(systrade_home):
    fill(systrade_home)
    marker = json.loads((systrade_home / MARKER_FILE).read_text())
    assert marker["state_store"] == f"sqlite:///{str(systrade_home / 'state.sqlite').lstrip('/')}"
    assert marker["timeseries_store"] == f"lmdb://{systrade_home / 'arctic'}"
    assert pd.Timestamp(marker["created"]).tzinfo is not None
    with DataBlob.from_config(systrade_home) as data:  # marker present, stores fine: works
        assert data.instruments.list_codes() == ["CORN"]
        assert data.state.home_identity()["home_id"] == marker["home_id"]
        assert data.timeseries.home_identity()["home_id"] == marker["home_id"]
        assert "_systrade_home" not in data.timeseries.libraries()  # never backed up


def test_zero_length_state_file_is_refused_and_left_alone(systrade_home):
    fill(systrade_home)
    (systrade_home / "state.sqlite").write_bytes(b"")
    with pytest.raises(StoreError) as caught:
        DataBlob.from_config(systrade_home)
    message = str(caught.value)
    assert "state store" in message and "0 bytes" in message
    assert "systrade init --force" in message and "restore_db_from_csv" in message
    assert "\n" not in message
    assert (systrade_home / "state.sqlite").stat().st_size == 0  # nothing written


def test_missing_arctic_folder_is_refused_and_not_recreated(systrade_home):
    fill(systrade_home)
    shutil.rmtree(systrade_home / "arctic")
    with pytest.raises(StoreError, match=r"time-series store .* is missing \(no folder"):
        DataBlob.from_config(systrade_home)
    assert not (systrade_home / "arctic").exists()


def test_both_stores_missing_are_both_named(systrade_home):
    fill(systrade_home)
    shutil.rmtree(systrade_home / "arctic")
    (systrade_home / "state.sqlite").unlink()
    with pytest.raises(StoreError) as caught:
        DataBlob.from_config(systrade_home)
    assert "state store" in str(caught.value) and "time-series store" in str(caught.value)
    assert not (systrade_home / "state.sqlite").exists()
    assert not (systrade_home / "arctic").exists()


def test_emptied_arctic_folder_is_refused(systrade_home):
    """The folder is there but holds nothing of this home (emptied, or replaced)."""
    fill(systrade_home)
    shutil.rmtree(systrade_home / "arctic")
    (systrade_home / "arctic").mkdir()
    with pytest.raises(StoreError, match="time-series store .* is empty"):
        DataBlob.from_config(systrade_home)


def test_dropped_mongodb_database_is_refused(systrade_home, mongo_url):
    url = f"{mongo_url}/home{os.getpid()}x{systrade_home.stat().st_ino}"
    (systrade_home / "private" / "private_config.yaml").write_text(f"state_store: {url}\n")
    fill(systrade_home)
    store = MongoStateStore(url)
    store.drop_database()
    store.close()
    with pytest.raises(StoreError, match=r"state store mongodb://.* is empty"):
        DataBlob.from_config(systrade_home)


def test_store_of_another_home_is_refused(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    fill(first)
    fill(second)
    shutil.copy(first / "state.sqlite", second / "state.sqlite")
    with pytest.raises(StoreError, match="belongs to home .* Two homes must not share"):
        DataBlob.from_config(second)


def test_init_refuses_an_initialised_home_and_force_recreates_what_is_missing(systrade_home):
    fill(systrade_home)
    with pytest.raises(ExistingData, match="already initialised"):
        initialise_home(systrade_home, SystradeConfig())
    before = read_home_record(systrade_home)
    shutil.rmtree(systrade_home / "arctic")
    opened = initialise_home(systrade_home, SystradeConfig(), force=True)
    try:
        assert any("time-series store" in a and "created empty" in a for a in opened.actions)
        assert opened.state.get("instruments", "CORN") is not None  # data kept
        assert opened.record.home_id == before.home_id
    finally:
        opened.state.close()
        opened.timeseries.close()
    with DataBlob.from_config(systrade_home) as data:  # usable again
        assert data.instruments.list_codes() == ["CORN"]
        assert not data.fx_prices.store.has("fx_prices", "EURUSD")


def test_a_home_from_before_markers_is_adopted(systrade_home):
    fill(systrade_home)
    (systrade_home / MARKER_FILE).unlink()
    with DataBlob.from_config(systrade_home) as data:  # stores carry the id: marker rewritten
        assert data.instruments.list_codes() == ["CORN"]
    assert read_home_record(systrade_home) is not None


def test_a_home_from_before_markers_with_a_vanished_folder_is_refused(systrade_home):
    """No marker (an old home), but the state store holds data: the missing folder vanished."""
    with DataBlob.from_config(systrade_home) as data:
        data.instruments.add(InstrumentConfig("CORN", pointsize=50))
    (systrade_home / MARKER_FILE).unlink()
    shutil.rmtree(systrade_home / "arctic")
    with pytest.raises(StoreError, match="has been used .* time-series store .* is missing"):
        DataBlob.from_config(systrade_home)


def test_restore_opens_missing_stores_and_the_restored_stores_are_adopted(systrade_home, tmp_path):
    from sysproduction.backup_db_to_csv import backup_db_to_csv
    from sysproduction.restore_db_from_csv import restore_db_from_csv

    fill(systrade_home)
    backup = tmp_path / "backup"
    backup_db_to_csv(destination=str(backup))
    shutil.rmtree(systrade_home / "arctic")
    (systrade_home / "state.sqlite").write_bytes(b"")
    opened = open_home_stores(systrade_home, SystradeConfig(), HomeAccess.RESTORE)
    opened.state.close()
    opened.timeseries.close()
    restore_db_from_csv(source=str(backup))
    with DataBlob.from_config(systrade_home) as data:
        assert data.instruments.list_codes() == ["CORN"]
        assert data.fx_prices.read_series("EURUSD").tolist() == [1.1, 1.2]


def _script(name: str) -> list[str]:
    exe = Path(sys.executable).parent / name
    assert exe.exists(), f"console script {name} not installed"
    return [str(exe)]


def test_run_backups_on_a_refused_home_fails_and_keeps_the_last_backup(systrade_home):
    env = {**os.environ, "SYSTRADE_HOME": str(systrade_home), "PYTHONPATH": str(REPO)}
    fill(systrade_home)
    run_backups = [sys.executable, str(REPO / "run.py"), "sysproduction.run_process.run_process",
                   "--process_name", "run_backups"]  # one pass now (the script waits for its window)
    first = subprocess.run(run_backups, env=env, cwd=REPO, capture_output=True,
                           text=True, stdin=subprocess.DEVNULL, timeout=300)
    assert first.returncode == 0, first.stderr
    good = systrade_home / "backups" / "csv"
    files = {p.relative_to(good): p.read_bytes() for p in good.rglob("*") if p.is_file()}
    assert (good / "fx_prices_csv" / "EURUSD.csv").exists()
    state_backups = sorted((systrade_home / "backups").glob("state_*.sqlite"))

    (systrade_home / "state.sqlite").write_bytes(b"")
    second = subprocess.run(run_backups, env=env, cwd=REPO, capture_output=True,
                            text=True, stdin=subprocess.DEVNULL, timeout=300)
    assert second.returncode != 0
    assert "systrade init --force" in second.stderr
    assert {p.relative_to(good): p.read_bytes() for p in good.rglob("*") if p.is_file()} == files
    assert sorted((systrade_home / "backups").glob("state_*.sqlite")) == state_backups
    assert (systrade_home / "state.sqlite").stat().st_size == 0


def test_systrade_init_command(tmp_path):
    home = tmp_path / "home"
    env = {**os.environ, "SYSTRADE_HOME": str(home), "PYTHONPATH": str(REPO)}

    def systrade(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*_script("systrade"), *args], env=env, cwd=REPO,
                              capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)

    created = systrade("init")
    assert created.returncode == 0, created.stderr
    assert "initialised systrade home" in created.stdout
    assert (home / MARKER_FILE).exists() and (home / "state.sqlite").exists()
    again = systrade("init")
    assert again.returncode == 1 and "already initialised" in again.stderr
    assert again.stderr.count("\n") == 1
    (home / "state.sqlite").unlink()
    forced = systrade("init", "--force")
    assert forced.returncode == 0, forced.stderr
    assert "state store" in forced.stdout and "created empty" in forced.stdout
    # each action once: cron mails stdout and stderr together
    assert "created empty" not in forced.stderr, forced.stderr
    with DataBlob.from_config(home) as data:
        assert data.instruments.list_codes() == []


def _open_once(home: Path) -> None:
    """Any later process opening the home: it records which stores hold data."""
    with DataBlob.from_config(home):
        pass


def test_a_timeseries_store_whose_libraries_were_deleted_but_not_its_id_is_refused(
        systrade_home):
    """The arctic/ folder is there with this home's id library, but its data libraries are
    gone: refused like a missing store, until a restore or ``systrade init --force``."""
    fill(systrade_home)
    _open_once(systrade_home)
    assert read_home_record(systrade_home).held_data == ("time-series store",)
    with DataBlob.from_config(systrade_home) as data:
        for library in data.timeseries.libraries():
            data.timeseries.delete_library(library)
        assert data.timeseries.home_identity() is not None
    with pytest.raises(StoreError) as caught:
        DataBlob.from_config(systrade_home)
    message = str(caught.value)
    assert "time-series store" in message and "held data before" in message, message
    assert "restore_db_from_csv" in message and "\n" not in message
    opened = open_home_stores(systrade_home, SystradeConfig(), HomeAccess.RESTORE)  # allowed
    opened.state.close()
    opened.timeseries.close()
    forced = initialise_home(systrade_home, SystradeConfig(), force=True)
    forced.state.close()
    forced.timeseries.close()
    assert any("held data before" in action for action in forced.actions)
    _open_once(systrade_home)  # acknowledged: the home opens again


def test_a_marker_from_before_held_data_is_read_and_completed(systrade_home):
    fill(systrade_home)
    path = systrade_home / MARKER_FILE
    doc = json.loads(path.read_text())
    doc.pop("held_data", None)
    path.write_text(json.dumps(doc))
    _open_once(systrade_home)
    assert read_home_record(systrade_home).held_data == ("time-series store",)


def test_a_state_store_that_held_only_a_released_lease_opens(systrade_home):
    """State records may go away again (a lease released): an emptied state store with this
    home's id is not taken for lost data."""
    with DataBlob.from_config(systrade_home) as data:
        data.state.apply([Put("leases", "x", {"holder": 1})])
    _open_once(systrade_home)
    with DataBlob.from_config(systrade_home) as data:
        data.state.apply([Delete("leases", "x")])
    _open_once(systrade_home)


@pytest.mark.parametrize("text, says", [
    ('{"home_id": "a",\n "created": ', "not valid JSON (Expecting value at line 2, column 13)"),
    ('[1, 2]', "it holds list, not the record's fields"),
    ('{"home_id": "a", "created": "x"}', "lacks the field(s) state_store, timeseries_store"),
])
def test_a_damaged_home_record_is_described_in_plain_words(systrade_home, text, says):
    systrade_home.mkdir(parents=True, exist_ok=True)
    (systrade_home / MARKER_FILE).write_text(text)
    with pytest.raises(StoreError) as caught:
        read_home_record(systrade_home)
    message = str(caught.value)
    assert says in message, message
    assert f"the home record {systrade_home / MARKER_FILE} is damaged" in message
    assert "move it aside" in message and "systrade init" in message
    assert "Error" not in message and "\n" not in message  # no Python exception names
