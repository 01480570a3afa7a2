"""Roll-state transition table."""
from __future__ import annotations

import pytest

from syscore.exceptions import InvalidData
from sysobjects.roll_state import (
    DEFAULT_ROLL_STATE,
    ROLL_STATE_TRANSITIONS,
    InvalidRollStateTransition,
    RollState,
    allowed_roll_states,
    check_roll_state_transition,
    recommended_roll_state,
)

S = RollState
ALL = list(RollState)


def test_names_are_pysystemtrade_names():
    assert [s.value for s in RollState] == [
        "No_Roll", "Passive", "Force", "Force_Outright", "Roll_Adjusted", "Close", "No_Open",
    ]
    assert RollState.from_name("Force_Outright") is S.FORCE_OUTRIGHT
    assert RollState.from_name("NO_OPEN") is S.NO_OPEN
    with pytest.raises(InvalidData):
        RollState.from_name("Rolling")
    assert DEFAULT_ROLL_STATE is S.NO_ROLL


def test_table_is_complete_and_closed():
    assert set(ROLL_STATE_TRANSITIONS) == {(s, p) for s in ALL for p in (False, True)}
    for targets in ROLL_STATE_TRANSITIONS.values():
        assert targets and len(set(targets)) == len(targets)
        assert set(targets) <= set(ALL)
    for state in ALL:
        assert state.explanation


@pytest.mark.parametrize("state", ALL)
def test_roll_adjusted_never_allowed_with_a_position_except_staying(state):
    allowed = allowed_roll_states(state, True)
    if state is S.ROLL_ADJUSTED:
        assert allowed == (S.ROLL_ADJUSTED,)
    else:
        assert S.ROLL_ADJUSTED not in allowed
        with pytest.raises(InvalidRollStateTransition, match="a position"):
            check_roll_state_transition(state, S.ROLL_ADJUSTED, True)


@pytest.mark.parametrize("state", [s for s in ALL if s is not S.ROLL_ADJUSTED])
def test_without_position_roll_adjusted_is_allowed_and_recommended(state):
    assert S.ROLL_ADJUSTED in allowed_roll_states(state, False)
    assert recommended_roll_state(state, False) is S.ROLL_ADJUSTED
    assert check_roll_state_transition(state, S.ROLL_ADJUSTED, False) is S.ROLL_ADJUSTED


def test_after_roll_adjusted_only_back_to_no_roll():
    assert allowed_roll_states(S.ROLL_ADJUSTED, False) == (S.NO_ROLL,)
    with pytest.raises(InvalidRollStateTransition):
        check_roll_state_transition(S.ROLL_ADJUSTED, S.PASSIVE, False)


@pytest.mark.parametrize("state", [s for s in ALL if s is not S.ROLL_ADJUSTED])
def test_with_position_every_way_out_of_the_priced_contract_is_open(state):
    allowed = set(allowed_roll_states(state, True))
    assert {S.PASSIVE, S.FORCE, S.FORCE_OUTRIGHT, S.CLOSE, S.NO_OPEN, S.NO_ROLL} <= allowed


def test_specific_rows():
    assert recommended_roll_state(S.NO_ROLL, True) is S.PASSIVE
    assert recommended_roll_state(S.PASSIVE, True) is S.FORCE
    assert recommended_roll_state(S.CLOSE, True) is S.CLOSE
    # a forced roll that has completed (no position left) must not fall back to No_Roll
    assert S.NO_ROLL not in allowed_roll_states(S.FORCE, False)
    assert S.NO_ROLL not in allowed_roll_states(S.FORCE_OUTRIGHT, False)
    assert S.NO_ROLL not in allowed_roll_states(S.CLOSE, False)
    assert allowed_roll_states(S.NO_OPEN, False) == (S.ROLL_ADJUSTED, S.PASSIVE, S.NO_OPEN, S.NO_ROLL)


def test_state_properties():
    assert S.FORCE.is_forced and S.FORCE_OUTRIGHT.is_forced and not S.PASSIVE.is_forced
    assert S.ROLL_ADJUSTED.is_active_roll and not S.CLOSE.is_active_roll
    assert [s for s in ALL if s.may_open_in_priced_contract] == [S.NO_ROLL]


def test_documented_table_matches_code():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "prices.md").read_text()
    rows = {}
    for line in doc.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] in {s.value for s in ALL}:
            rows[cells[0]] = cells[1:]
    assert len(rows) == len(ALL)
    for name, (without, with_position) in rows.items():
        state = RollState.from_name(name)
        for held, text in ((False, without), (True, with_position)):
            documented = tuple(RollState.from_name(t.strip()) for t in text.split(","))
            assert documented == allowed_roll_states(state, held), (name, held)
