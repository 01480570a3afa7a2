"""Self-contained backup/restore round trips (no reference data needed): a small hand-written
pysystemtrade directory is imported, backed up, wiped and restored identically, on SQLite and
MongoDB; a bad backup is refused before anything is written; an interrupted restore can be run
again; ``overwrite`` gives exactly the backup's content."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from syscore.exceptions import ExistingData, InvalidData, StoreError
from sysdata.backup import RESTORE_MARKER, stores_are_empty, wipe_stores
from sysinit.import_pysystemtrade_csv import import_pysystemtrade_csv
from sysproduction.backup_db_to_csv import backup_db_to_csv
from sysproduction.backup_state_store import backup_state_store
from sysproduction.restore_db_from_csv import restore_db_from_csv
from tests.blob_helpers import make_blob
from tests.sysproduction.test_backup_db_to_csv import assert_same_values_and_timestamps

FILES = {
    "multiple_prices_csv/CORN.csv": """DATETIME,CARRY,CARRY_CONTRACT,PRICE,PRICE_CONTRACT,FORWARD,FORWARD_CONTRACT
2023-11-28 23:00:00,473.25,20231200,483.5,20240300,,20240500
2023-11-29 14:30:00,,20231200,484.75,20240300,490.0,20240500
2023-11-29 23:00:00,471.0,20231200,482.25,20240300,489.5,20240500
2023-11-30 23:00:00,470.125,20231200,0.1,20240300,488.0000000000001,20240500
""",
    "multiple_prices_csv/EUR.csv": """DATETIME,CARRY,CARRY_CONTRACT,PRICE,PRICE_CONTRACT,FORWARD,FORWARD_CONTRACT
2023-12-01 00:00:00,,20231200,1.08835,20231200,1.09375,20240300
2023-12-01 13:00:00,,20231200,1.0891,20231200,,20240300
2023-12-04 00:00:00,1.0857,20231200,1.086,20231200,1.0912,20240300
""",
    "adjusted_prices_csv/CORN.csv": """DATETIME,price
2023-11-28 23:00:00,483.5
2023-11-29 14:30:00,
2023-11-29 23:00:00,482.25
2023-11-30 23:00:00,0.30000000000000004
""",
    "adjusted_prices_csv/EUR.csv": """DATETIME,price
2023-12-01 00:00:00,1.08835
2023-12-01 13:00:00,1.0891
2023-12-04 00:00:00,1.086
""",
    "roll_calendars_csv/CORN.csv": """DATE_TIME,current_contract,next_contract,carry_contract
2023-02-15 23:00:00,20230300,20230500,20221200
2023-11-15 23:00:00,20231200,20240300,20230900
""",
    "roll_calendars_csv/EUR.csv": """DATE_TIME,current_contract,next_contract,carry_contract
2023-09-12 00:00:00,20230900,20231200,20230900
2023-12-12 00:00:00,20231200,20240300,20231200
""",
    "fx_prices_csv/GBPUSD.csv": """DATETIME,PRICE
2023-12-01 00:00:00,1.2622
2023-12-01 16:00:00,
2023-12-04 00:00:00,1.26945
""",
    "csvconfig/instrumentconfig.csv": """Instrument,Description,Pointsize,Currency,AssetClass,PerBlock,Percentage,PerTrade,Region
CORN,Corn,50,USD,Ags,2.9,0,0,US
EUR,EURUSD currency,125000,USD,FX,2.46,0,0,US
""",
    "csvconfig/spreadcosts.csv": """Instrument,SpreadCost
CORN,0.125
EUR,3.01853081309044E-05
""",
    "csvconfig/rollconfig.csv": """Instrument,HoldRollCycle,RollOffsetDays,CarryOffset,PricedRollCycle,ExpiryOffset
CORN,Z,-60,-1,HKNUZ,14
EUR,HMUZ,-5,1,HMUZ,17
""",
    "sysbrokers_IB/ib_config_futures.csv": """Instrument,IBSymbol,IBExchange,IBCurrency,IBMultiplier,MyMultiplier,IgnoreWeekly
CORN,ZC,ECBOT,NA,NA,1,FALSE
EUR,EUR,GLOBEX,NA,NA,1,FALSE
""",
    "sysbrokers_IB/ib_config_spot_FX.csv": """CODE,CCY1,CCY2,INVERT
GBPUSD,GBP,USD,NO
""",
}
PRIVATE_CONFIG = "ib:\n  account: U7654321\n"
PRICE_FILES = [name for name in FILES if not name.startswith(("csvconfig", "sysbrokers"))]


def build_source(root: Path) -> Path:
    """A small pysystemtrade directory: two instruments' multiple and adjusted prices and roll
    calendars (with NaNs and intraday stamps), one FX series, instrument/roll/IB configs."""
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def populate(data, source: Path) -> None:
    """Import the hand-written directory and add records and series of the other families
    (a microsecond timestamp, a generic library with a text column and a nested symbol)."""
    report = import_pysystemtrade_csv(str(source), data=data)
    assert not report.rejected, report.render()
    assert len(report.loaded) == 3  # CORN, EUR, GBPUSD
    data.positions.set_strategy_position("trend", "CORN", 3, "2024-01-02 10:00:00.123456")
    for _ in range(3):
        data.order_stack("instrument").new_order_id()
    data.order_stack("contract").new_order_id()
    data.capital.add_total("2024-01-02 10:00:00.5", total=1e6, broker=1e6, max=1e6, acc_pnl=0.0,
                           margin=1.5e4)
    data.capital.add_total("2024-01-03 22:00:00.000001", total=1000000.1, broker=1e6, max=1e6,
                           acc_pnl=-0.0, margin=0.1 + 0.2)
    index = pd.DatetimeIndex(["2024-01-02 09:00:00.000001", "2024-01-02 09:00:01.999999",
                              "2024-01-05 00:00:00"], tz="UTC")
    bars = pd.DataFrame({"OPEN": [480.0, 481.5], "HIGH": [482.0, 483.0], "LOW": [479.25, 480.5],
                         "FINAL": [481.0, 482.75], "VOLUME": [1200.0, 950.0]},
                        index=pd.DatetimeIndex(["2024-01-02", "2024-01-03"], tz="UTC"))
    data.contract_prices.write("CORN", "20240300", bars, frequency="D")
    data.timeseries.write("custom_series", "CORN/20240300/X",
                          pd.DataFrame({"value": [1.5, float("nan"), -2.25e-12],
                                        "note": ["a,b", "", "plain"]}, index=index))


def snapshot(data):
    series = {}
    for library in data.timeseries.libraries():
        for symbol in data.timeseries.symbols(library):
            series[(library, symbol)] = data.timeseries.read(library, symbol)
    dump, counters = data.state.snapshot()
    return series, dump, counters


def assert_identical(before, after) -> None:
    assert sorted(before[0]) == sorted(after[0])
    for key, frame in before[0].items():
        pd.testing.assert_frame_equal(frame, after[0][key], check_exact=True, obj=str(key))
    assert before[1] == after[1]
    assert before[2] == after[2]


@pytest.fixture
def blob(backend_blob):
    return backend_blob


@pytest.fixture
def sqlite_blob(tmp_path):
    data = make_blob(tmp_path / "home")
    yield data
    data.close()


@pytest.fixture
def source(tmp_path):
    return build_source(tmp_path / "pysystemtrade")


@pytest.fixture(scope="module")
def made_backup(tmp_path_factory):
    """One backup of the populated hand-written data (SQLite), shared by the tests that only
    read it; each test works on its own copy."""
    root = tmp_path_factory.mktemp("made")
    data = make_blob(root / "home")
    try:
        populate(data, build_source(root / "pysystemtrade"))
        (data.home / "private").mkdir(parents=True, exist_ok=True)
        (data.home / "private" / "private_config.yaml").write_text(PRIVATE_CONFIG)
        backup_db_to_csv(str(root / "backup"), data=data)
    finally:
        data.close()
    return root / "backup"


@pytest.fixture
def backup_copy(made_backup, tmp_path):
    return Path(shutil.copytree(made_backup, tmp_path / "backup"))


def test_handmade_import_backup_wipe_restore_identical(source, tmp_path, blob):
    populate(blob, source)
    before = snapshot(blob)
    assert before[2]["instrument_order_id"] == 3
    out = tmp_path / "backup"
    backup_db_to_csv(str(out), data=blob)
    # pysystemtrade's files come back equal in values and timestamps
    for name in PRICE_FILES:
        assert_same_values_and_timestamps(source / name, out / name)
    assert (out / "timeseries" / "custom_series" / "CORN" / "20240300" / "X.csv").is_file()
    wipe_stores(blob)
    assert stores_are_empty(blob) and blob.state.counters() == {}
    restore_db_from_csv(str(out), data=blob)
    assert_identical(before, snapshot(blob))
    # ids allocated after the restore never repeat earlier ones
    assert blob.order_stack("instrument").new_order_id() == 4


def test_restore_into_a_fresh_home_is_identical(source, tmp_path, blob, backend):
    populate(blob, source)
    before = snapshot(blob)
    out = tmp_path / "backup"
    backup_db_to_csv(str(out), data=blob)
    fresh = make_blob(tmp_path / "fresh", *backend)
    try:
        restore_db_from_csv(str(out), data=fresh)
        assert_identical(before, snapshot(fresh))
    finally:
        fresh.close()


def test_overwrite_restores_exactly_the_backup(source, tmp_path, blob):
    populate(blob, source)
    before = snapshot(blob)
    out = tmp_path / "backup"
    backup_db_to_csv(str(out), data=blob)
    # stray records, series and counters that are not in the backup
    blob.state.put("stray_collection", "x", {"v": 1})
    blob.positions.set_strategy_position("trend", "EUR", -2, "2024-01-04")
    for _ in range(5):
        blob.order_stack("instrument").new_order_id()
    blob.state.next_id("stray_counter")
    blob.timeseries.write("stray_library", "S", pd.DataFrame(
        {"v": [1.0]}, index=pd.DatetimeIndex(["2024-01-01"], tz="UTC")))
    blob.fx_prices.write("EURUSD", pd.Series([1.1], index=pd.DatetimeIndex(["2024-01-01"])))
    with pytest.raises(ExistingData, match="not empty"):
        restore_db_from_csv(str(out), data=blob)
    restore_db_from_csv(str(out), overwrite=True, data=blob)
    assert_identical(before, snapshot(blob))


def test_refusal_names_the_store_that_still_holds_data(backup_copy, sqlite_blob):
    """The time-series store was lost, the state store survived: the refusal says which store
    holds data and what --overwrite true costs (state since the backup), not 'the stores'."""
    sqlite_blob.state.put("stray_collection", "x", {"v": 1})
    with pytest.raises(ExistingData) as info:
        restore_db_from_csv(str(backup_copy), data=sqlite_blob)
    message = str(info.value)
    assert message.startswith("the state store holds data (the time-series store is empty); ")
    assert "--overwrite true" in message and "backup_state_store" in message
    assert sqlite_blob.state.get("stray_collection", "x") == {"v": 1}  # nothing was changed


def test_restore_into_empty_store_keeps_its_higher_counters(backup_copy, sqlite_blob):
    for _ in range(10):  # ids handed out in this home before its records were deleted
        sqlite_blob.order_stack("instrument").new_order_id()
    restore_db_from_csv(str(backup_copy), data=sqlite_blob)
    assert sqlite_blob.state.counters()["instrument_order_id"] == 10
    assert sqlite_blob.state.counters()["contract_order_id"] == 1


# a bad backup is refused before anything is written ------------------------------------------
def _corrupt_append(path: Path, line: str) -> int:
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines + [line]) + "\n")
    return len(lines) + 1


STATE_CORRUPTIONS = {
    "nan": '{"key": "zz", "doc": {"v": NaN}}',
    "infinity": '{"key": "zz", "doc": {"v": -Infinity}}',
    "empty key": '{"key": "", "doc": {"v": 1}}',
    "key not text": '{"key": 5, "doc": {"v": 1}}',
    "doc not a mapping": '{"key": "zz", "doc": [1]}',
    "no doc": '{"key": "zz"}',
    "not json": '{"key": "zz", "doc": {"v": 1}',
    "duplicate key": None,  # filled in from the file's first line
}


@pytest.mark.parametrize("case", sorted(STATE_CORRUPTIONS))
def test_bad_state_record_is_refused_before_anything_is_written(backup_copy, sqlite_blob, case):
    out = backup_copy
    path = out / "state" / "roll_parameters.jsonl"
    line = STATE_CORRUPTIONS[case] or path.read_text().splitlines()[0]
    number = _corrupt_append(path, line)
    with pytest.raises(InvalidData) as info:
        restore_db_from_csv(str(out), data=sqlite_blob)
    assert str(path) in str(info.value) and f"line {number}" in str(info.value)
    assert stores_are_empty(sqlite_blob)
    assert sqlite_blob.state.collections() == [] and sqlite_blob.state.counters() == {}
    # once the file is fixed, the restore runs (nothing was left behind to refuse it)
    path.write_text("\n".join(path.read_text().splitlines()[:number - 1]) + "\n")
    restore_db_from_csv(str(out), data=sqlite_blob)
    assert sqlite_blob.roll_parameters.list_codes() == ["CORN", "EUR"]


def test_bad_collection_name_and_counters_are_refused(backup_copy, sqlite_blob):
    out = backup_copy
    bad = out / "state" / "bad name.jsonl"
    bad.write_text('{"key": "a", "doc": {}}\n')
    with pytest.raises(InvalidData, match="bad name"):
        restore_db_from_csv(str(out), data=sqlite_blob)
    bad.unlink()
    counters = out / "state" / "_counters.json"
    counters.write_text(json.dumps({"instrument_order_id": 3.5}))
    with pytest.raises(InvalidData, match="_counters.json.*instrument_order_id"):
        restore_db_from_csv(str(out), data=sqlite_blob)
    assert stores_are_empty(sqlite_blob) and sqlite_blob.state.counters() == {}


@pytest.mark.parametrize("case", ["non-numeric", "bad timestamp", "duplicate timestamp",
                                  "undescribed file", "missing file"])
def test_bad_timeseries_file_is_refused_before_anything_is_written(backup_copy, sqlite_blob,
                                                                   case):
    out = backup_copy
    generic = out / "timeseries" / "custom_series" / "CORN" / "20240300" / "X.csv"
    adjusted = out / "adjusted_prices_csv" / "EUR.csv"  # read after CORN's multiple prices
    if case == "non-numeric":
        path = adjusted
        path.write_text(path.read_text() + "2024-01-01 00:00:00,abc\n")
        expected = [str(path), "line 5", "abc"]
    elif case == "bad timestamp":
        path = generic
        path.write_text(path.read_text().replace("2024-01-05 00:00:00.000000", "2024-13-05"))
        expected = [str(path), "line 4"]
    elif case == "duplicate timestamp":
        path = adjusted
        path.write_text(path.read_text() + "2023-12-04 00:00:00,1.5\n")
        expected = [str(path), "line 5: same instant as line 4 (2023-12-04 00:00:00 UTC)"]
    elif case == "undescribed file":
        path = out / "timeseries" / "custom_series" / "EXTRA.csv"
        shutil.copy(generic, path)
        expected = [str(path), "not described"]
    else:
        path = generic
        path.unlink()
        expected = [str(path), "file missing"]
    with pytest.raises(InvalidData) as info:
        restore_db_from_csv(str(out), data=sqlite_blob)
    for text in expected:
        assert text in str(info.value)
    assert stores_are_empty(sqlite_blob) and sqlite_blob.state.counters() == {}


# an interrupted restore can be run again ----------------------------------------------------
class Crash(Exception):
    pass


def _crash_after(monkeypatch, obj, name, calls):
    original = getattr(obj, name)
    count = {"n": 0}

    def crashing(*args, **kwargs):
        count["n"] += 1
        if count["n"] > calls:
            raise Crash(f"killed during {name}")
        return original(*args, **kwargs)

    monkeypatch.setattr(obj, name, crashing)


@pytest.mark.parametrize("where", ["timeseries", "state"])
def test_interrupted_restore_can_be_run_again(source, tmp_path, blob, monkeypatch, where):
    populate(blob, source)
    before = snapshot(blob)
    out = tmp_path / "backup"
    backup_db_to_csv(str(out), data=blob)
    wipe_stores(blob)
    with monkeypatch.context() as patch:
        if where == "timeseries":
            _crash_after(patch, blob.timeseries, "write", 3)
        else:
            _crash_after(patch, blob.state, "apply", 1)  # the marker, then the first batch
        with pytest.raises(Crash):
            restore_db_from_csv(str(out), data=blob)
    assert blob.state.get(RESTORE_MARKER, "in_progress") is not None
    # no backup may replace a good one with a half-restored store
    with pytest.raises(StoreError, match="has not finished"):
        backup_db_to_csv(str(tmp_path / "other"), data=blob)
    with pytest.raises(StoreError, match="has not finished"):
        backup_state_store(str(tmp_path / "sb"), data=blob)
    # re-run: allowed although the stores are no longer empty, and it finishes
    restore_db_from_csv(str(out), data=blob)
    assert RESTORE_MARKER not in blob.state.collections()
    assert_identical(before, snapshot(blob))


def test_interrupted_overwrite_can_be_run_again(source, tmp_path, sqlite_blob, monkeypatch):
    populate(sqlite_blob, source)
    before = snapshot(sqlite_blob)
    out = tmp_path / "backup"
    backup_db_to_csv(str(out), data=sqlite_blob)
    sqlite_blob.state.put("stray_collection", "x", {"v": 1})
    with monkeypatch.context() as patch:
        _crash_after(patch, sqlite_blob.timeseries, "delete_library", 1)
        with pytest.raises(Crash):
            restore_db_from_csv(str(out), overwrite=True, data=sqlite_blob)
    restore_db_from_csv(str(out), data=sqlite_blob)
    assert_identical(before, snapshot(sqlite_blob))


def test_restore_refuses_a_directory_that_is_not_a_backup(tmp_path, sqlite_blob):
    with pytest.raises(InvalidData, match="not a systrade backup"):
        restore_db_from_csv(str(tmp_path), data=sqlite_blob)


# a damaged backup is refused against its manifest, naming the file and line ------------------
def _cut(path: Path, keep_chars: int) -> None:
    """Cut the file short, ``keep_chars`` characters before its end."""
    text = path.read_text()
    path.write_text(text[:len(text) - keep_chars])


def _drop_last_line(path: Path) -> None:
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-1]))


def _replace_line(path: Path, number: int, old: str, new: str) -> None:
    lines = path.read_text().splitlines(keepends=True)
    assert old in lines[number - 1], lines[number - 1]
    lines[number - 1] = lines[number - 1].replace(old, new)
    path.write_text("".join(lines))


GENERIC = "timeseries/custom_series/CORN/20240300/X.csv"
CONTRACT = "timeseries/futures_contract_prices/CORN/202403/D.csv"
DAMAGE = {
    # case: (file, damage, fragments of the error besides the file's path)
    "csv cut mid-number": ("adjusted_prices_csv/EUR.csv", lambda p: _cut(p, 3),
                           ["line 4", "cut short"]),
    "csv cut mid-timestamp": ("multiple_prices_csv/CORN.csv",
                              lambda p: _cut(p, len(p.read_text().splitlines()[-1]) - 4),
                              ["line 5", "cut short"]),
    "csv cut at a line end": ("fx_prices_csv/GBPUSD.csv", _drop_last_line,
                              ["2 data rows", "manifest says 3"]),
    "csv line missing fields": ("multiple_prices_csv/CORN.csv",
                                lambda p: _replace_line(p, 3, ",20240500\n", "\n"),
                                ["line 3", "6 fields", "has 7"]),
    "missing file": ("fx_prices_csv/GBPUSD.csv", lambda p: p.unlink(), ["file missing"]),
    "missing folder": ("roll_calendars_csv", shutil.rmtree, ["folder missing"]),
    "state file cut at a line end": ("state/roll_parameters.jsonl", _drop_last_line,
                                     ["1 records", "manifest says 2"]),
    "state file cut mid-line": ("state/roll_parameters.jsonl", lambda p: _cut(p, 5),
                                ["line 2"]),
    "inf": ("adjusted_prices_csv/EUR.csv", lambda p: _replace_line(p, 3, "1.0891", "inf"),
            ["line 3", "column price", "inf", "finite"]),
    "-inf in a generic series": (GENERIC, lambda p: _replace_line(p, 4, "-2.25e-12", "-inf"),
                                 ["line 4", "column value", "inf", "finite"]),
    # the importer's value rules apply to what a restore writes, and its messages show the
    # value as written in the file
    "-inf message shows the value as written": (
        GENERIC, lambda p: _replace_line(p, 4, "-2.25e-12", "-inf"),
        ["value '-inf' is not finite"]),
    "FX rate below the smallest accepted": (
        "fx_prices_csv/GBPUSD.csv", lambda p: _replace_line(p, 2, "1.2622", "1.3e-300"),
        ["line 2", "column PRICE", "value '1.3e-300'", "smallest FX rate"]),
    "contract price beyond the largest accepted": (
        CONTRACT, lambda p: _replace_line(p, 3, "482.75", "1e308"),
        ["line 3", "column FINAL", "value '1e308'", "largest price"]),
    "contract volume beyond the largest accepted": (
        CONTRACT, lambda p: _replace_line(p, 2, "1200.0", "1e308"),
        ["line 2", "column VOLUME", "value '1e308'", "largest volume"]),
    "contract volume infinite": (
        CONTRACT, lambda p: _replace_line(p, 2, "1200.0", "inf"),
        ["line 2", "column VOLUME", "value 'inf' is not finite"]),
    "contract volume negative": (
        CONTRACT, lambda p: _replace_line(p, 2, "1200.0", "-5.0"),
        ["line 2", "column VOLUME", "value '-5.0' is a negative volume"]),
    "FX rate zero": ("fx_prices_csv/GBPUSD.csv", lambda p: _replace_line(p, 2, "1.2622", "0"),
                     ["line 2", "column PRICE", "positive"]),
    "FX rate negative": ("fx_prices_csv/GBPUSD.csv",
                         lambda p: _replace_line(p, 4, "1.26945", "-1.26945"),
                         ["line 4", "positive"]),
    "private config cut short": ("private/private_config.yaml", lambda p: _cut(p, 4),
                                 ["bytes, the manifest says"]),
    "counters file cut short": ("state/_counters.json", lambda p: _cut(p, 2),
                                ["not valid JSON"]),
    "instrument config cut short": ("csvconfig/instrumentconfig.csv", lambda p: _cut(p, 4),
                                    ["bytes, the manifest says"]),
    "state file not in the manifest": ("state/extra.jsonl",
                                       lambda p: p.write_text('{"key": "a", "doc": {}}\n'),
                                       ["not listed in the manifest"]),
}


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_damaged_backup_is_refused_and_nothing_is_written(backup_copy, sqlite_blob, case):
    relative, damage, fragments = DAMAGE[case]
    path = backup_copy / relative
    damage(path)
    with pytest.raises(InvalidData) as info:
        restore_db_from_csv(str(backup_copy), data=sqlite_blob)
    message = str(info.value)
    assert str(path) in message, message
    for fragment in fragments:
        assert fragment in message, message
    assert stores_are_empty(sqlite_blob)
    assert sqlite_blob.state.collections() == [] and sqlite_blob.state.counters() == {}
    assert not (sqlite_blob.home / "private" / "private_config.yaml").exists()


def test_the_undamaged_copy_restores(backup_copy, sqlite_blob):
    """The damage cases above start from a backup that restores cleanly."""
    restore_db_from_csv(str(backup_copy), data=sqlite_blob)
    assert sqlite_blob.fx_prices.read_series("GBPUSD").iloc[-1] == 1.26945
    assert (sqlite_blob.home / "private" / "private_config.yaml").read_text() == PRIVATE_CONFIG


def test_restore_is_refused_while_a_writer_holds_its_lease(backup_copy, sqlite_blob):
    """A restore wiped and rewrote the stores while update_fx_prices (or any writer) was
    appending to them; now it holds every family's lease and is refused, writing nothing."""
    from syscore.exceptions import LeaseHeld
    from sysdata.leases import LeaseData
    from sysproduction.leases import FX, series_lease
    other = LeaseData(sqlite_blob.state, host="elsewhere", pid=4242)
    lease = other.take(series_lease(FX), "update_fx_prices", 300)
    with pytest.raises(LeaseHeld, match="update_fx_prices is running: pid 4242 on host elsewhere"):
        restore_db_from_csv(str(backup_copy), data=sqlite_blob)
    assert stores_are_empty(sqlite_blob)
    other.release(lease)
    restore_db_from_csv(str(backup_copy), data=sqlite_blob)
    assert not stores_are_empty(sqlite_blob)


def test_leases_are_not_data_for_restores(backup_copy, sqlite_blob):
    """A lease of a running process (here process/run_stack_handler, which no restore needs)
    made an empty home look "not empty" to a restore, and an overwrite wiped it from under its
    holder; leases are neither data nor backed up."""
    from sysdata.leases import LEASES, LeaseData
    other = LeaseData(sqlite_blob.state, host="elsewhere", pid=4242)
    other.take("process/run_stack_handler", "run_stack_handler", 300)
    restore_db_from_csv(str(backup_copy), data=sqlite_blob)  # refused as "not empty" before
    restore_db_from_csv(str(backup_copy), overwrite=True, data=sqlite_blob)
    assert other.holder("process/run_stack_handler")["pid"] == 4242  # still held
    out = backup_copy.parent / "again"
    backup_db_to_csv(str(out), data=sqlite_blob)
    assert not (out / "state" / f"{LEASES}.jsonl").exists()


def test_a_restore_whose_own_warning_is_logged_to_the_store_still_sees_an_empty_home(
        backup_copy, tmp_path):
    """Run from the command line, a restore logs to the state store; its warning about taking
    over the lease of a killed writer landed in ``log_records`` before it checked the home was
    empty, and it refused the empty home as "not empty"."""
    import os
    import subprocess
    import sys

    from syscontrol.host import host_name
    from sysdata.data_blob import DataBlob
    from sysdata.home_record import HomeAccess
    from sysdata.leases import LeaseData

    repo = Path(__file__).resolve().parents[2]
    home = tmp_path / "fresh"
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(gone.stdout)  # a process of this host that has exited
    env = {**os.environ, "SYSTRADE_HOME": str(home), "PYTHONPATH": str(repo)}
    data = DataBlob.from_config(home, process_name="x", access=HomeAccess.RESTORE)
    try:
        LeaseData(data.state, host=host_name(), pid=dead_pid).take(
            "series/fx_prices", "update_fx_prices", 300)
    finally:
        data.close()
    result = subprocess.run([sys.executable, str(repo / "run.py"),
                             "restore_db_from_csv.restore_db_from_csv", "--source",
                             str(backup_copy)], cwd=repo, env=env, capture_output=True,
                            text=True, stdin=subprocess.DEVNULL, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "taken over" in result.stderr and "restored" in result.stdout
