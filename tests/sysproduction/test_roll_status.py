"""Roll status on real stores: the roll report's figures, instruments near their roll, the
trade-limit warning, the unattended auto_update_roll_status, and the interactive console's four
modes driven by scripted input."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from sysobjects.adjusted_prices import panama_adjust
from sysobjects.contracts import FuturesContract
from sysobjects.instruments import InstrumentConfig
from sysobjects.multiple_prices import MultiplePrices
from sysobjects.roll_parameters import RollParameters
from sysobjects.roll_state import RollState
from sysproduction.interactive_update_roll_status import (
    interactive_update_roll_status,
    roll_status_menu,
)
from sysproduction.roll_status import (
    auto_update_roll_status,
    instruments_near_roll,
    roll_info,
    trade_limit_warning,
)
from tests.blob_helpers import FixedClock, make_blob

NOW = pd.Timestamp("2024-06-05 12:00", tz="UTC")


def multiple_prices() -> pd.DataFrame:
    idx = pd.DatetimeIndex(["2024-06-03 23:00", "2024-06-04 23:00"], tz="UTC")
    return pd.DataFrame({
        "PRICE": [100.0, 101.0], "PRICE_CONTRACT": ["202406"] * 2,
        "FORWARD": [102.0, 103.0], "FORWARD_CONTRACT": ["202409"] * 2,
        "CARRY": [np.nan] * 2, "CARRY_CONTRACT": ["202409"] * 2,
    }, index=idx)


def add_instrument(data, code: str, expiry: dt.date, priced_volume: float,
                   forward_volume: float) -> None:
    data.instruments.add(InstrumentConfig(code, pointsize=10))
    data.roll_parameters.add(code, RollParameters("HMUZ", "HMUZ", -5, 1, 14))
    mp = MultiplePrices(multiple_prices())
    data.multiple_prices.write(code, mp.data)
    data.adjusted_prices.write(code, panama_adjust(mp).data.rename("price"))
    data.contracts.add(FuturesContract(code, "202406", expiry_date=expiry))
    days = pd.date_range("2024-05-27", "2024-06-04", freq="D", tz="UTC")
    for contract, volume in (("202406", priced_volume), ("202409", forward_volume)):
        data.contract_prices.write(code, contract, pd.DataFrame(
            {"OPEN": 100.0, "HIGH": 101.0, "LOW": 99.0, "FINAL": 100.0, "VOLUME": volume},
            index=days), "D")


@pytest.fixture
def blob(tmp_path):
    data = make_blob(tmp_path / "home", clock=FixedClock(NOW))
    # FLAT: expires in 9 days (rolls in 4), liquid forward, no position -> Roll_Adjusted
    add_instrument(data, "FLAT", dt.date(2024, 6, 14), 100.0, 500.0)
    # HELD: same, 3 contracts held -> Ask (close to the roll)
    add_instrument(data, "HELD", dt.date(2024, 6, 14), 100.0, 500.0)
    data.positions.set_contract_position("HELD", "202406", 3, NOW - pd.Timedelta(days=10))
    # THIN: expires in 9 days, illiquid forward -> No_Open
    add_instrument(data, "THIN", dt.date(2024, 6, 14), 1000.0, 5.0)
    # FAR: expires in 100 days: not near its roll
    add_instrument(data, "FAR", dt.date(2024, 9, 13), 100.0, 500.0)
    yield data
    data.close()


def test_roll_info_figures(blob):
    info = roll_info(blob, "HELD")
    assert (info.priced_contract, info.forward_contract) == ("202406", "202409")
    assert info.position == 3 and info.days_to_expiry == 9 and info.days_to_roll == 4
    assert info.priced_volume == pytest.approx(100.0)
    assert info.relative_volume == pytest.approx(5.0)
    near = [i.instrument_code for i in instruments_near_roll(blob, 10)]
    assert near == ["FLAT", "HELD", "THIN"]
    assert [i.instrument_code for i in instruments_near_roll(blob, 200)][-1] == "FAR"


def test_trade_limit_warning(blob):
    assert trade_limit_warning(blob, "HELD", RollState.FORCE, 3) is None  # no limits set
    blob.trade_limits.set_limit("HELD", 1, 5)
    warning = trade_limit_warning(blob, "HELD", RollState.FORCE, 3)  # a spread: 6 contracts
    assert "trades 6 contracts" in warning and "ALL/1d has 5 left" in warning
    assert trade_limit_warning(blob, "HELD", RollState.FORCE_OUTRIGHT, 3) is None  # 3 <= 5
    assert trade_limit_warning(blob, "HELD", RollState.PASSIVE, 3) is None


def test_auto_update_roll_status(blob):
    blob.trade_limits.set_limit("HELD", 1, 2)
    report = auto_update_roll_status(data=blob, enabled=True)
    assert report.ok, str(report)
    flat = report.results["FLAT"]
    assert flat.prices_rolled and flat.after is RollState.NO_ROLL
    assert blob.multiple_prices.read("FLAT")["PRICE_CONTRACT"].iloc[-1] == "20240900"
    held = report.results["HELD"]
    assert held.after is RollState.FORCE and "unattended: Force" in held.reason
    assert "trade limits would block" in held.warning
    assert blob.roll_states.state("HELD") is RollState.FORCE
    assert blob.roll_states.state("THIN") is RollState.NO_OPEN
    # FAR is liquid and flat too, but its roll is 95 days away: not looked at
    assert str(report.results["FAR"]) == \
        "FAR: stays No_Roll (rolls or expires in 95 days: not within 10 days)"
    assert blob.roll_states.state("FAR") is RollState.NO_ROLL
    assert report.summary == "auto_update_roll_status: 3 done, 1 unchanged, 0 failed"
    again = auto_update_roll_status(data=blob, enabled=True)  # nothing left to change
    assert str(again.results["HELD"]).startswith("HELD: stays Force")


def session(blob, *answers):
    said: list[str] = []
    script = list(answers)

    def ask(prompt):
        if not script:
            raise EOFError
        return script.pop(0)

    interactive_update_roll_status(blob, ask=ask, say=said.append)
    assert not script
    return "\n".join(said)


def test_mode_1_manual_choice_shows_report_and_only_allowed_states(blob):
    text = session(blob, "1", "held", "Force", "0")
    assert "Roll report HELD: state No_Roll" in text and "days to roll 4" in text
    assert "  1 Passive" in text and "Roll_Adjusted" not in text.split("new roll state")[0] \
        .split("allowed")[-1]
    assert blob.roll_states.state("HELD") is RollState.FORCE


def test_mode_1_finds_a_mixed_case_code_however_it_is_typed(blob):
    add_instrument(blob, "SP500_micro", dt.date(2024, 6, 14), 100.0, 500.0)
    for typed in ("SP500_micro", "sp500_micro"):
        text = session(blob, "1", typed, "no change", "0")
        assert "unknown instrument" not in text
        assert "Roll report SP500_micro: state No_Roll" in text


def test_mode_1_roll_adjusted_previewed_then_declined_goes_back(blob):
    text = session(blob, "1", "FLAT", "Roll_Adjusted", "n", "0")
    assert "roll appends" in text and "roll state back to No_Roll" in text
    assert "--confirm" not in text  # the command line's hint, not the console's
    assert blob.roll_states.state("FLAT") is RollState.NO_ROLL
    assert blob.multiple_prices.read("FLAT")["PRICE_CONTRACT"].iloc[-1] == "20240600"
    session(blob, "1", "FLAT", "", "y", "0")  # Enter takes the suggestion (Roll_Adjusted)
    assert blob.multiple_prices.read("FLAT")["PRICE_CONTRACT"].iloc[-1] == "20240900"
    assert blob.roll_states.state("FLAT") is RollState.NO_ROLL


def test_mode_2_cycles_near_instruments_by_hand(blob):
    text = session(blob, "2", "", "no change", "Passive", "No_Open", "0")
    assert "to review: FLAT (4 days), HELD (4 days), THIN (4 days)" in text
    assert blob.roll_states.state("FLAT") is RollState.NO_ROLL
    assert blob.roll_states.state("HELD") is RollState.PASSIVE
    assert blob.roll_states.state("THIN") is RollState.NO_OPEN


def test_mode_3_auto_decide_with_confirmation(blob):
    blob.trade_limits.set_limit("HELD", 1, 1)
    # FLAT: confirm Roll_Adjusted, then confirm the price roll; HELD: undecided -> by hand
    # (Force, with the trade-limit warning); THIN: No_Open declined
    text = session(blob, "3", "", "y", "y", "Force", "n", "0")
    assert blob.multiple_prices.read("FLAT")["PRICE_CONTRACT"].iloc[-1] == "20240900"
    assert blob.roll_states.state("HELD") is RollState.FORCE
    assert "trade limits would block" in text
    assert blob.roll_states.state("THIN") is RollState.NO_ROLL and "THIN: unchanged" in text


def test_mode_4_fully_automatic_asks_once(blob):
    text = session(blob, "4", "5", "n", "4", "5", "y", "Close", "0")
    assert "nothing changed" in text
    assert blob.multiple_prices.read("FLAT")["PRICE_CONTRACT"].iloc[-1] == "20240900"
    assert blob.roll_states.state("HELD") is RollState.CLOSE
    assert blob.roll_states.state("THIN") is RollState.NO_OPEN


def test_every_mode_is_in_the_menu_and_bad_input_is_one_line(blob):
    assert len(roll_status_menu(blob).walk()) == 4
    text = session(blob, "1", "NOPE", "2", "x", "0", "0")
    assert "error: " in text and "NOPE" in text and "not a whole number: 'x'" in text


def test_a_failed_price_roll_puts_the_state_back_and_the_others_go_on(blob):
    blob.roll_parameters.delete("FLAT")  # the roll cannot find its next contracts
    report = auto_update_roll_status(data=blob, enabled=True)
    assert "FLAT" in report.failures and not report.ok
    assert blob.roll_states.state("FLAT") is RollState.NO_ROLL  # put back from Roll_Adjusted
    assert blob.multiple_prices.read("FLAT")["PRICE_CONTRACT"].iloc[-1] == "20240600"
    assert blob.roll_states.state("THIN") is RollState.NO_OPEN  # the loop went on
    subjects = [a["subject"] for a in blob.alerts.all()]
    assert "auto_update_roll_status failed for FLAT" in subjects


def test_unattended_rolling_is_off_until_enabled(blob):
    report = auto_update_roll_status(data=blob)  # default config: unattended_enabled false
    assert report.results == {} and report.ok
    assert blob.roll_states.states() == {} or all(
        s is RollState.NO_ROLL for s in blob.roll_states.states().values())
    assert blob.multiple_prices.read("FLAT")["PRICE_CONTRACT"].iloc[-1] == "20240600"


def test_one_instrument_failing_does_not_stop_a_cycle(blob):
    blob.roll_parameters.delete("FLAT")  # its price roll fails
    text = session(blob, "4", "", "y", "Close", "0")
    assert "error: FLAT: no roll parameters" in text
    assert blob.roll_states.state("FLAT") is RollState.NO_ROLL  # put back
    assert blob.roll_states.state("HELD") is RollState.CLOSE
    assert blob.roll_states.state("THIN") is RollState.NO_OPEN


def test_mode_4_does_not_roll_again_an_instrument_rolled_while_the_plan_was_shown(blob):
    """The plan is shown, then the operator confirms; meanwhile the unattended roll (cron) rolls
    FLAT. The stale suggestion (Roll_Adjusted) must not roll FLAT's prices a second time."""
    days = pd.date_range("2024-05-27", "2024-06-04", freq="D", tz="UTC")
    blob.contract_prices.write("FLAT", "202412", pd.DataFrame(
        {"OPEN": 100.0, "HIGH": 101.0, "LOW": 99.0, "FINAL": 100.0, "VOLUME": 500.0},
        index=days), "D")
    said: list[str] = []
    script = ["4", "", "y", "Close", "0"]

    def ask(prompt):
        if "apply the suggestions" in prompt:
            auto_update_roll_status(data=blob, enabled=True)  # another process rolls now
            assert blob.multiple_prices.read("FLAT")["PRICE_CONTRACT"].iloc[-1] == "20240900"
        if not script:
            raise EOFError
        return script.pop(0)

    interactive_update_roll_status(blob, ask=ask, say=said.append)
    text = "\n".join(said)
    assert blob.multiple_prices.read("FLAT")["PRICE_CONTRACT"].iloc[-1] == "20240900", text
    assert "FLAT: changed since the plan was shown" in text


def test_end_of_input_at_the_price_roll_question_puts_the_state_back_and_ends(blob):
    # FLAT: Roll_Adjusted chosen, previewed, then the input ends at "roll the prices?"
    text = session(blob, "1", "FLAT, THIN", "Roll_Adjusted")
    assert "roll appends" in text and "roll state back to No_Roll" in text
    assert blob.roll_states.state("FLAT") is RollState.NO_ROLL
    assert blob.multiple_prices.read("FLAT")["PRICE_CONTRACT"].iloc[-1] == "20240600"
    # the session ends there: THIN is not put to an operator who is gone
    assert "Roll report THIN" not in text and "error:" not in text
