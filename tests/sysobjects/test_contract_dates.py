"""Contract-date arithmetic against hand-written golden files."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from syscore.exceptions import InvalidData
from sysobjects.contract_dates import (
    ContractDate,
    approximate_expiry,
    contracts_for_date,
    contracts_in_chain,
    contracts_needed,
    current_contract_for_date,
    desired_roll_date,
    next_contract_in_cycle,
    previous_contract_in_cycle,
    to_pysystemtrade_contract_id,
)
from tests.sysobjects.support import golden_csv, golden_roll_parameters

EXPIRIES = list(golden_csv("expiries.csv").itertuples())
ON_DATE = list(golden_csv("contracts_on_date.csv").itertuples())
STEPS = list(golden_csv("cycle_steps.csv").itertuples())


def _date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


@pytest.mark.parametrize("row", EXPIRIES, ids=lambda r: f"{r.instrument}-{r.contract}")
def test_golden_expiry_and_roll_date(row):
    params = golden_roll_parameters()[row.instrument]
    assert approximate_expiry(row.contract, params) == _date(row.approx_expiry)
    assert desired_roll_date(row.contract, params) == _date(row.desired_roll_date)


@pytest.mark.parametrize("row", EXPIRIES, ids=lambda r: f"{r.instrument}-{r.contract}")
def test_approximate_expiry_is_close_to_exchange_rule(row):
    """The rollconfig approximation is within a week of the exchange's last trading day."""
    params = golden_roll_parameters()[row.instrument]
    gap = abs((approximate_expiry(row.contract, params) - _date(row.exchange_last_trade)).days)
    assert gap <= 7


def test_actual_expiry_overrides_approximation():
    params = golden_roll_parameters()["CORN"]
    assert desired_roll_date("202112", params, expiry=dt.date(2021, 12, 14)) == dt.date(
        2021, 10, 15
    )


def test_day_contract_expires_on_its_day():
    params = golden_roll_parameters()["VIX"]
    assert approximate_expiry("20211222", params) == dt.date(2021, 12, 22)


@pytest.mark.parametrize("row", ON_DATE, ids=lambda r: f"{r.instrument}-{r.date}")
def test_golden_contracts_on_date(row):
    params = golden_roll_parameters()[row.instrument]
    got = contracts_for_date(_date(row.date), params)
    assert (got.current, got.forward, got.carry) == (row.current, row.forward, row.carry)


def test_timestamp_input_uses_utc_date():
    params = golden_roll_parameters()["CORN"]
    # 2021-10-16 01:00 in Tokyo is still 2021-10-15 in UTC
    ts = pd.Timestamp("2021-10-16 01:00", tz="Asia/Tokyo")
    assert current_contract_for_date(ts, params) == "202112"


@pytest.mark.parametrize("row", STEPS, ids=lambda r: f"{r.contract}-{r.cycle}")
def test_golden_cycle_steps(row):
    assert next_contract_in_cycle(row.contract, row.cycle) == row.next
    assert previous_contract_in_cycle(row.contract, row.cycle) == row.previous


def test_month_not_in_cycle_raises():
    with pytest.raises(InvalidData, match="not in roll cycle"):
        next_contract_in_cycle("202111", "HMUZ")


@pytest.mark.parametrize("bad", ["2021120", "202113", "20210230", "abc", ""])
def test_bad_contract_dates(bad):
    with pytest.raises(InvalidData):
        ContractDate.parse(bad)


def test_pysystemtrade_ids():
    assert ContractDate.parse("20211200").key == "202112"
    assert ContractDate.parse(20211200).key == "202112"
    assert to_pysystemtrade_contract_id("202112") == "20211200"
    assert to_pysystemtrade_contract_id("20211215") == "20211215"
    assert ContractDate.parse("202112").letter == "Z"


def test_chain_between_dates():
    params = golden_roll_parameters()["CORN"]
    assert contracts_in_chain("2019-01-01", "2021-12-31", params) == [
        "201912", "202012", "202112", "202212",
    ]
    assert contracts_needed("2021-01-01", "2021-12-31", params) == [
        "202109", "202112", "202209", "202212", "202312",
    ]
    with pytest.raises(InvalidData):
        contracts_in_chain("2021-01-02", "2021-01-01", params)


def test_current_contract_is_monotone_over_decades():
    """Walking every day for 30 years, the current contract never goes backwards and follows
    the hold cycle one step at a time (all 11 instruments)."""
    for name, params in golden_roll_parameters().items():
        previous = None
        for day in pd.date_range("1995-01-01", "2025-01-01", freq="7D"):
            current = current_contract_for_date(day, params)
            roll = desired_roll_date(current, params)
            assert roll > day.date(), name
            if previous is not None and previous != current:
                assert current == next_contract_in_cycle(previous, params.hold_roll_cycle), name
                assert desired_roll_date(previous, params) <= day.date(), name
            previous = current
