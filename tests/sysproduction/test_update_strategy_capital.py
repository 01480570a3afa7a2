"""update_strategy_capital: allocation by the configured function, written to the real capital
store (ArcticDB LMDB)."""
from __future__ import annotations

import logging

import pandas as pd
import pytest

from syscore.exceptions import ConfigError, InvalidData, MissingData
from sysproduction.update_strategy_capital import (
    strategy_allocations,
    update_strategy_capital,
    weighted_strategy_allocation,
)
from sysproduction.update_total_capital import update_total_capital
from tests.sysproduction.test_update_total_capital import HOUR, START, capital_blob

THIS = "tests.sysproduction.test_update_strategy_capital"


def first_takes_all(total_capital, strategy_weights):
    """A custom allocation: all capital to the alphabetically first strategy."""
    names = sorted(strategy_weights)
    return {name: (total_capital if i == 0 else 0.0) for i, name in enumerate(names)}


def over_allocate(total_capital, strategy_weights):
    return {name: total_capital for name in strategy_weights}


def not_a_mapping(total_capital, strategy_weights):
    return [total_capital]


def bad_name(total_capital, strategy_weights):
    return {"a/b": total_capital}


@pytest.mark.parametrize("total, weights, expected", [
    (100_000.0, {"trend": 1.0}, {"trend": 100_000.0}),
    (100_000.0, {"trend": 2.0, "carry": 1.0, "value": 1.0},
     {"trend": 50_000.0, "carry": 25_000.0, "value": 25_000.0}),
    (90_000.0, {"a": 0.6, "b": 0.3}, {"a": 60_000.0, "b": 30_000.0}),  # need not sum to 1
    (80_000.0, {"a": 1.0, "retired": 0.0}, {"a": 80_000.0, "retired": 0.0}),
    (0.0, {"a": 1.0, "b": 3.0}, {"a": 0.0, "b": 0.0}),
])
def test_weighted_allocation_is_proportional(total, weights, expected):
    got = weighted_strategy_allocation(total, weights)
    assert got == pytest.approx(expected)
    assert list(got) == list(expected)


@pytest.mark.parametrize("weights, message", [
    ({}, "no strategy weights"),
    ({"a": 0.0, "b": 0.0}, "weights sum to 0"),
    ({"a": -1.0, "b": 2.0}, "must be a finite number >= 0"),
    ({"a": float("nan")}, "must be a finite number >= 0"),
])
def test_weighted_allocation_rejects_bad_weights(weights, message):
    with pytest.raises(InvalidData, match=message):
        weighted_strategy_allocation(100_000.0, weights)


def test_process_writes_each_strategy_capital(tmp_path):
    blob, clock, broker = capital_blob(tmp_path / "home", weights={"trend": 3.0, "carry": 1.0})
    with blob:
        update_total_capital(blob)  # 100 000
        first = update_strategy_capital(blob)
        broker.set(108_000.0)
        clock.current += HOUR
        update_total_capital(blob)
        second = update_strategy_capital(blob)
        trend = blob.capital.strategy_capital("trend")
        carry = blob.capital.strategy_capital("carry")
        strategies = blob.capital.strategies()
    t0 = pd.Timestamp(START, tz="UTC")
    assert first.allocations == {"trend": 75_000.0, "carry": 25_000.0}
    assert second.total_capital == 108_000.0 and second.written == ["trend", "carry"]
    assert trend.tolist() == [75_000.0, 81_000.0] and carry.tolist() == [25_000.0, 27_000.0]
    assert list(trend.index) == [t0, t0 + HOUR]
    assert sorted(strategies) == ["carry", "trend"]
    assert "trend: 81,000.00" in str(second)
    assert str(second).startswith("strategy capital at 2024-03-04 11:00 UTC from total ")


def test_uses_total_not_broker_value(tmp_path):
    blob, clock, broker = capital_blob(tmp_path / "home", method="half", weights={"a": 1.0})
    with blob:
        update_total_capital(blob)
        broker.set(105_000.0)  # half: total stays at the high-water mark 100 000
        clock.current += HOUR
        update_total_capital(blob)
        result = update_strategy_capital(blob)
    assert result.allocations == {"a": 100_000.0}


def test_custom_function_by_dotted_path(tmp_path):
    blob, _, _ = capital_blob(tmp_path / "home", weights={"b": 1.0, "a": 1.0},
                              function=f"{THIS}.first_takes_all")
    with blob:
        update_total_capital(blob)
        result = update_strategy_capital(blob)
        assert blob.capital.strategy_capital("a").tolist() == [100_000.0]
        assert blob.capital.strategy_capital("b").tolist() == [0.0]
    assert result.allocations == {"a": 100_000.0, "b": 0.0}


@pytest.mark.parametrize("function, message", [
    ("no_such_package.allocate", "no module 'no_such_package'"),
    (f"{THIS}.no_such_function", "has no function 'no_such_function'"),
    ("allocate", "expected package.module.function"),
])
def test_unknown_function_is_a_clear_config_error(tmp_path, function, message):
    blob, _, _ = capital_blob(tmp_path / "home", weights={"a": 1.0}, function=function)
    with blob:
        update_total_capital(blob)
        with pytest.raises(ConfigError, match="strategy_capital_allocation.function") as info:
            update_strategy_capital(blob)
        assert message in str(info.value)
        assert blob.capital.strategies() == []


@pytest.mark.parametrize("function, message", [
    ("over_allocate", "more than total capital"),
    ("not_a_mapping", "expected a mapping"),
    ("bad_name", "invalid strategy name"),
])
def test_bad_allocation_writes_nothing(tmp_path, function, message):
    blob, _, _ = capital_blob(tmp_path / "home", weights={"a": 1.0, "b": 1.0},
                              function=f"{THIS}.{function}")
    with blob:
        update_total_capital(blob)
        with pytest.raises(InvalidData, match=message):
            update_strategy_capital(blob)
        assert blob.capital.strategies() == []


def test_zero_weights_in_config_is_a_clear_error(tmp_path):
    blob, _, _ = capital_blob(tmp_path / "home", weights={"a": 0.0, "b": 0.0})
    with blob:
        update_total_capital(blob)
        with pytest.raises(InvalidData, match="strategy_weights: weights sum to 0"):
            update_strategy_capital(blob)
        assert blob.capital.strategies() == []


def test_no_weights_configured_is_a_clear_error(tmp_path):
    blob, _, _ = capital_blob(tmp_path / "home")
    with blob:
        update_total_capital(blob)
        with pytest.raises(InvalidData, match="set strategy_capital_allocation.strategy_weights"):
            update_strategy_capital(blob)


def test_no_total_capital_is_missing_data(tmp_path):
    blob, _, _ = capital_blob(tmp_path / "home", weights={"a": 1.0})
    with blob:
        with pytest.raises(MissingData):
            update_strategy_capital(blob)


def test_replay_at_the_same_instant_is_idempotent(tmp_path):
    blob, _, broker = capital_blob(tmp_path / "home", weights={"a": 1.0, "b": 1.0})
    with blob:
        update_total_capital(blob)
        update_strategy_capital(blob)
        again = update_strategy_capital(blob)
        assert again.written == [] and again.skipped == ["a", "b"]
        assert blob.capital.strategy_capital("a").tolist() == [50_000.0]
        # a different value at the same instant is refused, and nothing is written
        blob.capital.write_total(blob.capital.total_capital() * 2)
        with pytest.raises(InvalidData, match="not after its last stored capital"):
            update_strategy_capital(blob)
        assert blob.capital.strategy_capital("b").tolist() == [50_000.0]


def test_strategy_without_allocation_is_warned_about(tmp_path, caplog):
    blob, clock, _ = capital_blob(tmp_path / "home", weights={"a": 1.0, "old": 1.0})
    with blob:
        update_total_capital(blob)
        update_strategy_capital(blob)
        settings = blob.config.model_dump()
        settings["strategy_capital_allocation"]["strategy_weights"] = {"a": 1.0}
        blob.config = type(blob.config).model_validate(settings)
        clock.current += HOUR
        with caplog.at_level(logging.WARNING, logger="systrade"):
            update_strategy_capital(blob)
        assert blob.capital.strategy_capital("old").tolist() == [50_000.0]
        assert blob.capital.strategy_capital("a").tolist() == [50_000.0, 100_000.0]
    assert any("old has stored capital but no allocation" in r.getMessage()
               for r in caplog.records)


def test_allocations_preview_with_a_given_total(tmp_path):
    blob, _, _ = capital_blob(tmp_path / "home", weights={"a": 1.0, "b": 4.0})
    with blob:
        assert strategy_allocations(blob, 50_000.0) == {"a": 10_000.0, "b": 40_000.0}
        assert blob.capital.strategies() == []
