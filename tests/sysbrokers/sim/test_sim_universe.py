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
