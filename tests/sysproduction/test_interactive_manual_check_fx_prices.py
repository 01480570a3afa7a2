"""Manual check of held-back spot FX prices, driven by a scripted ``ask`` against real stores and a
broker double serving a spiky FX series (the simulator has no FX bad data)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from syscore.exceptions import MissingData
from sysdata.broker_config import FxPairConfig
from sysdata.data_blob import DataBlob
from sysproduction.interactive_manual_check_fx_prices import interactive_manual_check_fx_prices
from sysproduction.manual_price_checks import SpikeAction, SpikeDecision
from sysproduction.update_fx_prices import update_fx_prices
from tests.blob_helpers import FixedClock, make_blob
from tests.sysproduction.console_helpers import ScriptedAsk

UTC = "UTC"


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=UTC)


class FxBroker:
    """Serves a preset daily series per (ccy1, ccy2)."""

    def __init__(self, series: dict[tuple[str, str], pd.Series]):
        self.series = series

    def get_fx_prices(self, ccy1, ccy2, start, end):
        s = self.series[(ccy1, ccy2)]
        return s[(s.index >= start) & (s.index <= end)].copy()


def eurusd() -> pd.Series:
    index = pd.date_range(ts("2023-06-01 23:00"), ts("2024-01-01 23:00"), freq="D")
    return pd.Series(1.10 + 0.002 * np.sin(np.arange(len(index)) * 1.3), index=index)


@pytest.fixture
def setup(tmp_path):
    base = make_blob(tmp_path / "home", clock=FixedClock("2024-01-02 12:00"))
    served = {("EUR", "USD"): eurusd()}
    data = DataBlob(base.state, base.timeseries, base.config, base.home, clock=base.clock,
                    broker_factory=lambda blob: FxBroker(served))
    data.broker_config.add_fx_pairs([FxPairConfig("EURUSD", "EUR", "USD")])
    history = served[("EUR", "USD")]
    data.fx_prices.write("EURUSD", history[history.index <= ts("2023-12-20 23:59")])
    yield data, served
    data.close()


def test_spike_held_back_then_typed_value_written(setup):
    data, served = setup
    bad = ts("2023-12-27 23:00")
    clean = served[("EUR", "USD")]
    served[("EUR", "USD")] = clean.where(clean.index != bad, 11.0)  # a decimal slip
    assert update_fx_prices(data=data).results["EURUSD"].spike_at == bad
    assert data.fx_prices.read_series("EURUSD").index[-1] < bad

    # not understood; not > 0; spikes too -> back; good value
    ask = ScriptedAsk("zzz", "-1.1", "1.5", "1.1012")
    said = []
    report = interactive_manual_check_fx_prices("EURUSD", data=data, ask=ask, say=said.append)
    assert report.decisions == [SpikeDecision(bad, SpikeAction.VALUE, 1.1012)]
    assert len(ask.prompts) == 4
    assert any("not understood: 'zzz'" in s for s in said)
    assert any("not understood: '-1.1' (a price must be > 0)" in s for s in said)
    assert any("1.5 at 2023-12-27 23:00:00+00:00 also spikes" in s for s in said)
    stored = data.fx_prices.read_series("EURUSD")
    assert stored.index[-1] == clean.index[-1]
    assert stored.loc[bad] == 1.1012
    pd.testing.assert_series_equal(stored.drop(bad), clean.drop(bad), check_names=False,
                                   check_freq=False, check_index_type=False)
    assert report.written == (clean.index > ts("2023-12-20 23:59")).sum()
    assert update_fx_prices(data=data).results["EURUSD"].written == 0


def test_previous_value_and_quit(setup):
    data, served = setup
    bad = ts("2023-12-22 23:00")
    clean = served[("EUR", "USD")]
    served[("EUR", "USD")] = clean.where(clean.index != bad, 0.11)

    report = interactive_manual_check_fx_prices("EURUSD", data=data, ask=ScriptedAsk("q"),
                                                say=lambda s: None)
    assert report.stopped and report.written == 0
    assert data.fx_prices.read_series("EURUSD").index[-1] < bad

    report = interactive_manual_check_fx_prices("EURUSD", data=data, ask=ScriptedAsk("p"),
                                                say=lambda s: None)
    stored = data.fx_prices.read_series("EURUSD")
    assert stored.loc[bad] == clean.loc[ts("2023-12-21 23:00")]
    assert report.decisions[0].action is SpikeAction.PREVIOUS
    # nothing left: a second check has no new prices and asks nothing
    assert interactive_manual_check_fx_prices("EURUSD", data=data, ask=ScriptedAsk(),
                                              say=lambda s: None).written == 0


def test_unknown_pair(setup):
    data = setup[0]
    with pytest.raises(MissingData, match="no FX pair configured"):
        interactive_manual_check_fx_prices("GBPUSD", data=data, ask=ScriptedAsk())


def test_end_of_input_stops_like_quit(setup):
    """No terminal (cron, CI): the first question meets EOF; the check stops, nothing written,
    no traceback (the console framework turns EOF into a clean stop)."""
    data, served = setup
    bad = ts("2023-12-22 23:00")
    clean = served[("EUR", "USD")]
    served[("EUR", "USD")] = clean.where(clean.index != bad, 0.11)
    said = []

    def no_stdin(prompt):
        raise EOFError

    report = interactive_manual_check_fx_prices("EURUSD", data=data, ask=no_stdin,
                                                say=said.append)
    assert report.stopped and report.written == 0
    assert said[-1] == "end of input; EURUSD not written"
    assert data.fx_prices.read_series("EURUSD").index[-1] < bad
