"""Crash safety of the end of day: ``stack_handler_end_of_day`` as a real subprocess over
working orders (best algo, some part-filled), SIGKILLed at a seeded store write again and again
and restarted each time, the broker's fills arriving while it is dead (the simulated clock
moves on between runs). At the end the stacks are clean (every family completed), strategy
positions = the ledger's fills per strategy, contract positions = broker positions = the
ledger's fills per instrument, each broker execution booked exactly once, one broker order per
client_ref, nothing working at the broker."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from sysbrokers.sim.broker import SimBroker
from sysbrokers.sim.market import default_market
from syscore.clock import SimulatedClock
from sysproduction.run_stack_handler import stack_handler_pass
from sysproduction.update_strategy_orders import update_strategy_orders
from tests.blob_helpers import make_blob

REPO = Path(__file__).resolve().parents[2]
T0 = pd.Timestamp("2024-01-09 15:00", tz="UTC")
MIN_KILLS = 8
MAX_RUNS = 100  # each run dies at one of its first 12 writes or finishes
TARGETS = {("s1", "SP500_micro"): 300, ("s1", "NASDAQ_micro"): -2, ("s2", "SP500_micro"): -1,
           ("s2", "NASDAQ_micro"): 4, ("s3", "SP500_micro"): 2, ("s3", "NASDAQ_micro"): -250}
EXECUTION = {"passive_seconds": 10**5, "total_seconds": 10**6}  # stays working all day

CHILD = textwrap.dedent("""
    import json, os, random, signal, sys
    from pathlib import Path
    sys.path.insert(0, {repo!r})
    import pandas as pd
    from sysbrokers.sim.broker import SimBroker
    from sysbrokers.sim.market import default_market
    from syscore.clock import SimulatedClock
    from sysproduction.run_stack_handler import stack_handler_end_of_day
    from tests.blob_helpers import make_blob

    home, seed = Path(sys.argv[1]), int(sys.argv[2])
    clock = SimulatedClock(home)
    data = make_blob(home, clock=clock,
                     broker_factory=lambda blob: SimBroker(clock, home, default_market()))
    if seed >= 0:
        kill_at, calls, real_apply = random.Random(seed).randint(1, 12), [0], data.state.apply
        def dying_apply(operations):
            operations = list(operations)
            # not counted: sweep marks and the recovery watermark (bookkeeping, once per start)
            calls[0] += any(op.collection not in ("ledger_sweeps", "execution_recovery")
                            for op in operations)
            if calls[0] == kill_at:
                uids = [(getattr(op, "doc", None) or {{}}).get("uid") for op in operations]
                with open(home / "kills.jsonl", "a") as log:
                    log.write(json.dumps([[op.collection, u] for op, u in zip(operations, uids)])
                              + "\\n")
                    log.flush()
                    os.fsync(log.fileno())
                os.kill(os.getpid(), signal.SIGKILL)
            return real_apply(operations)
        data.state.apply = dying_apply
    report = stack_handler_end_of_day(
        data, max_wait_seconds=30, poll_seconds=1,
        sleep=lambda s: clock.advance(pd.Timedelta(seconds=s)))
    sys.exit(0 if report.ok else 3)
""")


def _blob(home, clock):
    return make_blob(home, clock=clock,
                     broker_factory=lambda blob: SimBroker(clock, home, default_market()))


def test_end_of_day_sigkilled_and_restarted_leaves_clean_stacks(systrade_home, tmp_path):
    clock = SimulatedClock(systrade_home, start=T0)
    data = _blob(systrade_home, clock)
    for (strategy, code), target in TARGETS.items():
        data.optimal_positions.add(strategy, code, T0, target, target, 100.0, "202403", T0)
    assert update_strategy_orders(data).ok
    contracts = lambda data, code: ("202403", "202406")  # noqa: E731
    for _ in range(3):  # the day: orders placed, some filled, some part-filled, most working
        stack_handler_pass(data, contracts=contracts, execution=EXECUTION)
        clock.advance(pd.Timedelta(seconds=6))
    working = [o for o in data.order_stack("broker").orders() if o.status.value == "WORKING"]
    assert len(working) >= 3, [o.status for o in data.order_stack("broker").orders()]
    data.close()

    script = tmp_path / "child.py"
    script.write_text(CHILD.format(repo=str(REPO)))
    kills = 0
    for seed in range(MAX_RUNS):  # bounded: an end of day that never finishes fails, not hangs
        run = subprocess.run([sys.executable, str(script), str(systrade_home), str(seed)],
                             env=dict(os.environ), capture_output=True, text=True, timeout=300)
        if run.returncode == -signal.SIGKILL:
            kills += 1
            clock.advance(pd.Timedelta(seconds=3))  # dead: the broker fills on meanwhile
            continue
        assert run.returncode == 0, run.stderr[-3000:]
        break
    else:
        pytest.fail(f"the end of day never finished in {MAX_RUNS} runs ({kills} killed)")
    assert kills >= MIN_KILLS, f"the end of day finished after only {kills} kills"
    killed = [json.loads(line) for line in (systrade_home / "kills.jsonl").read_text()
              .splitlines()]
    assert len(killed) == kills
    written = {collection for entry in killed for collection, _ in entry}
    assert "ledger" in written  # kills landed mid-work on the ledger (events, fills)

    data = _blob(systrade_home, clock)
    try:
        assert not any(data.order_stack(s).orders() for s in ("instrument", "contract",
                                                                "broker"))
        assert data.broker.get_orders(open_only=True) == []
        fills = [d["record"] for d in data.ledger.records(0, None) if d["kind"] == "fill"]
        executions = data.broker.get_executions()
        assert sorted(f["exec_id"] for f in fills) == sorted(e.exec_id for e in executions)
        by_strategy, by_code = {}, {}
        for fill in fills:
            key = (fill["strategy_name"], fill["instrument_code"])
            by_strategy[key] = by_strategy.get(key, 0) + fill["quantity"]
            code = fill["instrument_code"]
            by_code[code] = by_code.get(code, 0) + fill["quantity"]
        for key in TARGETS:
            assert data.positions.get_strategy_position(*key) == by_strategy.get(key, 0)
        broker = {p.instrument_code: p.quantity for p in data.broker.get_positions()}
        for code in ("SP500_micro", "NASDAQ_micro"):
            assert data.positions.get_contract_position(code, "202403") == by_code.get(code, 0)
            assert broker.get(code, 0) == by_code.get(code, 0)
        assert any(0 < abs(by_strategy.get(k, 0)) < abs(t) for k, t in TARGETS.items()), \
            "no part-filled family: the test no longer covers one"
        refs = [o.client_ref for o in data.broker.get_orders()]
        assert len(refs) == len(set(refs))  # never two broker orders for one of ours
        history = data.order_stack("instrument").historic_orders()
        assert len(history) == len(TARGETS)
    finally:
        data.close()
