"""Two real processes book the same executions on one instrument at once while one of them is
killed (SIGKILL) after a ledger insert, between its cache writes; it is restarted and finishes.
Every execution is booked once, positions equal the ledger, record numbers stay contiguous."""
from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from sysdata.ledger import LEDGER, PROJECTIONS, LedgerData
from sysdata.positions import PositionData
from sysdata.state.mongo_store import MongoStateStore
from sysdata.state.sqlite_store import SqliteStateStore

REPO = Path(__file__).resolve().parents[2]
N = 60

BOOKER = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    sys.path.insert(0, {repo!r})
    from sysdata.state.factory import state_store_from_url
    from sysdata.ledger import LedgerData
    from sysobjects.orders.records import Fill

    def make(k):
        return Fill(f"x{{k:03d}}", "CORN", ["202403", "202406"][k % 2], k % 3 + 1, 100.0,
                    "2024-01-02 10:00", "trend", broker_order_id=k % 2 + 1)

    who, die_after, OWN = sys.argv[2], int(sys.argv[3]), 5
    store = state_store_from_url(sys.argv[1], Path("."))
    # A books its own executions first (so it is sure to die after its third insert, however
    # fast B is), then the shared ones in order; B books the shared ones in reverse
    ks = list(range({n}, {n} + OWN)) + list(range({n})) if who == "A" \
        else list(reversed(range({n})))
    if die_after >= 0:
        real_apply, real_each, booked = store.apply, store.apply_each, [0]

        def apply(operations):
            operations = list(operations)
            inserting = any(op.collection == "ledger" for op in operations)
            if not inserting and booked[0] > die_after:  # a cache write after an insert
                os.kill(os.getpid(), signal.SIGKILL)  # (SQLite: in the insert's transaction)
            real_apply(operations)
            booked[0] += inserting  # inserts that succeeded

        def each(operations):
            operations = list(operations)
            if booked[0] > die_after:
                real_each(operations[:2])  # two of the cache writes, then die
                os.kill(os.getpid(), signal.SIGKILL)
            return real_each(operations)

        store.apply, store.apply_each = apply, each
    ledger = LedgerData(store)
    for k in ks:
        ledger.book_fill(make(k))
""")


@pytest.fixture(params=["sqlite", "mongodb"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.sqlite'}"
    return f"{request.getfixturevalue('mongo_url')}/p{uuid.uuid4().hex[:10]}"


def test_two_bookers_one_killed_between_cache_writes(url, tmp_path):
    script = tmp_path / "booker.py"
    script.write_text(BOOKER.format(repo=str(REPO), n=N))

    def start(who, die_after):
        return subprocess.Popen([sys.executable, str(script), url, who, str(die_after)],
                                cwd=tmp_path, stderr=subprocess.PIPE, text=True)

    a, b = start("A", 2), start("B", -1)
    _, err = a.communicate(timeout=300)
    assert a.returncode == -signal.SIGKILL, err
    a = start("A", -1)  # restarted: the broker delivers everything again
    for proc in (a, b):
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    store = SqliteStateStore(Path(url[len("sqlite:///"):])) if url.startswith("sqlite") \
        else MongoStateStore(url)
    try:
        docs = [doc for _, doc in store.find(LEDGER)]
        assert len(docs) == N + 5 and [d["seq"] for d in docs] == list(range(1, N + 6))
        assert PositionData(store).get_strategy_position("trend", "CORN") == sum(
            k % 3 + 1 for k in range(N + 5))
        assert LedgerData(store).check_projections(repair=False) == []
        for projection in PROJECTIONS.values():
            numbers: dict = {}
            for doc in docs:
                if projection.number_field in doc:
                    subject, n = doc[projection.number_field].rsplit("#", 1)
                    numbers.setdefault(subject, []).append(int(n))
            assert all(ns == list(range(1, len(ns) + 1)) for ns in numbers.values())
    finally:
        if isinstance(store, MongoStateStore):
            store.drop_database()
        store.close()
