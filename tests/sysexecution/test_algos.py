from __future__ import annotations

import datetime as dt
import itertools

import pytest

from syscore.exceptions import InvalidData
from sysexecution.algos import (
    ALGO_TRANSITIONS,
    ActionKind,
    AlgoPhase,
    AlgoSettings,
    AlgoState,
    Quote,
    _move,
    step,
)

T0 = dt.datetime(2024, 3, 7, 14, 0, tzinfo=dt.timezone.utc)
BOOK = Quote(bid=100.0, ask=100.25, bid_size=20, ask_size=20)
TICK = 0.25


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def run(state, seconds, quote=BOOK, unfilled=None, live=True, close=None):
    unfilled = state.quantity if unfilled is None else unfilled
    return step(state, at(seconds), quote, unfilled, live, TICK, close)


def test_best_starts_passive_then_times_into_aggressive_then_cancels():
    state = AlgoState("best", 2, T0)
    state, action = run(state, 0, live=False)
    assert (state.phase, action.kind, action.price) == (AlgoPhase.PASSIVE,
                                                        ActionKind.PLACE_LIMIT, 100.0)
    state, action = run(state, 299)
    assert action.kind is ActionKind.NONE
    state, action = run(state, 300)
    assert (state.phase, action.kind, action.price, action.reason) == (
        AlgoPhase.AGGRESSIVE, ActionKind.MODIFY_LIMIT, 100.25, "passive time up")
    moved = Quote(100.25, 100.5, 20, 20)
    state, action = run(state, 400, moved)
    assert (action.kind, action.price) == (ActionKind.MODIFY_LIMIT, 100.5)  # follows the ask
    state, action = run(state, 450, BOOK)
    assert action.kind is ActionKind.NONE  # never re-priced to a worse place for us
    state, action = run(state, 600)
    assert (state.phase, action.kind) == (AlgoPhase.CANCELLING, ActionKind.CANCEL)
    state, action = run(state, 620, live=False)
    assert (state.phase, action.kind, action.reason) == (AlgoPhase.FINISHED, ActionKind.FINISH,
                                                         "timeout after 600 s")


@pytest.mark.parametrize("quote,close,reason", [
    (Quote(100.0, 100.25, bid_size=200, ask_size=2), None, "adverse book"),
    (BOOK, 600.0, "near the close"),
])
def test_best_starts_aggressive(quote, close, reason):
    state, action = run(AlgoState("best", 2, T0), 0, quote, live=False, close=close)
    assert (state.phase, action.kind, action.price, action.reason) == (
        AlgoPhase.AGGRESSIVE, ActionKind.PLACE_LIMIT, 100.25, reason)


def test_selling_is_mirrored():
    state, action = run(AlgoState("best", -3, T0), 0, live=False)
    assert action.price == 100.25  # passive sell at the ask
    state, action = run(state, 10, Quote(99.75, 100.0, 20, 20))  # the ask fell: adverse
    assert (action.kind, action.price, action.reason) == (ActionKind.MODIFY_LIMIT, 99.75,
                                                          "adverse move")


def test_adverse_move_when_buying():
    state, _ = run(AlgoState("best", 1, T0), 0, live=False)
    state, action = run(state, 5, Quote(100.25, 100.5, 20, 20))
    assert (state.phase, action.price, action.reason) == (AlgoPhase.AGGRESSIVE, 100.5,
                                                          "adverse move")


def test_fill_finishes_and_partial_fill_keeps_working():
    state, _ = run(AlgoState("best", 5, T0), 0, live=False)
    state, action = run(state, 10, unfilled=2)
    assert state.phase is AlgoPhase.PASSIVE and action.kind is ActionKind.NONE
    state, action = run(state, 20, unfilled=0)
    assert (state.phase, action.kind, state.reason) == (AlgoPhase.FINISHED, ActionKind.FINISH,
                                                        "filled")


def test_off_tick_quotes_are_rounded_never_more_aggressive():
    state, action = run(AlgoState("best", 1, T0), 0, Quote(100.1, 100.3, 20, 20), live=False)
    assert action.price == 100.0  # passive buy rounds down
    state, action = run(AlgoState("best", -1, T0), 0, Quote(100.1, 100.3, 20, 20), live=False)
    assert action.price == 100.5  # passive sell rounds up


def test_no_quote_waits_then_gives_up():
    empty = Quote(None, None)
    state, action = run(AlgoState("best", 1, T0), 0, empty, live=False)
    assert state.phase is AlgoPhase.NEW and action.kind is ActionKind.NONE
    state, action = run(state, 600, empty, live=False)
    assert (state.phase, action.reason) == (AlgoPhase.FINISHED, "no valid quote")


def test_cancel_not_confirmed_ends_with_reason():
    state, _ = run(AlgoState("market", 1, T0), 0, live=False)
    state, action = run(state, 600)
    assert action.kind is ActionKind.CANCEL
    state, action = run(state, 640)
    assert action.kind is ActionKind.NONE
    state, action = run(state, 661)
    assert state.reason == "cancel not confirmed within 60 s"


def test_order_ended_by_broker_finishes():
    state, _ = run(AlgoState("best", 1, T0), 0, live=False)
    state, action = run(state, 30, live=False)
    assert (state.phase, action.reason) == (AlgoPhase.FINISHED,
                                            "order no longer live at the broker")


def test_limit_algo_is_never_managed_and_market_places_market():
    state, action = run(AlgoState("limit", 1, T0, limit_price=99.5), 0, live=False)
    assert (action.kind, action.price) == (ActionKind.PLACE_LIMIT, 99.5)
    state, action = run(state, 10_000)
    assert action.kind is ActionKind.NONE and state.phase is AlgoPhase.WORKING
    state, action = run(AlgoState("market", -1, T0), 0, live=False)
    assert action.kind is ActionKind.PLACE_MARKET


def test_state_survives_a_restart_as_a_document():
    state, _ = run(AlgoState("best", 2, T0), 0, live=False)
    state, _ = run(state, 300)
    again = AlgoState.from_doc(state.to_doc())
    assert again == state
    assert run(again, 400, Quote(100.25, 100.5, 20, 20))[1].price == 100.5


@pytest.mark.parametrize("current,new", list(itertools.product(AlgoPhase, AlgoPhase)))
def test_phase_table(current, new):
    state = AlgoState("best", 1, T0, phase=current)
    if new is current or new in ALGO_TRANSITIONS[current]:
        assert _move(state, new, T0).phase is new
    else:
        with pytest.raises(InvalidData):
            _move(state, new, T0)


def test_bad_algo_and_settings():
    with pytest.raises(InvalidData):
        AlgoState("twap", 1, T0)
    with pytest.raises(InvalidData):
        AlgoState("best", 0, T0)
    assert AlgoSettings().total_seconds == 600.0
