"""SIGKILL between a ledger insert and its projection updates, in real subprocesses, seeded,
22 kills per backend: after the restart every projection equals the ledger.

MongoDB: the insert is its own write, so a kill leaves the fill booked and caches behind it,
which the next read catches up. SQLite: the insert and the projection updates are one
transaction, so a kill between them leaves neither (the broker delivers the execution again)."""
from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from sysdata.ledger import LEDGER, PROJECTIONS, LedgerData, projection_state
from sysdata.orders import OrderStackData
from sysdata.positions import PositionData
from sysdata.state.mongo_store import MongoStateStore
from sysdata.state.sqlite_store import SqliteStateStore

REPO = Path(__file__).resolve().parents[2]
KILLS = 22

CHILD = textwrap.dedent("""
    import os, random, signal, sys
    from pathlib import Path
    sys.path.insert(0, {repo!r})
    from sysdata.state.factory import state_store_from_url
    from sysdata.ledger import LedgerData
    from sysobjects.orders.records import Fill

    def make(k):  # a fill's content is a function of its execution id: redelivery is identical
        return Fill(f"sk{{k:03d}}.01", "CORN", ["202403", "202406"][k % 2], (k % 7) - 3 or 4,
                    100.0 + k, "2024-01-02 10:00", ["trend", "carry", None][k % 3],
                    broker_order_id=k % 4 + 1, contract_order_id=k % 4 + 1,
                    instrument_order_id=k % 2 + 1)

    rng = random.Random(int(sys.argv[2]))
    store = state_store_from_url(sys.argv[1], Path("."))
    ledger = LedgerData(store)
    for _ in range(rng.randint(0, 3)):  # some fills booked normally (and some redelivered)
        ledger.book_fill(make(rng.randrange(30)))
    # die after the ledger insert, before its projection updates are all written: on SQLite
    # they are one write in the insert's transaction (die at it); on MongoDB one bulk write
    # per collection (die once k = 0..3 of the five are written). Writes before the insert
    # (catching up caches left behind by an earlier kill) go through.
    kill_at = rng.randint(0, 3)
    real_apply, real_each, inserted = store.apply, store.apply_each, [False]

    def dying_apply(operations):
        operations = list(operations)
        if inserted[0]:
            os.kill(os.getpid(), signal.SIGKILL)
        real_apply(operations)
        inserted[0] = any(op.collection == "ledger" for op in operations)

    def dying_each(operations):
        if not inserted[0]:
            return real_each(operations)
        real_each(list(operations)[:kill_at])
        os.kill(os.getpid(), signal.SIGKILL)

    store.apply, store.apply_each = dying_apply, dying_each
    ledger.book_fill(make(100 + int(sys.argv[2])))  # a new execution: every projection moves
    sys.exit(3)  # never reached: the kill happens inside book_fill
""")


@pytest.fixture(params=["sqlite", "mongodb"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.sqlite'}"
    return f"{request.getfixturevalue('mongo_url')}/k{uuid.uuid4().hex[:10]}"


def open_store(url):
    if url.startswith("sqlite:///"):
        return SqliteStateStore(Path(url[len("sqlite:///"):]))
    return MongoStateStore(url)


def stale_caches(store) -> int:
    """How many cached projections differ from the ledger now (no catching up)."""
    ledger = LedgerData(store)
    head, stale = ledger.head(), 0
    for projection in PROJECTIONS.values():
        subjects = {doc[projection.field] for doc in ledger.records(0, head)
                    if doc.get(projection.field) is not None}
        for subject in subjects:
            cached = ledger.cached(projection, subject)
            truth = ledger.recompute(projection, subject, head)
            if cached is None or projection_state(cached) != truth:
                stale += 1
    return stale


def test_sigkill_between_ledger_insert_and_projection_update(url, tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(repo=str(REPO)))
    for seed in range(KILLS):
        proc = subprocess.run([sys.executable, str(script), url, str(seed)], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == -signal.SIGKILL, proc.stderr
    store = open_store(url)
    try:
        docs = [doc for _, doc in store.find(LEDGER)]
        assert [d["seq"] for d in docs] == list(range(1, len(docs) + 1))  # gap-free
        assert len({d["uid"] for d in docs}) == len(docs)  # every execution booked once
        killed = {f"fill:sk{100 + seed:03d}.01" for seed in range(KILLS)}
        booked = {d["uid"] for d in docs}
        if isinstance(store, SqliteStateStore):  # insert and projections: one transaction
            assert not killed & booked  # the killed bookings left nothing ...
            assert stale_caches(store) == 0  # ... and no cache behind the ledger
        else:
            assert killed <= booked  # the killed bookings' inserts were done ...
            assert stale_caches(store) > 0  # ... and left projections behind the ledger
        fills = [d["record"] for d in docs if d["kind"] == "fill"]
        positions = PositionData(store)  # the restarted process
        expected_strategy: dict = {}
        expected_contract: dict = {}
        for f in fills:
            if f["strategy_name"]:
                key = (f["strategy_name"], "CORN")
                expected_strategy[key] = expected_strategy.get(key, 0) + f["quantity"]
            key = ("CORN", f["contract_date"])
            expected_contract[key] = expected_contract.get(key, 0) + f["quantity"]
        assert positions.all_strategy_positions() == {
            k: v for k, v in expected_strategy.items() if v}
        assert positions.all_contract_positions() == {
            k: v for k, v in expected_contract.items() if v}
        for (strategy, code), value in expected_strategy.items():
            assert positions.get_strategy_position(strategy, code) == value
        assert LedgerData(store).check_projections(repair=False) == []
        assert stale_caches(store) == 0
        stack = OrderStackData(store, "broker")  # order fill totals too
        for order_id in range(1, 5):
            view = stack.ledger.view("broker_order_fills", f"{order_id:012d}")
            assert sum(view.state["filled"].values()) == sum(
                f["quantity"] for f in fills if f["broker_order_id"] == order_id)
    finally:
        if isinstance(store, MongoStateStore):
            store.drop_database()
        store.close()
