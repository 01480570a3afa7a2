"""StateStore.batch / checkpoint: a stack handler step's independent changes in few commits.

SQLite: one transaction per batch, committed at its end (also when the block raises) and at
each checkpoint; another connection sees nothing of it before. A process SIGKILLed inside a
batch loses only what was not committed yet. MongoDB: both are no-ops (each write its own)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from syscore.exceptions import ExistingData
from sysdata.state.base import Insert, Put
from sysdata.state.sqlite_store import SqliteStateStore

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def stores(tmp_path):
    """Two connections to one SQLite file: the writer and an outside reader."""
    writer = SqliteStateStore(tmp_path / "state.sqlite")
    reader = SqliteStateStore(tmp_path / "state.sqlite")
    yield writer, reader
    writer.close()
    reader.close()


def commits(store: SqliteStateStore) -> list[str]:
    """Every COMMIT the store's connection runs from now on."""
    seen: list[str] = []
    store._conn.set_trace_callback(lambda sql: seen.append(sql) if sql == "COMMIT" else None)
    return seen


def test_a_batch_is_one_commit_and_invisible_outside_until_then(stores):
    writer, reader = stores
    seen = commits(writer)
    with writer.batch():
        for n in range(20):
            writer.put("things", f"k{n}", {"n": n})
            writer.next_id("thing_id")
        assert reader.get("things", "k0") is None  # not committed yet
        assert writer.get("things", "k19") == {"n": 19}  # the batch reads its own writes
    assert seen == ["COMMIT"]
    assert reader.get("things", "k19") == {"n": 19}
    assert reader.counters()["thing_id"] == 20


def test_checkpoint_commits_what_came_before_and_the_batch_goes_on(stores):
    writer, reader = stores
    with writer.batch():
        writer.put("things", "before", {"n": 1})
        writer.checkpoint()
        assert reader.get("things", "before") == {"n": 1}
        writer.put("things", "after", {"n": 2})
        assert reader.get("things", "after") is None
    assert reader.get("things", "after") == {"n": 2}


def test_checkpoint_due_only_waits_for_the_batch_bound(stores):
    writer, reader = stores
    with writer.batch(max_seconds=3600):
        writer.put("things", "a", {"n": 1})
        writer.checkpoint(due_only=True)  # an hour is not up: nothing committed
        assert reader.get("things", "a") is None
    with writer.batch(max_seconds=0):
        writer.put("things", "b", {"n": 1})
        writer.checkpoint(due_only=True)  # due at once
        assert reader.get("things", "b") == {"n": 1}


def test_a_batch_that_raises_keeps_its_whole_changes(stores):
    """The code before batches committed each change as it went: an error later in the step
    must not undo them. A change that failed itself (a refused insert) is undone alone."""
    writer, reader = stores
    with pytest.raises(RuntimeError), writer.batch():
        writer.put("things", "kept", {"n": 1})
        writer.insert("things", "dup", {"n": 1})
        with pytest.raises(ExistingData):  # the key is taken: this apply is undone whole
            writer.apply([Put("things", "partial", {"n": 1}), Insert("things", "dup", {"n": 2})])
        raise RuntimeError("a step failed")
    assert reader.get("things", "kept") == {"n": 1}
    assert reader.get("things", "dup") == {"n": 1}
    assert reader.get("things", "partial") is None  # its own apply was all-or-nothing


def test_a_batch_inside_atomic_is_part_of_it_and_checkpoint_does_nothing(stores):
    writer, reader = stores
    with writer.atomic():
        with writer.batch():
            writer.put("things", "a", {"n": 1})
            writer.checkpoint()  # inside atomic(): all-or-nothing wins
            assert reader.get("things", "a") is None
        assert reader.get("things", "a") is None
    assert reader.get("things", "a") == {"n": 1}


def test_checkpoint_outside_a_batch_is_a_no_op(stores):
    writer, _ = stores
    seen = commits(writer)
    writer.checkpoint()
    assert seen == []


def test_another_thread_gets_the_store_at_a_checkpoint(stores):
    """The lease keeper's thread must not wait for a whole batch: a checkpoint lets it in."""
    writer, reader = stores
    started, done = threading.Event(), threading.Event()

    def other():
        started.set()
        writer.put("leases", "x", {"renewed": True})
        done.set()

    with writer.batch():
        writer.put("things", "a", {"n": 1})
        thread = threading.Thread(target=other)
        thread.start()
        assert started.wait(10)
        for _ in range(1000):  # bounded: a checkpoint per try until the thread got its turn
            writer.checkpoint()
            if done.is_set():
                break
        assert done.is_set()
    thread.join(10)
    assert reader.get("leases", "x") == {"renewed": True}


CHILD = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, {repo!r})
    from sysdata.state.sqlite_store import SqliteStateStore
    store = SqliteStateStore(sys.argv[1])
    with store.batch():
        for n in range(50):
            store.put("things", f"committed{{n:02d}}", {{"n": n}})
        store.checkpoint()
        for n in range(50):
            store.put("things", f"lost{{n:02d}}", {{"n": n}})
        os.kill(os.getpid(), signal.SIGKILL)
""")


def test_sigkill_inside_a_batch_loses_only_what_was_not_committed(tmp_path):
    path = tmp_path / "state.sqlite"
    run = subprocess.run([sys.executable, "-c", CHILD.format(repo=str(REPO)), str(path)],
                         env=os.environ, timeout=120)
    assert run.returncode == -signal.SIGKILL
    store = SqliteStateStore(path)
    try:
        keys = store.keys("things")
    finally:
        store.close()
    assert keys == [f"committed{n:02d}" for n in range(50)]


def test_checkpoint_due_only_commits_every_max_records(stores):
    """The ledger calls checkpoint(due_only=True) before each record: a batch of at most
    ``max_records`` records per commit."""
    writer, reader = stores
    with writer.batch(max_seconds=3600, max_records=2):
        for n in range(5):
            writer.checkpoint(due_only=True)
            writer.put("things", f"k{n}", {"n": n})
        assert reader.keys("things") == ["k0", "k1", "k2", "k3"]
    assert reader.keys("things") == ["k0", "k1", "k2", "k3", "k4"]
