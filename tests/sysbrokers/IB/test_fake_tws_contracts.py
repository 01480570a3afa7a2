"""Step 2: contract details and qualification through the real ib_async client."""

from __future__ import annotations

import pytest
from ib_async import Contract, Forex, Future

from sysbrokers.sim.market import default_market
from tests.sysbrokers.IB.conftest import START


def test_future_by_symbol_exchange_and_month_qualifies(ib):
    market = default_market()
    [fut] = ib.qualifyContracts(Future("MES", "202403", "CME"))
    assert fut is not None
    assert fut.conId > 0
    assert fut.localSymbol == "MESH4"
    assert fut.multiplier == "5"
    assert fut.tradingClass == "MES"
    assert fut.currency == "USD"
    expiry = market.contract_details("SP500_micro", "202403").expiry
    assert fut.lastTradeDateOrContractMonth == expiry.strftime("%Y%m%d")


def test_contract_details_carry_tick_zone_hours_and_magnifier(ib):
    [details] = ib.reqContractDetails(Future("ZC", "202403", "CBOT"))
    spec = default_market().spec("CORN")
    assert details.minTick == spec.tick_size
    assert details.priceMagnifier == 100
    assert details.contract.multiplier == "5000"
    assert details.timeZoneId == "America/Chicago"
    assert details.contractMonth == "202403"
    assert details.longName == spec.description
    sessions = details.tradingSessions()
    assert sessions, details.tradingHours
    now = START.to_pydatetime()
    # the fake's sessions agree with the simulated market about "open now"
    assert any(s.start <= now < s.end for s in sessions) == default_market().is_open("CORN", START)


def test_bare_con_id_resolves_to_the_same_contract(ib):
    [fut] = ib.qualifyContracts(Future("MES", "202403", "CME"))
    [again] = ib.qualifyContracts(Contract(conId=fut.conId))
    assert again.localSymbol == "MESH4" and again.secType == "FUT"


def test_expiry_date_instead_of_month_finds_the_contract(ib):
    expiry = default_market().contract_details("SP500_micro", "202406").expiry.strftime("%Y%m%d")
    [fut] = ib.qualifyContracts(Future("MES", expiry, "CME"))
    assert fut.localSymbol == "MESM4"


def test_symbol_without_month_lists_the_active_chain_nearest_first(ib):
    market = default_market()
    details = ib.reqContractDetails(Future("MES", exchange="CME"))
    months = [d.contractMonth for d in details]
    assert months == market.active_contracts("SP500_micro", START)
    assert len(months) >= 2
    # several matches: ambiguous for qualifyContracts
    assert ib.qualifyContracts(Future("MES", exchange="CME")) == [None]


def test_expired_contract_needs_include_expired(ib):
    assert ib.reqContractDetails(Future("MES", "202312", "CME")) == []
    expired = Future("MES", "202312", "CME", includeExpired=True)
    [details] = ib.reqContractDetails(expired)
    assert details.contract.localSymbol == "MESZ3"


@pytest.mark.parametrize(
    "contract",
    [
        Future("NOPE", "202403", "CME"),
        Future("MES", "202402", "CME"),  # not in the listed cycle
        Future("MES", "202403", "EUREX"),  # wrong exchange
        Future("MES", "203012", "CME"),  # not listed yet
        Forex("JPYUSD"),  # IB lists USD.JPY
    ],
)
def test_unknown_contract_gets_error_200(ib, contract):
    errors = []
    ib.errorEvent += lambda req_id, code, text, c: errors.append(code)
    assert ib.reqContractDetails(contract) == []
    assert errors == [200]


def test_fx_pairs_are_cash_on_idealpro(ib):
    eur, usdjpy = ib.qualifyContracts(Forex("EURUSD"), Forex("USDJPY"))
    assert eur.secType == "CASH" and eur.exchange == "IDEALPRO" and eur.localSymbol == "EUR.USD"
    assert usdjpy.symbol == "USD" and usdjpy.currency == "JPY"
    [details] = ib.reqContractDetails(Forex("GBPUSD"))
    assert details.minTick == 0.00005
    assert details.tradingSessions()
