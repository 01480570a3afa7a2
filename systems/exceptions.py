"""Errors raised by the backtest engine."""
from __future__ import annotations

from syscore.exceptions import ConfigError, MissingData, SystradeError


class BacktestConfigError(ConfigError):
    """A backtest configuration is invalid (names the key and what was expected)."""


class EstimationNotSupportedError(BacktestConfigError):
    """A ``use_*_estimates`` flag is true: this engine only runs fixed parameters."""


class UnknownTradingRuleError(BacktestConfigError):
    """A trading rule function or data reference cannot be resolved."""


class MissingBacktestData(MissingData):
    """Prices, FX or instrument configuration needed by the backtest are absent."""


class BacktestStateError(SystradeError):
    """A saved backtest state cannot be written or read back."""
