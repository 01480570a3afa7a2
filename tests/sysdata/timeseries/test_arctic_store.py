"""Contract tests of the ArcticDB (LMDB) time-series store."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from syscore.exceptions import InvalidData, MissingData


def frame(start: str, n: int, tz: str | None = "UTC") -> pd.DataFrame:
    idx = pd.date_range(start, periods=n, freq="D", tz=tz)
    return pd.DataFrame({"a": np.arange(n, dtype=float), "b": np.linspace(0, 1, n)}, index=idx)


def test_write_read_roundtrip_is_utc(ts_store):
    data = frame("2020-01-01", 5)
    ts_store.write("lib", "X/1", data)
    out = ts_store.read("lib", "X/1")
    assert str(out.index.tz) == "UTC"
    assert out.index.name == "DATETIME"
    np.testing.assert_array_equal(out.values, data.values)


def test_naive_index_taken_as_utc(ts_store):
    ts_store.write("lib", "naive", frame("2020-01-01 23:00", 2, tz=None))
    out = ts_store.read("lib", "naive")
    assert out.index[0] == pd.Timestamp("2020-01-01 23:00", tz="UTC")


def test_other_timezones_converted(ts_store):
    data = frame("2020-01-01 09:00", 2, tz="Europe/London")
    ts_store.write("lib", "ldn", data)
    assert ts_store.read("lib", "ldn").index[0] == pd.Timestamp("2020-01-01 09:00", tz="UTC")


def test_append_only_newer_rows(ts_store):
    ts_store.write("lib", "s", frame("2020-01-01", 3))
    assert ts_store.append("lib", "s", frame("2020-01-10", 2)) == 2
    assert len(ts_store.read("lib", "s")) == 5
    with pytest.raises(InvalidData, match="at or before"):
        ts_store.append("lib", "s", frame("2020-01-02", 1))
    assert len(ts_store.read("lib", "s")) == 5


def test_append_wrong_columns_refused(ts_store):
    ts_store.write("lib", "s", frame("2020-01-01", 3))
    bad = frame("2021-01-01", 1).rename(columns={"a": "z"})
    with pytest.raises(InvalidData, match="columns"):
        ts_store.append("lib", "s", bad)


def test_duplicates_and_bad_index_refused_nothing_written(ts_store):
    data = frame("2020-01-01", 3)
    dup = pd.concat([data, data.iloc[:1]])
    with pytest.raises(InvalidData, match="duplicated"):
        ts_store.write("lib", "dup", dup)
    with pytest.raises(InvalidData):
        ts_store.write("lib", "bad", pd.DataFrame({"a": [1.0]}, index=["not a date"]))
    assert not ts_store.has("lib", "dup")
    assert not ts_store.has("lib", "bad")


def test_unsorted_input_is_sorted(ts_store):
    data = frame("2020-01-01", 4).iloc[[2, 0, 3, 1]]
    ts_store.write("lib", "u", data)
    assert ts_store.read("lib", "u").index.is_monotonic_increasing


def test_read_range_missing_delete_and_listing(ts_store):
    ts_store.write("lib", "s", frame("2020-01-01", 10))
    part = ts_store.read("lib", "s", start="2020-01-03", end="2020-01-05")
    assert list(part["a"]) == [2.0, 3.0, 4.0]
    assert ts_store.last_timestamp("lib", "s") == pd.Timestamp("2020-01-10", tz="UTC")
    with pytest.raises(MissingData):
        ts_store.read("lib", "nope")
    with pytest.raises(MissingData):
        ts_store.read("otherlib", "s")
    assert ts_store.symbols("lib") == ["s"]
    ts_store.delete("lib", "s")
    assert ts_store.symbols("lib") == []


def test_versions_of_a_library_match_each_symbols_version(ts_store):
    """One listing gives what ``version`` reads per symbol: after writes, an append, a rewrite
    and a delete (the deleted symbol is not listed); an absent library lists nothing."""
    ts_store.write("lib", "A", frame("2024-01-01", 3))
    ts_store.write("lib", "B", frame("2024-01-01", 3))
    ts_store.append("lib", "A", frame("2024-02-01", 2))
    ts_store.write("lib", "B", frame("2024-03-01", 2))
    ts_store.write("lib", "C", frame("2024-01-01", 1))
    ts_store.delete("lib", "C")
    listed = ts_store.versions("lib")
    assert set(listed) == {"A", "B"}
    for symbol in ("A", "B"):
        assert listed[symbol] == ts_store.version("lib", symbol)
    assert listed["A"].version == 1
    assert ts_store.versions("absent") == {}


WRITER = """
import sys
import pandas as pd
from sysdata.timeseries.arctic_store import TimeSeriesStore
store = TimeSeriesStore(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
index = pd.date_range("2024-01-01", periods=3, tz="UTC")
store.write("prices", "X", pd.DataFrame({"price": [7.0, 8.0, 9.0]}, index=index))
print("written", flush=True)
sys.stdin.readline()
"""


def test_a_series_rewritten_by_another_process_is_read_at_once(tmp_path):
    """Another process replaces a series (pruning the old version) right after this process
    read it: the next read here gets the new version, not a read of the pruned one (ArcticDB's
    version-list cache would otherwise point at it for about 2 s)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from sysdata.timeseries.arctic_store import TimeSeriesStore

    uri = f"lmdb://{tmp_path / 'arctic'}"
    store = TimeSeriesStore(uri)
    try:
        store.write("prices", "X", frame("2024-01-01", 3))
        repo = str(Path(__file__).resolve().parents[3])
        env = {**os.environ, "PYTHONPATH": repo}
        writer = subprocess.Popen([sys.executable, "-c", WRITER, uri], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True, env=env, cwd=repo)
        try:
            assert writer.stdout.readline().strip() == "ready"
            assert len(store.read("prices", "X")) == 3  # this process's view is now cached
            writer.stdin.write("go\n")
            writer.stdin.flush()
            assert writer.stdout.readline().strip() == "written"
            assert store.read("prices", "X")["price"].tolist() == [7.0, 8.0, 9.0]
        finally:
            writer.stdin.close()
            writer.wait(timeout=60)
    finally:
        store.close()


def test_read_many_equals_one_read_each_in_order_and_only_the_columns_asked(ts_store):
    ts_store.write("lib", "A", frame("2020-01-01", 4))
    ts_store.write("lib", "B", frame("2021-06-01", 3))
    both = ts_store.read_many("lib", ["B", "A"])
    for symbol, got in zip(["B", "A"], both, strict=True):
        pd.testing.assert_frame_equal(got, ts_store.read("lib", symbol))
    only_b = ts_store.read_many("lib", ["A", "B"], columns=["b"])
    assert [list(f.columns) for f in only_b] == [["b"], ["b"]]
    assert str(only_b[0].index.tz) == "UTC" and only_b[0].index.name == "DATETIME"
    pd.testing.assert_series_equal(only_b[1]["b"], ts_store.read("lib", "B")["b"])
    assert ts_store.read_many("lib", []) == []


def test_read_many_names_a_missing_symbol_or_column(ts_store):
    ts_store.write("lib", "A", frame("2020-01-01", 4))
    with pytest.raises(MissingData, match="lib/NOPE"):
        ts_store.read_many("lib", ["A", "NOPE"])
    with pytest.raises(MissingData, match="nolib/A"):
        ts_store.read_many("nolib", ["A"])
    with pytest.raises(InvalidData, match="c"):
        ts_store.read_many("lib", ["A"], columns=["a", "c"])


def test_a_closed_store_refuses_reads_and_its_files_can_be_reopened(tmp_path):
    from syscore.exceptions import StoreError
    from sysdata.timeseries.arctic_store import TimeSeriesStore

    uri = f"lmdb://{tmp_path / 'arctic'}"
    store = TimeSeriesStore(uri)
    store.write("lib", "A", frame("2020-01-01", 3))
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        store.read("lib", "A")
    with pytest.raises(StoreError, match="closed"):
        store.read_many("lib", ["A"])
    again = TimeSeriesStore(uri)  # the last share was released: a fresh instance reads it
    try:
        assert len(again.read("lib", "A")) == 3
    finally:
        again.close()
