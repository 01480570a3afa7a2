"""Tests for the shipped universe and expiry rules."""

from __future__ import annotations

import datetime as dt

import pytest

from sysbrokers.sim.universe import MONTH_LETTERS, UniverseError, load_universe

PYSYSTEMTRADE_CODES = {
    "CORN",
    "WHEAT",
    "SOYBEAN",
    "LIVECOW",
    "US10",
    "US5",
    "US2",
    "US20",
    "BUND",
    "BOBL",
    "SCHATZ",
    "OAT",
    "BTP",
    "SP500_micro",
    "NASDAQ_micro",
    "EUROSTX",
    "DAX",
    "GOLD",
    "SILVER",
    "COPPER",
    "CRUDE_W",
    "GAS_US",
    "SOFR",
    "EUR",
    "JPY",
    "GBP",
    "AUD",
    "VIX",
    "V2X",
}


@pytest.fixture(scope="module")
def universe():
    return load_universe()


def test_universe_covers_asset_classes_and_codes(universe):
    assert 28 <= len(universe.instruments) <= 40
    assert PYSYSTEMTRADE_CODES <= set(universe.instruments)
    classes = {spec.asset_class for spec in universe.instruments.values()}
    assert {"Equity", "Bond", "STIR", "FX", "Energy", "Metals", "Ags", "Vol"} <= classes
    assert {"EURUSD", "GBPUSD", "JPYUSD", "AUDUSD"} <= set(universe.fx)
    for spec in universe.instruments.values():
        assert set(spec.hold_cycle) <= set(spec.priced_cycle) <= set(MONTH_LETTERS)
        assert spec.multiplier > 0 and spec.tick_size > 0 and spec.path.annual_vol > 0
        assert spec.ib.symbol and spec.ib.exchange and spec.ib.multiplier > 0
        assert spec.currency in {"USD", "EUR", "GBP"}


@pytest.mark.parametrize(
    "code,contract,expected",
    [
        ("SP500_micro", "202403", dt.date(2024, 3, 15)),  # third Friday
        ("CRUDE_W", "202402", dt.date(2024, 1, 22)),  # 3 business days before Jan 25
        ("VIX", "202401", dt.date(2024, 1, 17)),  # 30 days before third Friday of February
        ("US10", "202409", dt.date(2024, 9, 19)),  # 7 business days before last business day
        ("CORN", "202403", dt.date(2024, 3, 14)),  # business day before the 15th
        ("GOLD", "202402", dt.date(2024, 2, 27)),  # third last business day
        ("BUND", "202403", dt.date(2024, 3, 7)),  # two days before delivery (10th)
        ("GAS_US", "202402", dt.date(2024, 1, 29)),  # 3 business days before the 1st
        ("EUR", "202403", dt.date(2024, 3, 18)),  # 2 business days before third Wednesday
        ("SOFR", "202312", dt.date(2024, 3, 19)),  # day before the IMM date ending the quarter
        ("LIVECOW", "202402", dt.date(2024, 2, 29)),  # last business day
    ],
)
def test_expiry_rules_match_exchange_calendars(universe, code, contract, expected):
    assert universe.instrument(code).expiry(contract) == expected


def test_validation_error_names_file_and_key(tmp_path):
    text = (
        "seed: 1\nfx: {}\ninstruments:\n  XX:\n    asset_class: Equity\n    exchange: E\n"
        "    currency: USD\n    price: 10\n    annual_vol: 0.1\n    multiplier: -5\n"
    )
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(UniverseError) as info:
        load_universe(path)
    message = str(info.value)
    assert str(path) in message and "instruments.XX.multiplier" in message and "positive" in message


def _one_instrument(**overrides) -> dict:
    item = {"asset_class": "Equity", "exchange": "E", "currency": "USD", "price": 10,
            "annual_vol": 0.1, "multiplier": 5, "tick_size": 0.25, "hold_cycle": "HMUZ",
            "expiry": {"anchor": "nth_weekday", "weekday": 4, "n": 3},
            "hours": {"tz": "America/New_York",
                      "sessions": [{"open": "09:30", "close": "16:00", "days": ["Mon"]}]},
            "ib": {"symbol": "XX", "exchange": "E", "currency": "USD", "multiplier": 5}}
    item.update(overrides)
    return {"seed": 1, "fx": {}, "instruments": {"XX": item}}


@pytest.mark.parametrize("overrides, key, expected, found", [
    ({"hours": {"tz": "Mars/Olympus", "sessions": [
        {"open": "09:30", "close": "16:00", "days": ["Mon"]}]}},
     "instruments.XX.hours.tz", "IANA time zone", "'Mars/Olympus'"),
    ({"hours": {"tz": "UTC", "sessions": [{"open": "9.30", "close": "16:00", "days": ["Mon"]}]}},
     "instruments.XX.hours.sessions.0.open", "HH:MM", "'9.30'"),
    ({"tick_size": "0.25"}, "instruments.XX.tick_size", "float", "'0.25'"),
    ({"listed_months": True}, "instruments.XX.listed_months", "int", "True"),
    ({"hold_cycle": "HMA"}, "instruments.XX.hold_cycle", "month letters", "'HMA'"),
])
def test_every_bad_value_names_file_key_expected_and_found(tmp_path, overrides, key, expected,
                                                           found):
    """Times and zones are checked once, at load, by the pydantic model of the file."""
    import yaml

    path = tmp_path / "universe.yaml"
    path.write_text(yaml.safe_dump(_one_instrument(**overrides)))
    with pytest.raises(UniverseError) as info:
        load_universe(path)
    message = str(info.value)
    assert message.startswith(f"{path}: key '{key}': expected ")
    assert expected in message and message.endswith(f"found {found}")


def test_a_good_file_loads_its_session_times_and_zone(tmp_path):
    import yaml

    path = tmp_path / "universe.yaml"
    path.write_text(yaml.safe_dump(_one_instrument()))
    spec = load_universe(path).instrument("XX")
    assert spec.hours.tz == "America/New_York"
    assert spec.hours.sessions[0].open == dt.time(9, 30) and spec.hours.sessions[0].days == (0,)
    assert spec.liquid_cycle == "HMUZ" and spec.multiplier == 5.0
