"""Manual check of held-back per-contract prices: the pure correction rule, and the console
driven by a scripted ``ask`` against real stores and a broker double serving spiky bars."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from syscore.exceptions import InvalidData
from sysdata.data_blob import DataBlob
from sysobjects.contracts import FuturesContract
from sysobjects.instruments import InstrumentConfig
from sysproduction.interactive_manual_check_historical_prices import (
    interactive_manual_check_historical_prices,
)
from sysproduction.manual_price_checks import (
    SpikeAction,
    SpikeDecision,
    apply_corrections,
)
from sysproduction.update_historical_prices import update_historical_prices
from tests.blob_helpers import FixedClock, make_blob
from tests.sysproduction.console_helpers import ScriptedAsk

UTC = "UTC"
NOW = "2024-01-02 12:00"
STORED_UNTIL = pd.Timestamp("2023-12-28 23:59", tz=UTC)


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=UTC)


# --------------------------------------------------------------------------- pure rule
def bars_frame(finals, opens=None, volume=None, start="2024-01-01 10:00"):
    index = pd.date_range(ts(start), periods=len(finals), freq="h")
    finals = np.asarray(finals, dtype=float)
    opens = finals - 0.5 if opens is None else np.asarray(opens, dtype=float)
    return pd.DataFrame({"OPEN": opens, "HIGH": finals + 1.0, "LOW": finals - 1.0,
                         "FINAL": finals, "VOLUME": volume if volume is not None else 10.0},
                        index=index)


def test_apply_corrections_shifts_ohlc_keeps_volume():
    bars = bars_frame([100.0, 150.0, 101.0, 102.0], opens=[99.5, np.nan, 100.5, 101.5],
                      volume=[5.0, 6.0, 7.0, np.nan])
    t = bars.index
    out = apply_corrections(bars, [
        SpikeDecision(t[1], SpikeAction.PREVIOUS),
        SpikeDecision(t[2], SpikeAction.ACCEPT),
        SpikeDecision(t[3], SpikeAction.VALUE, 103.25),
    ])
    assert out["FINAL"].tolist() == [100.0, 100.0, 101.0, 103.25]
    assert out["HIGH"].tolist() == [101.0, 101.0, 102.0, 104.25]
    assert out["LOW"].tolist() == [99.0, 99.0, 100.0, 102.25]
    assert np.isnan(out["OPEN"].iloc[1]) and out["OPEN"].iloc[3] == 102.75
    pd.testing.assert_series_equal(out["VOLUME"], bars["VOLUME"])
    pd.testing.assert_frame_equal(bars, bars_frame([100.0, 150.0, 101.0, 102.0],
                                                   opens=[99.5, np.nan, 100.5, 101.5],
                                                   volume=[5.0, 6.0, 7.0, np.nan]))  # input kept


def test_previous_chains_through_corrections_and_stored_price():
    bars = bars_frame([150.0, 160.0, 101.0])
    t = bars.index
    out = apply_corrections(bars, [SpikeDecision(t[1], SpikeAction.PREVIOUS),
                                   SpikeDecision(t[0], SpikeAction.PREVIOUS)],
                            previous_final=99.0)
    assert out["FINAL"].tolist() == [99.0, 99.0, 101.0]
    with pytest.raises(InvalidData, match="no previous price"):
        apply_corrections(bars, [SpikeDecision(t[0], SpikeAction.PREVIOUS)])
    with pytest.raises(InvalidData, match="no price at"):
        apply_corrections(bars, [SpikeDecision(ts("2020-01-01"), SpikeAction.ACCEPT)])
    with pytest.raises(InvalidData):
        SpikeDecision(t[0], SpikeAction.VALUE, float("nan"))
    with pytest.raises(InvalidData):
        SpikeDecision(t[0], SpikeAction.ACCEPT, 1.0)


# --------------------------------------------------------------------------- console
class BarsBroker:
    """Serves preset bars per (instrument, contract, 'D'/'H'), like a broker's history call."""

    def __init__(self, bars: dict[tuple[str, str, str], pd.DataFrame]):
        self.bars = bars

    def get_historical_bars(self, instrument_code, contract_date, frequency, start, end):
        frame = self.bars[(instrument_code, contract_date, frequency)]
        return frame[(frame.index >= start) & (frame.index <= end)].copy()


def walk(index: pd.DatetimeIndex, level: float, step: float) -> pd.DataFrame:
    moves = step * np.sin(np.arange(len(index)) * 1.7)
    final = level + np.cumsum(moves)
    return pd.DataFrame({"OPEN": final - step / 2, "HIGH": final + step, "LOW": final - step,
                         "FINAL": final, "VOLUME": 10.0}, index=index)


def contract_series():
    hourly = walk(pd.date_range(ts("2023-12-01 00:00"), ts("2024-01-02 11:00"), freq="h"),
                  100.0, 0.05)
    daily = walk(pd.date_range(ts("2023-06-01 23:00"), ts("2024-01-01 23:00"), freq="D"),
                 100.0, 0.3)
    return hourly, daily


def spiked(frame: pd.DataFrame, at: str, factor: float = 1.5) -> pd.DataFrame:
    out = frame.copy()
    out.loc[ts(at), ["OPEN", "HIGH", "LOW", "FINAL"]] *= factor
    return out


@pytest.fixture
def setup(tmp_path):
    base = make_blob(tmp_path / "home", clock=FixedClock(NOW))
    served = {}
    data = DataBlob(base.state, base.timeseries, base.config, base.home, clock=base.clock,
                    broker_factory=lambda blob: BarsBroker(served))
    data.instruments.add(InstrumentConfig("CORN"))
    hourly, daily = contract_series()
    for contract in ("202403", "202405"):
        data.contracts.add(FuturesContract("CORN", contract, sampling=True))
        served[("CORN", contract, "H")] = hourly
        served[("CORN", contract, "D")] = daily
        data.contract_prices.write("CORN", contract, hourly[hourly.index <= STORED_UNTIL], "H")
        data.contract_prices.write("CORN", contract, daily[daily.index <= STORED_UNTIL], "D")
    yield data, served, hourly, daily
    data.close()


def test_daily_process_holds_back_then_manual_check_resolves(setup):
    data, served, hourly, daily = setup
    bad_hour, bad_day = "2023-12-30 05:00", "2023-12-31 23:00"
    served[("CORN", "202405", "H")] = spiked(hourly, bad_hour)
    served[("CORN", "202405", "D")] = spiked(daily, bad_day, factor=0.5)

    report = update_historical_prices("CORN", data=data)
    update = report.results["CORN"]
    assert [c.contract_date for c in update.spiked] == ["202405"]
    assert data.contract_prices.read("CORN", "202405", "H").index[-1] <= STORED_UNTIL
    assert data.contract_prices.read("CORN", "202403", "H").index[-1] == hourly.index[-1]

    previous_day = daily.loc[ts("2023-12-30 23:00"), "FINAL"]
    # hourly: previous value (the spike out of the bad bar then disappears: one question);
    # daily: a typed price that spikes too, something else (back to the question), a good one
    ask = ScriptedAsk("p", "1000", "what?", f"{previous_day + 0.1}")
    said = []
    result = interactive_manual_check_historical_prices("CORN", data=data, ask=ask, say=said.append)

    assert len(ask.prompts) == 4
    assert "CORN 202405 hourly 2023-12-30 05:00:00+00:00: [a]ccept" in ask.prompts[0]
    assert "1000 anyway" in ask.prompts[2]
    assert "[a]ccept" in ask.prompts[3] and "[p]revious value" in ask.prompts[3]  # back to start
    assert any("1000 at 2023-12-31 23:00:00+00:00 also spikes" in s for s in said)
    checked = {c.contract_date: c for c in result.contracts}
    assert checked["202403"].written == {}  # already up to date
    assert [d.action for d in checked["202405"].decisions["H"]] == [SpikeAction.PREVIOUS]
    assert checked["202405"].decisions["D"] == [
        SpikeDecision(ts(bad_day), SpikeAction.VALUE, previous_day + 0.1)]

    stored_h = data.contract_prices.read("CORN", "202405", "H")
    assert stored_h.index[-1] == hourly.index[-1]
    before = hourly.loc[hourly.index < ts(bad_hour)].iloc[-1]
    fixed = stored_h.loc[ts(bad_hour)]
    original = served[("CORN", "202405", "H")].loc[ts(bad_hour)]  # the bad bar as served
    assert fixed["FINAL"] == before["FINAL"]
    shift = before["FINAL"] - original["FINAL"]
    for column in ("OPEN", "HIGH", "LOW"):
        assert fixed[column] == pytest.approx(original[column] + shift, abs=1e-12)
    assert fixed["VOLUME"] == original["VOLUME"]
    stored_d = data.contract_prices.read("CORN", "202405", "D")
    assert stored_d.loc[ts(bad_day), "FINAL"] == previous_day + 0.1
    merged = data.contract_prices.read("CORN", "202405", "merged")
    assert merged.loc[ts(bad_hour), "FINAL"] == before["FINAL"]
    assert merged.loc[ts(bad_day), "FINAL"] == previous_day + 0.1

    # the daily process now finds nothing new and nothing spiky
    again = update_historical_prices("CORN", data=data).results["CORN"]
    assert not again.spiked
    assert sum(sum(c.written.values()) for c in again.contracts) == 0


def test_accepting_a_typed_spike_and_a_real_move(setup):
    data, served, hourly, daily = setup
    served[("CORN", "202403", "H")] = spiked(hourly, "2023-12-29 10:00")
    ask = ScriptedAsk("150", "a", "a")  # typed 150 spikes: accept it; then the move out: accept
    result = interactive_manual_check_historical_prices("CORN", data=data, ask=ask,
                                                        say=lambda s: None)
    decisions = result.contracts[0].decisions["H"]
    assert [d.action for d in decisions] == [SpikeAction.VALUE, SpikeAction.ACCEPT]
    stored = data.contract_prices.read("CORN", "202403", "H")
    assert stored.loc[ts("2023-12-29 10:00"), "FINAL"] == 150.0
    assert stored.index[-1] == hourly.index[-1]


def test_quit_leaves_unfinished_contract_unwritten(setup):
    data, served, hourly, daily = setup
    served[("CORN", "202405", "D")] = spiked(daily, "2023-12-30 23:00")
    ask = ScriptedAsk("q")
    said = []
    result = interactive_manual_check_historical_prices("CORN", data=data, ask=ask,
                                                        say=said.append)
    assert result.stopped_at == "202405"
    assert [c.contract_date for c in result.contracts] == ["202403"]
    assert data.contract_prices.read("CORN", "202403", "D").index[-1] == daily.index[-1]
    assert data.contract_prices.read("CORN", "202405", "H").index[-1] <= STORED_UNTIL
    assert data.contract_prices.read("CORN", "202405", "D").index[-1] <= STORED_UNTIL
    assert not data.contract_prices.has("CORN", "202405", "merged")
    assert "stopped at 202405: not written" in str(result)
    assert "202405 not written" in said[-1]


def test_unknown_instrument(setup):
    data = setup[0]
    from syscore.exceptions import UnknownInstrument
    with pytest.raises(UnknownInstrument):
        interactive_manual_check_historical_prices("NOPE", data=data, ask=ScriptedAsk())


def test_with_simulated_broker_and_injected_spike(tmp_path):
    """The simulated broker with one injected bad hourly bar (x1.5): the daily process holds the
    contract back; the manual check asks once (the jump back vanishes with the correction)."""
    from sysbrokers.sim.bad_data import BadDataConfig, BadDataInjection, BadDataKind
    from sysbrokers.sim.broker import SimBroker
    from sysbrokers.sim.market import MarketModel
    from sysbrokers.sim.universe import load_universe

    bad_at = ts("2023-12-15 15:00")
    market = MarketModel(load_universe(), bad_data=BadDataConfig(injections=(
        BadDataInjection(BadDataKind.SPIKE, "SP500_micro", bad_at, bad_at,
                         contract_date="202403", factor=1.5),)))
    clock = FixedClock("2023-12-01 00:00")
    base = make_blob(tmp_path / "home", clock=clock)
    data = DataBlob(base.state, base.timeseries, base.config, base.home, clock=clock,
                    broker_factory=lambda blob: SimBroker(blob.clock, blob.home, market=market))
    try:
        data.instruments.add(InstrumentConfig("SP500_micro"))
        data.contracts.add(FuturesContract("SP500_micro", "202403", sampling=True))
        assert update_historical_prices("SP500_micro", data=data).ok  # first history
        clock.current = ts("2024-01-02 12:00")
        held = update_historical_prices("SP500_micro", data=data).results["SP500_micro"]
        assert held.spiked and held.spiked[0].spike_at == bad_at

        ask = ScriptedAsk("p")
        result = interactive_manual_check_historical_prices("SP500_micro", data=data, ask=ask,
                                                            say=lambda s: None)
        assert len(ask.prompts) == 1 and str(bad_at) in ask.prompts[0]
        assert result.contracts[0].written["H"] > 100
        stored = data.contract_prices.read("SP500_micro", "202403", "H")
        before = stored[stored.index < bad_at].iloc[-1]
        assert stored.loc[bad_at, "FINAL"] == before["FINAL"]
        served = market.bars("SP500_micro", "202403", "H", bad_at, bad_at).loc[bad_at]
        for column in ("OPEN", "HIGH", "LOW"):  # the bar keeps its (served) shape
            assert stored.loc[bad_at, column] - stored.loc[bad_at, "FINAL"] == pytest.approx(
                served[column] - served["FINAL"], abs=1e-9)
        assert stored.loc[bad_at, "VOLUME"] == served["VOLUME"]
        again = update_historical_prices("SP500_micro", data=data).results["SP500_micro"]
        assert not again.spiked
    finally:
        data.close()


def test_late_bars_inside_recent_history_are_checked_and_inserted(setup):
    data, served, hourly, daily = setup
    late, bad_late = ts("2023-12-28 20:00"), ts("2023-12-28 21:00")
    for contract, missing in (("202403", [late]), ("202405", [bad_late])):
        stored = hourly[hourly.index <= STORED_UNTIL]
        data.contract_prices.write("CORN", contract, stored.drop(missing), "H")
    served[("CORN", "202405", "H")] = spiked(hourly, str(bad_late))
    merged_symbol = data.contract_prices.symbol("CORN", "202403", "merged")
    library = data.contract_prices.library
    merged_before = data.timeseries.version(library, merged_symbol).version \
        if data.timeseries.has(library, merged_symbol) else -1

    update = update_historical_prices("CORN", data=data).results["CORN"]
    by_contract = {c.contract_date: c for c in update.contracts}

    # a good late bar is inserted with the fresh ones: the stored series is the broker's
    assert by_contract["202403"].spike_at is None
    assert by_contract["202403"].written["H"] == 1 + int((hourly.index > STORED_UNTIL).sum())
    pd.testing.assert_frame_equal(data.contract_prices.read("CORN", "202403", "H"), hourly,
                                  check_freq=False, check_names=False)
    # the merged series is written once (before the bars), and is the stored bars' merge
    assert data.timeseries.version(library, merged_symbol).version == merged_before + 1
    pd.testing.assert_frame_equal(data.contract_prices.read("CORN", "202403"),
                                  data.contract_prices.merged_from_bars("CORN", "202403"))
    # a spiking late bar holds back the whole contract
    assert by_contract["202405"].spike_at == bad_late
    stored = data.contract_prices.read("CORN", "202405", "H")
    assert bad_late not in stored.index and stored.index[-1] <= STORED_UNTIL


def test_manual_check_resolves_a_late_spiking_bar(setup):
    """A late bar that spikes arrives with fresh bars: the daily process holds the contract
    back; the manual check (which used to crash with 'new prices start at ...') asks about the
    late bar, then inserts it and appends the fresh bars through the daily process's path."""
    data, served, hourly, daily = setup
    bad_late = ts("2023-12-28 21:00")
    stored = hourly[hourly.index <= STORED_UNTIL]
    data.contract_prices.write("CORN", "202405", stored.drop([bad_late]), "H")
    served[("CORN", "202405", "H")] = spiked(hourly, str(bad_late))
    held = update_historical_prices("CORN", data=data).results["CORN"]
    assert [c.contract_date for c in held.spiked] == ["202405"]

    ask = ScriptedAsk("p")
    result = interactive_manual_check_historical_prices("CORN", data=data, ask=ask,
                                                        say=lambda s: None)
    assert len(ask.prompts) == 1 and str(bad_late) in ask.prompts[0]
    checked = {c.contract_date: c for c in result.contracts}
    assert checked["202405"].decisions["H"] == [SpikeDecision(bad_late, SpikeAction.PREVIOUS)]
    assert checked["202405"].written["H"] == 1 + int((hourly.index > STORED_UNTIL).sum())
    after = data.contract_prices.read("CORN", "202405", "H")
    assert after.index[-1] == hourly.index[-1] and len(after) == len(hourly)
    assert after.loc[bad_late, "FINAL"] == hourly.loc[ts("2023-12-28 20:00"), "FINAL"]
    merged = data.contract_prices.read("CORN", "202405", "merged")
    assert merged.loc[bad_late, "FINAL"] == after.loc[bad_late, "FINAL"]
    again = update_historical_prices("CORN", data=data).results["CORN"]
    assert not again.spiked and sum(sum(c.written.values()) for c in again.contracts) == 0


def test_typed_price_is_rounded_to_the_tick(setup):
    data, served, hourly, daily = setup
    data.instruments.add(InstrumentConfig("CORN", tick_size=0.25))
    bad = "2023-12-29 10:00"
    served[("CORN", "202403", "H")] = spiked(hourly, bad)
    before = float(hourly.loc[hourly.index < ts(bad), "FINAL"].iloc[-1])
    typed = before + 0.1
    expected = round(typed * 4) / 4
    said = []
    ask = ScriptedAsk(f"{typed}", *["a"] * 5)  # the typed price, then accept what it trips
    result = interactive_manual_check_historical_prices("CORN", data=data, ask=ask,
                                                        say=said.append)
    decision = result.contracts[0].decisions["H"][0]
    assert decision == SpikeDecision(ts(bad), SpikeAction.VALUE, expected)
    assert any(f"rounded to the tick (0.25): {expected:.10g}" in s for s in said)
    stored = data.contract_prices.read("CORN", "202403", "H")
    assert stored.loc[ts(bad), "FINAL"] == expected
