"""Option trading in the simulated broker is deterministic and survives a restart."""
from __future__ import annotations

import pandas as pd

from sysbrokers.objects import OptionContract, OrderStatus
from sysbrokers.sim.broker import SimBroker
from sysbrokers.sim.market import default_market
from sysbrokers.sim.options import OptionCalendar, SimOptionChains
from syscore.clock import SimulatedClock
from sysobjects.black76 import OptionRight

START = pd.Timestamp("2024-01-09 15:00", tz="UTC")
CODE = "SP500_micro"


def broker_at(home):
    market = default_market()
    chains = SimOptionChains(market, {CODE: OptionCalendar(serial_months=1)})
    clock = SimulatedClock(home, start=START)
    return SimBroker(clock, home, market, option_chains=chains), clock, chains


def trade_and_expire(home, poll_every: pd.Timedelta | None):
    """Buy a call and sell a put, let both expire; poll the broker every ``poll_every`` (or
    never until the end). Returns what the broker ends with."""
    broker, clock, chains = broker_at(home)
    contract = default_market().active_contracts(CODE, START)[0]
    serial = chains.listings(CODE, contract)[0]
    strikes = chains.quoted_strikes(CODE, serial, START)
    mid = strikes[len(strikes) // 2]
    call = OptionContract(CODE, contract, OptionRight.CALL, mid, serial.expiry, "S")
    put = OptionContract(CODE, contract, OptionRight.PUT, mid, serial.expiry, "S")
    ids = [broker.place_option_order(call, 2).order_id, broker.place_option_order(put, -1)
           .order_id]
    end = pd.Timestamp(broker.option_expiry_ns(call), tz="UTC") + pd.Timedelta(hours=1)
    while poll_every is not None and clock.now() + poll_every < end:
        clock.advance(poll_every)
        broker.get_option_positions()
    clock.advance(end - clock.now())
    orders = [broker.get_option_order(i) for i in ids]
    out = ([(o.status, o.avg_fill_price) for o in orders],
           dict(broker.get_account_value().cash), broker.get_positions())
    broker.close()
    return out


def test_fills_and_expiry_do_not_depend_on_when_the_broker_is_asked(tmp_path):
    once = trade_and_expire(tmp_path / "a", None)
    polled = trade_and_expire(tmp_path / "b", pd.Timedelta(hours=7))
    assert once == polled
    assert [status for status, _ in once[0]] == [OrderStatus.FILLED, OrderStatus.FILLED]


def test_a_restarted_broker_keeps_its_option_positions(tmp_path):
    home = tmp_path / "home"
    broker, clock, chains = broker_at(home)
    contract = default_market().active_contracts(CODE, START)[0]
    serial = chains.listings(CODE, contract)[0]
    strike = chains.quoted_strikes(CODE, serial, START)[10]
    call = OptionContract(CODE, contract, OptionRight.CALL, strike, serial.expiry, "S")
    order = broker.place_option_order(call, 3)
    broker.close()  # killed before the order reached the exchange
    again, clock2, _ = broker_at(home)
    clock2.advance(pd.Timedelta(seconds=5))
    filled = again.get_option_order(order.order_id)
    assert filled.status is OrderStatus.FILLED and filled.filled_quantity == 3
    assert [(p.contract, p.quantity) for p in again.get_option_positions()] == [(call, 3)]
    again.close()
