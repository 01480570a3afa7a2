"""Leases in the state store, on SQLite and MongoDB (``state_store`` fixture: both backends)."""
from __future__ import annotations

import pytest

from syscore.exceptions import LeaseHeld
from sysdata.leases import LEASES, LeaseData, hold_lease
from tests.process_helpers import dead_pid


class Clock:
    def __init__(self, now: float = 1_700_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_second_holder_is_refused_with_who_holds_it(state_store):
    clock = Clock()
    first = LeaseData(state_store, clock, host="alpha", pid=1234)
    other = LeaseData(state_store, clock, host="beta", pid=99)
    first.take("process/run_x", "update_historical_prices", 60)
    with pytest.raises(LeaseHeld) as caught:
        other.take("process/run_x", "update_historical_prices", 60)
    assert str(caught.value).startswith(
        "update_historical_prices is running: pid 1234 on host alpha since 22:13 UTC")
    assert state_store.get(LEASES, "process/run_x")["host"] == "alpha"


def test_expired_lease_is_taken_over_and_renewal_keeps_it(state_store):
    clock = Clock()
    first = LeaseData(state_store, clock, host="alpha", pid=1)
    other = LeaseData(state_store, clock, host="beta", pid=2)
    lease = first.take("series/fx_prices", "update_fx_prices", 60)
    clock.now += 50
    first.renew(lease)  # expiry pushed to now + 60
    clock.now += 50
    with pytest.raises(LeaseHeld):
        other.take("series/fx_prices", "init_spot_fx", 60)
    clock.now += 11
    taken = other.take("series/fx_prices", "init_spot_fx", 60)
    with pytest.raises(LeaseHeld, match="was lost: init_spot_fx is running: pid 2 on host beta"):
        first.renew(lease)
    first.release(lease)  # never releases someone else's lease
    assert state_store.get(LEASES, "series/fx_prices")["token"] == taken.token
    other.release(taken)
    assert state_store.get(LEASES, "series/fx_prices") is None


def test_lease_of_a_dead_process_on_this_host_is_taken_over(state_store):
    dead = LeaseData(state_store, host="here", pid=dead_pid())
    dead.take("process/run_y", "run_y", 600)
    alive_here = LeaseData(state_store, host="here")
    lease = alive_here.take("process/run_y", "run_y", 600)
    assert state_store.get(LEASES, "process/run_y")["token"] == lease.token


def test_taking_over_says_the_holder_was_gone_not_that_it_is_running(state_store, caplog):
    pid = dead_pid()
    LeaseData(state_store, host="here", pid=pid).take("process/run_y", "run_y", 600)
    with caplog.at_level("WARNING", logger="systrade.leases"):
        LeaseData(state_store, host="here").take("process/run_y", "run_y", 600)
    lines = [r.getMessage() for r in caplog.records if "taken over" in r.getMessage()]
    assert len(lines) == 1 and "is running" not in lines[0], lines
    assert lines[0].startswith(f"lease process/run_y taken over from run_y (pid {pid} on host "
                               f"here, started "), lines[0]
    assert lines[0].endswith(" UTC; process gone)"), lines[0]


def test_hold_lease_is_reentrant_in_one_process_and_released_at_the_end(state_store):
    with hold_lease(state_store, "series/multiple_prices", "outer", 60) as outer:
        with hold_lease(state_store, "series/multiple_prices", "inner", 60) as inner:
            assert inner == outer
        assert state_store.get(LEASES, "series/multiple_prices")["owner"] == "outer"
        with pytest.raises(LeaseHeld, match="outer is running"):
            LeaseData(state_store, host="elsewhere", pid=7).take(
                "series/multiple_prices", "other", 60)
    assert state_store.get(LEASES, "series/multiple_prices") is None


def test_lease_is_released_when_the_block_raises(state_store):
    with pytest.raises(RuntimeError):
        with hold_lease(state_store, "process/run_z", "run_z", 60):
            raise RuntimeError("boom")
    assert state_store.get(LEASES, "process/run_z") is None


def _wait_until(condition, what: str, timeout: float = 60.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_keeper_renews_while_held_and_notices_a_lost_lease(state_store):
    from sysdata.leases import LeaseKeeper

    leases = LeaseData(state_store, host="here")
    lease = leases.take("process/run_k", "run_k", 0.6)  # renewed every 0.2 s
    first_expiry = state_store.get(LEASES, "process/run_k")["expires_at"]
    keeper = LeaseKeeper(leases, lease).start()
    try:
        _wait_until(lambda: state_store.get(LEASES, "process/run_k")["expires_at"] > first_expiry,
                    "the keeper to renew the lease")
        taken = dict(state_store.get(LEASES, "process/run_k"), token="someone-else",
                     owner="run_k_elsewhere", host="there")
        state_store.put(LEASES, "process/run_k", taken)
        _wait_until(lambda: keeper.lost is not None, "the keeper to notice the lost lease")
        assert "run_k_elsewhere is running" in keeper.lost
    finally:
        keeper.stop()
    assert state_store.get(LEASES, "process/run_k")["token"] == "someone-else"
