import datetime as dt

import pytest

from syscore.exceptions import InvalidData, MissingData
from sysexo.roll_regimes import (
    FutureContract,
    OptionExpiry,
    RollRegime,
    active_chain,
    load_roll_regimes,
    needs_roll,
)

D = dt.date
FUTURES = [FutureContract("202403", D(2024, 3, 15)), FutureContract("202405", D(2024, 5, 14)),
           FutureContract("202407", D(2024, 7, 12)), FutureContract("202409", D(2024, 9, 13))]
OPTIONS = {
    "202403": [OptionExpiry("", D(2024, 2, 23)), OptionExpiry("", D(2024, 3, 8))],
    "202405": [OptionExpiry("", D(2024, 4, 26))],
    "202407": [OptionExpiry("", D(2024, 6, 21))],
    "202409": [OptionExpiry("EUU", D(2024, 9, 6)), OptionExpiry("XX", D(2024, 8, 9))],
}
REGIMES = load_roll_regimes({
    "products": {
        "ZC": {"roll_months": [3, 5, 7, 9, 12], "days_before_expiration": 5},
        "ES": {"roll_months": [3, 9], "days_before_expiration": 2, "option_codes": ["EUU", ""]},
        "GC": {"roll_months": [7], "days_before_expiration": 5},
    }})


@pytest.mark.parametrize("product,day,future,option", [
    ("ZC", D(2024, 2, 1), "202403", D(2024, 2, 23)),
    ("ZC", D(2024, 2, 19), "202403", D(2024, 3, 8)),   # Feb 23 is within 5 days
    ("ZC", D(2024, 3, 4), "202405", D(2024, 4, 26)),   # Mar 8 within 5 days: next future
    ("ZC", D(2024, 5, 1), "202407", D(2024, 6, 21)),   # May's only option has expired
    ("ES", D(2024, 3, 14), "202409", D(2024, 9, 6)),   # March too close; Sep's EUU passes
    ("OTHER", D(2024, 4, 27), "202405", None),         # default regime; no options: futures
])
def test_active_chain_table(product, day, future, option):
    regime = REGIMES.for_product(product)
    options = OPTIONS if product != "OTHER" else {"202405": [], "202407": []}
    chain = active_chain(day, FUTURES, options, regime)
    assert chain.future.contract_id == future
    assert (chain.option.expiry if chain.option else None) == option


def test_missing_chain_moves_to_the_next_future():
    options = {"202405": [], "202407": [OptionExpiry("", D(2024, 6, 21))]}
    chain = active_chain(D(2024, 4, 1), FUTURES, options, RollRegime())
    assert (chain.future.contract_id, chain.option.expiry) == ("202407", D(2024, 6, 21))


def test_filter_excludes_every_chain_is_an_error():
    regime = RollRegime(option_codes=["NOPE"])
    with pytest.raises(MissingData, match="passes the filter"):
        active_chain(D(2024, 1, 2), FUTURES, OPTIONS, regime)


def test_no_future_in_reach():
    with pytest.raises(MissingData):
        active_chain(D(2024, 9, 12), FUTURES, OPTIONS, REGIMES.for_product("GC"))


@pytest.mark.parametrize("day,roll", [(D(2024, 3, 9), False), (D(2024, 3, 10), True),
                                      (D(2024, 3, 15), True)])
def test_needs_roll(day, roll):
    assert needs_roll(day, [D(2024, 3, 15), D(2024, 6, 1)], RollRegime(
        days_before_expiration=5)) is roll


@pytest.mark.parametrize("data,message", [
    ({"products": {"ZC": {"roll_months": [13]}}}, "months 1-12"),
    ({"products": {"ZC": {"days_before": 3}}}, "days_before"),
    ({"default": {"days_before_expiration": -1}}, "greater than or equal"),
])
def test_bad_regimes_name_the_key(data, message):
    with pytest.raises(InvalidData, match=message):
        load_roll_regimes(data)
