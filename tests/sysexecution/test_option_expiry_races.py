"""Attacks on option expiry booking (sysexecution.option_expiry) on real stores (SQLite and
MongoDB) and the simulated broker behind the option-routing wrapper: an option fill the broker
made before the expiry but the stack handler had not drained yet when it saw the expiry."""
from __future__ import annotations

import pandas as pd
import pytest

from sysbrokers.option_routing import OptionRoutedBroker
from sysbrokers.sim.broker import SimBroker
from sysbrokers.sim.market import default_market
from sysbrokers.sim.options import OptionCalendar, SimOptionChains
from syscore.clock import SimulatedClock
from sysexecution.manual_orders import manual_trade
from sysexecution.option_expiry import book_option_expiries
from sysobjects.black76 import OptionRight
from sysobjects.option_instruments import OptionSeries
from sysproduction.run_stack_handler import stack_handler_pass
from tests.blob_helpers import SIM_START, make_blob

CODE, CONTRACT = "SP500_micro", "202403"


class LateReportingBroker(OptionRoutedBroker):
    """The routing wrapper over a broker that reports option executions late: none at all
    while ``late`` (a real broker's reporting delay, made long)."""

    late = False

    def _option_executions(self, since=None):
        return [] if self.late else super()._option_executions(since)


def contracts(data, code):
    return CONTRACT, "202406"


@pytest.fixture(params=["sqlite", "mongodb"])
def serial_env(request, systrade_home):
    url = request.getfixturevalue("mongo_url") if request.param == "mongodb" else None
    clock = SimulatedClock(systrade_home, start=SIM_START)
    market = default_market()
    chains = SimOptionChains(market, {CODE: OptionCalendar(serial_months=1)})
    brokers = []

    def factory(blob):
        brokers.append(SimBroker(clock, systrade_home, market, option_chains=chains))
        return LateReportingBroker(brokers[-1])

    data = make_blob(systrade_home, request.param, url, clock=clock, broker_factory=factory)
    try:
        yield data, clock, chains
    finally:
        data.close()
        for broker in brokers:
            broker.close()


def run_until_quiet(data, clock, passes=12):
    for _ in range(passes):
        stack_handler_pass(data, contracts=contracts)
        if not any(data.order_stack(s).orders() for s in ("instrument", "contract", "broker")):
            return
        clock.advance(pd.Timedelta(minutes=2))
    raise AssertionError("orders still on the stacks")


def views(data, strategy, code, contract):
    broker = {(p.instrument_code, p.contract_date): p.quantity
              for p in data.broker.get_positions()}
    return (data.positions.get_strategy_position(strategy, code),
            data.positions.get_contract_position(code, contract), broker.get((code, contract), 0))


def test_a_fill_made_before_the_expiry_but_not_yet_drained_is_booked_before_the_expiry(
        serial_env):
    """The stack handler drains, then (the wall clock having crossed the option's expiry)
    books the expiry: a sale that filled at the broker in between must be booked first, else
    the expiry closes the position as it was before the sale and the late fill leaves the
    ledger short an option the broker no longer has (and long a future too many)."""
    data, clock, chains = serial_env
    serial = chains.listings(CODE, CONTRACT)[0]
    strikes = chains.quoted_strikes(CODE, serial, SIM_START)
    call = OptionSeries(CODE, CONTRACT, OptionRight.CALL, strikes[2], serial.expiry, "S")
    manual_trade(data, "manual", call.code, [(CONTRACT, 2)], algo="market")
    run_until_quiet(data, clock)
    assert views(data, "manual", call.code, CONTRACT) == (2, 2, 2)
    manual_trade(data, "manual", call.code, [(CONTRACT, -1)], algo="market")
    stack_handler_pass(data, contracts=contracts)  # sends the sale: it fills after latency
    assert [o.status.value for o in data.broker.get_orders()] == ["FILLED", "PENDING_SUBMIT"]
    assert views(data, "manual", call.code, CONTRACT)[:2] == (2, 2)
    expiry_ns = data.broker.option_expiry_ns(data.broker.inner.get_option_positions()[0]
                                             .contract)
    clock.advance(pd.Timestamp(expiry_ns, tz="UTC") - clock.now() + pd.Timedelta(hours=1))
    # the pass's drain came before the sale filled; its expiry step comes after the expiry
    result = book_option_expiries(data)
    assert result.expired == [call.code]
    out = stack_handler_pass(data, contracts=contracts)  # the late fill, reconciliation
    assert views(data, "manual", call.code, CONTRACT) == (0, 0, 0)
    assert views(data, "manual", CODE, CONTRACT) == (1, 1, 1)  # one call exercised
    assert data.locks.locked_instruments() == [], out


def test_a_fill_reported_after_the_expiry_was_booked_is_closed_by_a_second_expiry_booking(
        serial_env):
    """A broker reports a sale made before the expiry only after the expiry is booked: the
    ledger is then short the option the broker closed; the next pass books it and closes the
    remainder (and its exercise) with new adjustment ids, instead of failing every pass on
    the expiry's id already used with another quantity."""
    data, clock, chains = serial_env
    serial = chains.listings(CODE, CONTRACT)[0]
    strikes = chains.quoted_strikes(CODE, serial, SIM_START)
    call = OptionSeries(CODE, CONTRACT, OptionRight.CALL, strikes[2], serial.expiry, "S")
    manual_trade(data, "manual", call.code, [(CONTRACT, 2)], algo="market")
    run_until_quiet(data, clock)
    manual_trade(data, "manual", call.code, [(CONTRACT, -1)], algo="market")
    stack_handler_pass(data, contracts=contracts)
    expiry_ns = data.broker.option_expiry_ns(data.broker.inner.get_option_positions()[0]
                                             .contract)
    data.broker.late = True
    clock.advance(pd.Timestamp(expiry_ns, tz="UTC") - clock.now() + pd.Timedelta(hours=1))
    stack_handler_pass(data, contracts=contracts)  # the expiry of +2, the sale not reported
    assert views(data, "manual", call.code, CONTRACT)[:2] == (0, 0)
    assert views(data, "manual", CODE, CONTRACT)[:2] == (2, 2)
    data.broker.late = False
    clock.advance(pd.Timedelta(minutes=2))
    out = stack_handler_pass(data, contracts=contracts)  # the sale, then its expiry
    assert out["option expiries"].startswith("1 option position(s) expired")
    clock.advance(pd.Timedelta(minutes=2))
    out = stack_handler_pass(data, contracts=contracts)
    assert views(data, "manual", call.code, CONTRACT) == (0, 0, 0)
    assert views(data, "manual", CODE, CONTRACT) == (1, 1, 1)
    assert data.locks.locked_instruments() == [], out
    head = data.ledger.head()
    stack_handler_pass(data, contracts=contracts)  # a rerun books nothing
    assert data.ledger.head() == head


def test_a_crash_between_the_exercise_and_the_expiry_books_each_once_after_a_restart(
        serial_env, systrade_home):
    """The handler books an in-the-money option's exercise and dies before its expiry; the
    restarted handler (new stores' connections, new wrapper) books the expiry and not the
    exercise again; later passes book nothing."""
    from tests.blob_helpers import reopened

    data, clock, chains = serial_env
    serial = chains.listings(CODE, CONTRACT)[0]
    strikes = chains.quoted_strikes(CODE, serial, SIM_START)
    call = OptionSeries(CODE, CONTRACT, OptionRight.CALL, strikes[2], serial.expiry, "S")
    manual_trade(data, "manual", call.code, [(CONTRACT, 2)], algo="market")
    run_until_quiet(data, clock)
    expiry_ns = data.broker.option_expiry_ns(data.broker.inner.get_option_positions()[0]
                                             .contract)
    clock.advance(pd.Timestamp(expiry_ns, tz="UTC") - clock.now() + pd.Timedelta(hours=1))
    real, calls = data.positions.adjust_position, []

    def dies_after_the_exercise(*args, **kwargs):
        calls.append(kwargs.get("adjustment_id"))
        if len(calls) == 2:
            raise RuntimeError("killed between the exercise and the expiry")
        return real(*args, **kwargs)

    data.positions.adjust_position = dies_after_the_exercise
    with pytest.raises(RuntimeError):
        book_option_expiries(data)
    assert calls[0].startswith("option-exercise/")
    restarted = reopened(data, systrade_home, clock)
    try:
        out = stack_handler_pass(restarted, contracts=contracts)
        assert out["option expiries"].startswith("1 option position(s) expired")
        assert views(restarted, "manual", call.code, CONTRACT) == (0, 0, 0)
        assert views(restarted, "manual", CODE, CONTRACT) == (2, 2, 2)
        adjustments = [d["record"]["adjustment_id"] for d in restarted.ledger.records(0, None)
                       if d["kind"] == "adjustment"]
        assert sorted(a.split("/")[0] for a in adjustments) == ["option-exercise",
                                                                "option-expiry"]
        head = restarted.ledger.head()
        clock.advance(pd.Timedelta(minutes=2))
        stack_handler_pass(restarted, contracts=contracts)
        assert restarted.ledger.head() == head
        assert restarted.locks.locked_instruments() == []
    finally:
        restarted.close()
