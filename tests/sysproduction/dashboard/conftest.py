"""A home with known figures, and ``systrade dashboard`` served on it in a subprocess.

The home is the reporting tests' scenario (tests/sysproduction/reporting/conftest.py: total
capital 102,800.00 USD, CORN and GILT positions with a GILT break) plus a working instrument
order, a crashed process, an alert and a log line; the simulated clock stands at
2024-01-06 08:00 UTC; ``run_reports`` has written the status and pnl reports.
"""
from __future__ import annotations

import json
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest

from tests.sysproduction.dashboard.chromium import chromium_path

ROOT = Path(__file__).resolve().parents[3]
NOW = pd.Timestamp("2024-01-06 08:00", tz="UTC")
CLI = "import sys; from syscore.cli import main; sys.exit(main(sys.argv[1:]))"
LOG_MESSAGE = "capital updated for the dashboard test"


def build_home(home: Path) -> Path:
    """The scenario home (module docstring), initialised as a real home (its marker)."""
    from syscore.clock import SimulatedClock
    from syscore.config import load_config
    from sysdata.home_record import open_home_stores
    from sysobjects.orders.orders import InstrumentOrder
    from sysproduction.run_reports import run_reports
    from tests.blob_helpers import FixedClock, make_blob
    from tests.sysproduction.reporting.conftest import build_scenario

    blob = make_blob(home, clock=FixedClock(NOW))
    try:
        build_scenario(blob)
        stack = blob.order_stack("instrument")
        stack.add_order(InstrumentOrder(order_id=stack.new_order_id(), strategy_name="s1",
                                        instrument_code="GILT", trade=1,
                                        generated_datetime=NOW - pd.Timedelta(hours=1)),
                        NOW - pd.Timedelta(hours=1))
        blob.process_control.update("run_stack_handler", run_state="crashed", pid=4242,
                                    host="trading-box")
        blob.alerts.add("Price spike in CORN", "spike of 9 daily vols", NOW - pd.Timedelta(
            hours=2))
        blob.logs.add({"timestamp": "2024-01-06T07:30:00+00:00", "level": "INFO",
                       "levelno": 20, "logger": "systrade.run_capital_update",
                       "message": LOG_MESSAGE, "process_name": "run_capital_update"})
        run = run_reports(data=blob, reports=["status", "pnl"])
        assert run.ok, str(run)
    finally:
        blob.close()
    (home / "private").mkdir(exist_ok=True)
    (home / "private" / "private_config.yaml").write_text("clock: simulated\n")
    SimulatedClock(home, start=NOW)
    opened = open_home_stores(home, load_config(home))  # as the first process run would
    opened.state.close()
    opened.timeseries.close()
    return home


#: state-store collections that reading functions maintain, not data: the ledger's sweep marks
#: (how far its projection caches are up to date: any reader of positions advances them, by
#: conditional writes) and the simulated broker's FX anchors (written when it is built)
READ_MAINTAINED = ("ledger_sweeps", "sim_fx_anchors")

ARCTIC_SNAPSHOT = """
import hashlib, json, sys
import arcticdb, pandas as pd
arctic = arcticdb.Arctic(sys.argv[1])
out = {}
for name in sorted(arctic.list_libraries()):
    library = arctic[name]
    for symbol in sorted(library.list_symbols()):
        item = library.read(symbol)
        digest = hashlib.sha256(pd.util.hash_pandas_object(item.data, index=True).values
                                .tobytes()).hexdigest()
        out[f"{name}/{symbol}"] = [item.version, digest, len(library.list_versions(symbol))]
print(json.dumps(out))
"""


def store_snapshot(home: Path) -> dict[str, object]:
    """What the home's stores hold: every state-store document (with its revision) but the
    :data:`READ_MAINTAINED` collections, and per ArcticDB symbol its version, the number of
    versions and a hash of its data (read in a subprocess: one process must not open an LMDB
    path twice)."""
    uri = f"{(home / 'state.sqlite').resolve().as_uri()}?mode=ro"
    conn = sqlite3.connect(uri, uri=True)
    try:
        docs = [row for row in conn.execute("SELECT collection, key, doc, rev FROM docs "
                                            "ORDER BY collection, key")
                if row[0] not in READ_MAINTAINED]
    finally:
        conn.close()
    result = subprocess.run([sys.executable, "-c", ARCTIC_SNAPSHOT, f"lmdb://{home / 'arctic'}"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return {"docs": docs, "arctic": json.loads(result.stdout)}


class DashboardProcess:
    """``systrade --home HOME dashboard --port 0 ARGS`` in a subprocess; :attr:`url` is read
    from its first stdout line (bounded wait); :meth:`stop` sends SIGTERM and returns the exit
    code."""

    def __init__(self, home: Path, *args: str, timeout: float = 120.0):
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.pop("SYSTRADE_DASHBOARD_PASSWORD", None)
        self.process = subprocess.Popen(
            [sys.executable, "-c", CLI, "--home", str(home), "dashboard", "--port", "0", *args],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        line = self._lines.get(timeout=timeout)
        if line is None or "http://" not in line:
            self.stop()
            raise RuntimeError(f"dashboard did not start: {line!r}; stderr: "
                               f"{self.process.stderr.read()}")
        self.first_line = line
        self.url = line.split(" at ", 1)[1].split(" ", 1)[0]

    def _read(self) -> None:
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


@pytest.fixture(scope="module")
def chromium() -> str:
    """The Chromium binary; missing is a failure in CI (.ci/run installs it), a skip
    elsewhere."""
    path = chromium_path()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs Debian's chromium)")
        pytest.skip("chromium is not installed: apt-get install chromium")
    return path


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return build_home(tmp_path_factory.mktemp("dashboard") / "home")


@pytest.fixture(scope="module")
def served(home):
    """``(server, snapshot of the stores before it started)``; stopped after the module."""
    before = store_snapshot(home)
    server = DashboardProcess(home, "--refresh", "600")
    yield server, before
    server.stop()
