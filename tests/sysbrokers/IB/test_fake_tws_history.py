"""Step 3: historical bars through the real ib_async client, compared with the sim market."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from ib_async import Forex, Future

from sysbrokers.sim.market import default_market
from tests.sysbrokers.IB.conftest import START


@pytest.fixture
def mes(ib):
    [fut] = ib.qualifyContracts(Future("MES", "202403", "CME"))
    return fut


def test_daily_trades_bars_match_the_simulated_market(ib, mes):
    bars = ib.reqHistoricalData(mes, "", "30 D", "1 day", "TRADES", useRTH=False, formatDate=1)
    expected = default_market().bars(
        "SP500_micro", "202403", "D", START - pd.Timedelta(days=30), START, as_of=START
    )
    assert len(bars) == len(expected) > 15
    assert all(isinstance(b.date, dt.date) and not isinstance(b.date, dt.datetime) for b in bars)
    assert [b.close for b in bars] == expected["FINAL"].tolist()
    assert [b.volume for b in bars] == expected["VOLUME"].astype(float).tolist()
    local_dates = [ts.tz_convert("America/Chicago").date() for ts in expected.index]
    assert [b.date for b in bars] == local_dates


def test_hourly_bars_are_dated_at_the_start_of_their_hour(ib, mes):
    bars = ib.reqHistoricalData(mes, "", "2 D", "1 hour", "TRADES", useRTH=False, formatDate=1)
    expected = default_market().bars(
        "SP500_micro", "202403", "H", START - pd.Timedelta(days=2), START, as_of=START
    )
    assert len(bars) == len(expected) > 20
    first = bars[0].date
    assert first.tzinfo is not None
    starts = [(ts - pd.Timedelta(hours=1)).floor("h") for ts in expected.index]
    assert [pd.Timestamp(b.date).tz_convert("UTC") for b in bars] == starts
    assert [b.open for b in bars] == expected["OPEN"].tolist()


def test_format_date_2_gives_epoch_seconds_for_the_same_bars(ib, mes):
    text = ib.reqHistoricalData(mes, "", "1 D", "1 hour", "TRADES", useRTH=False, formatDate=1)
    epoch = ib.reqHistoricalData(mes, "", "1 D", "1 hour", "TRADES", useRTH=False, formatDate=2)
    assert len(text) == len(epoch) > 0
    assert epoch[0].date.tzinfo == dt.timezone.utc
    assert [b.date.timestamp() for b in epoch] == [b.date.timestamp() for b in text]


def test_explicit_end_date_time_in_utc(ib, mes):
    end = dt.datetime(2023, 12, 20, 0, 0, tzinfo=dt.timezone.utc)
    bars = ib.reqHistoricalData(mes, end, "10 D", "1 day", "TRADES", useRTH=False)
    expected = default_market().bars(
        "SP500_micro", "202403", "D", pd.Timestamp(end) - pd.Timedelta(days=10), pd.Timestamp(end)
    )
    assert [b.close for b in bars] == expected["FINAL"].tolist()
    assert bars[-1].date < end.date()


def test_fx_midpoint_bars_daily_close_is_the_market_fx_close(ib):
    [eur] = ib.qualifyContracts(Forex("EURUSD"))
    bars = ib.reqHistoricalData(eur, "", "10 D", "1 day", "MIDPOINT", useRTH=False)
    expected = default_market().fx_daily("EUR", "USD", START - pd.Timedelta(days=10), START)
    assert len(bars) == len(expected) > 4
    assert np.allclose([b.close for b in bars], expected.values, atol=1e-5)
    assert all(b.volume == -1 and b.barCount == -1 for b in bars)
    assert all(b.low <= min(b.open, b.close) and b.high >= max(b.open, b.close) for b in bars)


def test_fx_hourly_midpoint_bars(ib):
    [usdjpy] = ib.qualifyContracts(Forex("USDJPY"))
    bars = ib.reqHistoricalData(usdjpy, "", "1 D", "1 hour", "MIDPOINT", useRTH=False, formatDate=2)
    assert 20 <= len(bars) <= 25
    rate = default_market().fx_rate("USD", "JPY", np.array([START.value]))[0]
    assert abs(bars[-1].close / rate - 1) < 0.01


def test_wrong_what_to_show_gets_error_162_and_empty_result(ib, mes):
    errors = []
    ib.errorEvent += lambda req_id, code, text, c: errors.append(code)
    assert list(ib.reqHistoricalData(mes, "", "5 D", "1 day", "MIDPOINT", useRTH=False)) == []
    assert errors == [162]


def test_no_data_in_window_gets_162(ib):
    [dec] = ib.qualifyContracts(Future("MES", "202312", "CME", includeExpired=True))
    dec.includeExpired = True  # qualifyContracts copies the details' contract over it
    errors = []
    ib.errorEvent += lambda req_id, code, text, c: errors.append((code, text))
    end = dt.datetime(2022, 1, 1, tzinfo=dt.timezone.utc)  # before the contract was listed
    assert list(ib.reqHistoricalData(dec, end, "5 D", "1 day", "TRADES", useRTH=False)) == []
    assert errors and errors[0][0] == 162 and "no data" in errors[0][1]


def test_scripted_pacing_violation_is_one_shot(ib, mes, fake_tws):
    fake_tws.call(
        lambda f: f.fail_next(
            20,
            162,
            "Historical Market Data Service error message:API historical data query cancelled: pacing violation",
        )
    )
    errors = []
    ib.errorEvent += lambda req_id, code, text, c: errors.append(code)
    assert list(ib.reqHistoricalData(mes, "", "5 D", "1 day", "TRADES", useRTH=False)) == []
    assert errors == [162]
    assert len(ib.reqHistoricalData(mes, "", "5 D", "1 day", "TRADES", useRTH=False)) > 0


def test_an_hourly_bar_starting_mid_hour_is_dated_at_the_session_open(ib):
    """CBOT grains reopen at 08:30 Chicago: TWS dates that bar 08:30, not 08:00."""
    [corn] = ib.qualifyContracts(Future("ZC", "202403", "CBOT"))
    bars = ib.reqHistoricalData(corn, "", "2 D", "1 hour", "TRADES", useRTH=False, formatDate=1)
    local = [pd.Timestamp(b.date).tz_convert("America/Chicago") for b in bars]
    assert any((t.hour, t.minute) == (8, 30) for t in local)
    assert not any((t.hour, t.minute) == (8, 0) for t in local)  # 07:45-08:30 is closed


def test_history_pacing_enforced_by_the_server(tmp_path, clock):
    """With HistoryPacing the server refuses (162 pacing violation) a request beyond the
    window's allowance and an identical request within the gap; other requests are served."""
    from ib_async import IB

    from sysbrokers.IB.fake_tws import FakeTwsConfig, FakeTwsThread, HistoryPacing

    config = FakeTwsConfig(history_pacing=HistoryPacing(max_requests=3, window_seconds=600.0,
                                                        identical_gap_seconds=600.0))
    with FakeTwsThread(default_market(), clock, config=config) as tws:
        ib = IB()
        ib.connect("127.0.0.1", tws.port, clientId=1, timeout=10)
        errors = []
        ib.errorEvent += lambda req_id, code, text, c: errors.append((code, text))
        try:
            [fut] = ib.qualifyContracts(Future("MES", "202403", "CME"))
            first = ib.reqHistoricalData(fut, "", "10 D", "1 day", "TRADES", False)
            again = ib.reqHistoricalData(fut, "", "10 D", "1 day", "TRADES", False)
            assert first and not again  # identical within the gap
            assert errors == [(162, "Historical Market Data Service error message:"
                                    "Historical data request pacing violation")]
            assert ib.reqHistoricalData(fut, "", "11 D", "1 day", "TRADES", False)
            assert ib.reqHistoricalData(fut, "", "12 D", "1 day", "TRADES", False)
            assert not ib.reqHistoricalData(fut, "", "13 D", "1 day", "TRADES", False)
            assert len(errors) == 2 and "pacing violation" in errors[-1][1]
            counts = tws.call(lambda f: (f.history_requests, f.pacing_violations))
            assert counts == (3, 2)
        finally:
            ib.disconnect()
