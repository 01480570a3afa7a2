"""ProcessControl on the real state stores (SQLite and MongoDB-wire)."""
import datetime as dt

import pytest

from syscontrol.control import AlreadyRunning, NotOwner, ProcessControl
from syscontrol.method_timer import MethodRuns
from syscontrol.process_status import ProcessStatus, RunState
from sysdata.process_control import ProcessControlData
from tests.sysdata.conftest import state_store  # noqa: F401 - the per-backend fixture

UTC = dt.timezone.utc
T0 = dt.datetime(2024, 3, 7, 21, 0, tzinfo=UTC)
ALIVE = {100, 200}


def alive(pid):
    return pid in ALIVE


@pytest.fixture
def control(state_store):  # noqa: F811
    return ProcessControl(ProcessControlData(state_store))


def test_never_seen_process(control):
    record = control.record("run_systems")
    assert (record.status, record.run_state, record.pid) == (ProcessStatus.GO,
                                                              RunState.NEVER_RAN, None)


def test_claim_then_second_claim_refused(control):
    control.claim_start("run_systems", "a", 100, T0, alive)
    with pytest.raises(AlreadyRunning, match="pid 100 on host a since 2024-03-07 21:00 UTC"):
        control.claim_start("run_systems", "a", 200, T0, alive)
    with pytest.raises(AlreadyRunning):  # another host sees the fresh heartbeat
        control.claim_start("run_systems", "b", 300, T0 + dt.timedelta(minutes=5), alive)


def test_dead_holder_is_taken_over(control):
    control.claim_start("run_systems", "a", 999, T0, alive)  # 999 is not alive
    record = control.claim_start("run_systems", "a", 100, T0, alive)
    assert (record.pid, record.run_state) == (100, RunState.RUNNING)


def test_stale_heartbeat_from_other_host_taken_over(control):
    control.claim_start("run_systems", "a", 100, T0, alive)
    later = T0 + dt.timedelta(minutes=16)
    assert control.claim_start("run_systems", "b", 5, later, alive).host == "b"


def test_method_runs_finish_and_ownership(control):
    control.claim_start("run_capital_update", "a", 100, T0, alive)
    control.method_started("run_capital_update", "a", 100, "update_total_capital", T0)
    control.method_ended("run_capital_update", "a", 100, "update_total_capital",
                         T0 + dt.timedelta(seconds=3))
    runs = control.method_runs("run_capital_update")
    assert runs == {"update_total_capital": MethodRuns(1, T0, T0 + dt.timedelta(seconds=3))}
    with pytest.raises(NotOwner):
        control.heartbeat("run_capital_update", "a", 200, T0)
    record = control.finish("run_capital_update", "a", 100, T0 + dt.timedelta(minutes=1))
    assert (record.run_state, record.pid) == (RunState.FINISHED, None)
    assert record.last_end == T0 + dt.timedelta(minutes=1)
    with pytest.raises(NotOwner):  # finishing twice
        control.finish("run_capital_update", "a", 100, T0)
    # a new session starts its method counters afresh
    control.claim_start("run_capital_update", "a", 100, T0 + dt.timedelta(hours=1), alive)
    assert control.method_runs("run_capital_update") == {}


def test_mark_dead_and_mark_close(control):
    control.claim_start("p_dead_pid", "a", 999, T0, alive)
    control.claim_start("p_live", "a", 100, T0, alive)
    control.claim_start("p_other_host_stale", "b", 1, T0 - dt.timedelta(hours=1), alive)
    control.claim_start("p_other_host_fresh", "b", 2, T0, alive)
    assert control.mark_dead(T0, "a", alive) == ["p_dead_pid", "p_other_host_stale"]
    assert control.record("p_dead_pid").run_state is RunState.CRASHED
    assert control.record("p_live").run_state is RunState.RUNNING
    assert control.mark_dead(T0, "a", alive) == []  # idempotent
    assert control.mark_close("p_dead_pid", T0).run_state is RunState.FINISHED
    assert control.mark_close("p_live", T0).run_state is RunState.FINISHED


def test_status_changes(control):
    assert control.set_status("run_systems", ProcessStatus.STOP).status is ProcessStatus.STOP
    assert control.record("run_systems").status is ProcessStatus.STOP
    control.set_status("run_systems", ProcessStatus.GO)
    assert control.record("run_systems").status is ProcessStatus.GO
