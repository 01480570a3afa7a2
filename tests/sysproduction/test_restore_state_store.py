"""State-store backups: restore refuses a non-empty store unless ``overwrite`` (then the store
holds exactly the backup, counters included); records are validated before anything is written;
``mongodump`` never sees the password on its command line."""
from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pandas as pd
import pytest

from syscore.config_models import SystradeConfig
from syscore.exceptions import ExistingData, InvalidData, StoreError
from sysdata.data_blob import DataBlob
from sysdata.owned_dirs import OWNER_FILE, NotOwnedDirectory
from sysproduction.backup_state_store import (
    backup_state_store,
    export_state_json,
    restore_state_store,
)
from tests.blob_helpers import make_blob


@pytest.fixture
def blob(backend_blob):
    return backend_blob


def fill(data) -> None:
    data.positions.set_strategy_position("trend", "CORN", 3, "2024-01-02 10:00:00.123456")
    for _ in range(4):
        data.order_stack("instrument").new_order_id()
    data.state.put("notes", "a", {"text": "", "value": 0.1 + 0.2, "list": [1, None, "NA"]})


def test_restore_state_store_refuses_non_empty_store_unless_overwrite(tmp_path, blob):
    fill(blob)
    before = blob.state.snapshot()
    path = backup_state_store(str(tmp_path / "sb"), data=blob)
    # strays the backup does not have
    blob.state.put("stray", "x", {"v": 1})
    blob.positions.set_strategy_position("trend", "EUR", 1, "2024-01-03")
    for _ in range(3):
        blob.order_stack("instrument").new_order_id()
    blob.state.next_id("stray_counter")
    with pytest.raises(ExistingData, match="not empty"):
        restore_state_store(path, data=blob)
    assert blob.state.get("stray", "x") == {"v": 1}
    restore_state_store(path, overwrite=True, data=blob)
    assert blob.state.snapshot() == before


def test_restore_state_store_into_a_fresh_store_is_identical(tmp_path, blob):
    fill(blob)
    before = blob.state.snapshot()
    path = backup_state_store(str(tmp_path / "sb"), data=blob)
    fresh = make_blob(tmp_path / "fresh")
    try:
        restore_state_store(path, data=fresh)
        assert fresh.state.snapshot() == before
    finally:
        fresh.close()


def test_bad_json_export_is_refused_before_anything_is_written(tmp_path, blob):
    fill(blob)
    export = export_state_json(blob.state, tmp_path / "export")
    assert not (tmp_path / "export.partial").exists()
    path = export / "notes.jsonl"
    path.write_text(path.read_text() + '{"key": "zz", "doc": {"v": NaN}}\n')
    fresh = make_blob(tmp_path / "fresh")
    try:
        with pytest.raises(InvalidData, match=r"notes\.jsonl: line 2: .*NaN"):
            restore_state_store(str(export), data=fresh)
        assert fresh.state.collections() == [] and fresh.state.counters() == {}
    finally:
        fresh.close()


def test_restore_state_store_refuses_unknown_files(tmp_path, blob):
    not_sqlite = tmp_path / "x.sqlite"
    not_sqlite.write_text("hello")
    with pytest.raises(InvalidData, match="not a systrade SQLite state file"):
        restore_state_store(str(not_sqlite), data=blob)
    dump = tmp_path / "mongodump_x" / "db"
    dump.mkdir(parents=True)
    (dump / "c.bson").write_bytes(b"")
    with pytest.raises(InvalidData, match="mongorestore"):
        restore_state_store(str(tmp_path / "mongodump_x"), data=blob)


# mongodump -----------------------------------------------------------------------------------
FAKE_MONGODUMP = """#!{python}
import json, os, stat, sys
args = sys.argv[1:]
config = next(a.split("=", 1)[1] for a in args if a.startswith("--config="))
out = next(a.split("=", 1)[1] for a in args if a.startswith("--out="))
record = {{"argv": sys.argv, "mode": stat.S_IMODE(os.stat(config).st_mode),
          "config": open(config).read()}}
with open(os.environ["FAKE_MONGODUMP_LOG"], "w") as handle:
    json.dump(record, handle)
if os.environ.get("FAKE_MONGODUMP_FAIL"):
    sys.stderr.write("Failed: cannot connect to " + record["config"].split("uri: ")[1].strip()
                     + " (password s3cr%2Ft)\\n")
    sys.exit(1)
os.makedirs(os.path.join(out, "db"))
open(os.path.join(out, "db", "c.bson"), "wb").close()
"""
SECRET_URL = "mongodb://trader:s3cr%2Ft@127.0.0.1:1/prod"


@pytest.fixture
def fake_mongodump(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "mongodump"
    script.write_text(FAKE_MONGODUMP.format(python=sys.executable))
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_MONGODUMP_LOG", str(tmp_path / "mongodump.json"))
    return tmp_path / "mongodump.json"


@pytest.fixture
def mongo_blob_with_password(tmp_path, mongo_url):
    """A MongoDB blob whose configured URL carries a password (only mongodump uses it)."""
    real = make_blob(tmp_path / "home", "mongodb", mongo_url)
    yield DataBlob(real.state, real.timeseries, SystradeConfig(state_store=SECRET_URL),
                   real.home, clock=real.clock)
    real.close()


def test_mongodump_gets_the_url_from_a_private_config_file(tmp_path, fake_mongodump,
                                                           mongo_blob_with_password):
    target = backup_state_store(str(tmp_path / "sb"), data=mongo_blob_with_password)
    assert Path(target).name.startswith("mongodump_") and (Path(target) / "db").is_dir()
    record = json.loads(fake_mongodump.read_text())
    assert not any("s3cr" in arg for arg in record["argv"])
    assert record["mode"] == stat.S_IRUSR | stat.S_IWUSR
    assert SECRET_URL in record["config"]
    config_path = next(a.split("=", 1)[1] for a in record["argv"] if a.startswith("--config="))
    assert not Path(config_path).exists()


def test_mongodump_failure_hides_the_password(tmp_path, fake_mongodump, monkeypatch,
                                              mongo_blob_with_password):
    monkeypatch.setenv("FAKE_MONGODUMP_FAIL", "1")
    with pytest.raises(StoreError) as info:
        backup_state_store(str(tmp_path / "sb"), data=mongo_blob_with_password)
    message = str(info.value)
    assert "exit code 1" in message and "cannot connect" in message
    assert "s3cr" not in message and "***" in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_interrupted_state_restore_can_be_run_again(tmp_path, blob, monkeypatch):
    fill(blob)
    before = blob.state.snapshot()
    path = backup_state_store(str(tmp_path / "sb"), data=blob)
    blob.state.put("stray", "x", {"v": 1})
    original = blob.state.apply
    calls = {"n": 0}

    def crashing(ops):
        calls["n"] += 1
        if calls["n"] == 2:  # the marker is written, the first batch is not
            raise KeyboardInterrupt
        return original(ops)

    with monkeypatch.context() as patch:
        patch.setattr(blob.state, "apply", crashing)
        with pytest.raises(KeyboardInterrupt):
            restore_state_store(path, overwrite=True, data=blob)
    assert blob.state.collections() == ["_restore"]
    with pytest.raises(StoreError, match="has not finished"):
        backup_state_store(str(tmp_path / "sb2"), data=blob)
    restore_state_store(path, data=blob)  # no overwrite needed to finish
    assert blob.state.snapshot() == before


def test_state_restore_refuses_to_finish_an_interrupted_full_restore(tmp_path, blob):
    fill(blob)
    path = backup_state_store(str(tmp_path / "sb"), data=blob)
    blob.state.put("_restore", "in_progress", {"source": "/somewhere/csv", "kind": "csv"})
    with pytest.raises(ExistingData, match="full restore from /somewhere/csv"):
        restore_state_store(path, overwrite=True, data=blob)


def test_ledger_survives_backup_and_restore(tmp_path, blob):
    """Fills, order events and projections round-trip; redelivering a fill to the restored
    store is still a no-op (the unique execution ids hold there too)."""
    from sysobjects.orders.orders import BrokerOrder, Leg
    from sysobjects.orders.records import Fill
    from sysobjects.orders.status import OrderEventType

    stack = blob.order_stack("broker")
    stack.add_order(BrokerOrder(order_id=stack.new_order_id(), strategy_name="trend",
                                instrument_code="CORN", legs=(Leg("202403", 4),)), "2024-01-02")
    stack.apply_event(1, OrderEventType.SENT, "2024-01-02", "sent")
    the_fill = Fill("e-1.01", "CORN", "202403", 3, 450.5, "2024-01-02 10:00", "trend",
                    broker_order_id=1)
    blob.ledger.book_fill(the_fill)
    path = backup_state_store(str(tmp_path / "sb"), data=blob)
    fresh = make_blob(tmp_path / "fresh")
    try:
        restore_state_store(path, data=fresh)
        assert fresh.ledger.check_projections(repair=False) == []
        assert fresh.positions.get_strategy_position("trend", "CORN") == 3
        assert fresh.positions.get_contract_position("CORN", "202403") == 3
        assert fresh.order_stack("broker").get_order(1) == stack.get_order(1)
        assert fresh.ledger.book_fill(the_fill).duplicate
        assert fresh.positions.get_strategy_position("trend", "CORN") == 3
    finally:
        fresh.close()


# state backups replace only what they wrote --------------------------------------------------
def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_state_export_refuses_a_user_folder_and_replaces_its_own(tmp_path, blob):
    fill(blob)
    folder = tmp_path / "mine"
    (folder / "sub").mkdir(parents=True)
    (folder / "notes.txt").write_text("mine")
    (folder / "sub" / "x.jsonl").write_text("{}\n")
    before = _tree(folder)
    with pytest.raises(NotOwnedDirectory, match="not a systrade state-store export"):
        export_state_json(blob.state, folder)
    assert _tree(folder) == before
    assert not (tmp_path / "mine.partial").exists() and not (tmp_path / "mine.old").exists()
    # its own earlier export (and one written before ownership marks) is replaced
    export = export_state_json(blob.state, tmp_path / "export")
    blob.state.put("notes", "b", {"v": 2})
    export_state_json(blob.state, export)
    assert "b" in (export / "notes.jsonl").read_text()
    (export / OWNER_FILE).unlink()  # as exports written before marks and manifests were
    (export / "MANIFEST.json").unlink()
    export_state_json(blob.state, export)
    assert (export / OWNER_FILE).is_file()


def test_sqlite_state_backup_never_overwrites_a_file_it_did_not_write(tmp_path):
    data = make_blob(tmp_path / "home")  # FixedClock: 2024-01-02 12:00 UTC
    try:
        fill(data)
        directory = tmp_path / "sb"
        directory.mkdir()
        user_file = directory / "state_20240102_120000.sqlite"
        user_file.write_bytes(b"my spreadsheet")
        with pytest.raises(NotOwnedDirectory, match="not a systrade state backup"):
            backup_state_store(str(directory), data=data)
        assert user_file.read_bytes() == b"my spreadsheet"
        user_file.unlink()
        first = backup_state_store(str(directory), data=data)
        data.state.put("notes", "b", {"v": 2})
        assert backup_state_store(str(directory), data=data) == first  # its own: replaced
        assert not Path(first + ".partial").exists()
        fresh = make_blob(tmp_path / "fresh")
        try:
            restore_state_store(first, data=fresh)
            assert fresh.state.get("notes", "b") == {"v": 2}
        finally:
            fresh.close()
    finally:
        data.close()


def test_json_export_cut_short_or_missing_a_file_is_refused(tmp_path, blob):
    fill(blob)
    blob.state.put("notes", "b", {"v": 2})
    export = export_state_json(blob.state, tmp_path / "export")
    notes = export / "notes.jsonl"
    lines = notes.read_text().splitlines(keepends=True)
    fresh = make_blob(tmp_path / "fresh")
    try:
        notes.write_text(lines[0])  # cut at a line end: still valid JSON lines
        with pytest.raises(InvalidData, match=r"notes\.jsonl: 1 records, the manifest says 2"):
            restore_state_store(str(export), data=fresh)
        notes.unlink()
        with pytest.raises(InvalidData, match=r"notes\.jsonl: file missing"):
            restore_state_store(str(export), data=fresh)
        assert fresh.state.collections() == [] and fresh.state.counters() == {}
        notes.write_text("".join(lines))
        restore_state_store(str(export), data=fresh)
        assert fresh.state.get("notes", "b") == {"v": 2}
    finally:
        fresh.close()


def test_sqlite_state_backup_cut_short_is_refused(tmp_path):
    """A guard (this held before too): a SQLite state file cut short is refused, nothing
    written."""
    data = make_blob(tmp_path / "home")
    try:
        for i in range(200):
            data.state.put("notes", f"k{i:04d}", {"text": "x" * 200})
        path = Path(backup_state_store(str(tmp_path / "sb"), data=data))
    finally:
        data.close()
    cut = tmp_path / "cut.sqlite"
    cut.write_bytes(path.read_bytes()[:path.stat().st_size // 2])
    fresh = make_blob(tmp_path / "fresh")
    try:
        with pytest.raises(InvalidData, match="cut.sqlite"):
            restore_state_store(str(cut), data=fresh)
        assert fresh.state.collections() == []
    finally:
        fresh.close()


def test_state_restore_is_refused_while_a_writer_holds_its_lease(tmp_path, blob):
    """restore_state_store took no lease and wiped the state store under a running writer; it
    now holds the leases restore_db_from_csv holds and is refused, changing nothing."""
    from syscore.exceptions import LeaseHeld
    from sysdata.leases import LeaseData
    from sysproduction.leases import FX, series_lease
    fill(blob)
    path = backup_state_store(str(tmp_path / "sb"), data=blob)
    blob.state.put("notes", "b", {"v": 2})  # written after the backup
    other = LeaseData(blob.state, host="elsewhere", pid=4242)
    lease = other.take(series_lease(FX), "update_fx_prices", 300)
    before = blob.state.snapshot()
    with pytest.raises(LeaseHeld, match="update_fx_prices is running: pid 4242 on host elsewhere"):
        restore_state_store(path, overwrite=True, data=blob)
    assert blob.state.snapshot() == before
    other.release(lease)
    restore_state_store(path, overwrite=True, data=blob)
    assert blob.state.get("notes", "b") is None


def test_state_backup_and_restore_log_like_every_command(tmp_path):
    """From the command line both opened the home without logging (no log file, tracebacks on
    the console); now each writes its log file and an expected failure is one line."""
    import subprocess

    from sysdata.leases import LeaseData
    from sysproduction.leases import FX, series_lease
    repo = Path(__file__).resolve().parents[2]
    home = tmp_path / "home"
    data = make_blob(home)
    fill(data)
    data.timeseries.write("fx_prices", "GBPUSD", pd.DataFrame(  # a used home has both stores
        {"price": [1.25]}, index=pd.DatetimeIndex(["2024-01-02"], tz="UTC")))
    data.close()
    env = {**os.environ, "SYSTRADE_HOME": str(home), "PYTHONPATH": str(repo)}

    def run(*args):
        return subprocess.run([sys.executable, str(repo / "run.py"), *args], cwd=repo, env=env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=120)

    backup = run("backup_state_store.backup_state_store", "--destination", str(tmp_path / "sb"))
    assert backup.returncode == 0, backup.stderr
    assert "state store backed up to" in (home / "logs" / "backup_state_store.log").read_text()
    data = make_blob(home)
    LeaseData(data.state, host="elsewhere", pid=4242).take(series_lease(FX), "update_fx_prices",
                                                           300)
    before = data.state.get("notes", "a")
    data.close()
    restore = run("backup_state_store.restore_state_store", "--backup",
                  backup.stdout.strip(), "--overwrite", "true")
    assert restore.returncode == 1, restore.stderr
    assert "Traceback" not in restore.stderr
    assert restore.stderr.strip().count("\n") == 0, restore.stderr  # one line
    assert "update_fx_prices is running: pid 4242 on host elsewhere" in restore.stderr
    assert (home / "logs" / "restore_state_store.log").exists()
    data = make_blob(home)
    assert data.state.get("notes", "a") == before  # nothing changed
    data.close()
