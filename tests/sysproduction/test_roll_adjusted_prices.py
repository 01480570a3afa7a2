"""Rolling adjusted prices: both series or neither, and an interrupted roll finishes."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from syscore.exceptions import InvalidData, StoreError
from sysobjects.adjusted_prices import panama_adjust
from sysobjects.instruments import InstrumentConfig
from sysobjects.multiple_prices import MultiplePrices
from sysobjects.roll_parameters import RollParameters
from sysproduction.roll_adjusted_prices import (
    ROLL_JOURNAL,
    plan_roll,
    recover_pending_roll,
    roll_adjusted_prices,
)
from sysproduction.update_multiple_adjusted_prices import update_multiple_adjusted_prices
from tests.blob_helpers import make_blob

REPO = Path(__file__).resolve().parents[2]


def multiple_prices() -> pd.DataFrame:
    """Three rows priced on 202406 then one on 202409; last FORWARD known."""
    idx = pd.DatetimeIndex(["2024-03-01 23:00", "2024-03-04 23:00", "2024-03-05 23:00",
                            "2024-03-06 23:00"], tz="UTC")
    return pd.DataFrame({
        "PRICE": [np.nan, 100.0, 101.0, 103.0], "PRICE_CONTRACT": ["202403"] * 2 + ["202406"] * 2,
        "FORWARD": [102.0, 103.0, 104.0, 106.0], "FORWARD_CONTRACT": ["202406"] * 2 + ["202409"] * 2,
        "CARRY": [np.nan] * 4, "CARRY_CONTRACT": ["202406"] * 2 + ["202409"] * 2,
    }, index=idx)


@pytest.fixture
def blob(tmp_path):
    data = make_blob(tmp_path / "home")
    data.instruments.add(InstrumentConfig("TEST", pointsize=10))
    data.roll_parameters.add("TEST", RollParameters("HMUZ", "HMUZ", -5, 1, 14))
    mp = MultiplePrices(multiple_prices())
    data.multiple_prices.write("TEST", mp.data)
    data.adjusted_prices.write("TEST", panama_adjust(mp).data.rename("price"))
    yield data
    data.close()


def stored(data):
    return data.multiple_prices.read("TEST"), data.adjusted_prices.read("TEST")


def test_requires_roll_adjusted_state(blob):
    with pytest.raises(InvalidData, match="roll state is No_Roll"):
        roll_adjusted_prices("TEST", confirm=True, data=blob)


def test_dry_run_writes_nothing(blob):
    blob.roll_states.set("TEST", "Roll_Adjusted")
    before = stored(blob)
    text = roll_adjusted_prices("TEST", confirm=False, data=blob)
    assert "not written" in text and "202409" in text
    after = stored(blob)
    pd.testing.assert_frame_equal(before[0], after[0])
    pd.testing.assert_frame_equal(before[1], after[1])
    assert blob.roll_states.get("TEST") == "Roll_Adjusted"


def test_confirmed_roll_writes_both_and_sets_no_roll(blob):
    blob.roll_states.set("TEST", "Roll_Adjusted")
    roll_adjusted_prices("TEST", confirm=True, data=blob)
    multiple, adjusted = stored(blob)
    assert multiple["PRICE_CONTRACT"].iloc[-1] == "20240900"
    assert multiple.index[-1] == pd.Timestamp("2024-03-06 23:00:01", tz="UTC")
    assert multiple["PRICE"].iloc[-1] == 106.0  # the old forward's price
    # re-stitched: latest contract unadjusted, history shifted by the gap 106 - 103
    assert adjusted["price"].iloc[-1] == 106.0
    assert adjusted["price"].iloc[-2] == 103.0 + 3.0
    assert blob.roll_states.get("TEST") == "No_Roll"
    assert blob.state.get(ROLL_JOURNAL, "TEST") is None
    assert blob.timeseries.symbols("roll_staging") == []
    # the daily update afterwards sees a consistent pair (no unregistered-roll error)
    report = update_multiple_adjusted_prices(data=blob)
    assert report.ok, report.failures


def test_failure_between_the_two_writes_leaves_both_as_they_were(blob, monkeypatch):
    blob.roll_states.set("TEST", "Roll_Adjusted")
    before = stored(blob)

    def broken(*args, **kwargs):
        raise StoreError("disk full (injected between the two writes)")

    monkeypatch.setattr(blob.adjusted_prices, "write", broken)
    with pytest.raises(StoreError, match="injected"):
        roll_adjusted_prices("TEST", confirm=True, data=blob)
    monkeypatch.undo()
    after = stored(blob)
    pd.testing.assert_frame_equal(before[0], after[0])
    pd.testing.assert_frame_equal(before[1], after[1])
    assert blob.roll_states.get("TEST") == "Roll_Adjusted"
    assert blob.state.get(ROLL_JOURNAL, "TEST") is None
    assert not recover_pending_roll(blob, "TEST")


KILLED_ROLL = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, {repo!r})
    from pathlib import Path
    from tests.blob_helpers import make_blob
    from sysproduction.roll_adjusted_prices import roll_adjusted_prices
    data = make_blob(Path({home!r}))
    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)   # the process dies between the two writes
    data.adjusted_prices.write = die
    roll_adjusted_prices("TEST", confirm=True, data=data)
""")


def test_process_killed_between_writes_is_finished_by_next_run(blob, tmp_path):
    blob.roll_states.set("TEST", "Roll_Adjusted")
    expected = plan_roll(blob, "TEST")
    home = blob.home
    blob.close()
    script = tmp_path / "killed_roll.py"
    script.write_text(KILLED_ROLL.format(repo=str(REPO), home=str(home)))
    proc = subprocess.run([sys.executable, str(script)], cwd=REPO)
    assert proc.returncode == -signal.SIGKILL
    data = make_blob(home)
    try:
        # half-done: multiple rolled, adjusted not, journal present
        assert data.multiple_prices.read("TEST")["PRICE_CONTRACT"].iloc[-1] == "20240900"
        assert data.state.get(ROLL_JOURNAL, "TEST") is not None
        report = update_multiple_adjusted_prices(data=data)
        assert report.ok, report.failures
        adjusted = data.adjusted_prices.read_series("TEST")
        np.testing.assert_array_equal(adjusted.to_numpy(), expected.adjusted_prices.data.to_numpy())
        assert data.roll_states.get("TEST") == "No_Roll"
        assert data.state.get(ROLL_JOURNAL, "TEST") is None
    finally:
        data.close()
    assert os.path.exists(home)


def test_refuses_with_a_position_in_the_priced_contract(blob):
    blob.roll_states.set("TEST", "Roll_Adjusted")
    blob.positions.set_contract_position("TEST", "202406", 5, "2024-03-06 23:00")
    before = stored(blob)
    with pytest.raises(InvalidData, match="5 contracts are held in the priced contract 202406"):
        roll_adjusted_prices("TEST", confirm=True, data=blob)
    after = stored(blob)
    pd.testing.assert_frame_equal(before[0], after[0])
    pd.testing.assert_frame_equal(before[1], after[1])


def test_roll_state_changes_follow_the_transition_table(blob):
    from sysobjects.roll_state import InvalidRollStateTransition
    from sysproduction.update_roll_state import allowed_next_roll_states, update_roll_state

    blob.positions.set_contract_position("TEST", "202406", 2, "2024-03-06 23:00")
    assert "Roll_Adjusted" not in allowed_next_roll_states("TEST", data=blob)
    with pytest.raises(InvalidRollStateTransition, match="not allowed with a position"):
        update_roll_state("TEST", "Roll_Adjusted", data=blob)
    assert blob.roll_states.get("TEST") == "No_Roll"
    update_roll_state("TEST", "Passive", data=blob)
    assert blob.roll_states.get("TEST") == "Passive"
    blob.positions.set_contract_position("TEST", "202406", 0, "2024-03-07 23:00")
    update_roll_state("TEST", "Roll_Adjusted", data=blob)
    assert roll_adjusted_prices("TEST", confirm=True, data=blob).endswith("No_Roll")


def test_inferred_roll_row_uses_a_matched_pair_of_closes(blob):
    frame = multiple_prices()
    frame.loc[frame.index[-1], "FORWARD"] = np.nan  # last FORWARD missing: a row is inferred
    blob.multiple_prices.write("TEST", MultiplePrices(frame).data)
    t1, t2 = pd.Timestamp("2024-03-06 20:00", tz="UTC"), pd.Timestamp("2024-03-06 22:00", tz="UTC")

    def bars(values, stamps):
        return pd.DataFrame({"OPEN": values, "HIGH": values, "LOW": values, "FINAL": values,
                             "VOLUME": [1.0] * len(values)}, index=pd.DatetimeIndex(stamps))

    blob.contract_prices.write("TEST", "202406", bars([103.0, 150.0], [t1, t2]), "merged")
    blob.contract_prices.write("TEST", "202409", bars([107.0], [t1]), "merged")
    result = plan_roll(blob, "TEST")
    inferred, roll = result.new_rows.iloc[0], result.new_rows.iloc[1]
    # both prices from t1, not the price contract's later close of 150 at t2
    assert (inferred["PRICE"], inferred["FORWARD"]) == (103.0, 107.0)
    assert roll["PRICE"] == 107.0 and roll["PRICE_CONTRACT"] == "202409"


def _dies_on(monkeypatch, target, name, when):
    real = getattr(target, name)

    def dying(*args, **kwargs):
        if when(*args):
            raise StoreError("process died (injected)")
        return real(*args, **kwargs)

    monkeypatch.setattr(target, name, dying)


@pytest.mark.parametrize("step", ["before the journal", "after the roll state"])
def test_staged_prices_left_by_a_dead_roll_are_removed_by_the_next_run(blob, monkeypatch, step):
    blob.roll_states.set("TEST", "Roll_Adjusted")
    expected = plan_roll(blob, "TEST")
    before = stored(blob)
    if step == "before the journal":
        _dies_on(monkeypatch, blob.state, "put", lambda collection, *_: collection == ROLL_JOURNAL)
    else:  # roll state and journal removal done, the staging clean-up never ran
        _dies_on(monkeypatch, blob.timeseries, "delete", lambda library, *_: library == "roll_staging")
    with pytest.raises(StoreError, match="injected"):
        roll_adjusted_prices("TEST", confirm=True, data=blob)
    monkeypatch.undo()
    assert blob.timeseries.symbols("roll_staging") == ["TEST/adjusted", "TEST/multiple"]
    assert blob.state.get(ROLL_JOURNAL, "TEST") is None
    report = update_multiple_adjusted_prices(data=blob)
    assert report.ok, report.failures
    assert blob.timeseries.symbols("roll_staging") == []
    multiple, adjusted = stored(blob)
    if step == "before the journal":  # nothing was rolled
        pd.testing.assert_frame_equal(before[0], multiple)
        pd.testing.assert_frame_equal(before[1], adjusted)
        assert blob.roll_states.get("TEST") == "Roll_Adjusted"
    else:  # the roll was complete
        np.testing.assert_array_equal(adjusted["price"].to_numpy(),
                                      expected.adjusted_prices.data.to_numpy())
        assert blob.roll_states.get("TEST") == "No_Roll"


def test_dry_run_speaks_the_command_line(blob):
    blob.roll_states.set("TEST", "Roll_Adjusted")
    text = roll_adjusted_prices("TEST", confirm=False, data=blob)
    assert "2024-03-06 23:00:01 UTC  PRICE 106 (202409)  FORWARD nan (202412)" in text
    assert text.endswith("(not written: run again with --confirm true)")
    assert "20240900" not in text and "confirm=" not in text and "Timestamp(" not in text
