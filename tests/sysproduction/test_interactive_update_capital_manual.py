"""interactive_update_capital_manual: each action as a plain function on real stores, the
deposit / withdrawal path through the hourly process, and one scripted console session."""
from __future__ import annotations

import pandas as pd
import pytest

from syscore.exceptions import ExistingData, InvalidData, MissingData
from syslogdiag.alerts import list_alerts
from sysproduction.interactive_update_capital_manual import (
    DELETE_ALL_PHRASE,
    adjust_capital_for_cash_flow,
    confirm_large_capital_change,
    delete_all_total_capital,
    delete_total_capital_since,
    initialise_total_capital,
    interactive_update_capital_manual,
    modify_last_total_capital,
    total_capital_table,
)
from sysproduction.update_total_capital import TotalCapitalAction, update_total_capital
from tests.sysproduction.test_update_total_capital import HOUR, START, capital_blob

T0 = pd.Timestamp(START, tz="UTC")


def script(*answers, clock=None):
    """An ``ask`` that replays answers and records prompts; EOF when they run out. With
    ``clock``, each answer takes the operator a minute."""
    prompts = []
    queue = list(answers)

    def ask(prompt):
        prompts.append(prompt)
        if clock is not None:
            clock.current += pd.Timedelta(minutes=1)
        if not queue:
            raise EOFError
        return queue.pop(0)

    ask.prompts = prompts
    ask.left = queue
    return ask


def row(frame, i=-1):
    return frame.iloc[i].to_dict()


# --- deposits and withdrawals through the process, every method -------------------------------

CASH_FLOW_EXPECTED = {  # method: (total, max) after each written row, worked by hand
    "full": ([100_000, 104_000, 124_000, 124_000, 94_000, 96_820],
             [100_000, 104_000, 124_000, 124_000, 94_000, 96_820]),
    "half": ([100_000, 100_000, 120_000, 120_000, 90_000, 90_000],
             [100_000, 100_000, 120_000, 120_000, 90_000, 90_000]),
    "fixed": ([100_000, 100_000, 120_000, 120_000, 90_000, 90_000],
              [100_000, 100_000, 120_000, 120_000, 90_000, 90_000]),
}


@pytest.mark.parametrize("method", ["full", "half", "fixed"])
def test_deposit_and_withdrawal_are_not_pandl(tmp_path, method):
    blob, clock, broker = capital_blob(tmp_path / "home", method=method)

    def step(action, *args):
        clock.current += HOUR
        return action(blob, *args)

    with blob:
        update_total_capital(blob)  # 100 000
        broker.set(104_000.0)
        assert step(update_total_capital).pandl == 4_000.0  # +4% trading p&l
        broker.set(124_000.0)  # a 20 000 deposit arrives at the broker
        assert step(update_total_capital).action is TotalCapitalAction.REFUSED
        step(adjust_capital_for_cash_flow, 20_000.0)  # booked as a cash flow instead
        after_deposit = step(update_total_capital)
        assert after_deposit.action is TotalCapitalAction.UPDATED and after_deposit.pandl == 0
        broker.set(94_000.0)  # a 30 000 withdrawal, booked when the broker shows it
        step(adjust_capital_for_cash_flow, -30_000.0)
        broker.set(96_820.0)  # +3% trading p&l
        assert step(update_total_capital).pandl == pytest.approx(2_820.0)
        frame = blob.capital.total_capital()
    total, maximum = CASH_FLOW_EXPECTED[method]
    assert frame["total"].tolist() == pytest.approx(total)
    assert frame["max"].tolist() == pytest.approx(maximum)
    assert frame["broker"].tolist() == pytest.approx(
        [100_000, 104_000, 124_000, 124_000, 94_000, 96_820])
    assert frame["acc_pnl"].tolist() == pytest.approx([0, 4_000, 4_000, 4_000, 4_000, 6_820])


def test_cash_flow_checks(tmp_path):
    blob, clock, _ = capital_blob(tmp_path / "home")
    with blob:
        with pytest.raises(MissingData):
            adjust_capital_for_cash_flow(blob, 1_000.0)
        update_total_capital(blob)
        clock.current += HOUR
        with pytest.raises(InvalidData, match="changes nothing"):
            adjust_capital_for_cash_flow(blob, 0.0)
        with pytest.raises(InvalidData, match="leaves a broker value"):
            adjust_capital_for_cash_flow(blob, -100_000.0)
        with pytest.raises(InvalidData, match="finite"):
            adjust_capital_for_cash_flow(blob, float("inf"))
        assert len(blob.capital.total_capital()) == 1


def test_cash_flow_carries_margin_and_accumulated_pandl(tmp_path):
    blob, clock, broker = capital_blob(tmp_path / "home")
    with blob:
        broker.set(100_000.0, 7_000.0)
        update_total_capital(blob)
        broker.set(102_000.0, 7_500.0)
        clock.current += HOUR
        update_total_capital(blob)
        clock.current += HOUR
        state = adjust_capital_for_cash_flow(blob, -12_000.0)
        last = blob.capital.last_total()
    assert state.total_capital == 90_000.0
    assert row(last.to_frame().T) == {"total": 90_000.0, "broker": 90_000.0, "max": 90_000.0,
                                      "acc_pnl": 2_000.0, "margin": 7_500.0}
    assert last.name == T0 + 2 * HOUR


# --- initialise -----------------------------------------------------------------------------------

def test_initialise_and_replace(tmp_path):
    blob, clock, _ = capital_blob(tmp_path / "home")
    with blob:
        first = initialise_total_capital(blob, 80_000.0, 120_000.0, margin=3_000.0)
        assert first.to_dict() == {"total": 80_000.0, "broker": 120_000.0, "max": 80_000.0,
                                   "acc_pnl": 0.0, "margin": 3_000.0}
        assert first.name == T0
        clock.current += HOUR
        with pytest.raises(ExistingData):
            initialise_total_capital(blob, 1.0, 1.0)
        update_total_capital(blob, confirm_large_change=True)  # broker 100 000: p&l -20 000
        assert blob.capital.last_total()["total"] == 60_000.0
        clock.current += HOUR
        initialise_total_capital(blob, 50_000.0, 100_000.0, 70_000.0, 1_234.0, replace=True)
        frame = blob.capital.total_capital()
    assert len(frame) == 1 and frame.index[0] == T0 + 2 * HOUR
    assert row(frame) == {"total": 50_000.0, "broker": 100_000.0, "max": 70_000.0,
                          "acc_pnl": 1_234.0, "margin": 0.0}


@pytest.mark.parametrize("args, message", [
    ((100.0, 100.0, 50.0), "below total"),
    ((-1.0, 100.0), ">= 0"),
    ((100.0, 0.0), "broker value must be > 0"),
    ((float("nan"), 100.0), "finite"),
])
def test_initialise_checks(tmp_path, args, message):
    blob, _, _ = capital_blob(tmp_path / "home")
    with blob:
        with pytest.raises(InvalidData, match=message):
            initialise_total_capital(blob, *args)
        with pytest.raises(MissingData):
            blob.capital.total_capital()


# --- confirm a large change -----------------------------------------------------------------------

def test_confirm_large_change_repolls_the_broker(tmp_path):
    blob, clock, broker = capital_blob(tmp_path / "home", method="half")
    with blob:
        update_total_capital(blob)
        broker.set(80_000.0)  # -20%
        clock.current += HOUR
        assert update_total_capital(blob).action is TotalCapitalAction.REFUSED
        assert len(list_alerts(blob.alerts)) == 1
        broker.set(82_000.0)  # the broker moved again before the operator confirmed
        clock.current += HOUR
        polls = broker.polls
        result = confirm_large_capital_change(blob)
        frame = blob.capital.total_capital()
    assert broker.polls == polls + 1
    assert result.action is TotalCapitalAction.CONFIRMED
    assert row(frame) == {"total": 82_000.0, "broker": 82_000.0, "max": 100_000.0,
                          "acc_pnl": -18_000.0, "margin": 0.0}


# --- delete and modify ----------------------------------------------------------------------------

def filled_blob(tmp_path, rows=4):
    blob, clock, broker = capital_blob(tmp_path / "home")
    for i in range(rows):
        broker.set(100_000.0 + 1_000.0 * i)
        update_total_capital(blob)
        clock.current += HOUR
    return blob, clock, broker


def test_delete_since_a_date(tmp_path):
    blob, clock, _ = filled_blob(tmp_path)
    with blob:
        assert delete_total_capital_since(blob, T0 + 2 * HOUR) == 2
        assert delete_total_capital_since(blob, T0 + 10 * HOUR) == 0
        frame = blob.capital.total_capital()
        assert list(frame.index) == [T0, T0 + HOUR]
        # the next update measures p&l against the last row kept
        assert update_total_capital(blob).pandl == 3_000.0 - 1_000.0


def test_delete_since_accepts_naive_utc_text(tmp_path):
    blob, _, _ = filled_blob(tmp_path, rows=3)
    with blob:
        assert delete_total_capital_since(blob, "2024-03-04 11:00") == 2


def test_delete_all(tmp_path):
    blob, clock, broker = filled_blob(tmp_path, rows=3)
    with blob:
        assert delete_all_total_capital(blob) == 3
        assert delete_all_total_capital(blob) == 0
        with pytest.raises(MissingData):
            blob.capital.total_capital()
        broker.set(55_000.0)
        assert update_total_capital(blob).action is TotalCapitalAction.INITIALISED


def test_modify_last_row(tmp_path):
    blob, _, _ = filled_blob(tmp_path, rows=3)
    with blob:
        before = blob.capital.total_capital()
        new = modify_last_total_capital(blob, total=90_000.0, acc_pnl=-5.0)
        after = blob.capital.total_capital()
        with pytest.raises(InvalidData, match="below total"):
            modify_last_total_capital(blob, maximum=1.0)
        assert blob.capital.total_capital().equals(after)
    assert new.to_dict() == {"total": 90_000.0, "broker": 102_000.0, "max": 102_000.0,
                             "acc_pnl": -5.0, "margin": 0.0}
    pd.testing.assert_frame_equal(after.iloc[:-1], before.iloc[:-1])
    assert list(after.index) == list(before.index)


def test_modify_with_nothing_stored(tmp_path):
    blob, _, _ = capital_blob(tmp_path / "home")
    with blob:
        with pytest.raises(MissingData):
            modify_last_total_capital(blob, total=1.0)


def test_table(tmp_path):
    blob, _, _ = capital_blob(tmp_path / "home")
    with blob:
        assert total_capital_table(blob) == "No total capital stored."
        update_total_capital(blob)
        assert "100,000.00" in total_capital_table(blob)


# --- the console --------------------------------------------------------------------------------

def test_scripted_console_session(tmp_path):
    blob, clock, broker = capital_blob(tmp_path / "home")
    broker.set(200_000.0, 10_000.0)
    out = []
    ask = script(
        "2", "", "150000", "", "", "",  # initialise: broker 200 000 (polled), total 150 000
        "3", "abc", "25000", "y",  # deposit 25 000 (after one bad number)
        "y",  # the broker still shows 200 000: book it anyway
        "7", "", "", "", "-100", "", "y",  # modify: accumulated p&l -100, confirmed
        "9",  # unknown choice
        "6", "no",  # delete all: wrong phrase, nothing deleted
        "1",  # view
        "0",
        clock=clock,
    )
    with blob:
        interactive_update_capital_manual(blob, ask=ask, out=out.append)
        frame = blob.capital.total_capital()
    assert not ask.left
    text = "\n".join(out)
    assert "not a number: 'abc'" in text and "unknown choice '9'" in text
    assert "WARNING: the broker's account value 200,000.00 has changed by +0.00" in text
    assert any("modify the last row (acc_pnl 0.00 -> -100.00)? (y/n)" in p for p in ask.prompts)
    assert "nothing deleted" in text
    assert len(frame) == 2
    assert row(frame, 0) == {"total": 150_000.0, "broker": 200_000.0, "max": 150_000.0,
                             "acc_pnl": 0.0, "margin": 10_000.0}
    assert row(frame) == {"total": 175_000.0, "broker": 225_000.0, "max": 175_000.0,
                          "acc_pnl": -100.0, "margin": 10_000.0}
    assert "175,000.00" in out[-2]  # the view before exit


def test_scripted_console_confirm_delete_since_and_delete_all(tmp_path):
    blob, clock, broker = filled_blob(tmp_path, rows=3)
    broker.set(130_000.0)  # +27% against the last stored 102 000
    out = []
    with blob:
        assert update_total_capital(blob).action is TotalCapitalAction.REFUSED
        interactive_update_capital_manual(blob, out=out.append, ask=script(
            "4", "n",  # look, don't apply
            "4", "y",  # confirm
            "5", "2024-03-04 11:00", "y",  # delete the rows from 11:00 on
            "5", "not a date",  # an error is shown and the menu goes on
            clock=clock,
        ))  # end of input ends the session
        kept = blob.capital.total_capital()
        text = "\n".join(out)
        assert "p&l 28,000.00" in text and "nothing written" in text
        assert "deleted 3 rows" in text and "error:" in text
        assert list(kept.index) == [T0]
        interactive_update_capital_manual(blob, out=out.append,
                                          ask=script("6", DELETE_ALL_PHRASE, "0"))
        with pytest.raises(MissingData):
            blob.capital.total_capital()


def test_cash_flow_contradicting_the_broker_needs_confirmation(tmp_path):
    blob, clock, broker = capital_blob(tmp_path / "home")
    with blob:
        update_total_capital(blob)  # 100 000
        clock.current += HOUR
        with pytest.raises(InvalidData, match="does not show a deposit of 20,000.00"):
            adjust_capital_for_cash_flow(blob, 20_000.0, broker_value=100_000.0)
        with pytest.raises(InvalidData, match="does not show a withdrawal"):
            adjust_capital_for_cash_flow(blob, -20_000.0, broker_value=120_000.0)
        assert len(blob.capital.total_capital()) == 1  # nothing written
        state = adjust_capital_for_cash_flow(blob, 20_000.0, broker_value=119_000.0)
        assert state.total_capital == 120_000.0  # the broker shows it: no question
        clock.current += HOUR
        state = adjust_capital_for_cash_flow(blob, 5_000.0, broker_value=120_000.0,
                                             confirmed=True)
        assert state.total_capital == 125_000.0

        broker.set(125_000.0)  # the console: a 50 000 deposit the broker does not show
        out = []
        ask = script("3", "50000", "y", "n", "0", clock=clock)
        interactive_update_capital_manual(blob, ask=ask, out=out.append)
        assert ask.prompts[-2] == "book it anyway? (y/n): "
        assert "nothing booked" in out and len(blob.capital.total_capital()) == 3


def test_modify_asks_before_writing(tmp_path):
    blob, clock, _ = filled_blob(tmp_path, rows=2)
    with blob:
        before = blob.capital.total_capital()
        out = []
        ask = script("7", "90000", "", "", "", "", "n", "7", "", "", "", "", "", "0",
                     clock=clock)
        interactive_update_capital_manual(blob, ask=ask, out=out.append)
        assert "modify the last row (total 101,000.00 -> 90,000.00)? (y/n): " in ask.prompts
        assert "nothing modified" in out and "nothing changed" in out
        assert "last row at 2024-03-04 11:00 UTC (Enter keeps a value)" in out  # not a repr
        table = total_capital_table(blob)
        assert "2024-03-04 11:00 UTC" in table and "+00:00" not in table
        pd.testing.assert_frame_equal(blob.capital.total_capital(), before)


def test_initialising_over_stored_capital_needs_the_phrase(tmp_path):
    blob, clock, broker = filled_blob(tmp_path, rows=2)
    broker.set(80_000.0, 0.0)
    out = []
    with blob:
        before = blob.capital.total_capital()
        interactive_update_capital_manual(blob, out=out.append, ask=script(
            "2", "yes",  # not the phrase: nothing replaced
            "2", DELETE_ALL_PHRASE, "", "", "", "", "",  # replaced by the polled 80 000
            "0", clock=clock))
        text = "\n".join(out)
        assert f"replaces ALL of it. Type {DELETE_ALL_PHRASE} to go on." in text
        assert "not initialised" in text and text.count("initialised:") == 1
        after = blob.capital.total_capital()
    assert len(before) == 2 and len(after) == 1
    assert row(after) == {"total": 80_000.0, "broker": 80_000.0, "max": 80_000.0,
                          "acc_pnl": 0.0, "margin": 0.0}
