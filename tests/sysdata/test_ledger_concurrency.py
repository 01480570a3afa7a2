"""Two real processes book overlapping fills (the same executions delivered to both, in
different orders) at the same time: every execution is booked once, the ledger has no gaps and
positions equal the sum of the unique fills; on SQLite and MongoDB."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from sysdata.ledger import LEDGER, LedgerData
from sysdata.positions import PositionData
from sysdata.state.mongo_store import MongoStateStore
from sysdata.state.sqlite_store import SqliteStateStore

REPO = Path(__file__).resolve().parents[2]
SHARED, OWN = 120, 60

BOOKER = textwrap.dedent("""
    import random, sys
    from pathlib import Path
    sys.path.insert(0, {repo!r})
    from sysdata.state.factory import state_store_from_url
    from sysdata.ledger import LedgerData
    from sysobjects.orders.records import Fill

    def make(name):
        k = sum(map(ord, name))
        return Fill(name, "CORN", ["202403", "202406"][k % 2], (k % 5) - 2 or 3, 100.0,
                    "2024-01-02 10:00", ["trend", "carry"][k % 2], broker_order_id=k % 3 + 1)

    who = sys.argv[2]
    names = [f"shared{{i:04d}}" for i in range({shared})] + [f"{{who}}{{i:04d}}" for i in range({own})]
    random.Random(who).shuffle(names)
    ledger = LedgerData(state_store_from_url(sys.argv[1], Path(".")))
    for name in names:
        ledger.book_fill(make(name))
""")


@pytest.fixture(params=["sqlite", "mongodb"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.sqlite'}"
    return f"{request.getfixturevalue('mongo_url')}/c{uuid.uuid4().hex[:10]}"


def test_two_processes_booking_overlapping_fills(url, tmp_path):
    script = tmp_path / "booker.py"
    script.write_text(BOOKER.format(repo=str(REPO), shared=SHARED, own=OWN))
    procs = [subprocess.Popen([sys.executable, str(script), url, who], cwd=tmp_path,
                              stderr=subprocess.PIPE, text=True) for who in ("A", "B")]
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
    store = SqliteStateStore(Path(url[len("sqlite:///"):])) if url.startswith("sqlite") \
        else MongoStateStore(url)
    try:
        docs = [doc for _, doc in store.find(LEDGER)]
        assert len(docs) == SHARED + 2 * OWN  # each shared execution once
        assert [d["seq"] for d in docs] == list(range(1, len(docs) + 1))
        totals: dict = {}
        for d in docs:
            r = d["record"]
            totals[r["strategy_name"]] = totals.get(r["strategy_name"], 0) + r["quantity"]
        positions = PositionData(store)
        for strategy, total in totals.items():
            assert positions.get_strategy_position(strategy, "CORN") == total
        assert LedgerData(store).check_projections(repair=False) == []
    finally:
        if isinstance(store, MongoStateStore):
            store.drop_database()
        store.close()
