import datetime as dt

import pytest

from syscontrol.method_timer import (
    MethodRuns,
    MethodSchedule,
    all_exhausted,
    is_due,
    is_exhausted,
    next_due,
)

T0 = dt.datetime(2024, 3, 7, 20, 0, tzinfo=dt.timezone.utc)


def minutes(n: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=n)


@pytest.mark.parametrize("schedule,runs,now,due", [
    (MethodSchedule("a"), MethodRuns(), T0, True),                          # never run
    (MethodSchedule("a", frequency=60), MethodRuns(1, T0, T0), minutes(59), False),
    (MethodSchedule("a", frequency=60), MethodRuns(1, T0, T0), minutes(60), True),
    (MethodSchedule("a", frequency=0), MethodRuns(5, T0, T0), T0, True),    # every loop
    (MethodSchedule("a", max_executions=1), MethodRuns(1, T0, T0), minutes(999), False),
    (MethodSchedule("a", frequency=60, max_executions=24), MethodRuns(23, T0, T0), minutes(60),
     True),
    (MethodSchedule("a", frequency=60, max_executions=24), MethodRuns(24, T0, T0), minutes(60),
     False),
    (MethodSchedule("a", run_on_completion_only=True), MethodRuns(), T0, False),
])
def test_is_due(schedule, runs, now, due):
    assert is_due(schedule, runs, now) is due


def test_runs_count_and_times():
    runs = MethodRuns().started(T0).ended(minutes(2)).started(minutes(60))
    assert (runs.executions, runs.last_start, runs.last_end) == (2, minutes(60), minutes(2))


def test_every_loop_spaces_only_frequency_zero():
    every = dt.timedelta(minutes=15)
    assert next_due(MethodSchedule("a"), MethodRuns(1, T0, T0), every) == minutes(15)
    assert not is_due(MethodSchedule("a"), MethodRuns(1, T0, T0), minutes(14), every)
    assert is_due(MethodSchedule("a"), MethodRuns(1, T0, T0), minutes(15), every)
    assert next_due(MethodSchedule("a", frequency=10), MethodRuns(1, T0, T0), every) == minutes(10)
    assert next_due(MethodSchedule("a"), MethodRuns(), every) < T0  # never run: due at once


def test_next_due_from_last_start():
    assert next_due(MethodSchedule("a", frequency=15), MethodRuns(1, T0, minutes(5))) == minutes(15)


def test_unlimited_never_exhausted():
    assert not is_exhausted(MethodSchedule("a", max_executions=-1), MethodRuns(10 ** 6, T0, T0))


def test_all_exhausted_ignores_completion_methods():
    schedules = {"a": MethodSchedule("a", max_executions=1),
                 "z": MethodSchedule("z", run_on_completion_only=True)}
    assert not all_exhausted(schedules, {})
    assert all_exhausted(schedules, {"a": MethodRuns(1, T0, T0)})


@pytest.mark.parametrize("kwargs", [{"frequency": -1}, {"max_executions": 0},
                                    {"max_executions": -2}])
def test_bad_schedules(kwargs):
    with pytest.raises(ValueError, match="method a"):
        MethodSchedule("a", **kwargs)
