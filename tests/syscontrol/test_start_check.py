import datetime as dt

import pytest

from syscontrol.process_status import ProcessStatus, RunState
from syscontrol.run_window import RunWindow
from syscontrol.start_check import ProcessRecord, Verdict, decide_start, is_alive

UTC = dt.timezone.utc
NOW = dt.datetime(2024, 3, 7, 21, 0, tzinfo=UTC)  # a Thursday
WINDOW = RunWindow.from_text("20:00", "23:59")
LIVE_PIDS = {4242}


def pid_exists(pid: int) -> bool:
    return pid in LIVE_PIDS


def ago(**kwargs) -> dt.datetime:
    return NOW - dt.timedelta(**kwargs)


def record(**kwargs) -> ProcessRecord:
    return ProcessRecord(name="run_systems", **kwargs)


@pytest.mark.parametrize("rec,alive", [
    (record(), False),
    (record(run_state=RunState.RUNNING, pid=4242, host="a"), True),      # our host, live pid
    (record(run_state=RunState.RUNNING, pid=99, host="a"), False),       # our host, dead pid
    (record(run_state=RunState.RUNNING, pid=99, host="b", heartbeat=ago(minutes=5)), True),
    (record(run_state=RunState.RUNNING, pid=99, host="b", heartbeat=ago(minutes=16)), False),
    (record(run_state=RunState.RUNNING, pid=99, host="b", last_start=ago(minutes=1)), True),
    (record(run_state=RunState.FINISHED, pid=4242, host="a"), False),
])
def test_is_alive(rec, alive):
    assert is_alive(rec, NOW, "a", pid_exists) is alive


def finished_previous(hours_ago: float) -> ProcessRecord:
    return ProcessRecord(name="run_daily_prices_updates", run_state=RunState.FINISHED,
                         last_end=ago(hours=hours_ago))


@pytest.mark.parametrize("rec,now,previous,verdict,reason", [
    (record(), NOW, None, Verdict.START, ""),
    (record(run_state=RunState.RUNNING, pid=4242, host="a", last_start=ago(hours=1)), NOW, None,
     Verdict.REFUSE, "already running: pid 4242 on host a since 2024-03-07 20:00 UTC"),
    (record(run_state=RunState.RUNNING, pid=7, host="a"), NOW, None, Verdict.START, ""),
    (record(status=ProcessStatus.STOP), NOW, None, Verdict.REFUSE, "status STOP"),
    (record(status=ProcessStatus.NO_RUN), NOW, None, Verdict.WAIT, "status NO-RUN"),
    (record(status=ProcessStatus.PAUSE), NOW, None, Verdict.START, ""),
    (record(), ago(hours=2), None, Verdict.WAIT, "next opens 2024-03-07 20:00"),
    (record(), NOW + dt.timedelta(hours=3), None, Verdict.REFUSE, "next opens 2024-03-08 20:00"),
    (record(), NOW, finished_previous(1), Verdict.START, ""),
    (record(), NOW, finished_previous(25), Verdict.WAIT, "waits for run_daily_prices_updates"),
    (record(), NOW, ProcessRecord(name="run_daily_prices_updates", run_state=RunState.RUNNING,
                                  last_start=ago(hours=1)),
     Verdict.WAIT, "waits for run_daily_prices_updates"),
])
def test_decide_start(rec, now, previous, verdict, reason):
    decision = decide_start(rec, WINDOW, now, "a", pid_exists, previous)
    assert decision.verdict is verdict
    assert reason in decision.reason
    assert decision.allowed is (verdict is Verdict.START)
