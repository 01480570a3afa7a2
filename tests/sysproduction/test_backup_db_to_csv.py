"""Round trips: reference import -> CSV export equal in values and timestamps; backup -> wipe ->
restore -> identical stores."""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from syscore.exceptions import ExistingData, InvalidData
from sysdata.backup import redact_store_uri, stores_are_empty, wipe_stores
from sysdata.ledger import LedgerData
from sysdata.owned_dirs import OWNER_FILE, NotOwnedDirectory
from sysdata.state.sqlite_store import SqliteStateStore
from sysinit.import_pysystemtrade_csv import import_pysystemtrade_csv
from sysobjects.orders.orders import InstrumentOrder
from sysobjects.orders.records import Fill
from sysproduction.backup_db_to_csv import BackupIncomplete, backup_db_to_csv
from sysproduction.backup_state_store import (
    backup_state_store,
    export_state_json,
    restore_state_store,
)
from sysproduction.restore_db_from_csv import restore_db_from_csv
from tests.blob_helpers import make_blob

REPO = Path(__file__).resolve().parents[2]
PRICE_DIRS = ["multiple_prices_csv", "adjusted_prices_csv", "fx_prices_csv", "roll_calendars_csv"]


def read_exact(path):
    """Parse a CSV exactly: floats round-trip, everything else as text."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    return raw


def assert_same_values_and_timestamps(original, exported):
    """The exported file holds exactly the doubles the import stored, i.e. pysystemtrade's
    reading of ``original`` (pandas' default parser), and the original's timestamps and ids."""
    a, b = read_exact(original), read_exact(exported)
    assert list(a.columns) == list(b.columns), original
    assert len(a) == len(b), original
    time_column = a.columns[0]
    assert (a[time_column] == b[time_column]).all(), original
    for column in a.columns[1:]:
        left, right = a[column], b[column]
        numeric_left = pd.to_numeric(left.replace("", np.nan), errors="coerce")
        if numeric_left.notna().sum() == (left != "").sum() and "CONTRACT" not in column.upper() \
                and "contract" not in column:
            x = pd.to_numeric(left.replace("", np.nan)).to_numpy(dtype=float)  # default parser
            y = right.replace("", "nan").astype(float).to_numpy()  # exact
            assert np.array_equal(np.isnan(x), np.isnan(y)), (original, column)
            assert np.array_equal(x[~np.isnan(x)], y[~np.isnan(y)]), (original, column)
        else:
            assert (left == right).all(), (original, column)


@pytest.fixture
def blob(backend_blob):
    return backend_blob


@pytest.fixture(scope="module")
def full_import(pysystemtrade_reference, tmp_path_factory):
    """The whole reference imported once (SQLite state; the time series are the same ArcticDB
    code for every state backend) and backed up once."""
    root = tmp_path_factory.mktemp("full")
    data = make_blob(root / "home")
    import_pysystemtrade_csv(str(pysystemtrade_reference), data=data)
    out = root / "backup"
    backup_db_to_csv(str(out), data=data)
    yield data, out
    data.close()


@pytest.fixture
def subset_source(pysystemtrade_reference, tmp_path):
    """Two instruments, one FX series and the configs: enough to exercise every family."""
    source = tmp_path / "subset"
    for directory in PRICE_DIRS:
        (source / directory).mkdir(parents=True)
    for code in ("CORN", "EUR"):
        for directory in ("multiple_prices_csv", "adjusted_prices_csv", "roll_calendars_csv"):
            shutil.copy(pysystemtrade_reference / directory / f"{code}.csv", source / directory)
    shutil.copy(pysystemtrade_reference / "fx_prices_csv" / "GBPUSD.csv", source / "fx_prices_csv")
    shutil.copytree(pysystemtrade_reference / "csvconfig", source / "csvconfig")
    shutil.copytree(pysystemtrade_reference / "sysbrokers_IB", source / "sysbrokers_IB")
    return source


def compare_price_files(source, out) -> int:
    compared = 0
    for directory in PRICE_DIRS:
        for original in sorted((source / directory).glob("*.csv")):
            assert_same_values_and_timestamps(original, out / directory / original.name)
            compared += 1
    return compared


def test_import_then_export_equal_in_values_and_timestamps(pysystemtrade_reference, full_import):
    _, out = full_import
    assert compare_price_files(pysystemtrade_reference, out) == 11 * 3 + 3
    # configs survive in pysystemtrade's (newer) layout
    config = pd.read_csv(out / "csvconfig" / "instrumentconfig.csv")
    spreads = pd.read_csv(out / "csvconfig" / "spreadcosts.csv").set_index("Instrument")
    assert spreads.loc["CORN", "SpreadCost"] == 0.125
    assert "CORN" in set(config["Instrument"])


def snapshot(data):
    series = {}
    for library in data.timeseries.libraries():
        for symbol in data.timeseries.symbols(library):
            series[(library, symbol)] = data.timeseries.read(library, symbol)
    return series, data.state.dump(), data.state.counters()


def test_subset_roundtrip_on_every_backend(subset_source, tmp_path, blob):
    import_pysystemtrade_csv(str(subset_source), data=blob)
    out = tmp_path / "backup"
    backup_db_to_csv(str(out), data=blob)
    assert compare_price_files(subset_source, out) == 2 * 3 + 1


def test_backup_wipe_restore_identical(subset_source, tmp_path, blob):
    import_pysystemtrade_csv(str(subset_source), data=blob)
    blob.positions.set_strategy_position("trend", "CORN", 3, "2024-01-02 10:00:00.123456")
    blob.order_stack("instrument").new_order_id()
    blob.capital.add_total("2024-01-02 10:00:00.5", total=1e6, broker=1e6, max=1e6, acc_pnl=0.0,
                           margin=1.5e4)
    blob.optimal_positions.add("trend", "CORN", "2024-01-02", -1.5, -0.5, 455.25, "20240300",
                               "2024-01-01 23:00")
    before = snapshot(blob)
    out = tmp_path / "backup"
    backup_db_to_csv(str(out), data=blob)
    wipe_stores(blob)
    assert blob.state.collections() == [] and blob.multiple_prices.list_codes() == []
    restore_db_from_csv(str(out), data=blob)
    after = snapshot(blob)
    assert before[0].keys() == after[0].keys()
    for key, frame in before[0].items():
        pd.testing.assert_frame_equal(frame, after[0][key], check_exact=True, obj=str(key))
    assert before[1] == after[1]
    assert after[2] == before[2]
    # an id allocated after restore never repeats one allocated before
    assert blob.order_stack("instrument").new_order_id() == before[2]["instrument_order_id"] + 1


def test_restore_refuses_non_empty_store(tmp_path, blob):
    blob.positions.set_strategy_position("trend", "CORN", 1, "2024-01-01")
    out = tmp_path / "backup"
    backup_db_to_csv(str(out), data=blob)
    with pytest.raises(ExistingData, match="state store holds data"):
        restore_db_from_csv(str(out), data=blob)


def test_backup_replaces_previous_backup_completely(tmp_path, blob):
    out = tmp_path / "backup"
    blob.fx_prices.write("EURUSD", pd.Series([1.1], index=pd.DatetimeIndex(["2024-01-01"])))
    backup_db_to_csv(str(out), data=blob)
    assert (out / "fx_prices_csv" / "EURUSD.csv").exists()
    blob.fx_prices.delete("EURUSD")
    blob.fx_prices.write("GBPUSD", pd.Series([1.3], index=pd.DatetimeIndex(["2024-01-01"])))
    backup_db_to_csv(str(out), data=blob)
    assert not (out / "fx_prices_csv" / "EURUSD.csv").exists()
    assert not out.with_name("backup.partial").exists()


def test_state_store_backup_and_restore(tmp_path, blob):
    blob.positions.set_strategy_position("trend", "CORN", 3, "2024-01-02")
    before = blob.state.dump()
    path = backup_state_store(str(tmp_path / "sb"), data=blob)
    for collection in blob.state.collections():
        blob.state.drop(collection)
    restore_state_store(path, data=blob)
    assert blob.state.dump() == before


def test_full_reference_backup_wipe_restore_identical(full_import):
    data, out = full_import
    before = snapshot(data)
    wipe_stores(data)
    restore_db_from_csv(str(out), data=data)
    after = snapshot(data)
    assert before[0].keys() == after[0].keys()
    for key, frame in before[0].items():
        pd.testing.assert_frame_equal(frame, after[0][key], check_exact=True, obj=str(key))
    assert before[1] == after[1]
    assert before[2] == after[2]


def test_backup_puts_the_previous_backup_back_after_an_interrupted_swap(tmp_path, blob,
                                                                          monkeypatch):
    out = tmp_path / "backup"
    blob.positions.set_strategy_position("trend", "CORN", 1, "2024-01-01")
    backup_db_to_csv(str(out), data=blob)
    manifest = (out / "MANIFEST.json").read_text()
    # the process died between "destination -> .old" and ".partial -> destination"
    out.rename(out.with_name("backup.old"))
    (tmp_path / "backup.partial").mkdir()
    # the next backup fails early: the previous backup must be back in place
    with monkeypatch.context() as patch:
        def broken_snapshot():
            raise RuntimeError("state store unavailable")
        patch.setattr(blob.state, "snapshot", broken_snapshot)
        with pytest.raises(RuntimeError):
            backup_db_to_csv(str(out), data=blob)
    assert (out / "MANIFEST.json").read_text() == manifest
    assert not out.with_name("backup.old").exists()
    # and a later backup replaces it as usual
    blob.positions.set_strategy_position("trend", "CORN", 2, "2024-01-02")
    backup_db_to_csv(str(out), data=blob)
    assert (out / "MANIFEST.json").read_text() != manifest
    assert not out.with_name("backup.old").exists() and not out.with_name("backup.partial").exists()


def test_backup_after_a_swap_that_died_late_removes_the_leftover_old(tmp_path, blob):
    out = tmp_path / "backup"
    backup_db_to_csv(str(out), data=blob)
    shutil.copytree(out, out.with_name("backup.old"))  # died after both renames
    backup_db_to_csv(str(out), data=blob)
    assert (out / "MANIFEST.json").exists() and not out.with_name("backup.old").exists()


def test_backup_state_is_one_consistent_snapshot(tmp_path):
    """Another process books a fill (ledger record, then its projections) while the backup
    runs: the backup's positions equal what its own ledger says, never half a fill."""
    data = make_blob(tmp_path / "home")
    other = SqliteStateStore(tmp_path / "home" / "state.sqlite")  # a second process
    try:
        stack = data.order_stack("instrument")
        for _ in range(3):
            stack.add_order(InstrumentOrder(order_id=stack.new_order_id(), strategy_name="trend",
                                            instrument_code="CORN", trade=1), "2024-01-01")
        data.fx_prices.write("EURUSD", pd.Series([1.1], index=pd.DatetimeIndex(["2024-01-01"])))
        booked = []

        def book_once():
            if not booked:
                booked.append(LedgerData(other).book_fill(Fill(
                    "exec-1", "CORN", "202403", 1, 450.0, "2024-01-02", "trend",
                    instrument_order_id=2)))

        # the fill is booked in the middle of the backup, whatever it reads first
        real_find, real_read = data.state.find, data.timeseries.read_versioned

        def find(collection, *args, **kwargs):
            if collection == "strategy_positions":
                book_once()
            return real_find(collection, *args, **kwargs)

        def read(*args, **kwargs):
            book_once()
            return real_read(*args, **kwargs)

        data.state.find, data.timeseries.read_versioned = find, read
        try:
            out = tmp_path / "backup"
            backup_db_to_csv(str(out), data=data)
        finally:
            del data.state.find, data.timeseries.read_versioned
        assert booked

        def rows(name):
            path = out / "state" / f"{name}.jsonl"
            return [json.loads(line) for line in path.read_text().splitlines()] \
                if path.exists() else []

        ledger = rows("ledger")
        assert [r["doc"]["seq"] for r in ledger] == list(range(1, len(ledger) + 1))
        fills = sum(r["doc"]["record"]["quantity"] for r in ledger if r["doc"]["kind"] == "fill")
        cached = {r["key"]: r["doc"] for r in rows("strategy_positions")}
        if "trend/CORN" in cached:  # a cache never claims more than the ledger it came with
            assert cached["trend/CORN"]["covered_seq"] <= len(ledger)
            assert cached["trend/CORN"]["position"] == fills
        assert sorted(r["key"] for r in rows("instrument_orders")) == [
            "000000000001", "000000000002", "000000000003"]
        assert json.loads((out / "state" / "_counters.json").read_text()) == {
            "instrument_order_id": 3}
    finally:
        other.close()
        data.close()


def test_manifest_and_store_urls_hide_credentials(tmp_path, blob):
    s3 = ("s3://s3.eu-west-2.amazonaws.com:bucket?region=eu-west-2&access=AKIAXXXX"
          "&secret=wJalr/Key+1&path_prefix=prod")
    assert redact_store_uri(s3) == ("s3://s3.eu-west-2.amazonaws.com:bucket?region=eu-west-2"
                                    "&access=***&secret=***&path_prefix=prod")
    assert redact_store_uri("mongodb://me:pw@host:27017/db") == "mongodb://me:***@host:27017/db"
    assert "KEYKEY" not in redact_store_uri(
        "azure://DefaultEndpointsProtocol=https;AccountName=a;AccountKey=KEYKEY;Container=c")
    assert redact_store_uri("lmdb:///home/me/arctic") == "lmdb:///home/me/arctic"
    real_state_url, real_uri = blob.state.url, blob.timeseries.uri
    blob.state.url = "mongodb://trader:pw123@db.example:27017/prod"
    blob.timeseries.uri = s3
    try:
        backup_db_to_csv(str(tmp_path / "backup"), data=blob)
    finally:
        blob.state.url, blob.timeseries.uri = real_state_url, real_uri
    text = (tmp_path / "backup" / "MANIFEST.json").read_text()
    manifest = json.loads(text)
    assert manifest["state_store"] == "mongodb://trader:***@db.example:27017/prod"
    assert manifest["timeseries_store"] == redact_store_uri(s3)
    assert "pw123" not in text and "wJalr" not in text and "AKIAXXXX" not in text


# a backup only ever replaces an earlier backup of its own -------------------------------------
def tree(root):
    """Every file under ``root`` with its bytes (the whole folder, byte for byte)."""
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def user_folder(tmp_path):
    folder = tmp_path / "my documents"
    (folder / "taxes").mkdir(parents=True)
    (folder / "thesis.txt").write_text("years of work")
    (folder / "taxes" / "2023.csv").write_bytes(b"a,b\n1,2\n")
    return folder


def test_backup_refuses_a_user_folder_and_leaves_it_untouched(tmp_path, user_folder):
    blob = make_blob(tmp_path / "home")
    try:
        blob.fx_prices.write("EURUSD", pd.Series([1.1], index=pd.DatetimeIndex(["2024-01-01"])))
        (blob.home / "private" / "private_config.yaml").parent.mkdir(exist_ok=True)
        before = tree(user_folder)
        home_before = {name for name in tree(blob.home) if not name.startswith("arctic/")}
        for destination in (user_folder, blob.home):
            with pytest.raises(NotOwnedDirectory, match="not a systrade CSV backup") as info:
                backup_db_to_csv(str(destination), data=blob)
            assert str(destination) in str(info.value)
            assert not destination.with_name(destination.name + ".partial").exists()
            assert not destination.with_name(destination.name + ".old").exists()
        assert tree(user_folder) == before
        assert home_before <= set(tree(blob.home))
        assert blob.fx_prices.read_series("EURUSD").iloc[0] == 1.1
    finally:
        blob.close()


def test_backup_command_refuses_a_user_folder_with_one_line_and_non_zero_exit(tmp_path,
                                                                             user_folder):
    """The command line, as cron runs it: ``~`` (HOME pointing at the user folder) and the
    folder itself are refused; the folder survives byte for byte."""
    home = tmp_path / "home"
    make_blob(home).close()
    before = tree(user_folder)
    env = {**os.environ, "PYTHONPATH": str(REPO), "SYSTRADE_HOME": str(home),
           "HOME": str(user_folder)}
    for destination in ("~", str(user_folder)):
        result = subprocess.run(
            [sys.executable, str(REPO / "run.py"),
             "sysproduction.backup_db_to_csv.backup_db_to_csv", "--destination", destination],
            cwd=REPO, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=120)
        assert result.returncode != 0, result.stdout
        assert "not a systrade CSV backup" in result.stderr
        assert "Traceback" not in result.stderr
        assert tree(user_folder) == before


def test_backup_replaces_an_empty_folder_and_its_own_earlier_backup(tmp_path, blob):
    out = tmp_path / "backup"
    out.mkdir()
    backup_db_to_csv(str(out), data=blob)
    first = json.loads((out / "MANIFEST.json").read_text())
    assert first["format"] == "systrade_csv_backup" and (out / OWNER_FILE).is_file()
    blob.fx_prices.write("GBPUSD", pd.Series([1.3], index=pd.DatetimeIndex(["2024-01-01"])))
    backup_db_to_csv(str(out), data=blob)
    assert (out / "fx_prices_csv" / "GBPUSD.csv").is_file()


def test_backup_replaces_a_backup_written_before_ownership_marks(tmp_path, blob):
    out = tmp_path / "backup"
    backup_db_to_csv(str(out), data=blob)
    (out / OWNER_FILE).unlink()  # as today's backups are: MANIFEST.json only
    backup_db_to_csv(str(out), data=blob)
    assert (out / OWNER_FILE).is_file()


# every series is backed up, empty included; one bad series does not stop the others ---------
EMPTY_INDEX = pd.DatetimeIndex([], tz="UTC")


def test_an_empty_series_is_backed_up_and_restored_empty(tmp_path, blob):
    blob.timeseries.write("fx_prices", "EURUSD", pd.DataFrame(
        {"PRICE": pd.Series([], dtype=float)}, index=EMPTY_INDEX))
    blob.timeseries.write("custom", "EMPTY", pd.DataFrame(
        {"v": pd.Series([], dtype=float), "note": pd.Series([], dtype=object)},
        index=EMPTY_INDEX))
    blob.fx_prices.write("GBPUSD", pd.Series([1.3], index=pd.DatetimeIndex(["2024-01-01"])))
    out = tmp_path / "backup"
    backup_db_to_csv(str(out), data=blob)
    assert (out / "fx_prices_csv" / "EURUSD.csv").read_text() == "DATETIME,PRICE\n"
    assert (out / "timeseries" / "custom" / "EMPTY.csv").read_text() == "DATETIME,v,note\n"
    manifest = json.loads((out / "MANIFEST.json").read_text())
    assert manifest["files"]["fx_prices_csv/EURUSD.csv"] == {"rows": 0}
    assert manifest["failed"] == {}
    before = snapshot(blob)
    wipe_stores(blob)
    restore_db_from_csv(str(out), data=blob)
    after = snapshot(blob)
    assert sorted(after[0]) == sorted(before[0])
    assert after[0][("fx_prices", "EURUSD")].empty
    assert list(after[0][("custom", "EMPTY")].columns) == ["v", "note"]
    pd.testing.assert_frame_equal(before[0][("fx_prices", "GBPUSD")],
                                  after[0][("fx_prices", "GBPUSD")], check_exact=True)


def test_one_bad_series_does_not_stop_the_others(tmp_path, blob):
    """A stored multiple-price series without the pysystemtrade columns cannot be written in
    that layout: it is reported, every other series is still backed up, the command fails with
    a one-line summary, and restore refuses the incomplete backup unless told to accept it."""
    blob.timeseries.write("multiple_prices", "BROKEN", pd.DataFrame(
        {"PRICE": [1.0]}, index=pd.DatetimeIndex(["2024-01-01"], tz="UTC")))
    blob.fx_prices.write("GBPUSD", pd.Series([1.3], index=pd.DatetimeIndex(["2024-01-01"])))
    blob.timeseries.write("zzz_custom", "Z", pd.DataFrame(
        {"v": [2.0]}, index=pd.DatetimeIndex(["2024-01-01"], tz="UTC")))
    out = tmp_path / "backup"
    with pytest.raises(BackupIncomplete) as info:
        backup_db_to_csv(str(out), data=blob)
    message = str(info.value)
    assert "\n" not in message
    assert "failed: multiple_prices/BROKEN" in message and "1 failed" in message
    assert (out / "fx_prices_csv" / "GBPUSD.csv").is_file()
    assert (out / "timeseries" / "zzz_custom" / "Z.csv").is_file()
    manifest = json.loads((out / "MANIFEST.json").read_text())
    assert list(manifest["failed"]) == ["multiple_prices/BROKEN"]
    fresh = make_blob(tmp_path / "fresh")
    try:
        with pytest.raises(InvalidData, match="incomplete.*multiple_prices/BROKEN"):
            restore_db_from_csv(str(out), data=fresh)
        assert stores_are_empty(fresh)
        restore_db_from_csv(str(out), accept_incomplete=True, data=fresh)
        assert fresh.fx_prices.read_series("GBPUSD").iloc[0] == 1.3
        assert fresh.timeseries.symbols("multiple_prices") == []
    finally:
        fresh.close()


# the private config is part of the backup ----------------------------------------------------
PRIVATE = "state_store: sqlite:///x\nib:\n  account: U7654321\n"


def test_backup_includes_the_private_config_and_warns_about_secrets(tmp_path, blob, caplog):
    private = blob.home / "private"
    private.mkdir(parents=True, exist_ok=True)
    (private / "private_config.yaml").write_text(PRIVATE)
    (private / "configs").mkdir()
    (private / "configs" / "my_system.yaml").write_text("notional_trading_capital: 1\n")
    out = tmp_path / "backup"
    with caplog.at_level("WARNING"):
        summary = backup_db_to_csv(str(out), data=blob)
    assert "private config" in summary and "secrets" in summary
    assert any("secrets" in r.getMessage() for r in caplog.records)
    assert (out / "private" / "private_config.yaml").read_text() == PRIVATE
    assert (out / "private" / "configs" / "my_system.yaml").is_file()
    assert stat.S_IMODE((out / "private" / "private_config.yaml").stat().st_mode) == 0o600
    assert stat.S_IMODE((out / "private").stat().st_mode) == 0o700
    manifest = json.loads((out / "MANIFEST.json").read_text())
    assert manifest["private_config"] == ["private/configs/my_system.yaml",
                                          "private/private_config.yaml"]
    assert "U7654321" not in (out / "MANIFEST.json").read_text()


def test_a_file_named_like_the_ownership_mark_inside_the_backup_does_not_block_the_next(
        tmp_path, blob):
    """A private config holding a file named like the ownership mark (say, a copy of an old
    backup kept under private/) is listed in the manifest like every other file it wrote; the
    next backup replaces it instead of refusing it for good as holding a foreign file."""
    nested = blob.home / "private" / "old_backup"
    nested.mkdir(parents=True)
    (nested / OWNER_FILE).write_text('{"kind": "csv_backup"}\n')
    out = tmp_path / "backup"
    backup_db_to_csv(str(out), data=blob)
    manifest = json.loads((out / "MANIFEST.json").read_text())
    assert f"private/old_backup/{OWNER_FILE}" in manifest["files"]
    assert OWNER_FILE not in manifest["files"]  # the backup's own mark is not content
    backup_db_to_csv(str(out), data=blob)  # refused before the fix: "holds files it did not write"
    assert (out / "private" / "old_backup" / OWNER_FILE).is_file()


@pytest.mark.parametrize("inside", ["private", "private/backups/csv", "arctic", "arctic/x"])
def test_a_destination_inside_the_private_config_or_the_store_is_refused(blob, inside):
    """``--destination $SYSTRADE_HOME/private/backup`` was accepted: every backup then copied
    the one before it (private/ is backed up), growing without end, and a restore wrote them
    all back; an (empty) ``private`` itself was replaced by a backup."""
    (blob.home / "private").mkdir(parents=True, exist_ok=True)
    (blob.home / "private" / "private_config.yaml").write_text("broker: sim\n")
    before = sorted(p.relative_to(blob.home).as_posix() for p in blob.home.rglob("*"))
    with pytest.raises(NotOwnedDirectory, match="refusing to back up there: nothing was changed"):
        backup_db_to_csv(str(blob.home / inside), data=blob)
    assert sorted(p.relative_to(blob.home).as_posix() for p in blob.home.rglob("*")) == before


def test_restore_brings_the_private_config_back_and_never_overwrites_without_the_flag(
        tmp_path, blob):
    (blob.home / "private").mkdir(parents=True, exist_ok=True)
    (blob.home / "private" / "private_config.yaml").write_text(PRIVATE)
    out = tmp_path / "backup"
    backup_db_to_csv(str(out), data=blob)
    # a fresh home: the private config comes back, so the restore does not run on defaults
    fresh_home = tmp_path / "fresh"
    fresh = make_blob(fresh_home)
    try:
        message = restore_db_from_csv(str(out), data=fresh)
        assert (fresh_home / "private" / "private_config.yaml").read_text() == PRIVATE
        assert "1 private config files" in message
    finally:
        fresh.close()
    # a home with its own private config: kept, and the message says so
    other_home = tmp_path / "other"
    other = make_blob(other_home)
    try:
        (other_home / "private").mkdir(parents=True, exist_ok=True)
        mine = "state_store: mongodb://new-server/db\n"
        (other_home / "private" / "private_config.yaml").write_text(mine)
        message = restore_db_from_csv(str(out), data=other)
        assert (other_home / "private" / "private_config.yaml").read_text() == mine
        assert "kept your existing private/private_config.yaml" in message
        # with the flag, the backup's copy replaces it
        restore_db_from_csv(str(out), overwrite=True, overwrite_private=True, data=other)
        assert (other_home / "private" / "private_config.yaml").read_text() == PRIVATE
    finally:
        other.close()


def test_backup_refuses_its_own_earlier_backup_once_someone_put_files_in_it(tmp_path, blob):
    """``backup_state_store`` pointed at the CSV backup folder, or a user's note kept there: the
    next CSV backup would delete them, so it refuses and leaves them."""
    out = tmp_path / "backup"
    backup_db_to_csv(str(out), data=blob)
    (out / "state_20240102_120000.sqlite").write_bytes(b"someone else's")
    (out / "fx_prices_csv").mkdir(exist_ok=True)
    (out / "fx_prices_csv" / "README.txt").write_text("note")
    before = tree(out)
    with pytest.raises(NotOwnedDirectory, match="holds files it did not write"):
        backup_db_to_csv(str(out), data=blob)
    assert tree(out) == before


# when a folder carries our mark but no manifest lists what it wrote, nothing is deleted that
# might be someone else's ---------------------------------------------------------------------
def _mark_copied_into(folder: Path, backup: Path) -> None:
    shutil.copy(backup / OWNER_FILE, folder / OWNER_FILE)


@pytest.mark.parametrize("where", ["destination", "leftover partial", "leftover old"])
def test_a_copied_mark_does_not_make_a_user_folder_deletable(tmp_path, blob, user_folder, where):
    """A user folder holding a copy of ``.systrade_owner.json`` (``cp -r backup/. mine/``) is
    refused, as destination, as a ``.partial`` left over, or as an ``.old`` next to a backup."""
    earlier = tmp_path / "earlier"
    backup_db_to_csv(str(earlier), data=blob)
    _mark_copied_into(user_folder, earlier)
    out = tmp_path / "backup"
    if where == "destination":
        out = user_folder
    else:
        backup_db_to_csv(str(out), data=blob)
        user_folder = user_folder.rename(out.with_name("backup" + (
            ".partial" if where == "leftover partial" else ".old")))
    before = tree(user_folder)
    with pytest.raises(NotOwnedDirectory, match="no manifest listing the files") as info:
        backup_db_to_csv(str(out), data=blob)
    assert "(taxes/2023.csv and 1 more)" in str(info.value), info.value
    assert tree(user_folder) == before


def test_a_backup_whose_manifest_was_deleted_is_not_replaced(tmp_path, blob):
    out = tmp_path / "backup"
    backup_db_to_csv(str(out), data=blob)
    (out / "MANIFEST.json").unlink()
    before = tree(out)
    with pytest.raises(NotOwnedDirectory, match="no manifest listing the files"):
        backup_db_to_csv(str(out), data=blob)
    assert tree(out) == before


def test_a_leftover_partial_of_our_own_is_removed_one_with_a_user_file_is_not(tmp_path, blob):
    """A backup that died mid-write leaves a ``.partial`` (marked, no manifest yet): the next
    backup removes it when it holds only what a backup writes, and refuses otherwise."""
    out = tmp_path / "backup"
    backup_db_to_csv(str(out), data=blob)
    partial = out.with_name("backup.partial")
    shutil.copytree(out, partial)
    (partial / "MANIFEST.json").unlink()  # the manifest is written last
    (partial / "state" / "half_written.jsonl.tmp").write_text('{"key"')
    backup_db_to_csv(str(out), data=blob)
    assert not partial.exists() and (out / "MANIFEST.json").is_file()

    shutil.copytree(out, partial)
    (partial / "MANIFEST.json").unlink()
    (partial / "notes.txt").write_text("mine")
    with pytest.raises(NotOwnedDirectory, match=r"notes\.txt"):
        backup_db_to_csv(str(out), data=blob)
    assert (partial / "notes.txt").read_text() == "mine"


def test_a_state_export_partial_with_a_foreign_file_is_not_removed(tmp_path, blob):
    out = tmp_path / "export"
    export_state_json(blob.state, out)
    partial = out.with_name("export.partial")
    shutil.copytree(out, partial)
    (partial / "MANIFEST.json").unlink()
    (partial / "sub").mkdir()
    (partial / "sub" / "keep.txt").write_text("mine")
    with pytest.raises(NotOwnedDirectory, match=r"sub/keep\.txt"):
        export_state_json(blob.state, out)
    assert (partial / "sub" / "keep.txt").read_text() == "mine"
    (partial / "sub" / "keep.txt").unlink()
    (partial / "sub").rmdir()
    export_state_json(blob.state, out)
    assert not partial.exists()
