"""Split total capital between strategies and store each strategy's capital.

One run reads the last stored total capital (``total`` column, base currency), calls the
allocation function named by ``strategy_capital_allocation.function`` (a dotted path
``package.module.function``; default :func:`weighted_strategy_allocation`) as
``function(total_capital, strategy_weights)`` with ``strategy_capital_allocation.strategy_weights``,
checks the result, then appends one value per strategy to its capital history, every strategy
stamped with the same time from the data blob's clock (UTC).

Checks, all before anything is written (so a bad allocation writes nothing):

* an unknown function path is a :class:`~syscore.exceptions.ConfigError` naming the key;
* no weights, a negative or non-finite weight, or weights summing to 0 are
  :class:`~syscore.exceptions.InvalidData` (from the default function);
* the function must return a mapping of valid strategy names (non-empty, no ``/``) to finite
  amounts >= 0 that add up to no more than total capital (a relative tolerance of 1e-9);
* a strategy whose last stored value is at or after the clock is refused, unless it is exactly
  this run's value at this instant (a replay after a crash: skipped, so the run is idempotent).

Strategies with stored capital but no allocation keep their history and are logged at WARNING
(their positions would be sized from stale capital: set their weight to 0 to retire them).

    python run.py sysproduction.update_strategy_capital.update_strategy_capital
"""
from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from syscore.exceptions import ConfigError, InvalidData, MissingData
from syscore.formatting import format_timestamp
from sysdata.data_blob import DataBlob
from syslogdiag.context import get_logger
from sysproduction.process_helpers import blob_for

PROCESS = "update_strategy_capital"
FUNCTION_KEY = "strategy_capital_allocation.function"
WEIGHTS_KEY = "strategy_capital_allocation.strategy_weights"
OVER_ALLOCATION_TOLERANCE = 1e-9

AllocationFunction = Callable[[float, Mapping[str, float]], Mapping[str, float]]


@dataclass(frozen=True)
class StrategyCapitalUpdate:
    """Outcome of one run: total capital used, each strategy's capital (base currency), the
    strategies written and those skipped as already written at ``timestamp`` (UTC)."""

    timestamp: pd.Timestamp
    total_capital: float
    allocations: dict[str, float]
    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"strategy capital at {format_timestamp(self.timestamp)} from total "
                 f"{self.total_capital:,.2f}:"]
        for name, capital in self.allocations.items():
            note = " (already written)" if name in self.skipped else ""
            lines.append(f"  {name}: {capital:,.2f}{note}")
        return "\n".join(lines)


def weighted_strategy_allocation(total_capital: float,
                                 strategy_weights: Mapping[str, float]) -> dict[str, float]:
    """Split ``total_capital`` (base currency) in proportion to ``strategy_weights``.

    Weights need not sum to 1: ``{"a": 2, "b": 1}`` gives a two thirds, b one third. Raises
    :class:`InvalidData` for no weights, a negative or non-finite weight, or weights summing to 0.
    """
    if not strategy_weights:
        raise InvalidData(f"no strategy weights: set {WEIGHTS_KEY} in the configuration")
    for name, weight in strategy_weights.items():
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) \
                or not math.isfinite(weight) or weight < 0:
            raise InvalidData(f"{WEIGHTS_KEY}: weight of {name!r} must be a finite number >= 0, "
                              f"got {weight!r}")
    total_weight = float(sum(strategy_weights.values()))
    if total_weight <= 0:
        raise InvalidData(f"{WEIGHTS_KEY}: weights sum to 0, cannot split capital")
    return {name: total_capital * float(weight) / total_weight
            for name, weight in strategy_weights.items()}


def allocation_function(path: str) -> AllocationFunction:
    """The callable at dotted ``path``; :class:`ConfigError` naming the key when not found."""
    module_name, _, function_name = (path or "").rpartition(".")
    if not module_name or not function_name:
        raise ConfigError(f"{FUNCTION_KEY}: expected package.module.function, got {path!r}")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if not missing or not (module_name == missing or module_name.startswith(missing + ".")):
            raise  # the module exists but something it imports does not: show the real error
        raise ConfigError(f"{FUNCTION_KEY}: no module {module_name!r} (from {path!r})") from exc
    function = getattr(module, function_name, None)
    if function is None or not callable(function):
        raise ConfigError(f"{FUNCTION_KEY}: module {module_name!r} has no function "
                          f"{function_name!r}")
    return function


def check_allocations(allocations: object, total_capital: float, path: str) -> dict[str, float]:
    """The allocation as ``{strategy: capital}`` floats; :class:`InvalidData` if malformed."""
    if not isinstance(allocations, Mapping):
        raise InvalidData(f"{path} returned {type(allocations).__name__}, expected a mapping "
                          f"of strategy name to capital")
    out: dict[str, float] = {}
    for name, capital in allocations.items():
        if not isinstance(name, str) or not name or "/" in name:
            raise InvalidData(f"{path} returned an invalid strategy name {name!r}")
        if isinstance(capital, bool) or not isinstance(capital, (int, float)) \
                or not math.isfinite(capital) or capital < 0:
            raise InvalidData(f"{path} returned capital {capital!r} for {name!r}; expected a "
                              f"finite number >= 0")
        out[name] = float(capital)
    allocated = sum(out.values())
    if allocated > total_capital * (1 + OVER_ALLOCATION_TOLERANCE) + OVER_ALLOCATION_TOLERANCE:
        raise InvalidData(f"{path} allocated {allocated:,.2f}, more than total capital "
                          f"{total_capital:,.2f}")
    return out


def strategy_allocations(data: DataBlob, total_capital: float | None = None) -> dict[str, float]:
    """Each strategy's capital (base currency) from ``total_capital`` (default: the last
    stored total; :class:`MissingData` if none) by the configured function; nothing written."""
    if total_capital is None:
        total_capital = float(data.capital.last_total()["total"])
    settings = data.config.strategy_capital_allocation
    function = allocation_function(settings.function)
    allocations = function(total_capital, dict(settings.strategy_weights))
    return check_allocations(allocations, total_capital, settings.function)


def _last_strategy_value(data: DataBlob, name: str) -> tuple[pd.Timestamp, float] | None:
    try:
        series = data.capital.strategy_capital(name)
    except MissingData:
        return None
    if series.empty:
        return None
    return series.index[-1], float(series.iloc[-1])


def update_strategy_capital(data: DataBlob | None = None) -> StrategyCapitalUpdate:
    """Allocate the last stored total capital and store each strategy's share (module docstring)."""
    with blob_for(data, PROCESS) as blob:
        log = get_logger(PROCESS, type="capital")
        total = float(blob.capital.last_total()["total"])
        allocations = strategy_allocations(blob, total)
        now = blob.now()
        to_write, skipped = [], []
        for name, capital in allocations.items():
            last = _last_strategy_value(blob, name)
            if last is None or last[0] < now:
                to_write.append(name)
            elif last[0] == now and math.isclose(last[1], capital, rel_tol=1e-12, abs_tol=1e-9):
                skipped.append(name)
            else:
                raise InvalidData(f"strategy {name!r}: the clock ({now}) is not after its last "
                                  f"stored capital ({last[0]}); nothing written")
        for name in to_write:
            blob.capital.add_strategy_capital(name, now, allocations[name])
            log.bind(strategy_name=name).info("strategy capital %.2f", allocations[name])
        for name in sorted(set(blob.capital.strategies()) - set(allocations)):
            log.bind(strategy_name=name).warning(
                "strategy %s has stored capital but no allocation; its capital was not updated "
                "(set its weight to 0 to retire it)", name)
        return StrategyCapitalUpdate(now, total, allocations, to_write, skipped)
