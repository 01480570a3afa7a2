"""The persisted global trading state: default, changes with reasons, concurrent changes."""
from __future__ import annotations

import pandas as pd
import pytest

from syscore.exceptions import InvalidData
from sysdata.state.base import Insert
from sysdata.trading_state import TRADING_STATE, TradingStateData
from sysobjects.trading_state import TradingState

T0 = pd.Timestamp("2024-01-09 15:00", tz="UTC")


def test_never_set_is_active_and_has_no_history(state_store):
    data = TradingStateData(state_store)
    assert data.current() is TradingState.ACTIVE
    assert data.history() == [] and data.last_change() is None


def test_every_change_is_an_audited_record(state_store):
    data = TradingStateData(state_store)
    first = data.set("halted", "exchange outage", T0, "alice")
    assert first.state is TradingState.HALTED and first.previous is TradingState.ACTIVE
    assert data.set(TradingState.HALTED, "again", T0) is None  # no change, no record
    data.set(TradingState.REDUCING, "outage over, reduce first", T0 + pd.Timedelta(minutes=5))
    assert data.current() is TradingState.REDUCING
    history = data.history()
    assert [(c.seq, c.previous, c.state, c.reason) for c in history] == [
        (1, TradingState.ACTIVE, TradingState.HALTED, "exchange outage"),
        (2, TradingState.HALTED, TradingState.REDUCING, "outage over, reduce first")]
    assert history[0].changed_by == "alice" and history[0].timestamp == T0
    assert [c.seq for c in data.history(1)] == [2]
    # persisted: a new reader (another process) sees it
    assert TradingStateData(state_store).current() is TradingState.REDUCING


@pytest.mark.parametrize("state, reason", [("PAUSED", "x"), ("HALTED", ""), ("HALTED", "  ")])
def test_bad_input_changes_nothing(state_store, state, reason):
    data = TradingStateData(state_store)
    with pytest.raises(InvalidData):
        data.set(state, reason, T0)
    assert data.history() == []


def test_a_change_made_concurrently_is_kept_not_overwritten(state_store):
    data = TradingStateData(state_store)
    data.set("REDUCING", "first", T0)
    stale_read = data.last_change
    # another operator halts between our read and our write
    calls = []

    def racing_read():
        change = stale_read()
        if not calls:
            calls.append(1)
            state_store.apply([Insert(TRADING_STATE, f"{2:012d}", {
                "seq": 2, "state": "HALTED", "previous": "REDUCING", "reason": "other",
                "changed_by": "bob", "timestamp": "2024-01-09T15:00:01+00:00"})])
        return change

    data.last_change = racing_read
    change = data.set("ACTIVE", "mine", T0)
    assert change.seq == 3 and change.previous is TradingState.HALTED
    assert [c.reason for c in TradingStateData(state_store).history()] == ["first", "other",
                                                                         "mine"]
