"""Panama adjustment, extension between rolls and the roll step (README §2)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from syscore.exceptions import InvalidData
from sysobjects.adjusted_prices import (
    AdjustedPrices,
    extend_adjusted_prices,
    fill_adjusted_prices,
    panama_adjust,
    roll_gaps,
    roll_multiple_prices,
)
from sysobjects.multiple_prices import MultiplePrices
from tests.sysobjects.support import golden_roll_parameters

NAN = np.nan


def mp(rows, start="2021-01-04 23:00"):
    """rows: (PRICE, PRICE_CONTRACT, FORWARD, FORWARD_CONTRACT[, CARRY, CARRY_CONTRACT])."""
    index = pd.date_range(start, periods=len(rows), freq="D", tz="UTC")
    full = [r if len(r) == 6 else (*r, NAN, r[3]) for r in rows]
    frame = pd.DataFrame(
        full, index=index,
        columns=["PRICE", "PRICE_CONTRACT", "FORWARD", "FORWARD_CONTRACT", "CARRY",
                 "CARRY_CONTRACT"],
    )
    return MultiplePrices(frame)


def test_two_rolls_by_hand():
    m = mp([
        (100.0, "202103", 101.0, "202106"),
        (102.0, "202103", 104.0, "202106"),   # last row before roll 1: gap 2
        (105.0, "202106", 108.0, "202109"),
        (NAN, "202106", 108.5, "202109"),     # NaN PRICE stays NaN
        (107.0, "202106", 110.0, "202109"),   # last row before roll 2: gap 3
        (111.0, "202109", NAN, "202112"),
    ])
    got = panama_adjust(m).data.to_numpy()
    expected = [105.0, 107.0, 108.0, NAN, 110.0, 111.0]
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got[~np.isnan(got)], np.array(expected)[~np.isnan(expected)])
    gaps = roll_gaps(m)
    assert list(gaps["gap"]) == [2.0, 3.0]
    assert list(gaps["old_contract"]) == ["202103", "202106"]


def test_row_before_roll_equals_its_forward():
    m = mp([(100.0, "202103", 103.0, "202106"), (104.0, "202106", NAN, "202109")])
    assert panama_adjust(m).data.iloc[0] == 103.0


def test_move_between_last_old_row_and_roll_row_is_kept_as_return():
    m = mp([(100.0, "202103", 103.0, "202106"), (110.0, "202106", NAN, "202109")])
    adjusted = panama_adjust(m).data
    assert adjusted.iloc[1] - adjusted.iloc[0] == 7.0  # not PRICE[i] - PRICE[i-1] = 10


@pytest.mark.parametrize("row", [(NAN, "202103", 103.0, "202106"), (100.0, "202103", NAN, "202106")])
def test_nan_gap_raises_naming_date_and_contracts(row):
    m = mp([(99.0, "202103", 102.0, "202106"), row, (104.0, "202106", NAN, "202109")])
    with pytest.raises(InvalidData, match=r"2021-01-06.*202103 to 202106.*2021-01-05"):
        panama_adjust(m)


def test_forward_contract_must_be_the_new_priced_contract():
    m = mp([(100.0, "202103", 103.0, "202106"), (104.0, "202109", NAN, "202112")])
    with pytest.raises(InvalidData, match="FORWARD_CONTRACT 202106"):
        panama_adjust(m)


def test_no_rolls_is_raw_price_and_empty_is_empty():
    m = mp([(100.0, "202103", NAN, "202106"), (101.0, "202103", NAN, "202106")])
    assert list(panama_adjust(m).data) == [100.0, 101.0]
    assert len(panama_adjust(MultiplePrices.empty())) == 0


def test_suffix_sum_equals_loop_on_random_data():
    rng = np.random.default_rng(1)
    n, rows, contract = 3000, [], 0
    for i in range(n):
        if i and rng.random() < 0.02:
            contract += 1
        c = f"{2000 + contract // 4}{3 * (contract % 4) + 3:02d}"
        nxt = contract + 1
        f = f"{2000 + nxt // 4}{3 * (nxt % 4) + 3:02d}"
        rows.append((100 + rng.normal(), c, 100 + rng.normal(), f))
    m = mp(rows)
    fast = panama_adjust(m).data.to_numpy()
    slow = m.data["PRICE"].to_numpy().copy()
    labels = m.data["PRICE_CONTRACT"].to_numpy()
    fwd = m.data["FORWARD"].to_numpy()
    for i in range(1, n):
        if labels[i] != labels[i - 1]:
            slow[:i] += fwd[i - 1] - m.data["PRICE"].to_numpy()[i - 1]
    assert np.max(np.abs(fast - slow)) < 1e-9


def test_extend_without_roll_appends_raw_price_and_drops_nan():
    m = mp([
        (100.0, "202103", 103.0, "202106"),
        (104.0, "202106", NAN, "202109"),
        (105.0, "202106", NAN, "202109"),
        (NAN, "202106", 109.0, "202109"),
        (106.0, "202106", NAN, "202109"),
    ])
    first = MultiplePrices(m.data.iloc[:3])
    adjusted = panama_adjust(first)
    extended, added = extend_adjusted_prices(adjusted, m)
    assert list(added) == [106.0]
    assert list(extended.data) == [103.0, 104.0, 105.0, 106.0]
    again, none = extend_adjusted_prices(extended, m)
    assert len(none) == 0 and again.data.equals(extended.data)


def test_extend_refuses_a_roll():
    m = mp([(100.0, "202103", 103.0, "202106"), (104.0, "202106", NAN, "202109")])
    adjusted = panama_adjust(MultiplePrices(m.data.iloc[:1]))
    with pytest.raises(InvalidData, match="re-stitch"):
        extend_adjusted_prices(adjusted, m)


def test_adjusted_prices_validation():
    with pytest.raises(InvalidData):
        AdjustedPrices(pd.Series([1.0, 2.0], index=pd.to_datetime(["2021-01-02", "2021-01-01"])))
    naive = AdjustedPrices(pd.Series([1.0], index=pd.to_datetime(["2021-01-01"])))
    assert str(naive.data.index.tz) == "UTC"


def test_roll_step_reproduces_oat_inferred_and_roll_rows(reference):
    """OAT 2021-08-30: last PRICE ok but FORWARD NaN -> inferred row at +1 s, roll row at +2 s."""
    data = reference.multiple("OAT")
    before = MultiplePrices(data[data.index <= "2021-08-30 19:00:00+00:00"])
    result = roll_multiple_prices(
        before, golden_roll_parameters()["OAT"], inferred_forward=169.52
    )
    expected = MultiplePrices(data).data
    expected = expected[(expected.index > "2021-08-30 19:00:00+00:00")
                        & (expected.index <= "2021-08-30 19:00:02+00:00")]
    pd.testing.assert_frame_equal(result.new_rows, expected)
    restitched = panama_adjust(result.multiple_prices).data
    pd.testing.assert_series_equal(result.adjusted_prices.data, restitched)


def test_roll_step_reproduces_corn_roll_row(reference):
    """CORN 2021-10-29: matched prices on the last row -> roll row only, at +1 s."""
    data = reference.multiple("CORN")
    before = MultiplePrices(data[data.index <= "2021-10-29 17:00:00+00:00"])
    result = roll_multiple_prices(before, golden_roll_parameters()["CORN"], new_carry_price=553.75)
    expected = MultiplePrices(data).data.loc[["2021-10-29 17:00:01+00:00"]]
    pd.testing.assert_frame_equal(result.new_rows, expected)
    # after the roll, the row before it is adjusted to the old forward price
    adjusted = result.adjusted_prices.data
    assert adjusted.loc["2021-10-29 17:00:00+00:00"] == 550.0
    assert adjusted.iloc[-1] == 550.0


def test_roll_step_infers_from_last_valid_prices():
    m = mp([
        (100.0, "202103", 103.0, "202106", 99.0, "202012"),
        (101.0, "202103", NAN, "202106", NAN, "202012"),
    ])
    params = golden_roll_parameters()["SP500_micro"]
    result = roll_multiple_prices(m, params)
    rows = result.new_rows
    assert list(rows.index - m.index[-1]) == [pd.Timedelta(seconds=1), pd.Timedelta(seconds=2)]
    assert rows.iloc[0][["PRICE", "FORWARD"]].tolist() == [101.0, 103.0]
    assert rows.iloc[1][["PRICE", "PRICE_CONTRACT", "FORWARD_CONTRACT", "CARRY_CONTRACT"]].tolist() == [
        103.0, "202106", "202109", "202109",
    ]
    assert result.adjusted_prices.data.iloc[-1] == 103.0


def test_filled_prices_behind_the_adjusted_series_take_their_contracts_offset():
    rows = [
        (100.0, "202103", 101.0, "202106"),
        (NAN, "202103", 103.0, "202106"),     # filled later: 102
        (102.0, "202103", 104.0, "202106"),   # last row before the roll: gap 2
        (105.0, "202106", 108.0, "202109"),
        (NAN, "202106", 108.5, "202109"),     # filled later: 106
        (107.0, "202106", 110.0, "202109"),
    ]
    before = mp(rows)
    stored = panama_adjust(before)
    stored = AdjustedPrices(stored.data.dropna())  # the NaN rows were never adjusted
    after_rows = list(rows)
    after_rows[1] = (102.0, *rows[1][1:])
    after_rows[4] = (106.0, *rows[4][1:])
    after = mp(after_rows)
    filled = after.data.index[[1, 4]]
    result, inserted = fill_adjusted_prices(stored, after, filled)
    # the old contract carries the roll gap (2), the current one none
    assert list(inserted) == [104.0, 106.0]
    pd.testing.assert_series_equal(result.data, panama_adjust(after).data, check_freq=False)
    # nothing to fill: unchanged
    same, none = fill_adjusted_prices(result, after, filled)
    assert len(none) == 0 and same is result
