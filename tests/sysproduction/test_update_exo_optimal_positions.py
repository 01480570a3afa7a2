"""EXO strategies traded end to end on real stores and the simulated broker: EXO backfill ->
alpha exposure -> optimal position -> instrument order -> contract orders -> fills ->
positions, strategy = contract = broker."""
from __future__ import annotations

import pandas as pd
import pytest
import yaml

from sysproduction.exo_backfill import exo_backfill
from sysproduction.run_stack_handler import stack_handler_pass
from sysproduction.update_exo_optimal_positions import (
    exo_strategy_name,
    update_exo_optimal_positions,
)
from sysproduction.update_strategy_orders import update_strategy_orders

CODE, CONTRACT = "SP500_micro", "202403"
CONTFUT, SPREAD, IDLE = f"{CODE}_ContFut", f"{CODE}_CallSpread", f"{CODE}_LongCall"
SETTINGS = {
    "products": {CODE: {"decision_time": "14:00"}},
    "exos": [{"name": SPREAD, "product": CODE, "kind": "call_spread"},
             {"name": IDLE, "product": CODE, "kind": "long_call"}],
}


def contracts(data, code):
    return CONTRACT, "202406"


def run_until_quiet(data, clock, passes=10):
    for _ in range(passes):
        stack_handler_pass(data, contracts=contracts)
        if not any(data.order_stack(s).orders() for s in ("instrument", "contract", "broker")):
            return
        clock.advance(pd.Timedelta(minutes=2))
    raise AssertionError("orders still on the stacks")


def picks(exposure):
    return {"date": "2024-01-08T00:00:00+00:00", "exposure": exposure, "candidates": 1,
            "members": []}


@pytest.fixture
def env(sim_broker_env):
    data, clock = sim_broker_env
    (data.home / "private").mkdir(parents=True, exist_ok=True)
    (data.home / "private" / "exo_settings.yaml").write_text(yaml.safe_dump(SETTINGS))
    report = exo_backfill(product=CODE, start="2023-10-02", end="2024-01-08", data=data)
    assert report.ok, str(report)
    return data, clock


def positions(data, strategy):
    broker = {(p.instrument_code, p.contract_date): p.quantity
              for p in data.broker.get_positions()}
    return (data.positions.get_strategy_position(strategy, CODE),
            data.positions.get_contract_position(CODE, CONTRACT), broker.get((CODE, CONTRACT), 0))


def test_an_exo_strategy_reaches_its_target_and_positions_equal_the_broker(env):
    data, clock = env
    strategy = exo_strategy_name(CONTFUT)
    data.alpha_picks.put(CONTFUT, picks(0.75))
    data.alpha_picks.put(SPREAD, picks(1.0))
    # the continuous future holds 1 March future: 1 x 0.75 x 4 units = 3 contracts
    report = update_exo_optimal_positions(data, units={CONTFUT: 4}, min_rows=20)
    row = data.optimal_positions.current(strategy, CODE)
    assert (row["lower"], row["upper"], row["reference_contract"]) == (3.0, 3.0, CONTRACT)
    quote = data.broker.get_bid_ask(CODE, CONTRACT)
    assert row["reference_price"] == pytest.approx(quote.mid)
    # the call spread holds options only: a target per option leg, none in the future
    assert SPREAD not in report.failures
    assert sorted(t for _, t in report.results[SPREAD].options) == [-1.0, 1.0]
    assert (exo_strategy_name(SPREAD), CODE) not in data.optimal_positions.list_keys()
    assert "not rebalanced" in str(report.results[IDLE])  # never picked: nothing written
    rows = len(data.optimal_positions.history(strategy, CODE))
    again = update_exo_optimal_positions(data, units={CONTFUT: 4}, min_rows=20)
    assert "already written" in str(again.results[CONTFUT])  # a rerun at the same time
    assert len(data.optimal_positions.history(strategy, CODE)) == rows

    assert update_strategy_orders(data).ok
    run_until_quiet(data, clock)
    assert positions(data, strategy) == (3, 3, 3)

    # the alphas turn short: -0.5 x 4 = -2 contracts, reached through the same path
    clock.advance(pd.Timedelta(minutes=10))
    data.alpha_picks.put(CONTFUT, picks(-0.5))
    update_exo_optimal_positions(data, units={CONTFUT: 4}, min_rows=20)
    assert data.optimal_positions.current(strategy, CODE)["lower"] == -2.0
    assert update_strategy_orders(data).ok
    run_until_quiet(data, clock)
    assert positions(data, strategy) == (-2, -2, -2)
    fills = sum(doc["record"]["quantity"] for doc in data.ledger.records(0, None)
                if doc["kind"] == "fill")
    assert fills == -2  # +3 then -5: every fill booked once
    # the EXO holds no more than its target: a new run orders nothing
    clock.advance(pd.Timedelta(minutes=10))
    update_exo_optimal_positions(data, units={CONTFUT: 4}, min_rows=20)
    assert update_strategy_orders(data).ok and data.order_stack("instrument").orders() == []


def test_a_stale_exo_is_not_traded(env):
    data, clock = env
    data.alpha_picks.put(CONTFUT, picks(1.0))
    clock.advance(pd.Timedelta(days=10))  # the last EXO row (2024-01-08) is now 10 days old
    report = update_exo_optimal_positions(data, min_rows=20)
    assert "not fresh" in report.failures[CONTFUT]
    assert (exo_strategy_name(CONTFUT), CODE) not in data.optimal_positions.list_keys()


def test_an_exo_whose_alpha_picks_are_old_is_not_traded(env):
    """A stopped weekly rebalancer: the EXO is fresh, its exposure is not."""
    data, clock = env
    data.alpha_picks.put(CONTFUT, dict(picks(1.0), date="2023-12-20T00:00:00+00:00"))
    report = update_exo_optimal_positions(data, min_rows=20)
    assert "alpha picks of 2023-12-20 are more than 10 days old" in report.failures[CONTFUT]
    assert (exo_strategy_name(CONTFUT), CODE) not in data.optimal_positions.list_keys()
    allowed = update_exo_optimal_positions(data, min_rows=20, max_picks_age_days=30)
    assert CONTFUT not in allowed.failures


def test_an_exo_whose_definition_can_hold_options_is_traded_on_a_broker_with_options(env):
    # a SmartEXO in its futures-only regime holds no option today; its bearish regime is a
    # collar. The simulated broker trades options, so today's futures leg is traded (on a
    # broker without options it is refused from the definition:
    # tests/sysproduction/test_exo_option_legs.py).
    from sysexo.engine import ExoDefinition, LegTemplate
    from sysproduction.update_exo_optimal_positions import exo_futures_target

    data, clock = env
    data.alpha_picks.put(CONTFUT, picks(1.0))
    smart = ExoDefinition(name=CONTFUT, product=CODE, kind="smart",
                          bullish=(LegTemplate(type="future"),),
                          bearish=(LegTemplate(type="future", quantity=-1),
                                   LegTemplate(type="call", offset=5, quantity=1)))
    assert exo_futures_target(data, smart, min_rows=20)[0] == 1.0
    plain = ExoDefinition(name=CONTFUT, product=CODE, kind="continuous_future")
    assert exo_futures_target(data, plain, min_rows=20)[0] == 1.0


def test_an_exo_whose_state_is_behind_its_rows_is_not_traded(env):
    # a crash between the rows' append and the state's write leaves the series fresh and the
    # legs of an earlier day (before a roll: another contract): not traded as today's
    from sysexo.backfill import EXO_STATE

    data, clock = env
    data.alpha_picks.put(CONTFUT, picks(1.0))
    doc = data.state.get(EXO_STATE, CONTFUT)
    data.state.put(EXO_STATE, CONTFUT, {**doc, "last_day": "2024-01-05"})
    report = update_exo_optimal_positions(data, min_rows=20)
    assert "interrupted" in report.failures[CONTFUT]
    assert (exo_strategy_name(CONTFUT), CODE) not in data.optimal_positions.list_keys()
    data.state.put(EXO_STATE, CONTFUT, doc)  # the rerun of the EXO update writes the state
    assert update_exo_optimal_positions(data, min_rows=20).results[CONTFUT].target == 1.0
