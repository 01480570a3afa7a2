"""Instrument-level stages for a block of instruments, computed together as 2-D arrays:
raw data -> rules -> forecast scaling/capping -> combination -> position sizing.

Results are cached per block; ``frame(name)`` gives any stage as a wide DataFrame
(business days x instruments, naive UTC midnight index, NaN outside each series' own index).
"""
from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd

from systems.calendar import extend_last, ffill_2d
from systems.config import BacktestConfig
from systems.forecasting import combine_forecasts, fitted_smoothed_weights, scale_and_cap
from systems.rawdata import RawData, Span
from systems.rules import TradingRule
from systems.sim_data import SimData
from systems.sizing import block_value, subsystem_position, vol_scalar

INSTRUMENT_STAGES = (
    "daily_prices",
    "daily_returns_volatility",
    "raw_carry",
    "underlying_price",
    "block_value",
    "price_volatility",
    "instrument_currency_vol",
    "fx_rate",
    "instrument_value_vol",
    "vol_scalar",
    "fdm",
    "combined_forecast",
    "subsystem_position",
)
# instruments per pass in the [T x N x R] steps: bounds temporary memory on wide universes
INSTRUMENT_BATCH = 64

RULE_STAGES = ("raw_forecast", "forecast_scalar", "scaled_forecast", "capped_forecast", "forecast_weight")


class InstrumentBlock:
    """Instrument-level stages for ``codes`` (data loaded once, each stage computed once)."""

    def __init__(
        self,
        config: BacktestConfig,
        data: SimData,
        codes: list[str],
        rules: dict[str, TradingRule],
    ):
        self.config = config
        self.codes = list(codes)
        self.raw = RawData(data, self.codes, config.base_currency, config.volatility_calculation)
        self.calendar = self.raw.calendar
        weights = [config.forecast_weights_for(code) for code in self.codes]
        self.rule_names = [name for name in rules if any(name in w for w in weights)]
        self.rules = {name: rules[name] for name in self.rule_names}
        self.forecast_weight_matrix = np.array(
            [[w.get(name, 0.0) for name in self.rule_names] for w in weights], dtype=float
        ).reshape(len(self.codes), len(self.rule_names))
        self.uses_rule = self.forecast_weight_matrix != 0.0

    @property
    def n_rows(self) -> int:
        return len(self.calendar)

    def column(self, code: str) -> int:
        return self.codes.index(code)

    # ---- rules -------------------------------------------------------------------------
    @cached_property
    def rule_spans(self) -> dict[str, Span]:
        spans = {}
        for name, rule in self.rules.items():
            span = None
            for ref in rule.data:
                s = self.raw.span_of(ref)
                span = s if span is None else span.union(s)
            spans[name] = span
        return spans

    @cached_property
    def forecasts(self) -> dict[str, dict[str, np.ndarray]]:
        """{rule: {"raw_forecast": [T x N]}}; scaled and capped forecasts are derived on demand."""
        out = {}
        for r, (name, rule) in enumerate(self.rules.items()):
            cols = np.flatnonzero(self.uses_rule[:, r])
            raw = np.full((self.n_rows, len(self.codes)), np.nan)
            inputs = [self.raw.series(ref)[:, cols] for ref in rule.data]
            raw[:, cols] = rule.raw_forecast(inputs)  # other columns stay NaN
            raw[~self.rule_spans[name].mask(self.n_rows)] = np.nan
            out[name] = {"raw_forecast": raw}
        return out

    @cached_property
    def span_f(self) -> Span:
        """Row range of the combined forecast and subsystem position (union of rule ranges)."""
        start = np.full(len(self.codes), np.iinfo(np.int64).max)
        end = np.full(len(self.codes), -1)
        for r, name in enumerate(self.rule_names):
            used = self.uses_rule[:, r]
            span = self.rule_spans[name]
            start = np.where(used, np.minimum(start, span.start), start)
            end = np.where(used, np.maximum(end, span.end), end)
        return Span(start, end)

    @cached_property
    def forecast_weights(self) -> np.ndarray:
        """[T x N x R] smoothed, normalised forecast weights (NaN outside each index)."""
        active = self.span_f.mask(self.n_rows)
        out = np.empty_like(self._capped_filled)
        for lo in range(0, len(self.codes), INSTRUMENT_BATCH):  # instruments are independent
            cols = slice(lo, lo + INSTRUMENT_BATCH)
            out[:, cols] = fitted_smoothed_weights(
                self.forecast_weight_matrix[cols], self._capped_filled[:, cols], active[:, cols],
                self.config.forecast_weight_ewma_span, already_filled=True,
            )
        return out

    @cached_property
    def _capped_filled(self) -> np.ndarray:
        """[T x N x R] capped forecasts, forward-filled down each column."""
        stack = np.stack([self.rule_array("capped_forecast", name) for name in self.rule_names], axis=2)
        n_rows, n_inst, n_rules = stack.shape
        return ffill_2d(stack.reshape(n_rows, n_inst * n_rules)).reshape(stack.shape)

    @cached_property
    def fdm(self) -> np.ndarray:
        return np.array([self.config.fdm_for(code) for code in self.codes])

    @cached_property
    def combined_forecast(self) -> np.ndarray:
        return combine_forecasts(
            self._capped_filled, self.forecast_weights, self.fdm, self.config.forecast_cap,
            self.span_f.mask(self.n_rows), already_filled=True,
        )

    # ---- position sizing -------------------------------------------------------------------
    @staticmethod
    def _mask(values: np.ndarray, span: Span) -> np.ndarray:
        return span.masked(values)

    @cached_property
    def span_mp(self) -> Span:
        return self.raw.span_m.intersect(self.raw.span_p)

    @property
    def block_value(self) -> np.ndarray:
        return self._mask(block_value(self._mask(self.raw.underlying_price, self.raw.span_m), self.raw.point_size), self.raw.span_m)

    @property
    def price_volatility(self) -> np.ndarray:
        return self.raw.series("daily_percentage_volatility")

    @property
    def instrument_currency_vol(self) -> np.ndarray:
        value = ffill_2d(self._mask(self.block_value, self.span_mp)) * self.price_volatility
        return self._mask(value, self.span_mp)

    @cached_property
    def fx_rate(self) -> np.ndarray:
        return self.raw.fx_on(self.calendar)

    @property
    def instrument_value_vol(self) -> np.ndarray:
        value = ffill_2d(self.instrument_currency_vol) * self.fx_rate
        return self._mask(value, self.span_mp)

    @cached_property
    def vol_scalar(self) -> np.ndarray:
        return vol_scalar(self.config.daily_cash_vol_target, self.instrument_value_vol)

    @cached_property
    def subsystem_position(self) -> np.ndarray:
        position = subsystem_position(
            self.vol_scalar, self.span_mp.end, self.combined_forecast, self.span_f.end,
            self.config.average_absolute_forecast,
        )
        return self._mask(position, self.span_f)

    @property
    def vol_scalar_on_forecast_index(self) -> np.ndarray:
        """Vol scalar reindexed to the position index (its last value carried to the end of
        the position index), for buffers; NaN values inside the index stay NaN."""
        carried = extend_last(self.vol_scalar, self.span_mp.end, self.span_f.end)
        return self._mask(carried, self.span_f)

    # ---- access --------------------------------------------------------------------------------
    def array(self, name: str) -> np.ndarray:
        """An instrument-level stage as [T x N] (see ``INSTRUMENT_STAGES``)."""
        if name in ("daily_prices", "daily_returns_volatility", "raw_carry"):
            return self.raw.series(name)
        if name == "underlying_price":
            return self._mask(self.raw.underlying_price, self.raw.span_m)
        if name == "fx_rate":
            return self._mask(self.fx_rate, self.span_f)
        if name == "fdm":
            return self._mask(np.broadcast_to(self.fdm, (self.n_rows, len(self.codes))), self.span_f)
        if name in INSTRUMENT_STAGES:
            return getattr(self, name)
        raise KeyError(f"unknown instrument stage {name!r}; known: {INSTRUMENT_STAGES}")

    def rule_array(self, stage: str, rule: str) -> np.ndarray:
        """A rule-level stage for one rule, [T x N] (NaN for instruments not using it)."""
        if rule not in self.rules:
            raise KeyError(f"rule {rule!r} is not used by {self.codes}")
        r = self.rule_names.index(rule)
        if stage == "forecast_weight":
            return self.forecast_weights[:, :, r]
        if stage == "forecast_scalar":
            out = np.full((self.n_rows, len(self.codes)), self.rules[rule].forecast_scalar)
            out[:, ~self.uses_rule[:, r]] = np.nan
            return self._mask(out, self.span_f)
        scaled, capped = scale_and_cap(
            self.forecasts[rule]["raw_forecast"], self.rules[rule].forecast_scalar, self.config.forecast_cap
        )
        if stage == "scaled_forecast":
            return scaled
        if stage == "capped_forecast":
            return capped
        if stage == "raw_forecast":
            return self.forecasts[rule]["raw_forecast"]
        raise KeyError(f"unknown rule stage {stage!r}; known: {RULE_STAGES}")

    def frame(self, values: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(values, index=self.calendar.rename("DATETIME"), columns=self.codes)
