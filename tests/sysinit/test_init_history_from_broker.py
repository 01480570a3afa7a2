"""Multi-year history from the simulated broker: contracts, roll calendar, multiple and adjusted
prices consistent with each other."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sysbrokers.sim.broker import SimBroker
from sysbrokers.sim.market import default_market
from sysinit.init_from_sim_universe import init_from_sim_universe
from sysinit.init_history_from_broker import init_history_from_broker
from sysobjects.adjusted_prices import panama_adjust
from sysobjects.multiple_prices import MultiplePrices
from tests.blob_helpers import FixedClock, make_blob


@pytest.fixture(scope="module")
def blob(tmp_path_factory):
    market = default_market(42)
    data = make_blob(tmp_path_factory.mktemp("history"), clock=FixedClock("2024-06-03 22:30"),
                     broker_factory=lambda blob: SimBroker(clock=blob.clock, home=blob.home,
                                                           market=market))
    init_from_sim_universe("CORN,SP500_micro,CRUDE_W", data=data)
    report = init_history_from_broker(years=3, data=data)
    yield data, report
    data.close()


def test_history_has_rolls_and_reaches_today(blob):
    data, report = blob
    assert report.ok, report.failures
    for code, min_rolls in (("CORN", 2), ("SP500_micro", 10), ("CRUDE_W", 2)):
        multiple = MultiplePrices(data.multiple_prices.read(code))
        assert len(multiple.roll_positions()) >= min_rolls
        assert multiple.last_timestamp > data.now() - pd.Timedelta(days=5)
        assert multiple.index[0] < data.now() - pd.Timedelta(days=2 * 365)


def test_adjusted_prices_are_the_panama_stitch_of_the_multiple_prices(blob):
    data, _ = blob
    multiple = MultiplePrices(data.multiple_prices.read("SP500_micro"))
    expected = panama_adjust(multiple).data.dropna()
    stored = data.adjusted_prices.read_series("SP500_micro").dropna()
    np.testing.assert_allclose(stored.to_numpy(), expected.loc[stored.index].to_numpy(), rtol=1e-12)
    # latest contract unadjusted
    assert stored.iloc[-1] == multiple.data["PRICE"].dropna().iloc[-1]


def test_second_run_refuses_without_overwrite(blob):
    data, _ = blob
    before = data.multiple_prices.read("CORN")
    again = init_history_from_broker("CORN", years=3, data=data)
    assert "CORN" in again.failures and "--overwrite true" in again.failures["CORN"]
    pd.testing.assert_frame_equal(before, data.multiple_prices.read("CORN"))


def test_a_stored_roll_calendar_is_refused_before_anything_is_fetched(tmp_path):
    """An instrument with a roll calendar (e.g. imported from pysystemtrade) but no multiple
    prices: without overwrite the run refuses it up front and writes no contract prices (it
    used to fetch and store every contract's bars first, then refuse at the calendar)."""
    market = default_market(42)
    data = make_blob(tmp_path, clock=FixedClock("2024-06-03 22:30"),
                     broker_factory=lambda blob: SimBroker(clock=blob.clock, home=blob.home,
                                                           market=market))
    try:
        init_from_sim_universe("CORN", data=data)
        calendar = pd.DataFrame(
            {"current_contract": [20230300], "next_contract": [20230500],
             "carry_contract": [20230500]},
            index=pd.DatetimeIndex(["2023-02-20 23:00"], tz="UTC"))
        data.roll_calendars.write("CORN", calendar)
        stored = data.roll_calendars.read("CORN")

        report = init_history_from_broker("CORN", years=1, data=data)

        assert "CORN" in report.failures
        assert "roll calendar" in report.failures["CORN"]
        assert "--overwrite true" in report.failures["CORN"]
        assert data.contract_prices.contracts_with_prices("CORN", "D") == []
        assert data.contract_prices.contracts_with_prices("CORN") == []
        pd.testing.assert_frame_equal(data.roll_calendars.read("CORN"), stored)
    finally:
        data.close()
