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


MONDAY_0700 = dt.datetime(2024, 3, 11, 7, 0, tzinfo=UTC)
FRIDAY_2005 = dt.datetime(2024, 3, 8, 20, 5, tzinfo=UTC)
MORNING = RunWindow.from_text("07:00", "23:59")


@pytest.mark.parametrize("window,last_end,verdict", [
    # a weekday schedule: Friday evening's run_systems lets Monday morning's orders go
    (MORNING, FRIDAY_2005, Verdict.START),
    (MORNING, FRIDAY_2005 - dt.timedelta(days=1), Verdict.WAIT),   # Thursday's: too old
    (MORNING, dt.datetime(2024, 3, 9, 12, 0, tzinfo=UTC), Verdict.START),  # on Saturday
    # a window that runs on weekends counts every hour
    (RunWindow.from_text("07:00", "23:59", run_on_weekends=True), FRIDAY_2005, Verdict.WAIT),
])
def test_previous_process_age_skips_the_weekend(window, last_end, verdict):
    previous = ProcessRecord(name="run_systems", run_state=RunState.FINISHED, last_end=last_end)
    decision = decide_start(ProcessRecord(name="run_strategy_order_generator"), window,
                            MONDAY_0700, "a", pid_exists, previous)
    assert decision.verdict is verdict, decision.reason


def test_weekday_age():
    from syscontrol.start_check import weekday_age

    assert weekday_age(FRIDAY_2005, MONDAY_0700, "UTC") == dt.timedelta(hours=10, minutes=55)
    assert weekday_age(MONDAY_0700 - dt.timedelta(hours=2), MONDAY_0700, "UTC") == \
        dt.timedelta(hours=2)
    # local days of the window's zone: Friday 23:00 to Monday 01:00 in Tokyo
    assert weekday_age(dt.datetime(2024, 3, 8, 14, 0, tzinfo=UTC),
                       dt.datetime(2024, 3, 10, 16, 0, tzinfo=UTC), "Asia/Tokyo") == \
        dt.timedelta(hours=2)
