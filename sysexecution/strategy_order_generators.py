"""Strategy order generators: what position change a strategy wants, per instrument.

A generator is a class built with no arguments whose :meth:`required_trade` returns the signed
trade (whole contracts) the strategy wants before overrides, limits and netting. The classic
generator (pysystemtrade's buffered positions) is the default; another is named per strategy by
its dotted class path in the ``generators`` argument of ``update_strategy_orders`` (the control
config's method ``arguments``), see ``docs/execution.md``.
"""
from __future__ import annotations

import importlib
from typing import Protocol

import pandas as pd

from syscore.exceptions import ConfigError
from sysexecution.trade_arithmetic import buffered_trade

DEFAULT_GENERATOR = "sysexecution.strategy_order_generators.ClassicBufferedGenerator"


class StrategyOrderGenerator(Protocol):
    def required_trade(self, strategy_name: str, instrument_code: str, position: int,
                       optimal: pd.Series) -> int:
        """``optimal``: the latest optimal-position row (``lower``, ``upper``,
        ``reference_price``, ``reference_contract``, ``reference_date``)."""


class ClassicBufferedGenerator:
    """Below the lower buffer trade to round(lower), above the upper to round(upper)."""

    def required_trade(self, strategy_name: str, instrument_code: str, position: int,
                       optimal: pd.Series) -> int:
        return buffered_trade(position, float(optimal["lower"]), float(optimal["upper"]))


def load_generator(path: str) -> StrategyOrderGenerator:
    """The generator class at dotted ``path``, instantiated; ConfigError if it is missing."""
    module_name, _, class_name = path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError(f"strategy order generator {path!r} not found: {exc}") from None
    generator = cls()
    if not callable(getattr(generator, "required_trade", None)):
        raise ConfigError(f"strategy order generator {path!r} has no required_trade method")
    return generator
