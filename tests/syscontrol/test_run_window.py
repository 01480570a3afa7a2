import datetime as dt

import pytest

from syscontrol.run_window import RunWindow, parse_hhmm
from syscore.exceptions import ConfigError, InvalidData

UTC = dt.timezone.utc


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


# 2024-03-08 is a Friday; 2024-03-31 the day London moves to BST (01:00 UTC)
@pytest.mark.parametrize("start,end,tz,weekends,now,is_open", [
    ("20:00", "23:59", "UTC", False, "2024-03-07 19:59", False),
    ("20:00", "23:59", "UTC", False, "2024-03-07 20:00", True),
    ("20:00", "23:59", "UTC", False, "2024-03-07 23:59", False),  # end is exclusive
    ("22:00", "06:00", "UTC", False, "2024-03-07 23:30", True),   # crosses midnight
    ("22:00", "06:00", "UTC", False, "2024-03-08 05:59", True),
    ("22:00", "06:00", "UTC", False, "2024-03-08 06:00", False),
    ("22:00", "06:00", "UTC", False, "2024-03-09 03:00", True),   # Friday's session into Sat
    ("22:00", "06:00", "UTC", False, "2024-03-09 23:00", False),  # no Saturday session
    ("22:00", "06:00", "UTC", True, "2024-03-09 23:00", True),
    ("00:00", "00:00", "UTC", False, "2024-03-07 13:00", True),   # whole day
    ("09:00", "17:00", "America/New_York", False, "2024-03-07 14:00", True),  # 09:00 EST
    ("09:00", "17:00", "America/New_York", False, "2024-03-07 13:59", False),
    ("09:00", "17:00", "America/New_York", False, "2024-03-11 13:00", True),  # 09:00 EDT
    # spring forward: 01:00 UTC becomes 02:00 BST; the wall clock reads 02:15 at 01:15 UTC
    ("01:30", "03:00", "Europe/London", True, "2024-03-31 00:45", False),  # 00:45 GMT
    ("01:30", "03:00", "Europe/London", True, "2024-03-31 01:15", True),   # 02:15 BST
    ("01:30", "03:00", "Europe/London", True, "2024-03-31 02:00", False),  # 03:00 BST
])
def test_is_open(start, end, tz, weekends, now, is_open):
    window = RunWindow.from_text(start, end, tz, weekends)
    assert window.is_open(utc(now)) is is_open


def test_next_open_skips_weekend():
    window = RunWindow.from_text("20:00", "23:59")
    assert window.next_open(utc("2024-03-09 10:00")) == utc("2024-03-11 20:00")


def test_next_open_is_now_when_open():
    window = RunWindow.from_text("20:00", "23:59")
    assert window.next_open(utc("2024-03-07 21:00")) == utc("2024-03-07 21:00")


def test_closes_at_for_overnight_session():
    window = RunWindow.from_text("22:00", "06:00", "Europe/London")
    assert window.closes_at(utc("2024-07-01 23:00")) == utc("2024-07-02 05:00")  # 06:00 BST


def test_naive_time_refused():
    with pytest.raises(InvalidData, match="time zone is required"):
        RunWindow.from_text("20:00", "23:59").is_open(dt.datetime(2024, 3, 7, 21))


@pytest.mark.parametrize("text", ["24:00", "7", "ab:cd", "12:60", "1:2:3"])
def test_bad_hhmm(text):
    with pytest.raises(InvalidData):
        parse_hhmm(text)


def test_unknown_zone_is_config_error():
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        RunWindow.from_text("20:00", "23:59", "Mars/Olympus")
