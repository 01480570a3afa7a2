from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sysexecution.reconcile import (
    BREAK_LOCK_REASON,
    BrokerExecution,
    OpenOrder,
    PositionBreak,
    internal_breaks,
    lock_changes,
    missed_executions,
    order_differences,
    position_breaks,
)


def test_position_breaks_count_missing_as_zero():
    ours = {("CORN", "202409"): 2, ("GOLD", "202408"): -1, ("US10", "202409"): 0}
    broker = {("CORN", "202409"): 2, ("GOLD", "202408"): -2, ("BUND", "202409"): 1}
    assert position_breaks(ours, broker) == [PositionBreak("BUND", "202409", 0, 1),
                                             PositionBreak("GOLD", "202408", -1, -2)]
    assert str(position_breaks(ours, broker)[1]) == "GOLD 202408: ours -1, broker -2"


keys = st.tuples(st.sampled_from(["CORN", "GOLD", "US10"]), st.sampled_from(["202406", "202409"]))
books = st.dictionaries(keys, st.integers(-5, 5), max_size=6)


@given(books, books)
def test_no_break_iff_the_books_agree(ours, broker):
    agree = all(ours.get(k, 0) == broker.get(k, 0) for k in set(ours) | set(broker))
    assert (position_breaks(ours, broker) == []) == agree


def test_locks_set_once_and_lifted_only_when_ours():
    breaks = [PositionBreak("GOLD", "202408", -1, -2)]
    first = lock_changes(breaks, {})
    assert (first.lock, first.unlock) == (("GOLD",), ())
    again = lock_changes(breaks, {"GOLD": BREAK_LOCK_REASON})
    assert (again.lock, again.unlock) == ((), ())  # no second lock, no second alert
    cleared = lock_changes([], {"GOLD": BREAK_LOCK_REASON, "CORN": "manual: roll check"})
    assert (cleared.lock, cleared.unlock) == ((), ("GOLD",))  # the manual lock stays


def execution(exec_id, time, qty=1):
    return BrokerExecution(exec_id, "7", "systrade:1", ("CORN", "202409"), qty, 450.0, time)


def test_missed_executions_once_in_time_order():
    broker = [execution("0001.02", "2024-03-07T14:02:00"), execution("0001.01",
                                                                     "2024-03-07T14:01:00"),
              execution("0001.02", "2024-03-07T14:02:00"), execution("0000.09", "2024-03-07T13:00")]
    missed = missed_executions({"0000.09"}, broker)
    assert [e.execution_id for e in missed] == ["0001.01", "0001.02"]


def test_order_differences():
    ours = {"11": "systrade:5", "12": "systrade:6"}
    broker = [OpenOrder("11", "systrade:5"), OpenOrder("13", "systrade:9"),
              OpenOrder("14", "manual-tws")]
    diff = order_differences(ours, broker, lambda ref: ref.startswith("systrade:"))
    assert diff.adopt == (OpenOrder("13", "systrade:9"),)
    assert diff.foreign == (OpenOrder("14", "manual-tws"),)
    assert diff.vanished == ("12",)


def test_internal_breaks():
    strategies = {("trend", "CORN"): 3, ("carry", "CORN"): -1, ("trend", "GOLD"): 2}
    contracts = {("CORN", "202409"): 1, ("CORN", "202412"): 1, ("GOLD", "202408"): 1}
    breaks = internal_breaks(strategies, contracts)
    assert [(b.instrument_code, b.strategies, b.contracts) for b in breaks] == [("GOLD", 2, 1)]
