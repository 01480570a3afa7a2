"""Several real processes against one store: nothing lost, and a SIGKILLed writer leaves a
store that opens and reads correctly."""
from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import uuid
from pathlib import Path

import pytest

from sysdata.state.mongo_store import MongoStateStore
from sysdata.state.sqlite_store import SqliteStateStore

REPO = Path(__file__).resolve().parents[3]

WRITER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {repo!r})
    from sysdata.state.factory import state_store_from_url
    from sysdata.state.base import Put, Insert
    from pathlib import Path
    store = state_store_from_url({url!r}, Path("."))
    name = sys.argv[1]
    for i in range(1000):
        oid = store.next_id("orders")
        store.apply([Insert("orders", f"{{oid:012d}}", {{"writer": name, "i": i}}),
                     Put("last", name, {{"i": i}})])
    store.close()
""")

KILLED_WRITER = textwrap.dedent("""
    import signal
    import sys
    sys.path.insert(0, {repo!r})
    from sysdata.state.factory import state_store_from_url
    from sysdata.state.base import Put
    from pathlib import Path
    WHOLE, SIZE, HOLD_AFTER = 3, 200, 100
    store = state_store_from_url({url!r}, Path("."))

    def batch(n):
        return [Put("pairs", f"b{{n:08d}}-{{j:03d}}", {{"batch": n, "j": j}}) for j in range(SIZE)]

    for n in range(WHOLE):
        store.apply(batch(n))
        print("done", n, flush=True)

    def hold(written_so_far):
        # the batch is in progress: report what the store holds of it, then wait to be killed
        print("mid", WHOLE, written_so_far(), flush=True)
        signal.pause()

    writes = []
    if {url!r}.startswith("sqlite"):
        conn = store._conn

        class Counting:  # the real connection, counting the batch's writes inside its transaction
            def execute(self, sql, params=()):
                if params and params[0] == "pairs" and len(writes) == HOLD_AFTER:
                    hold(lambda: conn.execute(
                        "SELECT count(*) FROM docs WHERE collection = 'pairs' AND key LIKE ?",
                        (f"b{{WHOLE:08d}}-%",)).fetchone()[0])
                if params and params[0] == "pairs":
                    writes.append(1)
                return conn.execute(sql, params)

            def __getattr__(self, name):
                return getattr(conn, name)

        store._conn = Counting()
    else:
        real_cas = store._cas

        def counting_cas(collection, *args):
            if collection == "pairs" and len(writes) == HOLD_AFTER:
                hold(lambda: store._db["pairs"].count_documents({{"batch": WHOLE}}))
            if collection == "pairs":
                writes.append(1)
            return real_cas(collection, *args)

        store._cas = counting_cas
    store.apply(batch(WHOLE))
    print("done", WHOLE, flush=True)  # never reached
""")


class LineReader:
    """The child's stdout lines, each waited for at most ``timeout`` seconds (a thread reads)."""

    def __init__(self, proc, timeout: float = 120.0):
        self.proc, self.timeout = proc, timeout
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def next(self) -> str:
        try:
            return self.lines.get(timeout=self.timeout)
        except queue.Empty:
            self.proc.kill()
            pytest.fail(f"the child reported nothing for {self.timeout} s")


def store_url(backend: str, tmp_path: Path, mongo_url: str | None) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'state.sqlite'}"
    return f"{mongo_url}/c{uuid.uuid4().hex[:10]}"


def open_store(url: str):
    if url.startswith("sqlite:///"):
        return SqliteStateStore(Path(url[len("sqlite:///"):]))
    return MongoStateStore(url, replay_after_seconds=0)


@pytest.fixture(params=["sqlite", "mongodb"])
def url(request, tmp_path):
    mongo = request.getfixturevalue("mongo_url") if request.param == "mongodb" else None
    return store_url(request.param, tmp_path, mongo)


def test_two_processes_1000_records_each_lose_nothing(url, tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(WRITER.format(repo=str(REPO), url=url))
    procs = [subprocess.Popen([sys.executable, str(script), name], cwd=tmp_path)
             for name in ("A", "B")]
    for proc in procs:
        assert proc.wait(timeout=300) == 0
    store = open_store(url)
    try:
        rows = store.find("orders")
        assert len(rows) == 2000
        keys = [int(k) for k, _ in rows]
        assert sorted(keys) == list(range(1, 2001))  # ids unique and gap-free
        for name in ("A", "B"):
            mine = sorted(d["i"] for _, d in rows if d["writer"] == name)
            assert mine == list(range(1000))
            assert store.get("last", name) == {"i": 999}
    finally:
        store.close()


def test_sigkill_mid_batch_leaves_whole_batches_only(url, tmp_path):
    script = tmp_path / "killed.py"
    script.write_text(KILLED_WRITER.format(repo=str(REPO), url=url))
    proc = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, stdout=subprocess.PIPE,
                            text=True)
    lines = LineReader(proc)
    try:
        assert [lines.next() for _ in range(3)] == ["done 0", "done 1", "done 2"]
        # the kill lands mid-batch: batch 3 is in progress with 100 of its 200 records written
        assert lines.next() == "mid 3 100"
        if url.startswith("mongodb"):  # MongoDB shows the half-written batch to everyone
            seen = MongoStateStore(url, replay_after_seconds=3600)
            assert seen.count("pairs", {"batch": 3}) == 100
            assert seen._db["_journal"].count_documents({}) == 1
            seen.close()
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    store = open_store(url)  # MongoDB: replays the interrupted batch on open
    try:
        per_batch: dict[int, int] = {}
        for _, doc in store.find("pairs"):
            per_batch[doc["batch"]] = per_batch.get(doc["batch"], 0) + 1
        # SQLite rolled the interrupted batch back; MongoDB finished it from its journal
        whole = [0, 1, 2] if url.startswith("sqlite") else [0, 1, 2, 3]
        assert per_batch == {n: 200 for n in whole}, "a batch was left half-written"
        store.put("pairs", "after", {"batch": -1, "j": 0})  # still writable
        assert store.get("pairs", "after") == {"batch": -1, "j": 0}
    finally:
        store.close()


INCREMENTER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {repo!r})
    from sysdata.state.factory import state_store_from_url
    from pathlib import Path
    store = state_store_from_url({url!r}, Path("."))
    for i in range(300):
        store.update("limits", "CORN", lambda d: {{"used": (d or {{"used": 0}})["used"] + 1}})
    store.close()
""")


def test_two_processes_updating_one_record_lose_no_increment(url, tmp_path):
    script = tmp_path / "incrementer.py"
    script.write_text(INCREMENTER.format(repo=str(REPO), url=url))
    procs = [subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    store = open_store(url)
    try:
        assert store.get("limits", "CORN") == {"used": 600}
    finally:
        store.close()
