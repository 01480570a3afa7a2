"""IB trading hours to sessions and bar labels (pure logic)."""
from __future__ import annotations

import datetime as dt

import pandas as pd

from sysbrokers.IB.hours import WeeklyHours, parse_trading_hours

CME = ("20240101:CLOSED;20240101:1700-20240102:1600;20240102:1700-20240103:1600;"
       "20240103:1700-20240104:1600;20240104:1700-20240105:1600;20240106:CLOSED;"
       "20240107:1700-20240108:1600")


def test_parse_trading_hours_in_the_exchange_zone():
    sessions = parse_trading_hours(CME, "America/Chicago")
    assert len(sessions) == 5
    assert sessions[0].open == pd.Timestamp("2024-01-01 23:00", tz="UTC")
    assert sessions[0].close == pd.Timestamp("2024-01-02 22:00", tz="UTC")


def test_weekly_pattern_repeats_with_daylight_saving():
    hours = WeeklyHours.from_ib(CME, "America/Chicago")
    july = hours.sessions(pd.Timestamp("2024-07-02 00:00", tz="UTC"),
                          pd.Timestamp("2024-07-02 23:59", tz="UTC"))
    assert pd.Timestamp("2024-07-02 21:00", tz="UTC") in [s.close for s in july]  # CDT
    # daily bar of Tuesday 2 July: the session close that day
    assert hours.daily_label(dt.date(2024, 7, 2)) == pd.Timestamp("2024-07-02 21:00", tz="UTC")


def test_intraday_label_is_the_hour_end_or_the_session_close():
    hours = WeeklyHours.from_ib(CME, "America/Chicago")
    start = pd.Timestamp("2024-01-02 15:00", tz="UTC")
    last = pd.Timestamp("2024-01-02 21:30", tz="UTC")  # session closes at 22:00 UTC
    assert hours.intraday_labels([start, last]) == [
        pd.Timestamp("2024-01-02 16:00", tz="UTC"), pd.Timestamp("2024-01-02 22:00", tz="UTC")]
    half = WeeklyHours.from_ib("20240102:0830-20240102:1320", "America/Chicago")
    assert half.intraday_labels([pd.Timestamp("2024-01-09 19:00", tz="UTC")]) == [
        pd.Timestamp("2024-01-09 19:20", tz="UTC")]
