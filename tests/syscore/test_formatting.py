"""Values as people read them: prices without float noise, one contract-id format, UTC times,
command-line options."""
from __future__ import annotations

import pandas as pd
import pytest

from syscore.formatting import (
    format_contract_id,
    format_price,
    format_timestamp,
    option,
    tick_decimals,
)


@pytest.mark.parametrize("value, tick, text", [
    (2748.6000000000004, None, "2748.6"),
    (0.1 + 0.2, None, "0.3"),
    (123456.75, None, "123456.75"),
    (1.0852345678912, None, "1.085234568"),
    (4500.2500001, 0.25, "4500.25"),
    (4500.13, 0.25, "4500.25"),
    (1.0852345, 0.00005, "1.08525"),
    (98.0, 1, "98"),
    (float("nan"), 0.25, "nan"),
])
def test_prices_have_no_float_noise(value, tick, text):
    assert format_price(value, tick) == text


def test_tick_decimals():
    assert [tick_decimals(t) for t in (0.25, 0.005, 1, 1e-05, 0.5)] == [2, 3, 0, 5, 1]


@pytest.mark.parametrize("stored, shown", [
    ("20240300", "202403"), ("202403", "202403"), ("20240315", "20240315"), (20240300, "202403"),
    ("20240300.0", "202403"),
])
def test_one_contract_id_format(stored, shown):
    assert format_contract_id(stored) == shown


def test_timestamps_in_utc():
    assert format_timestamp(pd.Timestamp("2024-01-03", tz="UTC")) == "2024-01-03"
    assert format_timestamp(pd.Timestamp("2024-01-03 09:00", tz="Europe/London")) == \
        "2024-01-03 09:00 UTC"
    assert format_timestamp("2024-01-03 14:00:05+00:00") == "2024-01-03 14:00:05 UTC"


def test_options_as_typed():
    assert option("confirm") == "--confirm true"
    assert option("overwrite", False) == "--overwrite false"
    assert option("fx_code", "EURUSD") == "--fx_code EURUSD"


def test_text_table_aligns_columns_and_shows_none_as_a_dash():
    from syscore.formatting import text_table

    assert text_table(("a", "long header"), [("xyz", None), (1, "v")], indent="  ") == [
        "  a    long header", "  xyz  -", "  1    v"]
