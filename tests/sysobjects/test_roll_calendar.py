"""Roll calendars: approximate, adjusted, phantom roll, validation; builder checks (§3.4)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from syscore.exceptions import InvalidData, MissingData
from sysobjects.adjusted_prices import panama_adjust
from sysobjects.multiple_prices_build import back_out_roll_calendar, build_multiple_prices
from sysobjects.roll_calendar import (
    CalendarConvention,
    RollCalendar,
    adjust_roll_calendar,
    approximate_roll_calendar,
    generate_roll_calendar,
    with_phantom_roll,
)
from sysobjects.roll_parameters import RollParameters

# quarterly index future: expiry ~ 15th, roll 5 days before, carry = next contract
PARAMS = RollParameters("HMUZ", "HMUZ", roll_offset_days=-5, carry_offset=1, expiry_offset=14)
UTC = "UTC"


def ts(text):
    return pd.Timestamp(text, tz=UTC)


def daily_prices(contracts, start="2020-10-01", end="2021-09-30", level=100.0):
    """Every contract priced every business day at 23:00, level differing per contract."""
    index = pd.bdate_range(start, end, tz=UTC) + pd.Timedelta(hours=23)
    return {c: pd.Series(level + i + np.arange(len(index)) * 0.01, index=index)
            for i, c in enumerate(contracts)}


CONTRACTS = ["202012", "202103", "202106", "202109", "202112"]


def test_approximate_calendar_from_roll_parameters():
    cal = approximate_roll_calendar(PARAMS, CONTRACTS)
    assert cal.convention is CalendarConvention.LAST_OF_OLD
    assert list(cal.data.index) == [ts("2020-12-10"), ts("2021-03-10"), ts("2021-06-10"),
                                    ts("2021-09-10")]
    assert list(cal.data["current_contract"]) == ["202012", "202103", "202106", "202109"]
    assert list(cal.data["next_contract"]) == ["202103", "202106", "202109", "202112"]
    assert list(cal.data["carry_contract"]) == ["202103", "202106", "202109", "202112"]
    with pytest.raises(MissingData):
        approximate_roll_calendar(PARAMS, ["202011"])


def test_adjusted_to_nearest_matched_timestamp():
    prices = daily_prices(CONTRACTS)
    # 2021-03-10 is a Wednesday: remove next contract's prices on 03-08..03-10, so the nearest
    # timestamp where all three trade is Thursday 03-11 (1 day + 23 h after) vs Friday 03-05
    # (4 days + 1 h before)
    gap = (prices["202106"].index >= ts("2021-03-08")) & (prices["202106"].index < ts("2021-03-11"))
    prices["202106"] = prices["202106"][~gap]
    cal = generate_roll_calendar(PARAMS, prices)
    assert cal.data.index[1] == ts("2021-03-11 23:00")
    assert cal.data.index[0] == ts("2020-12-09 23:00")  # 1 h before 12-10 00:00 beats 23 h after
    built = build_multiple_prices(prices, cal)
    panama_adjust(built)  # every roll gap measurable


def test_tie_goes_to_the_earlier_timestamp():
    index = pd.DatetimeIndex([ts("2021-03-09 12:00"), ts("2021-03-10 12:00")])
    prices = {c: pd.Series([1.0, 2.0], index=index) for c in ["202103", "202106", "202109"]}
    frame = pd.DataFrame({"current_contract": ["202103"], "next_contract": ["202106"],
                          "carry_contract": ["202106"]}, index=[ts("2021-03-10 00:00")])
    adjusted = adjust_roll_calendar(RollCalendar(frame), prices)
    assert adjusted.data.index[0] == ts("2021-03-09 12:00")


def test_adjusted_dates_stay_after_previous_and_missing_raises():
    prices = daily_prices(CONTRACTS)
    prices["202109"] = prices["202109"][prices["202109"].index < ts("2021-01-01")]
    with pytest.raises(MissingData, match="202106, 202109 and 202109"):
        adjust_roll_calendar(approximate_roll_calendar(PARAMS, CONTRACTS), prices)


def test_phantom_roll():
    cal = approximate_roll_calendar(PARAMS, CONTRACTS)
    extended = with_phantom_roll(cal, PARAMS, "2021-12-01")
    last = extended.data.iloc[-1]
    assert extended.data.index[-1] == ts("2021-12-01")
    assert list(last) == ["202112", "202203", "202203"]
    with pytest.raises(InvalidData):
        with_phantom_roll(cal, PARAMS, "2021-01-01")


def test_calendar_validation():
    good = approximate_roll_calendar(PARAMS, CONTRACTS).data
    broken = good.copy()
    broken.iloc[2, 0] = "202112"
    with pytest.raises(InvalidData, match="not the previous row's next contract"):
        RollCalendar(broken)
    with pytest.raises(InvalidData, match="strictly increasing"):
        RollCalendar(good.iloc[::-1])
    with pytest.raises(InvalidData, match="missing columns"):
        RollCalendar(good.drop(columns=["carry_contract"]))


def _calendar(rows, convention=CalendarConvention.LAST_OF_OLD):
    frame = pd.DataFrame(
        [r[1:] for r in rows], index=pd.DatetimeIndex([ts(r[0]) for r in rows]),
        columns=["current_contract", "next_contract", "carry_contract"],
    )
    return RollCalendar(frame, convention)


ROWS = [
    ("2020-12-09 23:00", "202012", "202103", "202103"),
    ("2021-03-09 23:00", "202103", "202106", "202106"),
    ("2021-06-09 23:00", "202106", "202109", "202109"),
    ("2021-09-09 23:00", "202109", "202112", "202112"),
]


def test_builder_windows_both_conventions():
    prices = daily_prices(CONTRACTS)
    last_of_old = build_multiple_prices(prices, _calendar(ROWS)).data
    assert last_of_old.index[0] == ts("2020-12-10 23:00")
    assert last_of_old.loc[ts("2021-03-09 23:00"), "PRICE_CONTRACT"] == "202103"
    assert last_of_old.loc[ts("2021-03-10 23:00"), "PRICE_CONTRACT"] == "202106"
    assert last_of_old.index[-1] == ts("2021-09-09 23:00")
    first_of_new = build_multiple_prices(
        prices, _calendar(ROWS, CalendarConvention.FIRST_OF_NEW)
    ).data
    assert first_of_new.index[0] == ts("2020-12-09 23:00")
    assert first_of_new.loc[ts("2021-03-09 23:00"), "PRICE_CONTRACT"] == "202106"
    assert first_of_new.index[-1] == ts("2021-09-08 23:00")
    # back out gives the calendar back (plus start marker and final row)
    backed = back_out_roll_calendar(build_multiple_prices(prices, _calendar(ROWS)))
    assert list(backed.data.index[1:-1]) == [ts(r[0]) for r in ROWS[1:-1]]


def test_price_cut_at_last_price_of_current_contract():
    prices = daily_prices(CONTRACTS)
    prices["202103"] = prices["202103"][prices["202103"].index < ts("2021-03-01")]
    built = build_multiple_prices(prices, _calendar(ROWS)).data
    window = built[(built.index > ts("2021-03-01")) & (built.index <= ts("2021-03-09 23:00"))]
    assert window["PRICE"].isna().all() and window["FORWARD"].notna().all()


def test_builder_missing_contract_rules():
    prices = daily_prices(CONTRACTS)
    # current contract missing before data starts: skipped
    early = {k: v for k, v in prices.items() if k != "202103"}
    built = build_multiple_prices(early, _calendar(ROWS)).data
    assert built["PRICE_CONTRACT"].iloc[0] == "202106"
    # current contract missing in the middle: error
    middle = {k: v for k, v in prices.items() if k != "202106"}
    with pytest.raises(MissingData, match="202106"):
        build_multiple_prices(middle, _calendar(ROWS))
    # next/carry missing: only allowed on the last row
    no_last = {k: v for k, v in prices.items() if k != "202112"}
    built = build_multiple_prices(no_last, _calendar(ROWS)).data
    assert built["FORWARD"].iloc[-1] != built["FORWARD"].iloc[-1]  # NaN
    no_mid = {k: v for k, v in prices.items() if k != "202109"}
    with pytest.raises(MissingData):
        build_multiple_prices(no_mid, _calendar(ROWS))


def test_adjust_ends_calendar_before_rolls_that_have_not_happened():
    """A trailing roll dated after the current contract's last price is in the future: the
    calendar ends before it instead of failing."""
    days = pd.date_range("2024-01-02 21:00", "2024-06-28 21:00", freq="B", tz="UTC")
    prices = {c: pd.Series(100.0, index=days) for c in ("202403", "202406", "202409")}
    approx = pd.DataFrame(
        {"current_contract": ["202403", "202406"], "next_contract": ["202406", "202409"],
         "carry_contract": ["202406", "202409"]},
        index=pd.DatetimeIndex(["2024-03-08", "2024-09-06"], tz="UTC"))
    calendar = adjust_roll_calendar(RollCalendar(approx, CalendarConvention.LAST_OF_OLD), prices)
    assert len(calendar.data) == 1
    assert calendar.data.index[0] == pd.Timestamp("2024-03-07 21:00", tz="UTC")  # nearest bar
    # a missing overlap in the middle of history is still an error
    gap = {**prices, "202403": pd.Series(100.0, index=days[days < "2024-03-01"]),
           "202406": pd.Series(100.0, index=days[days > "2024-03-20"])}
    with pytest.raises(MissingData, match="no timestamp"):
        adjust_roll_calendar(RollCalendar(approx, CalendarConvention.LAST_OF_OLD), gap)
