"""Several real processes against one store: nothing lost, and a SIGKILLed writer leaves a
store that opens and reads correctly."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
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
    import sys
    sys.path.insert(0, {repo!r})
    from sysdata.state.factory import state_store_from_url
    from sysdata.state.base import Put
    from pathlib import Path
    store = state_store_from_url({url!r}, Path("."))
    batch = 0
    print("ready", flush=True)
    while True:
        store.apply([Put("pairs", f"b{{batch:08d}}-{{j:03d}}", {{"batch": batch, "j": j}})
                     for j in range(200)])
        batch += 1
""")


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
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(1.5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    store = open_store(url)  # MongoDB: replays an interrupted batch on open
    try:
        rows = store.find("pairs")
        assert rows, "writer wrote nothing before being killed"
        per_batch: dict[int, int] = {}
        for _, doc in rows:
            per_batch[doc["batch"]] = per_batch.get(doc["batch"], 0) + 1
        assert set(per_batch.values()) == {200}, "a batch was left half-written"
        assert sorted(per_batch) == list(range(len(per_batch)))
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
