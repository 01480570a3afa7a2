"""Typed backtest configuration, read from a pysystemtrade-style YAML file as is.

Key names are pysystemtrade's. Keys that do not affect a backtest (production, estimation
settings of switched-off estimators, reporting) are collected in ``ignored_keys`` and logged
once. A ``use_*_estimates`` flag set to true is an error: only fixed parameters are supported.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from systems.exceptions import BacktestConfigError, EstimationNotSupportedError

log = logging.getLogger(__name__)

ESTIMATE_FLAGS = (
    "use_forecast_scale_estimates",
    "use_forecast_weight_estimates",
    "use_forecast_div_mult_estimates",
    "use_instrument_weight_estimates",
    "use_instrument_div_mult_estimates",
)

SUPPORTED_VOL_FUNCTIONS = ("mixed_vol_calc", "simple_ewvol_calc")


class TradingRuleConfig(BaseModel):
    """One trading rule variation: ``function`` (registered name or dotted path), ``data``
    (references such as ``rawdata.get_daily_prices``), ``other_args`` and an optional fixed
    ``forecast_scalar``."""

    model_config = ConfigDict(extra="ignore")
    function: str
    data: list[str] = Field(default_factory=list)
    other_args: dict[str, Any] = Field(default_factory=dict)
    forecast_scalar: float | None = None

    @field_validator("data", mode="before")
    @classmethod
    def _data_as_list(cls, value):
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        return value


class VolatilityConfig(BaseModel):
    """Daily returns volatility: EWMA std of daily price differences (``days`` span,
    ``min_periods``), floored at ``vol_abs_min``; with ``mixed_vol_calc`` blended with its own
    EWMA mean of span ``slow_vol_years`` x 256 days at weight ``proportion_of_slow_vol``."""

    model_config = ConfigDict(extra="ignore")
    func: str = "sysquant.estimators.vol.mixed_vol_calc"
    days: int = 35
    min_periods: int = 10
    slow_vol_years: float = 10
    proportion_of_slow_vol: float = 0.3
    vol_abs_min: float = 1e-10
    multiplier_to_get_daily_vol: float = 1.0
    backfill: bool = False

    @property
    def method(self) -> str:
        name = self.func.rsplit(".", 1)[-1]
        if name not in SUPPORTED_VOL_FUNCTIONS:
            raise BacktestConfigError(
                f"volatility_calculation.func {self.func!r} is not supported; "
                f"expected one of {SUPPORTED_VOL_FUNCTIONS}"
            )
        return name


class BacktestConfig(BaseModel):
    """Every key the engine uses, with pysystemtrade 1.80's defaults (its
    ``sysdata/config/defaults.yaml``): a config holding only what differs from them gives the
    same results as the fully merged config.

    Units: ``notional_trading_capital`` in base currency; ``percentage_vol_target`` in percent
    a year; spans in business days; ``buffer_size`` a fraction of the average position.
    """

    model_config = ConfigDict(extra="allow")

    trading_rules: dict[str, TradingRuleConfig] = Field(default_factory=dict)
    forecast_scalars: dict[str, float] = Field(default_factory=dict)
    forecast_scalar: float = 1.0
    forecast_weights: dict[str, Any] | None = None
    forecast_div_multiplier: float | dict[str, float] = 1.0
    forecast_cap: float = 20.0
    average_absolute_forecast: float = 10.0
    forecast_weight_ewma_span: int = 125
    instruments: list[str] | None = None
    instrument_weights: dict[str, float] | None = None
    instrument_div_multiplier: float = 1.0
    instrument_weight_ewma_span: int = 125
    notional_trading_capital: float = 1_000_000.0
    percentage_vol_target: float = 16.0
    base_currency: str = "USD"
    buffer_method: Literal["forecast", "position", "none"] = "forecast"
    buffer_size: float = 0.10
    buffer_trade_to_edge: bool = True
    volatility_calculation: VolatilityConfig = Field(default_factory=VolatilityConfig)
    use_SR_costs: bool = False  # noqa: N815 (pysystemtrade key name)
    vol_normalise_currency_costs: bool = True
    multiply_roll_costs_by: float = 0.5
    use_forecast_scale_estimates: bool = False
    use_forecast_weight_estimates: bool = False
    use_forecast_div_mult_estimates: bool = False
    use_instrument_weight_estimates: bool = False
    use_instrument_div_mult_estimates: bool = False
    exclude_instrument_lists: dict[str, list[str]] = Field(default_factory=dict)
    duplicate_instruments: dict[str, dict[str, str | list[str]]] = Field(default_factory=dict)

    @property
    def excluded_instruments(self) -> set[str]:
        """pysystemtrade's "always excluded": ``exclude_instrument_lists.ignore_instruments`` and
        the ``duplicate_instruments.exclude`` groups. The backtest never sees them."""
        out = set(self.exclude_instrument_lists.get("ignore_instruments") or [])
        for codes in (self.duplicate_instruments.get("exclude") or {}).values():
            out.update([codes] if isinstance(codes, str) else codes)
        return out

    @property
    def zero_weight_instruments(self) -> set[str]:
        """``bad_markets`` and ``trading_restrictions``: in the backtest, with a zero instrument
        weight (pysystemtrade excludes them from instrument-weight optimisation)."""
        lists = self.exclude_instrument_lists
        return set(lists.get("bad_markets") or []) | set(lists.get("trading_restrictions") or [])

    @property
    def ignored_keys(self) -> list[str]:
        """Keys present in the source that this engine does not use."""
        return sorted((self.model_extra or {}).keys())

    @property
    def annual_cash_vol_target(self) -> float:
        return self.notional_trading_capital * self.percentage_vol_target / 100.0

    @property
    def daily_cash_vol_target(self) -> float:
        """Annual cash target / 16 (sqrt of 256 business days), base currency."""
        return self.annual_cash_vol_target / 16.0

    def fdm_for(self, instrument: str) -> float:
        fdm = self.forecast_div_multiplier
        if isinstance(fdm, dict):
            if instrument not in fdm:
                raise BacktestConfigError(f"forecast_div_multiplier has no entry for {instrument}")
            return float(fdm[instrument])
        return float(fdm)

    def forecast_scalar_for(self, rule: str) -> float:
        spec = self.trading_rules[rule]
        if spec.forecast_scalar is not None:
            return float(spec.forecast_scalar)
        if rule in self.forecast_scalars:
            return float(self.forecast_scalars[rule])
        return float(self.forecast_scalar)

    def forecast_weights_for(self, instrument: str) -> dict[str, float]:
        """Fixed forecast weights of an instrument (global or per instrument; equal over all
        trading rules when absent). Zero weights are dropped."""
        weights = self.forecast_weights
        if weights is None:
            rules = list(self.trading_rules)
            if not rules:
                raise BacktestConfigError("no trading_rules configured")
            return {rule: 1.0 / len(rules) for rule in rules}
        if weights and all(isinstance(v, dict) for v in weights.values()):
            if instrument not in weights:
                raise BacktestConfigError(f"forecast_weights has no entry for {instrument}")
            weights = weights[instrument]
        result = {str(k): float(v) for k, v in weights.items() if float(v) != 0.0}
        unknown = sorted(set(result) - set(self.trading_rules))
        if unknown:
            raise BacktestConfigError(
                f"forecast_weights names rules not in trading_rules: {unknown}"
            )
        return result

    def instrument_list(self, available: list[str] | None = None) -> list[str]:
        """Instruments of ``instrument_weights``, else ``instruments``, else ``available``;
        without the :attr:`excluded_instruments` (logged)."""
        if self.instrument_weights:
            codes = list(self.instrument_weights)
        elif self.instruments:
            codes = list(self.instruments)
        elif available:
            codes = list(available)
        else:
            raise BacktestConfigError("no instrument_weights or instruments configured")
        excluded = self.excluded_instruments
        dropped = [c for c in codes if c in excluded]
        if dropped:
            log.info("instruments ignored or excluded as duplicates, not in the backtest: %s",
                     ", ".join(dropped))
        codes = [c for c in codes if c not in excluded]
        if not codes:
            raise BacktestConfigError(
                f"every instrument is excluded (ignore_instruments / duplicates): {dropped}")
        return codes

    def raw_instrument_weights(self, instruments: list[str]) -> dict[str, float]:
        """Fixed instrument weights (equal when none are configured); zero for
        :attr:`zero_weight_instruments`."""
        zero = self.zero_weight_instruments
        if self.instrument_weights:
            return {code: 0.0 if code in zero else float(self.instrument_weights.get(code, 0.0))
                    for code in instruments}
        kept = [c for c in instruments if c not in zero]
        return {code: (1.0 / len(kept) if code not in zero else 0.0) for code in instruments}


def config_from_dict(data: dict[str, Any], source: str = "<dict>") -> BacktestConfig:
    """Validate a config mapping; raise ``BacktestConfigError`` naming source and key."""
    if not isinstance(data, dict):
        raise BacktestConfigError(f"{source}: expected a mapping at top level")
    for flag in ESTIMATE_FLAGS:
        if bool(data.get(flag, False)):
            raise EstimationNotSupportedError(
                f"{source}: {flag} is true, but parameter estimation is not supported; "
                "set it to false and give fixed values"
            )
    try:
        config = BacktestConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BacktestConfigError(f"{source}: key {where}: {first['msg']}") from exc
    if config.use_SR_costs:
        raise BacktestConfigError(
            f"{source}: use_SR_costs is true; only cash costs are supported (set it to false)"
        )
    _ = config.volatility_calculation.method  # validates the function name
    if config.ignored_keys:
        log.warning("%s: keys not used by the backtest (ignored): %s", source, ", ".join(config.ignored_keys))
    return config


def load_config(path: str | Path) -> BacktestConfig:
    """Read and validate a pysystemtrade-style YAML backtest config."""
    path = Path(path)
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        data = yaml.load(path.read_text(), Loader=loader)  # noqa: S506 (a safe loader)
    except FileNotFoundError as exc:
        raise BacktestConfigError(f"config file {path} not found") from exc
    except yaml.YAMLError as exc:
        raise BacktestConfigError(f"{path}: invalid YAML: {exc}") from exc
    return config_from_dict(data or {}, source=str(path))
