"""The simulated broker is an external party: its state survives SIGKILL of any process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from sysbrokers.sim.broker import SimBroker, SimBrokerConfig
from syscore.clock import SimulatedClock

REPO = Path(__file__).resolve().parents[3]
T0 = pd.Timestamp("2024-01-09 15:00", tz="UTC")

_PREAMBLE = """
import json, sys, time
import pandas as pd
from syscore.clock import SimulatedClock
from sysbrokers.sim.broker import SimBroker, SimBrokerConfig
home = sys.argv[1]
clock = SimulatedClock(home, start=pd.Timestamp("2024-01-09 15:00", tz="UTC"))
broker = SimBroker(clock, home, config=SimBrokerConfig(participation=float(sys.argv[2])))
"""

_PLACE_THEN_HANG = (
    _PREAMBLE
    + """
order = broker.place_order("SP500_micro", "202403", 250, client_ref="abc")
print(order.order_id, flush=True)
time.sleep(600)
"""
)

_REPORT = (
    _PREAMBLE
    + """
orders = [[o.order_id, o.status.name, o.filled_quantity, o.client_ref] for o in broker.get_orders()]
execs = [[e.exec_id, e.order_id, e.quantity, e.price, e.timestamp.value] for e in broker.get_executions()]
positions = [[p.instrument_code, p.contract_date, p.quantity] for p in broker.get_positions()]
print(json.dumps({"orders": orders, "executions": execs, "positions": positions}), flush=True)
"""
)

_POLL_FOREVER = (
    _PREAMBLE
    + """
print("ready", flush=True)
stop = pd.Timestamp("2024-01-09 15:10", tz="UTC")  # well before the orders can complete
while True:
    if clock.now() < stop:
        clock.advance(pd.Timedelta(seconds=1))
    broker.get_orders()
"""
)

ORDERS = [
    ("SP500_micro", "202403", 400),
    ("SP500_micro", "202406", -150),
    ("CORN", "202403", 300),
    ("EUROSTX", "202403", -250),
    ("US10", "202403", 120),
]


def _spawn(script: str, home: Path, participation: float = 1.0) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", script, str(home), str(participation)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _report(home: Path, participation: float = 1.0) -> dict:
    proc = _spawn(_REPORT, home, participation)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return json.loads(out)


def _kill(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def test_sigkill_between_order_and_fill_loses_nothing_and_duplicates_nothing(systrade_home):
    child = _spawn(_PLACE_THEN_HANG, systrade_home)
    order_id = child.stdout.readline().strip()
    _kill(child)
    SimulatedClock(systrade_home).advance(pd.Timedelta(minutes=10))
    first = _report(systrade_home)
    second = _report(systrade_home)
    assert first == second  # a new process sees the same state, fills exactly once
    assert first["orders"] == [[order_id, "FILLED", 250, "abc"]]
    executions = first["executions"]
    assert sum(e[2] for e in executions) == 250
    assert len({e[0] for e in executions}) == len(executions) > 1
    assert first["positions"] == [["SP500_micro", "202403", 250]]


def test_repeated_sigkill_while_processing_matches_an_uninterrupted_run(systrade_home, tmp_path):
    participation = 0.05
    config = SimBrokerConfig(participation=participation)
    clock = SimulatedClock(systrade_home, start=T0)
    broker = SimBroker(clock, systrade_home, config=config)
    for code, contract, qty in ORDERS:
        broker.place_order(code, contract, qty)
    broker.close()
    for _ in range(3):
        child = _spawn(_POLL_FOREVER, systrade_home, participation)
        assert child.stdout.readline().strip() == "ready"
        time.sleep(0.6)
        _kill(child)
    interrupted_until = SimulatedClock(systrade_home).now()
    assert interrupted_until > T0 + pd.Timedelta(seconds=20)  # the children did process
    midway = _report(systrade_home, participation)
    filled = [o[2] for o in midway["orders"]]
    assert any(filled) and midway["orders"] and any(o[1] != "FILLED" for o in midway["orders"])
    end = T0 + pd.Timedelta(hours=2)
    SimulatedClock(systrade_home).set(end)
    after_kills = _report(systrade_home, participation)

    reference_home = tmp_path / "reference"
    ref_clock = SimulatedClock(reference_home, start=T0)
    reference = SimBroker(ref_clock, reference_home, config=config)
    for code, contract, qty in ORDERS:
        reference.place_order(code, contract, qty)
    ref_clock.set(end)
    expected = [
        [e.exec_id, e.order_id, e.quantity, e.price, e.timestamp.value]
        for e in reference.get_executions()
    ]

    def key(rows):
        return sorted((r[1], r[4], r[2], r[3]) for r in rows)

    assert key(after_kills["executions"]) == key(expected)
    assert len({e[0] for e in after_kills["executions"]}) == len(after_kills["executions"])
    for order_id, status, filled, _ in after_kills["orders"]:
        assert status == "FILLED"
        assert filled == sum(e[2] for e in after_kills["executions"] if e[1] == order_id)
    positions = {(c, d): q for c, d, q in after_kills["positions"]}
    assert positions == {(c, d): q for c, d, q in ORDERS}


_PLACE_MANY = (
    _PREAMBLE
    + """
ids = [broker.place_order("US10", "202403", 1 if i % 2 else -1).order_id for i in range(25)]
print(json.dumps(ids), flush=True)
"""
)


def test_concurrent_processes_get_unique_ids(systrade_home):
    SimulatedClock(systrade_home, start=T0)
    children = [_spawn(_PLACE_MANY, systrade_home) for _ in range(3)]
    ids = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        ids.extend(json.loads(out))
    assert sorted(int(i) for i in ids) == list(range(1, 76))
    SimulatedClock(systrade_home).advance(pd.Timedelta(minutes=1))
    report = _report(systrade_home)
    assert len(report["orders"]) == 75 and all(o[1] == "FILLED" for o in report["orders"])
    exec_ids = [e[0] for e in report["executions"]]
    assert len(exec_ids) == len(set(exec_ids)) >= 75
    assert sum(e[2] for e in report["executions"]) == sum(1 if i % 2 else -1 for i in range(25)) * 3
