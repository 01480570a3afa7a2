import itertools

import pytest

from syscontrol.process_status import (
    RUN_TRANSITIONS,
    IllegalTransition,
    ProcessStatus,
    RunState,
    change_run_state,
    change_status,
)
from syscore.exceptions import InvalidData

ALLOWED_RUN = {
    (RunState.NEVER_RAN, RunState.RUNNING),
    (RunState.RUNNING, RunState.FINISHED),
    (RunState.RUNNING, RunState.CRASHED),
    (RunState.FINISHED, RunState.RUNNING),
    (RunState.CRASHED, RunState.RUNNING),
    (RunState.CRASHED, RunState.FINISHED),
}


@pytest.mark.parametrize("current,new", list(itertools.product(RunState, RunState)))
def test_run_state_accepts_exactly_its_table(current, new):
    if (current, new) in ALLOWED_RUN:
        assert change_run_state(current, new) is new
    else:
        with pytest.raises(IllegalTransition):
            change_run_state(current, new)


def test_table_written_here_matches_module():
    assert {(a, b) for a, targets in RUN_TRANSITIONS.items() for b in targets} == ALLOWED_RUN


@pytest.mark.parametrize("current,new", list(itertools.product(ProcessStatus, ProcessStatus)))
def test_operator_may_set_any_status(current, new):
    assert change_status(current, new) is new


@pytest.mark.parametrize("text,status", [("go", ProcessStatus.GO), ("NO-RUN", ProcessStatus.NO_RUN),
                                         ("no_run", ProcessStatus.NO_RUN),
                                         (" pause ", ProcessStatus.PAUSE),
                                         ("Stop", ProcessStatus.STOP)])
def test_parse(text, status):
    assert ProcessStatus.parse(text) is status


def test_parse_unknown_names_the_choices():
    with pytest.raises(InvalidData, match="go, stop, no-run, pause"):
        ProcessStatus.parse("halt")


@pytest.mark.parametrize("status,start,methods,stop", [
    (ProcessStatus.GO, True, True, False),
    (ProcessStatus.STOP, False, False, True),
    (ProcessStatus.NO_RUN, False, True, False),
    (ProcessStatus.PAUSE, True, False, False),
])
def test_status_meanings(status, start, methods, stop):
    assert (status.allows_start, status.allows_methods, status.asks_stop) == (start, methods, stop)
