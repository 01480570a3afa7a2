"""Option series as instrument codes: the format and its round trip."""
from __future__ import annotations

import datetime as dt

import pytest

from syscore.exceptions import InvalidData
from sysobjects.black76 import OptionRight
from sysobjects.instruments import validate_instrument_code
from sysobjects.option_instruments import OptionSeries, is_option_code, parse_option_code


@pytest.mark.parametrize("series, code", [
    (OptionSeries("GOLD", "202406", OptionRight.CALL, 2350, dt.date(2024, 5, 24)),
     "GOLD-202406-C2350-20240524"),
    (OptionSeries("SP500_micro", "202403", OptionRight.PUT, 3800.0, dt.date(2024, 2, 15), "S"),
     "SP500_micro-202403-P3800-20240215-S"),
    (OptionSeries("EUR-FX", "20240600", OptionRight.PUT, 1.085, dt.date(2024, 6, 7)),
     "EUR-FX-202406-P1p085-20240607"),
    (OptionSeries("BUND", "202412", OptionRight.CALL, 0.25, dt.date(2024, 11, 22)),
     "BUND-202412-C0p25-20241122"),
])
def test_codes_round_trip(series, code):
    assert series.code == code
    assert validate_instrument_code(code) == code
    assert parse_option_code(code) == series


@pytest.mark.parametrize("code", ["GOLD", "SP500_micro", "GOLD-202406", "GOLD-202406-X10-2024",
                                  "GOLD-202413-C10-20240101", "GOLD-202406-C10-20240231"])
def test_futures_codes_are_not_options(code):
    assert parse_option_code(code) is None and not is_option_code(code)


def test_bad_series_are_refused():
    with pytest.raises(InvalidData):
        OptionSeries("GOLD", "202406", OptionRight.CALL, 0, dt.date(2024, 5, 24))
    with pytest.raises(InvalidData):
        OptionSeries("GOLD", "202406", OptionRight.CALL, 10, dt.date(2024, 5, 24), "a-b")
