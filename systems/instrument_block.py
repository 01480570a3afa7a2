"""Instrument-level stages for a block of instruments, computed together as 2-D arrays:
raw data -> rules -> forecast scaling/capping -> combination -> position sizing.

Results are cached per block; ``frame(name)`` gives any stage as a wide DataFrame
(business days x instruments, naive UTC midnight index, NaN outside each series' own index).
"""
from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd

from systems.calendar import extend_last, ffill_2d, range_mask
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
INSTRUMENT_BATCH = 16

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

    def _raw_forecast(self, name: str, cols: slice) -> np.ndarray:
        """[T x batch] raw forecast of rule ``name`` for the instruments ``cols`` (NaN for
        instruments not using it and outside the rule's rows). Rules treat instruments
        independently, so a batch gives the same numbers as the whole block."""
        rule = self.rules[name]
        r = self.rule_names.index(name)
        n_cols = len(self.codes[cols])
        users = np.flatnonzero(self.uses_rule[cols, r])
        raw = np.full((self.n_rows, n_cols), np.nan)
        if users.size:
            first = cols.start or 0
            inputs = [self.raw.series(ref)[:, first + users] for ref in rule.data]
            raw[:, users] = rule.raw_forecast(inputs)
        span = self.rule_spans[name]
        raw[~range_mask(self.n_rows, span.start[cols], span.end[cols])] = np.nan
        return raw

    @cached_property
    def forecasts(self) -> dict[str, dict[str, np.ndarray]]:
        """{rule: {"raw_forecast": [T x N]}}, computed only when a rule stage is asked for
        (the combined forecast works batch by batch and does not keep them)."""
        return {
            name: {"raw_forecast": np.concatenate([self._raw_forecast(name, c) for c in self._batches()], axis=1)}
            for name in self.rule_names
        }

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

    def _batches(self):
        """Column slices of at most ``INSTRUMENT_BATCH`` instruments: instruments are
        independent, and [T x batch x rules] temporaries bound the memory of wide universes."""
        return [slice(lo, lo + INSTRUMENT_BATCH) for lo in range(0, len(self.codes), INSTRUMENT_BATCH)]

    def _capped_filled(self, cols: slice) -> np.ndarray:
        """[T x batch x R] capped forecasts of the instruments ``cols``, forward-filled."""
        stack = np.stack(
            [self._capped(name, cols) for name in self.rule_names], axis=2
        ) if self.rule_names else np.full((self.n_rows, len(self.codes[cols]), 0), np.nan)
        n_rows, n_inst, n_rules = stack.shape
        return ffill_2d(stack.reshape(n_rows, n_inst * n_rules)).reshape(stack.shape)

    def _capped(self, rule: str, cols: slice) -> np.ndarray:
        if "forecasts" in self.__dict__:  # already computed for a stage query
            raw = self.forecasts[rule]["raw_forecast"][:, cols]
        else:
            raw = self._raw_forecast(rule, cols)
        _, capped = scale_and_cap(raw, self.rules[rule].forecast_scalar, self.config.forecast_cap)
        return capped

    def _weights_for(self, cols: slice, capped_filled: np.ndarray, active: np.ndarray) -> np.ndarray:
        return fitted_smoothed_weights(
            self.forecast_weight_matrix[cols], capped_filled, active[:, cols],
            self.config.forecast_weight_ewma_span, already_filled=True,
        )

    @cached_property
    def forecast_weights(self) -> np.ndarray:
        """[T x N x R] smoothed, normalised forecast weights (NaN outside each index);
        computed only when asked for (the combined forecast does not keep them)."""
        active = self.span_f.mask(self.n_rows)
        out = np.empty((self.n_rows, len(self.codes), len(self.rule_names)))
        for cols in self._batches():
            out[:, cols] = self._weights_for(cols, self._capped_filled(cols), active)
        return out

    @cached_property
    def fdm(self) -> np.ndarray:
        return np.array([self.config.fdm_for(code) for code in self.codes])

    @cached_property
    def combined_forecast(self) -> np.ndarray:
        active = self.span_f.mask(self.n_rows)
        out = np.empty((self.n_rows, len(self.codes)))
        for cols in self._batches():
            capped = self._capped_filled(cols)
            weights = self._weights_for(cols, capped, active)
            out[:, cols] = combine_forecasts(
                capped, weights, self.fdm[cols], self.config.forecast_cap, active[:, cols],
                already_filled=True,
            )
        return out

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
