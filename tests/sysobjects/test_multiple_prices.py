"""Multiple prices: validation, candidate rows from contract prices, daily merge."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from syscore.exceptions import InvalidData, MissingData
from sysobjects.multiple_prices import (
    ContractLabelMismatch,
    MultiplePrices,
    merge_multiple_prices,
    multiple_prices_from_contract_prices,
)

NAN = np.nan
COLS = ["PRICE", "PRICE_CONTRACT", "FORWARD", "FORWARD_CONTRACT", "CARRY", "CARRY_CONTRACT"]


def frame(rows, times):
    return pd.DataFrame(rows, index=pd.DatetimeIndex(times, tz="UTC"), columns=COLS)


EXISTING = MultiplePrices(frame(
    [
        (100.0, "202103", 101.0, "202106", 99.0, "202012"),
        (101.0, "202106", NAN, "202109", 100.0, "202103"),
        (102.0, "202106", NAN, "202109", NAN, "202103"),
    ],
    ["2021-03-01 23:00", "2021-03-02 23:00", "2021-03-03 23:00"],
))


def test_validation_normalises_ids_and_index():
    data = frame([(1.0, 20210300, 2.0, 20210600.0, NAN, "20201200")], ["2021-01-01"])
    m = MultiplePrices(data)
    assert m.current_contracts() == ("202103", "202106", "202012")
    assert str(m.index.tz) == "UTC"
    with pytest.raises(InvalidData, match="missing columns"):
        MultiplePrices(data.drop(columns=["CARRY"]))
    with pytest.raises(InvalidData, match="empty contract id"):
        MultiplePrices(data.assign(CARRY_CONTRACT=[None]))
    with pytest.raises(InvalidData, match="strictly increasing"):
        MultiplePrices(pd.concat([data, data]))
    with pytest.raises(MissingData):
        MultiplePrices.empty().current_contracts()


def test_merge_appends_new_rows_and_fills_nans_only():
    new = MultiplePrices(frame(
        [
            (999.0, "202106", 103.5, "202109", 101.0, "202103"),  # existing row: fill only NaNs
            (103.0, "202106", 104.0, "202109", NAN, "202103"),    # new row
        ],
        ["2021-03-03 23:00", "2021-03-04 23:00"],
    ))
    result = merge_multiple_prices(EXISTING, new)
    merged = result.merged.data
    assert merged.loc["2021-03-03 23:00+00:00", "PRICE"] == 102.0  # never overwritten
    assert merged.loc["2021-03-03 23:00+00:00", "FORWARD"] == 103.5
    assert merged.loc["2021-03-03 23:00+00:00", "CARRY"] == 101.0
    assert list(result.filled) == [pd.Timestamp("2021-03-03 23:00", tz="UTC")]
    assert list(result.new_rows.index) == [pd.Timestamp("2021-03-04 23:00", tz="UTC")]
    assert len(merged) == 4 and len(result.ignored) == 0


def test_merge_refuses_other_contracts_after_last_row():
    new = MultiplePrices(frame(
        [(103.0, "202109", 104.0, "202112", NAN, "202106")], ["2021-03-04 23:00"]
    ))
    with pytest.raises(ContractLabelMismatch, match="PRICE=202109.*PRICE=202106"):
        merge_multiple_prices(EXISTING, new)


def test_merge_ignores_history_it_cannot_place():
    new = MultiplePrices(frame(
        [
            (1.0, "202103", 2.0, "202106", 3.0, "202012"),     # between stored rows
            (5.0, "202103", 6.0, "202109", 7.0, "202103"),     # stored row, other contracts
        ],
        ["2021-03-01 12:00", "2021-03-02 23:00"],
    ))
    result = merge_multiple_prices(EXISTING, new)
    assert len(result.ignored) == 2
    pd.testing.assert_frame_equal(result.merged.data, EXISTING.data)


def test_merge_into_empty_and_idempotent():
    first = merge_multiple_prices(MultiplePrices.empty(), EXISTING)
    pd.testing.assert_frame_equal(first.merged.data, EXISTING.data)
    again = merge_multiple_prices(EXISTING, EXISTING)
    assert len(again.new_rows) == 0 and len(again.filled) == 0
    pd.testing.assert_frame_equal(again.merged.data, EXISTING.data)


def test_candidate_rows_from_contract_prices():
    idx = pd.DatetimeIndex(["2021-03-03 23:00", "2021-03-04 23:00", "2021-03-05 23:00"], tz="UTC")
    prices = {
        "20210600": pd.Series([102.0, 103.0, NAN], index=idx),
        "202109": pd.Series([NAN, 104.0, 105.0], index=idx),
    }
    rows = multiple_prices_from_contract_prices(
        prices, ("202106", "202109", "202103"), after=idx[0]
    ).data
    assert list(rows.index) == list(idx[1:])
    assert rows["PRICE"].tolist()[0] == 103.0 and np.isnan(rows["PRICE"].iloc[1])
    assert rows["CARRY"].isna().all() and (rows["CARRY_CONTRACT"] == "202103").all()
    result = merge_multiple_prices(EXISTING, MultiplePrices(rows))
    assert len(result.new_rows) == 2


def test_rows_without_any_price_are_not_appended():
    new = MultiplePrices(frame(
        [(NAN, "202106", NAN, "202109", NAN, "202103")], ["2021-03-04 23:00"]
    ))
    result = merge_multiple_prices(EXISTING, new)
    assert len(result.new_rows) == 0 and len(result.merged) == 3
