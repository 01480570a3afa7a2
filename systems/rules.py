"""Trading rule registry.

A rule function takes one 2-D float array [business days x instruments] per entry of its
``data`` list, in order, plus the keyword ``other_args``, and returns an array of the same
shape (the raw forecast, before scaling). Functions are found by a registered name
(``register_rule``) or by an importable dotted path, e.g. ``mypackage.rules.breakout``.
pysystemtrade's paths ``systems.provided.rules.ewmac.ewmac`` and
``systems.provided.rules.carry.carry`` resolve to the provided vectorised rules.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from systems.exceptions import UnknownTradingRuleError
from systems.provided.rules.carry import carry
from systems.provided.rules.ewmac import ewmac

RuleFunction = Callable[..., np.ndarray]

# data references: pysystemtrade's names -> the raw-data series this engine provides
DATA_REFERENCES: dict[str, str] = {
    "rawdata.get_daily_prices": "daily_prices",
    "rawdata.daily_prices": "daily_prices",
    "data.daily_prices": "daily_prices",
    "rawdata.daily_returns": "daily_returns",
    "rawdata.daily_returns_volatility": "daily_returns_volatility",
    "rawdata.get_daily_percentage_volatility": "daily_percentage_volatility",
    "rawdata.raw_carry": "raw_carry",
    "rawdata.daily_annualised_roll": "daily_annualised_roll",
}


def resolve_data_reference(reference: str) -> str:
    """Map a config data reference to a raw-data series name, or raise."""
    if reference in DATA_REFERENCES:
        return DATA_REFERENCES[reference]
    if reference in DATA_REFERENCES.values():
        return reference
    raise UnknownTradingRuleError(
        f"unknown rule data reference {reference!r}; known: {sorted(DATA_REFERENCES)}"
    )


@dataclass
class RuleRegistry:
    """Name -> function map, with dotted-path import as fallback."""

    _functions: dict[str, RuleFunction] = field(default_factory=dict)

    def register(self, name: str, function: RuleFunction) -> None:
        if not callable(function):
            raise TypeError(f"rule {name!r} is not callable")
        self._functions[name] = function

    def names(self) -> list[str]:
        return sorted(self._functions)

    def resolve(self, name_or_path: str) -> RuleFunction:
        if name_or_path in self._functions:
            return self._functions[name_or_path]
        module_name, _, attr = name_or_path.rpartition(".")
        if not module_name:
            raise UnknownTradingRuleError(
                f"unknown trading rule function {name_or_path!r}: not registered "
                f"(registered: {self.names()}) and not a dotted path"
            )
        try:
            module = importlib.import_module(module_name)
            function = getattr(module, attr)
        except (ImportError, AttributeError) as exc:
            raise UnknownTradingRuleError(
                f"unknown trading rule function {name_or_path!r}: cannot import it ({exc})"
            ) from exc
        if not callable(function):
            raise UnknownTradingRuleError(f"trading rule {name_or_path!r} is not callable")
        return function


def _default_registry() -> RuleRegistry:
    registry = RuleRegistry()
    for name in ("ewmac", "systems.provided.rules.ewmac.ewmac", "systems.provided.rules.ewmac.ewmac_forecast_with_defaults"):
        registry.register(name, ewmac)
    for name in ("carry", "systems.provided.rules.carry.carry"):
        registry.register(name, carry)
    return registry


default_rule_registry = _default_registry()


def register_rule(name: str, function: RuleFunction) -> None:
    """Register a rule function under ``name`` in the default registry."""
    default_rule_registry.register(name, function)


@dataclass(frozen=True)
class TradingRule:
    """A resolved rule variation."""

    name: str
    function: RuleFunction
    data: tuple[str, ...]
    other_args: dict[str, Any]
    forecast_scalar: float

    def raw_forecast(self, inputs: list[np.ndarray]) -> np.ndarray:
        result = self.function(*inputs, **self.other_args)
        result = np.array(result, dtype=np.float64, copy=True)
        if result.shape != inputs[0].shape:
            raise ValueError(
                f"rule {self.name} returned shape {result.shape}, expected {inputs[0].shape}"
            )
        # pysystemtrade treats a forecast of exactly zero as no forecast (e.g. an EWMAC on a
        # flat price stretch): it is NaN, so the rule carries no weight until it has a view
        result[result == 0.0] = np.nan
        return result
