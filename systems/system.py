"""The backtest system: instrument-level blocks plus the portfolio and accounts stages.

``System.stage(name, instrument)`` gives any stage for any instrument. Instrument-level stages
(up to the subsystem position) can be computed for a subset of instruments without running
the whole portfolio; portfolio-level stages (instrument weights onwards) need every
instrument and are computed once for all of them, vectorised.
"""
from __future__ import annotations

import logging
from functools import cached_property

import numpy as np
import pandas as pd

from systems.accounts import CostParameters, PandlArrays, fx_lookup, pandl
from systems.calendar import ffill_2d
from systems.config import BacktestConfig
from systems.exceptions import BacktestConfigError
from systems.instrument_block import INSTRUMENT_BATCH, RULE_STAGES, InstrumentBlock
from systems.portfolio import apply_buffer, instrument_weights
from systems.rules import RuleRegistry, TradingRule, default_rule_registry, resolve_data_reference
from systems.sim_data import SimData
from systems.stats import account_statistics, sharpe_ratio

log = logging.getLogger(__name__)

PORTFOLIO_STAGES = (
    "instrument_weight",
    "idm",
    "notional_position",
    "buffer_top_pos",
    "buffer_bot_pos",
    "buffered_position",
    "pandl_gross",
    "pandl_costs",
    "pandl_net",
)


def resolve_rules(config: BacktestConfig, registry: RuleRegistry) -> dict[str, TradingRule]:
    """Resolve every configured rule (function, data references, fixed scalar)."""
    rules = {}
    for name, spec in config.trading_rules.items():
        function = registry.resolve(spec.function)
        data = tuple(resolve_data_reference(ref) for ref in spec.data)
        if not data:
            raise BacktestConfigError(f"trading_rules.{name}.data is empty")
        rules[name] = TradingRule(
            name=name,
            function=function,
            data=data,
            other_args=dict(spec.other_args),
            forecast_scalar=config.forecast_scalar_for(name),
        )
    return rules


class System:
    """A configured backtest over a data source."""

    def __init__(
        self,
        config: BacktestConfig,
        data: SimData,
        instruments: list[str] | None = None,
        registry: RuleRegistry | None = None,
    ):
        self.config = config
        self.data = data
        self.instruments = list(instruments) if instruments else config.instrument_list(data.instrument_list())
        used_rules = set()
        for code in self.instruments:
            used_rules.update(config.forecast_weights_for(code))
        all_rules = resolve_rules(config, registry or default_rule_registry)
        self.rules = {name: rule for name, rule in all_rules.items() if name in used_rules}
        self._blocks: dict[tuple[str, ...], InstrumentBlock] = {}

    # ---- instrument level --------------------------------------------------------------------
    def block(self, codes: list[str] | None = None) -> InstrumentBlock:
        """The instrument block for ``codes`` (all instruments by default), computed lazily.
        A code already in the full block is served from it."""
        key = tuple(codes) if codes else tuple(self.instruments)
        full = tuple(self.instruments)
        if key not in self._blocks and full in self._blocks and set(key) <= set(full):
            return self._blocks[full]
        unknown = sorted(set(key) - set(self.instruments))
        if unknown:
            raise BacktestConfigError(f"instruments {unknown} are not in this system")
        if key not in self._blocks:
            self._blocks[key] = InstrumentBlock(self.config, self.data, list(key), self.rules)
        return self._blocks[key]

    @property
    def full_block(self) -> InstrumentBlock:
        return self.block(None)

    # ---- portfolio level ---------------------------------------------------------------------
    @cached_property
    def portfolio_rows(self) -> np.ndarray:
        """Rows of the portfolio index: from the first to the last subsystem-position row."""
        span = self.full_block.span_f
        return np.arange(int(span.start.min()), int(span.end.max()) + 1)

    @cached_property
    def _portfolio_slice(self) -> slice:
        """``portfolio_rows`` as a slice (views instead of copies of [T x N] arrays)."""
        rows = self.portfolio_rows
        return slice(int(rows[0]), int(rows[-1]) + 1) if rows.size else slice(0, 0)

    @cached_property
    def instrument_weight(self) -> np.ndarray:
        block = self.full_block
        raw = self.config.raw_instrument_weights(self.instruments)
        raw_weights = np.array([raw[c] for c in block.codes])
        rows = self._portfolio_slice
        weights = np.full((block.n_rows, len(block.codes)), np.nan)
        weights[rows] = instrument_weights(
            raw_weights, block.subsystem_position[rows], self.config.instrument_weight_ewma_span
        )
        return weights

    @cached_property
    def idm(self) -> float:
        return float(self.config.instrument_div_multiplier)

    @cached_property
    def notional_position(self) -> np.ndarray:
        """Subsystem position x instrument weight x IDM, forward-filled inside each
        instrument's range: a day without an input (e.g. no FX rate) carries the previous
        position and buffers, as pysystemtrade does."""
        block = self.full_block
        raw = block.subsystem_position * self.instrument_weight * self.idm
        return block.span_f.masked(ffill_2d(raw))

    @cached_property
    def buffer(self) -> np.ndarray:
        block = self.full_block
        method = self.config.buffer_method
        if method == "forecast":
            # a day without a vol scalar (e.g. no FX rate) carries the previous buffer
            average = np.abs(block.vol_scalar_on_forecast_index * self.instrument_weight * self.idm)
            return block.span_f.masked(ffill_2d(average * self.config.buffer_size))
        if method == "position":
            return np.abs(self.notional_position) * self.config.buffer_size
        return np.zeros_like(self.notional_position)

    @property
    def buffer_top_pos(self) -> np.ndarray:
        return self.notional_position + self.buffer

    @property
    def buffer_bot_pos(self) -> np.ndarray:
        return self.notional_position - self.buffer

    @cached_property
    def buffered_position(self) -> np.ndarray:
        """Whole-contract position after buffering (what the P&L trades)."""
        span = self.full_block.span_f
        notional = self.notional_position  # a property: computed once here
        if self.config.buffer_method == "none":
            return np.round(notional)
        # rounded here, in place (apply_buffer would copy each [T x N] array once more)
        top = np.add(notional, self.buffer)
        np.round(top, out=top)
        bottom = np.subtract(notional, self.buffer)
        np.round(bottom, out=bottom)
        return apply_buffer(
            np.round(notional), top, bottom, span.start, span.end,
            trade_to_edge=self.config.buffer_trade_to_edge, round_positions=False,
        )

    @cached_property
    def pandl_arrays(self) -> PandlArrays:
        block = self.full_block
        cfgs = block.raw.instrument_configs
        costs = CostParameters(
            spread=np.array([c.spread_cost for c in cfgs]),
            per_block=np.array([c.per_block for c in cfgs]),
            per_trade=np.array([c.per_trade for c in cfgs]),
            percentage=np.array([c.percentage for c in cfgs]),
            rolls_per_year=np.array([c.rolls_per_year for c in cfgs]),
        )
        span = block.span_f
        buffered = self.buffered_position
        # positions are final: the volatility and carry series behind them are not needed now
        block.raw.release_derived()
        gross = np.empty((block.n_rows, len(block.codes)))
        cost = np.empty_like(gross)
        degenerate = np.zeros(len(block.codes), dtype=bool)
        # instruments are independent: batches bound the temporary memory
        for lo in range(0, len(block.codes), INSTRUMENT_BATCH):
            cols = slice(lo, lo + INSTRUMENT_BATCH)
            fx_at = fx_lookup([block.raw.fx_series[c] for c in block.raw.currencies[cols]])
            part = pandl(
                block.calendar, buffered[:, cols], block.raw.daily_prices[:, cols],
                block.raw.span_p.end[cols], span.start[cols], span.end[cols], block.raw.point_size[cols],
                fx_at, _slice_costs(costs, cols),
                self.config.multiply_roll_costs_by, self.config.vol_normalise_currency_costs,
            )
            gross[:, cols], cost[:, cols] = part.gross, part.costs
            degenerate[cols] = part.degenerate_cost_deviation
        for j in np.flatnonzero(degenerate):
            log.warning(
                "%s: the 180-day deviation of daily price changes on its last day is zero or "
                "missing; cost normalisation uses its latest positive value instead (or none)",
                block.codes[j],
            )
        return PandlArrays(gross=gross, costs=cost, degenerate_cost_deviation=degenerate)

    # ---- access ------------------------------------------------------------------------------
    def _stage_array(self, name: str, block: InstrumentBlock) -> np.ndarray:
        if name in PORTFOLIO_STAGES:
            return self._portfolio_array(name)
        stage, _, rule = name.partition(":")
        if rule:
            if stage not in RULE_STAGES:
                raise KeyError(f"unknown rule stage {stage!r}; known: {RULE_STAGES}")
            return block.rule_array(stage, rule)
        return block.array(name)

    def stage_frame(self, name: str, instruments: list[str] | None = None) -> pd.DataFrame:
        """A stage as a wide DataFrame (business days x instruments). Instrument-level stages
        for a subset are computed for that subset only (unless the whole portfolio has been
        computed already); rule stages are named ``"<stage>:<rule>"``. Full-portfolio frames
        cover the portfolio's index (first to last subsystem-position day)."""
        block = self.full_block if name in PORTFOLIO_STAGES else self.block(instruments)
        frame = block.frame(self._stage_array(name, block))
        if block is self._blocks.get(tuple(self.instruments)):
            frame = frame.iloc[self.portfolio_rows]
        return frame[instruments] if instruments else frame

    def stage(self, name: str, instrument: str) -> pd.Series:
        """One stage for one instrument on its own index (its forecast/position days);
        ``instrument_weight`` and ``idm`` are on the portfolio's index."""
        block = self.full_block if name in PORTFOLIO_STAGES else self.block([instrument])
        j = block.column(instrument)
        series = pd.Series(
            self._stage_array(name, block)[:, j], index=block.calendar.rename("DATETIME"), name=instrument
        )
        if name in ("instrument_weight", "idm"):
            return series.iloc[self.portfolio_rows]
        return series.iloc[int(block.span_f.start[j]) : int(block.span_f.end[j]) + 1]

    def _portfolio_array(self, name: str) -> np.ndarray:
        block = self.full_block
        if name == "idm":
            return np.full((block.n_rows, len(block.codes)), self.idm)
        if name == "pandl_gross":
            return self.pandl_arrays.gross
        if name == "pandl_costs":
            return self.pandl_arrays.costs
        if name == "pandl_net":
            return self.pandl_arrays.net
        return getattr(self, name)

    @cached_property
    def portfolio_pandl(self) -> pd.DataFrame:
        """Portfolio daily P&L: percent of notional capital (net), and net/gross/costs in base
        currency; instruments without a position on a day contribute zero."""
        block = self.full_block
        rows = self._portfolio_slice
        arrays = self.pandl_arrays
        gross = _row_nansum(arrays.gross[rows])
        costs = _row_nansum(arrays.costs[rows])
        net = _row_nansum(arrays.gross[rows], arrays.costs[rows])
        frame = pd.DataFrame(
            {
                "portfolio_percent_net": 100.0 * net / self.config.notional_trading_capital,
                "portfolio_net_base_ccy": net,
                "portfolio_gross_base_ccy": gross,
                "portfolio_costs_base_ccy": costs,
            },
            index=block.calendar[rows].rename("DATETIME"),
        )
        return frame

    def sharpe(self, curve: str = "net") -> float:
        """Annualised Sharpe ratio of the portfolio P&L (``net`` or ``gross``)."""
        column = {"net": "portfolio_net_base_ccy", "gross": "portfolio_gross_base_ccy"}[curve]
        return sharpe_ratio(self.portfolio_pandl[column] / self.config.notional_trading_capital)

    def instrument_sharpe(self, instrument: str, curve: str = "net") -> float:
        block = self.full_block
        j = block.column(instrument)
        span = block.span_f
        rows = slice(int(span.start[j]), int(span.end[j]) + 1)
        arrays = self.pandl_arrays
        if curve == "net":  # this column only: the whole [T x N] net array is not needed
            column = arrays.gross[rows, j] + arrays.costs[rows, j]
        elif curve == "gross":
            column = arrays.gross[rows, j]
        else:
            raise KeyError(f"unknown curve {curve!r}; known: net, gross")
        values = pd.Series(column)
        return sharpe_ratio(values.fillna(0.0))

    def summary(self) -> dict:
        """Headline figures: Sharpe (net and gross), statistics of the percent curve, and per
        instrument figures."""
        stats = account_statistics(self.portfolio_pandl["portfolio_percent_net"])
        per_instrument = {}
        block = self.full_block
        notional = self.notional_position  # a [T x N] product: not once per instrument
        for code in self.instruments:
            j = block.column(code)
            end = int(block.span_f.end[j])
            per_instrument[code] = {
                "rules": [r for k, r in enumerate(block.rule_names) if block.uses_rule[j, k]],
                "fdm": float(block.fdm[j]),
                "instrument_weight_last": _num(self.instrument_weight[end, j]),
                "point_size": float(block.raw.point_size[j]),
                "currency": block.raw.currencies[j],
                "sharpe_net": _num(self.instrument_sharpe(code)),
                "combined_forecast_last": _num(block.combined_forecast[end, j]),
                "notional_position_last": _num(notional[end, j]),
                "buffered_position_last": _num(self.buffered_position[end, j]),
                "first_date": str(block.calendar[int(block.span_f.start[j])].date()),
                "last_date": str(block.calendar[end].date()),
            }
        return {
            "instruments": list(self.instruments),
            "portfolio_sharpe": _num(self.sharpe("net")),
            "portfolio_sharpe_gross": _num(self.sharpe("gross")),
            "stats_percent_net": {k: _num(v) for k, v in stats.items()},
            "per_instrument": per_instrument,
        }


def _slice_costs(costs: CostParameters, cols: slice) -> CostParameters:
    return CostParameters(
        spread=costs.spread[cols], per_block=costs.per_block[cols], per_trade=costs.per_trade[cols],
        percentage=costs.percentage[cols], rolls_per_year=costs.rolls_per_year[cols],
    )


def _num(value) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


ROW_BATCH = 1024  # rows summed at a time: bounds the temporary copies of [T x N] arrays


def _row_nansum(values: np.ndarray, plus: np.ndarray | None = None) -> np.ndarray:
    """``np.nansum(values [+ plus], axis=1)`` a batch of rows at a time (each row's sum is the
    same; only the temporary memory is smaller)."""
    out = np.empty(values.shape[0])
    for lo in range(0, values.shape[0], ROW_BATCH):
        part = values[lo : lo + ROW_BATCH]
        if plus is not None:
            part = part + plus[lo : lo + ROW_BATCH]
        out[lo : lo + ROW_BATCH] = np.nansum(part, axis=1)
    return out
