"""A rerun repairs what a crash left behind: merged per-contract series, multiple prices and
adjusted prices end up equal to an uninterrupted run, with no new bars needed."""
from __future__ import annotations

import pandas as pd
import pytest

from sysbrokers.sim.bad_data import BadDataConfig, BadDataInjection, BadDataKind
from sysbrokers.sim.market import MarketModel, default_market
from sysinit.init_from_sim_universe import init_from_sim_universe
from sysproduction.update_historical_prices import update_historical_prices
from sysproduction.update_multiple_adjusted_prices import update_multiple_adjusted_prices
from sysproduction.update_sampled_contracts import key_contracts, update_sampled_contracts
from tests.blob_helpers import FixedClock
from tests.sysproduction.test_price_pipeline import START, blob_with_market, seed_multiple_prices

CODE = "CORN"
DERIVED = ("futures_contract_prices", "multiple_prices", "adjusted_prices")


def first_day(home):
    """A home with a day of history, multiple and adjusted prices; the clock moved on a day."""
    clock = FixedClock(START)
    data = blob_with_market(home, clock)
    init_from_sim_universe(CODE, data=data)
    update_sampled_contracts(data=data)
    assert update_historical_prices(data=data).ok
    seed_multiple_prices(data, CODE)
    assert update_multiple_adjusted_prices(data=data).ok
    clock.current += pd.Timedelta(days=1)
    return data


def series(data):
    return {(library, symbol): data.timeseries.read(library, symbol)
            for library in DERIVED for symbol in data.timeseries.symbols(library)}


def assert_same_series(expected, actual):
    assert expected.keys() == actual.keys()
    for key in expected:
        pd.testing.assert_frame_equal(expected[key], actual[key], obj=str(key))


@pytest.fixture
def uninterrupted(tmp_path):
    data = first_day(tmp_path / "uninterrupted")
    assert update_historical_prices(data=data).ok
    assert update_multiple_adjusted_prices(data=data).ok
    yield series(data)
    data.close()


@pytest.fixture
def crashed(tmp_path, monkeypatch):
    """Day two's price collection dies (disk full) after appending the priced contract's bars
    and before rewriting its merged series."""
    data = first_day(tmp_path / "crashed")
    priced = key_contracts(data, CODE, data.now().date())[0]
    real_write = data.contract_prices.write
    merged_before = data.contract_prices.read(CODE, priced, "merged")

    def full_disk(code, contract_date, prices, frequency="merged"):
        if frequency == "merged" and contract_date == priced:
            raise OSError(28, "No space left on device")
        return real_write(code, contract_date, prices, frequency)

    monkeypatch.setattr(data.contract_prices, "write", full_disk)
    report = update_historical_prices(data=data)
    monkeypatch.undo()
    assert CODE in report.failures
    # the crash landed between the two writes: new bars stored, merged series not rewritten
    daily = data.contract_prices.read(CODE, priced, "D")
    assert daily.index[-1] > merged_before.index[-1]
    pd.testing.assert_frame_equal(data.contract_prices.read(CODE, priced, "merged"), merged_before)
    yield data
    data.close()


def test_rerun_with_no_new_bars_repairs_merged_multiple_and_adjusted(crashed, uninterrupted):
    rerun = update_historical_prices(data=crashed)
    assert rerun.ok, rerun.failures
    assert update_multiple_adjusted_prices(data=crashed).ok
    assert_same_series(uninterrupted, series(crashed))
    # and a further run changes nothing
    update_historical_prices(data=crashed)
    update_multiple_adjusted_prices(data=crashed)
    assert_same_series(uninterrupted, series(crashed))


def test_multiple_update_after_the_crash_uses_the_stored_bars(crashed, uninterrupted):
    # cron runs the multiple-price update although the price collection failed
    assert update_multiple_adjusted_prices(data=crashed).ok
    # it reads the priced contract's stored bars, not its stale merged series
    after_crash = series(crashed)
    for key in [k for k in uninterrupted if k[0] != "futures_contract_prices"]:
        pd.testing.assert_frame_equal(uninterrupted[key], after_crash[key], obj=str(key))
    rerun = update_historical_prices(data=crashed)
    assert rerun.ok, rerun.failures
    assert update_multiple_adjusted_prices(data=crashed).ok
    assert_same_series(uninterrupted, series(crashed))


def test_adjusted_prices_far_behind_the_multiple_prices_catch_up(tmp_path, uninterrupted):
    data = first_day(tmp_path / "behind")
    try:
        assert update_historical_prices(data=data).ok
        assert update_multiple_adjusted_prices(data=data).ok
        # adjusted prices stopped 60 days back (runs that stored multiple prices, then died)
        adjusted = data.adjusted_prices.read(CODE)
        data.adjusted_prices.write(CODE, adjusted[adjusted.index < data.now() - pd.Timedelta(days=60)])
        report = update_multiple_adjusted_prices(data=data)
        assert report.ok, report.failures
        assert report.results[CODE].adjusted_appended > 0
        assert_same_series(uninterrupted, series(data))
    finally:
        data.close()


def late_bar_home(home, clock):
    """A home whose broker delivers one CORN hourly bar of today 20 hours late."""
    late_at = clock.now().normalize() + pd.Timedelta(hours=15)
    injection = BadDataInjection(BadDataKind.LATE, CODE, late_at, late_at,
                                 delay=pd.Timedelta(hours=20))
    market = MarketModel(default_market(42).universe,
                         bad_data=BadDataConfig(injections=(injection,)))
    data = blob_with_market(home, clock, market)
    init_from_sim_universe(CODE, data=data)
    update_sampled_contracts(data=data)
    assert update_historical_prices(data=data).ok
    clock.current += pd.Timedelta(days=1)  # the late bar arrives with today's bars
    return data, late_at


@pytest.mark.parametrize("dies_at", ["merged", "H"])
def test_crash_while_inserting_a_late_bar_is_repaired_by_rerun(tmp_path, monkeypatch, dies_at):
    reference, late_at = late_bar_home(tmp_path / "reference", FixedClock(START))
    crashed, _ = late_bar_home(tmp_path / "crashed", FixedClock(START))
    try:
        assert update_historical_prices(data=reference).ok
        real_write = crashed.contract_prices.write

        def full_disk(code, contract_date, prices, frequency="merged"):
            if frequency == dies_at:
                raise OSError(28, "No space left on device")
            return real_write(code, contract_date, prices, frequency)

        monkeypatch.setattr(crashed.contract_prices, "write", full_disk)
        assert CODE in update_historical_prices(data=crashed).failures
        monkeypatch.undo()
        assert update_historical_prices(data=crashed).ok
        priced = key_contracts(crashed, CODE, crashed.now().date())[0]
        assert late_at in crashed.contract_prices.read(CODE, priced, "merged").index
        assert_same_series(series(reference), series(crashed))
    finally:
        reference.close()
        crashed.close()


def bars(closes: dict[str, float]) -> pd.DataFrame:
    index = pd.DatetimeIndex(list(closes), tz="UTC")
    values = list(closes.values())
    return pd.DataFrame({"OPEN": values, "HIGH": values, "LOW": values, "FINAL": values,
                         "VOLUME": [1.0] * len(values)}, index=index)


def test_price_filled_behind_the_adjusted_prices_gets_its_adjusted_value(tmp_path):
    from sysobjects.adjusted_prices import adjusted_prices_as_stored
    from sysobjects.instruments import InstrumentConfig
    from sysobjects.multiple_prices import MultiplePrices
    from tests.blob_helpers import make_blob

    data = make_blob(tmp_path / "home")
    try:
        data.instruments.add(InstrumentConfig("TEST", pointsize=10))
        t1, t2, t3 = "2024-03-04 15:00", "2024-03-04 16:00", "2024-03-04 17:00"
        # the priced contract's 16:00 close was missing when the rows were built and extended
        frame = pd.DataFrame({
            "PRICE": [100.0, float("nan"), 102.0], "PRICE_CONTRACT": ["202406"] * 3,
            "FORWARD": [104.0, 105.0, 106.0], "FORWARD_CONTRACT": ["202409"] * 3,
            "CARRY": [104.0, 105.0, 106.0], "CARRY_CONTRACT": ["202409"] * 3,
        }, index=pd.DatetimeIndex([t1, t2, t3], tz="UTC"))
        data.multiple_prices.write("TEST", MultiplePrices(frame).data)
        stored, _ = adjusted_prices_as_stored(MultiplePrices(frame))
        data.adjusted_prices.write("TEST", stored.data.rename("price"))
        assert len(data.adjusted_prices.read("TEST")) == 2
        # the close arrives (late bar, or a repaired merged series)
        data.contract_prices.write("TEST", "202406", bars({t1: 100.0, t2: 101.0, t3: 102.0}))
        data.contract_prices.write("TEST", "202409", bars({t1: 104.0, t2: 105.0, t3: 106.0}))
        report = update_multiple_adjusted_prices(data=data)
        assert report.ok, report.failures
        assert report.results["TEST"].filled == 1
        multiple = MultiplePrices(data.multiple_prices.read("TEST"))
        expected, _ = adjusted_prices_as_stored(multiple)
        pd.testing.assert_series_equal(data.adjusted_prices.read_series("TEST"), expected.data,
                                       check_names=False)
        assert data.adjusted_prices.read_series("TEST").loc[pd.Timestamp(t2, tz="UTC")] == 101.0
    finally:
        data.close()
