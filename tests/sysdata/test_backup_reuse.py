"""Incremental CSV backups: unchanged series are copied from the previous backup, and the result
is byte-identical to a full backup (real SQLite and ArcticDB/LMDB stores)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sysdata.backup import backup_to_csv, check_backup
from tests.blob_helpers import make_blob

DAYS = pd.date_range("2024-01-01", periods=300, freq="B", tz="UTC")


def files_of(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def prices(seed: int, index=DAYS) -> pd.Series:
    rng = np.random.default_rng(seed)
    return pd.Series(100 + np.cumsum(rng.normal(0, 1, len(index))), index=index)


@pytest.fixture
def blob(tmp_path):
    data = make_blob(tmp_path / "home")
    for n, code in enumerate(["CORN", "GOLD", "US10"]):
        data.adjusted_prices.write(code, prices(n))
    data.fx_prices.write("EURUSD", prices(7) / 100)
    data.fx_prices.write("GBPUSD", prices(8) / 100)
    data.timeseries.write("custom", "NOTES", pd.DataFrame(
        {"v": [1.5, 2.5], "note": ["", "NA"]}, index=DAYS[:2]))
    data.state.put("instruments_extra", "x", {"a": 1})
    yield data
    data.close()


def new_day(data) -> None:
    """One day of new prices for CORN and EURUSD; the other series are untouched."""
    day = pd.DatetimeIndex([DAYS[-1] + pd.offsets.BDay(1)])
    data.adjusted_prices.append("CORN", pd.Series([123.25], index=day))
    data.fx_prices.append("EURUSD", pd.Series([1.0875], index=day))


def test_an_incremental_backup_is_byte_identical_to_a_full_one(tmp_path, blob):
    incremental, full = tmp_path / "incremental", tmp_path / "full"
    first = backup_to_csv(blob, incremental)
    assert first["reused"] == 0  # nothing to copy from
    new_day(blob)
    second = backup_to_csv(blob, incremental)  # copies from the previous backup at incremental
    assert second["reused"] == len(second["series"]) - 2 == 4  # all but CORN and EURUSD
    assert second["extended"] == 2  # CORN and EURUSD: the previous files plus the new row
    assert backup_to_csv(blob, full)["reused"] == 0  # a fresh folder: everything rendered
    a, b = files_of(incremental), files_of(full)
    assert sorted(a) == sorted(b)
    for name in a:
        assert a[name] == b[name], name
    assert "123.25" in (incremental / "adjusted_prices_csv" / "CORN.csv").read_text()
    check_backup(incremental)  # and a restore accepts it


def test_a_changed_series_is_rendered_again_even_with_the_same_rows(tmp_path, blob):
    out = tmp_path / "backup"
    backup_to_csv(blob, out)
    before = (out / "adjusted_prices_csv" / "GOLD.csv").read_bytes()
    changed = prices(1)
    changed.iloc[6] = changed.iloc[6] + 1.0  # history rewritten: same rows, same last timestamp
    blob.adjusted_prices.write("GOLD", changed)
    manifest = backup_to_csv(blob, out)
    assert manifest["reused"] == 5  # every series but GOLD
    after = (out / "adjusted_prices_csv" / "GOLD.csv").read_bytes()
    assert after != before
    fresh = tmp_path / "fresh"
    backup_to_csv(blob, fresh)
    assert after == (fresh / "adjusted_prices_csv" / "GOLD.csv").read_bytes()


def test_a_tampered_file_of_the_previous_backup_is_not_copied(tmp_path, blob, caplog):
    out = tmp_path / "backup"
    backup_to_csv(blob, out)
    path = out / "adjusted_prices_csv" / "US10.csv"
    original = path.read_bytes()
    lines = original.decode().splitlines(keepends=True)
    date, value = lines[3].rstrip("\n").split(",")
    digit = "1" if value[-1] != "1" else "2"
    lines[3] = f"{date},{value[:-1]}{digit}\n"  # same size, one digit changed
    tampered = "".join(lines).encode()
    assert len(tampered) == len(original) and tampered != original
    path.write_bytes(tampered)
    manifest = backup_to_csv(blob, out)
    assert (out / "adjusted_prices_csv" / "US10.csv").read_bytes() == original
    assert manifest["reused"] < len(manifest["series"])
    assert "differs from the hash" in caplog.text


def test_a_previous_backup_failing_its_manifest_check_is_not_used_at_all(tmp_path, blob):
    out = tmp_path / "backup"
    backup_to_csv(blob, out)
    path = out / "fx_prices_csv" / "GBPUSD.csv"
    original = path.read_bytes()
    path.write_bytes(original + b"2030-01-01 00:00:00,1.0\n")  # size no longer as recorded
    manifest = backup_to_csv(blob, out)
    assert manifest["reused"] == 0
    assert path.read_bytes() == original


def test_a_backup_of_another_store_is_not_used(tmp_path, blob):
    """Same symbols at the same version numbers in another store: nothing is copied."""
    out = tmp_path / "backup"
    backup_to_csv(blob, out)
    other = make_blob(tmp_path / "other")
    try:
        other.adjusted_prices.write("CORN", prices(0) + 1.0)
        manifest = backup_to_csv(other, out, allow_shrink=True)
        assert manifest["reused"] == 0
        assert (out / "adjusted_prices_csv" / "CORN.csv").read_bytes() != b""
        assert json.loads((out / "MANIFEST.json").read_text())["series"].keys() == {
            "adjusted_prices/CORN"}
    finally:
        other.close()


def test_a_library_deleted_and_written_again_is_rendered_again(tmp_path, blob):
    """Same version number (0) after a library is deleted and re-created (as a restore does):
    the write time tells them apart."""
    out = tmp_path / "backup"
    assert backup_to_csv(blob, out)["series"]["custom/NOTES"]["version"] == 0
    blob.timeseries.delete_library("custom")
    blob.timeseries.write("custom", "NOTES", pd.DataFrame(
        {"v": [9.5, 2.5], "note": ["", "NA"]}, index=DAYS[:2]))
    manifest = backup_to_csv(blob, out)
    assert manifest["series"]["custom/NOTES"]["version"] == 0
    assert "9.5" in (out / "timeseries" / "custom" / "NOTES.csv").read_text()
    assert manifest["reused"] == 5


def full_backup_of(blob, tmp_path: Path, relative: str) -> bytes:
    fresh = tmp_path / "fresh"
    manifest = backup_to_csv(blob, fresh)
    assert manifest["reused"] == manifest["extended"] == 0
    return (fresh / relative).read_bytes()


@pytest.mark.parametrize("change", ["earlier value", "minus zero", "sub-second time",
                                    "earlier text", "column dtype"])
def test_a_series_not_just_appended_to_is_rendered_whole(tmp_path, blob, change):
    """A new row plus any change to the rows the previous file holds (even one that the
    row count, the last timestamp and numeric equality all miss) is rendered again, and the
    result is byte-identical to a full backup."""
    out = tmp_path / "backup"
    custom = pd.DataFrame({"v": [1.5, 0.0, 2.0], "note": ["", "1", "x"], "n": [1, 2, 3]},
                          index=DAYS[:3])
    blob.timeseries.write("custom", "NOTES", custom)
    backup_to_csv(blob, out)
    new = custom.copy()
    if change == "earlier value":
        new.iloc[0, 0] = 1.25
    elif change == "minus zero":
        new.iloc[1, 0] = -0.0  # == 0.0, but renders as -0.0
    elif change == "earlier text":
        new["note"] = ["", "2", "x"]
    elif change == "column dtype":
        new["n"] = new["n"].astype(float)  # 1 renders as 1.0
    extra = pd.DataFrame({"v": [3.0], "note": ["y"], "n": [4]}, index=DAYS[3:4])
    if change == "column dtype":
        extra["n"] = extra["n"].astype(float)
    if change == "sub-second time":
        extra.index = extra.index + pd.Timedelta(microseconds=5)  # every timestamp gets .ffffff
    blob.timeseries.write("custom", "NOTES", pd.concat([new, extra]))
    manifest = backup_to_csv(blob, out)
    assert manifest["extended"] == 0 and manifest["reused"] == 5
    relative = "timeseries/custom/NOTES.csv"
    assert (out / relative).read_bytes() == full_backup_of(blob, tmp_path, relative)


def test_a_series_rewritten_with_its_rows_plus_new_ones_is_extended(tmp_path, blob):
    """A series rewritten whole (a new version, as the merged contract prices are each day)
    whose earlier rows are unchanged: the previous file is extended, byte-identical to a full
    backup, and a restore accepts it."""
    out = tmp_path / "backup"
    backup_to_csv(blob, out)
    longer = prices(2, DAYS.append(pd.DatetimeIndex([DAYS[-1] + pd.offsets.BDay(1)])))
    assert longer.iloc[:-1].equals(prices(2))
    blob.adjusted_prices.write("US10", longer)
    blob.timeseries.write("custom", "NOTES", pd.DataFrame(
        {"v": [1.5, 2.5, 3.5], "note": ["", "NA", "new"]}, index=DAYS[:3]))
    manifest = backup_to_csv(blob, out)
    assert (manifest["reused"], manifest["extended"]) == (4, 2)
    for relative in ("adjusted_prices_csv/US10.csv", "timeseries/custom/NOTES.csv"):
        assert (out / relative).read_bytes() == full_backup_of(blob, tmp_path / relative,
                                                               relative), relative
    check_backup(out)


def test_a_tampered_previous_file_is_not_extended(tmp_path, blob, caplog):
    out = tmp_path / "backup"
    backup_to_csv(blob, out)
    path = out / "adjusted_prices_csv" / "CORN.csv"
    text = path.read_bytes()
    path.write_bytes(text.replace(b"\n2024-01-03", b"\n2024-01-04", 1))  # same size
    new_day(blob)
    manifest = backup_to_csv(blob, out)
    assert manifest["extended"] == 0
    relative = "adjusted_prices_csv/CORN.csv"
    assert (out / relative).read_bytes() == full_backup_of(blob, tmp_path, relative)
    assert "differs from the hash" in caplog.text


def test_row_fingerprints_tell_apart_what_renders_differently():
    """Equal by ``==`` yet rendered differently: -0.0 and 0.0, 1 and "1", 1 and 1.0 (the
    dtype is in the layout); each row's fingerprint depends on that row only."""
    from sysdata.backup_reuse import frame_layout, row_fingerprints

    def rows(values):
        return row_fingerprints(pd.DataFrame({"a": values}, index=DAYS[:len(values)]))

    assert (rows([0.0, 1.0])[0] != rows([-0.0, 1.0])[0]).any()
    assert (rows(np.array(["1", "x"], dtype=object))[0]
            != rows(np.array([1, "x"], dtype=object))[0]).any()
    assert frame_layout(pd.DataFrame({"a": [1]})) != frame_layout(pd.DataFrame({"a": [1.0]}))
    longer = rows([0.5, 1.5, 2.5])
    assert (longer[:2] == rows([0.5, 1.5])).all()
