"""Option legs traded end to end on real stores (SQLite and MongoDB) and the simulated broker:
an EXO holding a future and options -> optimal positions per leg -> instrument orders ->
contract orders -> broker orders -> ledger fills (once per execution id) -> positions, with
strategy = contract = broker for every leg; then an option held across its expiry: its position
goes to zero and the future it was exercised into appears, with no reconciliation break."""
from __future__ import annotations

import pandas as pd
import pytest
import yaml

from sysbrokers.broker import Broker
from sysbrokers.option_routing import OptionRoutedBroker
from sysbrokers.sim.broker import SimBroker
from sysbrokers.sim.market import default_market
from sysbrokers.sim.options import OptionCalendar, SimOptionChains
from syscore.clock import SimulatedClock
from sysexo.engine import ExoDefinition
from sysobjects.black76 import OptionRight
from sysobjects.option_instruments import OptionSeries, parse_option_code
from sysproduction.exo_backfill import exo_backfill
from sysproduction.run_stack_handler import stack_handler_pass
from sysproduction.update_exo_optimal_positions import (
    exo_strategy_name,
    exo_targets,
    update_exo_optimal_positions,
)
from sysproduction.update_strategy_orders import update_strategy_orders
from tests.blob_helpers import SIM_START, make_blob, reopened

CODE, CONTRACT = "SP500_micro", "202403"
COLLAR = f"{CODE}_BullCollar"
SETTINGS = {"products": {CODE: {"decision_time": "14:00"}},
            "exos": [{"name": COLLAR, "product": CODE, "kind": "bullish_collar"}]}


def contracts(data, code):
    return CONTRACT, "202406"


def run_until_quiet(data, clock, passes=12):
    for _ in range(passes):
        out = stack_handler_pass(data, contracts=contracts)
        if not any(data.order_stack(s).orders() for s in ("instrument", "contract", "broker")):
            return
        clock.advance(pd.Timedelta(minutes=2))
    left = [(o.instrument_code, o.reason) for s in ("instrument", "contract", "broker")
            for o in data.order_stack(s).orders()]
    raise AssertionError(f"orders still on the stacks at {clock.now()}: {left}; {out}")


def picks(exposure):
    return {"date": "2024-01-08T00:00:00+00:00", "exposure": exposure, "candidates": 1,
            "members": []}


def three_views(data, strategy, code, contract):
    broker = {(p.instrument_code, p.contract_date): p.quantity
              for p in data.broker.get_positions()}
    return (data.positions.get_strategy_position(strategy, code),
            data.positions.get_contract_position(code, contract), broker.get((code, contract), 0))


def fill_exec_ids(data) -> list[str]:
    return [doc["record"]["exec_id"] for doc in data.ledger.records(0, None)
            if doc["kind"] == "fill"]


@pytest.fixture
def collar_env(sim_broker_env):
    data, clock = sim_broker_env
    (data.home / "private" / "exo_settings.yaml").write_text(yaml.safe_dump(SETTINGS))
    report = exo_backfill(product=CODE, start="2023-10-02", end="2024-01-08", data=data)
    assert report.ok, str(report)
    return data, clock


def test_an_exo_with_a_future_and_options_is_traded_leg_by_leg(collar_env):
    data, clock = collar_env
    strategy = exo_strategy_name(COLLAR)
    data.alpha_picks.put(COLLAR, picks(1.0))
    report = update_exo_optimal_positions(data, units={COLLAR: 2}, min_rows=20)
    assert report.ok, str(report)
    result = report.results[COLLAR]
    assert (result.target, result.contract) == (2.0, CONTRACT)  # long future x 2 units
    options = dict(result.options)
    assert len(options) == 2 and sorted(options.values()) == [-2.0, 2.0]
    puts = [c for c in options if parse_option_code(c).right is OptionRight.PUT]
    calls = [c for c in options if parse_option_code(c).right is OptionRight.CALL]
    assert options[puts[0]] == 2.0 and options[calls[0]] == -2.0  # long put, short call
    for code in options:
        series = parse_option_code(code)
        assert (series.product, series.future) == (CODE, CONTRACT)
        row = data.optimal_positions.current(strategy, code)
        assert row["reference_contract"] == CONTRACT
        quote = data.broker.get_bid_ask(code, CONTRACT)
        assert row["reference_price"] == pytest.approx(quote.mid) and quote.bid < quote.ask

    assert update_strategy_orders(data).ok
    run_until_quiet(data, clock)
    assert three_views(data, strategy, CODE, CONTRACT) == (2, 2, 2)
    for code, target in options.items():
        assert three_views(data, strategy, code, CONTRACT) == (target,) * 3
    assert data.locks.locked_instruments() == []
    booked = fill_exec_ids(data)
    assert len(booked) == len(set(booked)) >= 3
    assert sum(1 for e in booked if e.startswith("simopt.")) >= 2  # the option executions

    # a restarted stack handler recovers every execution: nothing is booked twice
    again = reopened(data, data.home, clock)
    try:
        out = stack_handler_pass(again, contracts=contracts)
        assert out["fills"].startswith("0 booked")
        assert fill_exec_ids(again) == booked
        assert three_views(again, strategy, calls[0], CONTRACT) == (-2, -2, -2)
    finally:
        again.close()

    # the alpha halves its exposure: every leg halves through the same path
    clock.advance(pd.Timedelta(minutes=10))
    data.alpha_picks.put(COLLAR, picks(0.5))
    update_exo_optimal_positions(data, units={COLLAR: 2}, min_rows=20)
    assert update_strategy_orders(data).ok
    run_until_quiet(data, clock)
    assert three_views(data, strategy, CODE, CONTRACT) == (1, 1, 1)
    assert three_views(data, strategy, puts[0], CONTRACT) == (1, 1, 1)
    assert three_views(data, strategy, calls[0], CONTRACT) == (-1, -1, -1)
    assert data.locks.locked_instruments() == []


class FuturesOnlySim(SimBroker):
    """The simulated broker with its option half switched off (as a broker that trades no
    options, e.g. the IB layer today): the interface's defaults raise NotSupportedByBroker."""

    get_option_positions = Broker.get_option_positions
    get_option_quote = Broker.get_option_quote
    place_option_order = Broker.place_option_order


def test_an_exo_with_options_is_refused_on_a_broker_without_options(collar_env):
    data, clock = collar_env
    data.alpha_picks.put(COLLAR, picks(1.0))
    brokers = []

    def futures_only(blob):
        brokers.append(FuturesOnlySim(clock, data.home, default_market()))
        return OptionRoutedBroker(brokers[-1])

    blob = reopened(data, data.home, clock)
    blob._broker_factory = futures_only
    try:
        report = update_exo_optimal_positions(blob, min_rows=20)
        assert report.failures[COLLAR] == (  # one line
            f"InvalidData: {COLLAR}: its definition (bullish_collar) holds option legs and options are not "
            f"supported by this broker (FuturesOnlySim): no leg of this EXO is traded")
        assert not [k for k in blob.optimal_positions.list_keys()
                    if k[0] == exo_strategy_name(COLLAR)]
        # a SmartEXO judged on its definition: refused even in its futures-only regime
        smart = ExoDefinition(name=COLLAR, product=CODE, kind="smart",
                              bullish=({"type": "future"},),
                              bearish=({"type": "call", "offset": 5},))
        with pytest.raises(Exception, match="holds option legs and options are not supported"):
            exo_targets(blob, smart, min_rows=20)
    finally:
        blob.close()
        for broker in brokers:
            broker.close()


# ===================================================================== across an option expiry
@pytest.fixture(params=["sqlite", "mongodb"])
def serial_env(request, systrade_home):
    """A blob whose simulated broker lists serial options a month before the future's expiry
    (exercise leaves a live future), the routing wrapper on top, as the factory builds it."""
    url = request.getfixturevalue("mongo_url") if request.param == "mongodb" else None
    clock = SimulatedClock(systrade_home, start=SIM_START)
    market = default_market()
    chains = SimOptionChains(market, {CODE: OptionCalendar(serial_months=1)})
    brokers = []

    def factory(blob):
        brokers.append(SimBroker(clock, systrade_home, market, option_chains=chains))
        return OptionRoutedBroker(brokers[-1])

    data = make_blob(systrade_home, request.param, url, clock=clock, broker_factory=factory)
    try:
        yield data, clock, chains
    finally:
        data.close()
        for broker in brokers:
            broker.close()


def test_an_option_held_across_its_expiry_leaves_the_exercised_future(serial_env):
    data, clock, chains = serial_env
    strategy = "exo_serial"
    serial = chains.listings(CODE, CONTRACT)[0]
    assert serial.option_code == "S"
    strikes = chains.quoted_strikes(CODE, serial, SIM_START)
    itm_call = OptionSeries(CODE, CONTRACT, OptionRight.CALL, strikes[2], serial.expiry, "S")
    otm_put = OptionSeries(CODE, CONTRACT, OptionRight.PUT, strikes[2], serial.expiry, "S")
    now = data.now()
    for series, target in ((itm_call, 2), (otm_put, -1)):
        quote = data.broker.get_bid_ask(series.code, CONTRACT)
        data.optimal_positions.add(strategy, series.code, now, target, target, quote.mid,
                                   CONTRACT, quote.timestamp)
    assert update_strategy_orders(data).ok
    run_until_quiet(data, clock)
    assert three_views(data, strategy, itm_call.code, CONTRACT) == (2, 2, 2)
    assert three_views(data, strategy, otm_put.code, CONTRACT) == (-1, -1, -1)
    assert three_views(data, strategy, CODE, CONTRACT) == (0, 0, 0)

    expiry = data.broker.get_option_expiry(data.broker.inner.get_option_positions()[0]
                                           .contract)
    assert expiry is None  # still trading
    clock.advance(pd.Timestamp(data.broker.option_expiry_ns(
        data.broker.inner.get_option_positions()[0].contract), tz="UTC") - clock.now()
        + pd.Timedelta(hours=1))
    out = stack_handler_pass(data, contracts=contracts)
    assert out["option expiries"] == "2 option position(s) expired (1 exercised into futures)"
    assert three_views(data, strategy, itm_call.code, CONTRACT) == (0, 0, 0)
    assert three_views(data, strategy, otm_put.code, CONTRACT) == (0, 0, 0)
    assert three_views(data, strategy, CODE, CONTRACT) == (2, 2, 2)  # the exercised future
    assert data.locks.locked_instruments() == []
    assert "locked none" in out["reconciliation"]
    records = data.ledger.head()
    again = stack_handler_pass(data, contracts=contracts)  # a rerun books nothing twice
    assert "option expiries" not in again and data.ledger.head() == records
    # the optimal positions still name the expired options: the generator orders nothing
    report = update_strategy_orders(data)
    assert str(report.results[f"{strategy}/{itm_call.code}"]).endswith(
        "option expired: nothing to trade")
    assert data.order_stack("instrument").orders() == []


def test_market_and_limit_algos_work_option_orders(serial_env):
    from sysexecution.manual_orders import manual_trade

    data, clock, chains = serial_env
    serial = chains.listings(CODE, CONTRACT)[0]
    strike = chains.quoted_strikes(CODE, serial, SIM_START)[30]
    call = OptionSeries(CODE, CONTRACT, OptionRight.CALL, strike, serial.expiry, "S").code
    manual_trade(data, "manual", call, [(CONTRACT, 2)], algo="market")
    run_until_quiet(data, clock)
    book = data.broker.get_bid_ask(call, CONTRACT)
    tick = data.broker.get_contract_details(call, CONTRACT).tick_size
    limit = book.bid - tick  # a sell limit one tick below the bid: it crosses, fills at the bid
    manual_trade(data, "manual", call, [(CONTRACT, -1)], algo="limit", limit_price=limit)
    run_until_quiet(data, clock)
    sent = {o.order_id: o for o in data.broker.get_orders()}
    assert [(o.order_type.value, o.quantity, o.status.value) for o in sent.values()] == [
        ("MARKET", 2, "FILLED"), ("LIMIT", -1, "FILLED")]
    assert all(i.startswith("opt-") for i in sent)
    assert list(sent.values())[1].avg_fill_price >= limit - 1e-9
    assert three_views(data, "manual", call, CONTRACT) == (1, 1, 1)
    assert len(set(fill_exec_ids(data))) == len(fill_exec_ids(data)) == 2


SPREAD = f"{CODE}_CallSpread"


def test_an_exo_rolls_its_option_legs_across_their_expiry(sim_broker_env):
    """An options-only EXO (a call spread on the March options) traded day by day across the
    March expiry: the EXO closes its legs before they expire and opens the June ones; every
    leg's strategy, contract and broker positions agree every day and at the end."""
    from sysproduction.run_exo_update import update_exo_product

    data, clock = sim_broker_env
    settings = {"products": {CODE: {"decision_time": "14:00"}},
                "exos": [{"name": SPREAD, "product": CODE, "kind": "call_spread"}]}
    (data.home / "private" / "exo_settings.yaml").write_text(yaml.safe_dump(settings))
    assert exo_backfill(product=CODE, start="2023-10-02", end="2024-01-08", data=data).ok
    strategy = exo_strategy_name(SPREAD)
    seen: set[str] = set()
    end = pd.Timestamp("2024-03-20 15:00", tz="UTC")
    while clock.now() < end:
        day = clock.now().normalize()
        data.alpha_picks.put(SPREAD, dict(picks(1.0), date=day.isoformat()))
        update = update_exo_product(CODE, data, min_rows=20)
        assert not update.refused, str(update)
        report = update_exo_optimal_positions(data, min_rows=20, product=CODE)
        assert report.ok, str(report)
        seen |= {code for code, _ in report.results[SPREAD].options}
        assert update_strategy_orders(data).ok
        for _ in range(6):  # a worthless long call finds no bid: its close waits for expiry
            stack_handler_pass(data, contracts=contracts)
            clock.advance(pd.Timedelta(minutes=2))
        for code in seen:  # whatever has filled, the three views agree
            views = three_views(data, strategy, code, parse_option_code(code).future)
            assert len(set(views)) == 1, (code, clock.now(), views)
        assert data.locks.locked_instruments() == []
        # every 4 days (the EXO update catches up the days between), daily near the roll
        step = 4 if day < pd.Timestamp("2024-03-07", tz="UTC") else 1
        nxt = day + pd.Timedelta(days=step)
        nxt += pd.Timedelta(days=max(0, nxt.dayofweek - 4) and 7 - nxt.dayofweek)  # weekday
        clock.advance(nxt + pd.Timedelta(hours=15) - clock.now())
    for code in seen:  # every target reached
        target = round(data.optimal_positions.current(strategy, code)["lower"])
        assert data.positions.get_strategy_position(strategy, code) == target, code
    assert not any(data.order_stack(s).orders() for s in ("instrument", "contract", "broker"))
    futures = {parse_option_code(code).future for code in seen}
    assert futures == {"202403", "202406"}  # rolled from the March to the June options
    held = {code: data.positions.get_strategy_position(strategy, code) for code in seen}
    assert all(held[c] == 0 for c in seen if parse_option_code(c).future == "202403")
    assert sorted(held[c] for c in seen if parse_option_code(c).future == "202406") == [-1, 1]
    broker = {p.instrument_code: p.quantity for p in data.broker.get_positions()}
    assert broker == {c: q for c, q in held.items() if q}
    # the March short call was worthless (no bid: the algos wait for a valid quote), so it was
    # not bought back: it expired at the broker, the stack handler took it out of the ledger
    # (+1 to zero) and cancelled the order that tried to close it
    expired = [doc["record"] for doc in data.ledger.records(0, None)
               if doc["kind"] == "adjustment"
               and doc["record"]["adjustment_id"].startswith("option-expiry/")]
    assert [(parse_option_code(r["instrument_code"]).future,
             parse_option_code(r["instrument_code"]).right, r["quantity"])
            for r in expired] == [("202403", OptionRight.CALL, 1)]
    reasons = [doc["record"]["reason"] for doc in data.ledger.records(0, None)
               if doc["kind"] == "event" and doc["record"]["level"] == "instrument"]
    assert f"option {expired[0]['instrument_code']} expired" in reasons
