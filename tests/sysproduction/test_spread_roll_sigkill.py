"""Crash safety of Force rolls (spread orders): the stack handler as a real subprocess rolling
two instruments by spread orders, SIGKILLed N >= 20 times at seeded store writes (or, one seed
in three, right after the broker accepted a spread order and before our stack says so) and
restarted each time (SQLite state, simulated broker).

At the end: every strategy position unchanged, every contract position moved from the priced
contract to the forward and equal to the broker's, the ledger's fills per contract equal to the
broker's executions (each execution id booked once), one broker order per client_ref, every
spread order placed just before a kill adopted (not placed again), nothing left on the stacks.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd

from sysbrokers.sim.broker import SimBroker
from sysbrokers.sim.market import default_market
from syscore.clock import SimulatedClock
from sysproduction.update_strategy_orders import update_strategy_orders
from tests.blob_helpers import make_blob

REPO = Path(__file__).resolve().parents[2]
T0 = pd.Timestamp("2024-01-09 15:00", tz="UTC")
KILLS = 20
PRICED, FORWARD = "202403", "202406"
TARGETS = {("s1", "SP500_micro"): 3, ("s2", "SP500_micro"): 1, ("s1", "NASDAQ_micro"): -2}

CHILD = textwrap.dedent("""
    import json, os, random, signal, sys
    from pathlib import Path
    sys.path.insert(0, {repo!r})
    import pandas as pd
    from sysbrokers.sim.broker import SimBroker
    from sysbrokers.sim.market import default_market
    from syscore.clock import SimulatedClock
    from sysproduction.run_stack_handler import stack_handler_pass
    from tests.blob_helpers import make_blob

    home, seed = Path(sys.argv[1]), int(sys.argv[2])

    def die(interrupted):  # say what the kill interrupts, durably, then die
        with open(home / "kills.jsonl", "a") as log:
            log.write(json.dumps(interrupted) + "\\n")
            log.flush()
            os.fsync(log.fileno())
        os.kill(os.getpid(), signal.SIGKILL)

    def broker_factory(blob):
        broker = SimBroker(clock, home, default_market())
        if seed >= 0 and seed % 3 == 2:  # die once the broker has the spread, before SENT
            real_place = broker.place_spread_order
            def placing_then_dying(*args, **kwargs):
                placed = real_place(*args, **kwargs)
                die({{"placed": placed.client_ref}})
            broker.place_spread_order = placing_then_dying
        return broker

    clock = SimulatedClock(home)
    data = make_blob(home, clock=clock, broker_factory=broker_factory)
    if seed >= 0:  # die at a seeded store write of the work
        kill_at, calls, real_apply = random.Random(seed).randint(1, 10), [0], data.state.apply
        def dying_apply(operations):
            operations = list(operations)
            # not counted: sweep marks and the recovery watermark (bookkeeping, once per start)
            calls[0] += any(op.collection not in ("ledger_sweeps", "execution_recovery")
                            for op in operations)
            if calls[0] == kill_at:
                uids = [(getattr(op, "doc", None) or {{}}).get("uid") for op in operations]
                die({{"writes": [[op.collection, uid] for op, uid in zip(operations, uids)]}})
            return real_apply(operations)
        data.state.apply = dying_apply
    contracts = lambda data, code: ({priced!r}, {forward!r})
    # one record per batch: a child that dies within its first ten writes still gets work
    # committed (with the default batch of 1000 every restart would redo its first batch)
    execution = {{"default_algo": "market", "batch_records": 1}}
    for _ in range(40):
        stack_handler_pass(data, contracts=contracts, execution=execution)
        if not any(data.order_stack(s).orders() for s in ("instrument", "contract", "broker")):
            sys.exit(0)
        clock.advance(pd.Timedelta(minutes=1))
    sys.exit(4)  # still orders after 40 passes
""")


def _run(script: Path, home: Path, seed: int) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(script), str(home), str(seed)],
                          env=dict(os.environ), capture_output=True, text=True, timeout=300)


def test_sigkilled_force_rolls_lose_nothing_duplicate_nothing(systrade_home, tmp_path):
    clock = SimulatedClock(systrade_home, start=T0)

    def blob():
        return make_blob(systrade_home, clock=clock, broker_factory=lambda b: SimBroker(
            clock, systrade_home, default_market()))

    data = blob()
    for (strategy, code), target in TARGETS.items():
        data.optimal_positions.add(strategy, code, T0, target, target, 100.0, PRICED, T0)
    assert update_strategy_orders(data).ok
    data.close()
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(repo=str(REPO), priced=PRICED, forward=FORWARD))
    run = _run(script, systrade_home, -1)  # the positions, traded without kills
    assert run.returncode == 0, run.stderr[-3000:]
    data = blob()
    codes = sorted({code for _, code in TARGETS})
    net = {code: sum(t for (_, c), t in TARGETS.items() if c == code) for code in codes}
    for code in codes:
        assert data.positions.get_contract_position(code, PRICED) == net[code]
        data.roll_states.set(code, "Force")
    data.close()

    kills, seed, finished = 0, 200, False  # seeds that land kills on every path with batches
    while kills < KILLS:
        run = _run(script, systrade_home, seed)
        seed += 1
        if run.returncode == -signal.SIGKILL:
            kills += 1
            continue
        assert run.returncode == 0, run.stderr[-3000:]
        finished = True
        break
    if not finished:
        run = _run(script, systrade_home, -1)
        assert run.returncode == 0, run.stderr[-3000:]
    assert kills >= KILLS

    interrupted = [json.loads(line)
                   for line in (systrade_home / "kills.jsonl").read_text().splitlines()]
    assert len(interrupted) == kills
    writes = [w for entry in interrupted for w in entry.get("writes", [])]
    fills_killed = {uid for _, uid in writes if uid and uid.startswith("fill:")}
    placed_killed = [entry["placed"] for entry in interrupted if "placed" in entry]
    where = f"the kills no longer land where this test needs them: {interrupted}"
    assert fills_killed, "before a leg's fill record: " + where
    assert placed_killed, "between a placed spread and its SENT: " + where

    data = blob()
    try:
        for uid in fills_killed:  # the interrupted booking was finished by a restart
            assert data.ledger.find_uid(uid) is not None, uid
        bstack = data.order_stack("broker")
        for ref in placed_killed:  # placed, then killed: adopted by client_ref, not re-placed
            [theirs] = data.broker.find_orders(ref)
            [ours] = bstack.find_by_client_ref(ref)
            assert theirs.is_spread and ours.broker_order_id == theirs.order_id
            assert any(e.reason.startswith("adopted") for e in bstack.events(ours.order_id))
        for key, target in TARGETS.items():
            assert data.positions.get_strategy_position(*key) == target  # a roll moves none
        broker = {(p.instrument_code, p.contract_date): p.quantity
                  for p in data.broker.get_positions()}
        assert broker == {(code, FORWARD): net[code] for code in codes}
        for code in codes:
            assert data.positions.get_contract_position(code, PRICED) == 0
            assert data.positions.get_contract_position(code, FORWARD) == net[code]
        booked = [d["record"]["exec_id"] for d in data.ledger.records(0, None)
                  if d["kind"] == "fill"]
        assert sorted(booked) == sorted(e.exec_id for e in data.broker.get_executions())
        refs = [o.client_ref for o in data.broker.get_orders()]
        assert len(refs) == len(set(refs))  # never two broker orders for one of ours
        rolls = [b for b in bstack.historic_orders() if b.roll_order]
        assert rolls and all(b.is_spread for b in rolls)  # Force: spread orders only
        assert all(theirs.is_spread for b in rolls
                   for theirs in data.broker.find_orders(b.client_ref))
        assert not any(data.order_stack(s).orders() for s in ("instrument", "contract",
                                                                "broker"))
    finally:
        data.close()
