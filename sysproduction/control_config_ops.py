"""Operator actions behind ``interactive_controls``' "auto-populate trade limits" and "update
configuration" menus: plain functions the console and the tests call.

* **Trade limits from risk** (:func:`propose_trade_limits`, :func:`apply_trade_limits`). Per
  instrument with measurable risk, the *standard position* is the position (contracts) an
  average forecast gives in a portfolio::

      standard = capital × risk_target × idm × instrument_weight ÷ annual risk of one contract

  (capital: the latest total capital, base currency; annual risk of one contract: annual
  stdev of daily adjusted-price changes × point size × latest FX, base currency, over the year
  to now). The trade limit for a rolling period of ``P`` days is::

      limit = max(4, ceil(standard × sqrt(P) × max_position_traded_daily))

  with ``max_position_traded_daily`` 0.33 (a third of a standard position a day). Limits are
  set for every strategy (``ALL``), for periods 1 and 30 days by default; trades already
  counted against an existing limit are kept. The parameters default to the ``reporting``
  config (``risk_target`` 0.25, ``idm`` 2.5, ``instrument_weight`` 0.04,
  ``max_position_traded_daily`` 0.33).
* **Position limits from risk** (:func:`propose_position_limits`,
  :func:`apply_position_limits`): the position held at the maximum forecast::

      limit = max(1, ceil(standard × max_forecast_ratio))

  with ``max_forecast_ratio`` the forecast cap over the average absolute forecast (20 / 10 = 2,
  :data:`MAX_FORECAST_RATIO`); set for every strategy (``ALL``).
* **Spread costs from samples and fills** (:func:`suggest_spread_costs`, :func:`set_spread_cost`):
  the slippage report's blended estimate (half the median sampled bid/ask spread, and the
  mean fill slippage against the mid, weighted by their counts) against the configured
  ``spread_cost`` (price points); the accepted values are written into the instrument
  configs in one atomic change (:func:`set_spread_costs`: all or none).
* **Roll parameters** (:func:`propose_roll_parameter`, :func:`set_roll_parameter`): one
  field of an instrument's stored :class:`~sysobjects.roll_parameters.RollParameters`
  changed, every other field kept; cycles are month letters ``FGHJKMNQUVXZ`` in calendar
  order (the hold cycle within the priced cycle), offsets whole numbers (``carry_offset`` -1
  or +1).
* **Price multipliers against the broker** (:func:`check_price_multipliers`): the configured
  ``pointsize`` of every instrument against the ``multiplier`` (value of one price point) the
  broker gives for each of its active contracts. Mismatches make the result not ok (exit code 1
  from ``run.py``); instruments the broker does not list are warnings.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import pandas as pd

from sysbrokers.errors import BrokerError
from syscore.exceptions import InvalidData, MissingData
from sysdata.controls import (
    ALL_STRATEGIES,
    MAX_POSITION_LIMIT,
    MAX_TRADE_LIMIT,
    MAX_TRADE_LIMIT_PERIOD_DAYS,
)
from sysdata.data_blob import DataBlob
from sysobjects.instruments import InstrumentConfig
from sysobjects.roll_parameters import RollParameters, validate_roll_cycle
from sysproduction.process_helpers import blob_for
from sysproduction.reporting import data as figures
from sysproduction.reporting import markets

#: The smallest trade limit auto-population sets (contracts per period).
MIN_AUTO_TRADE_LIMIT = 4
#: Rolling periods (days) auto-populated by default.
AUTO_TRADE_LIMIT_PERIODS = (1, 30)
#: Maximum over average absolute forecast (forecast cap 20 / average 10): the position limit is
#: the standard position times this.
MAX_FORECAST_RATIO = 2.0
#: The smallest position limit auto-population sets (contracts).
MIN_AUTO_POSITION_LIMIT = 1
#: The longest look-back of the spread-cost suggestions (calendar days, ten years).
MAX_SPREAD_COST_DAYS_BACK = 3650
#: Relative difference above which a multiplier counts as a mismatch.
MULTIPLIER_TOLERANCE = 1e-9


# --- trade limits from risk ------------------------------------------------------------------

@dataclass(frozen=True)
class AutoLimitSettings:
    """Inputs of :func:`propose_trade_limits`. ``capital`` base currency; ``risk_target``
    annual, a fraction; ``max_position_traded_daily``: the fraction of a standard position
    that may trade in one day."""

    capital: float
    risk_target: float
    idm: float
    instrument_weight: float
    max_position_traded_daily: float

    def __post_init__(self) -> None:
        for name in ("capital", "risk_target", "idm", "instrument_weight",
                     "max_position_traded_daily"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value!r}")


def latest_total_capital(data: DataBlob) -> float | None:
    """The latest total capital (base currency), or None when none is stored or it is not a
    positive number (then the operator types the capital to use)."""
    try:
        total = figures.margin_usage(data)["total"]
    except MissingData:
        return None
    return total if math.isfinite(total) and total > 0 else None


def default_limit_settings(data: DataBlob) -> AutoLimitSettings:
    """The latest total capital and the ``reporting`` config's parameters;
    :class:`MissingData` when no total capital is stored."""
    cfg = data.config.reporting
    return AutoLimitSettings(capital=figures.margin_usage(data)["total"],
                             risk_target=cfg.risk_target, idm=cfg.idm,
                             instrument_weight=cfg.instrument_weight,
                             max_position_traded_daily=cfg.max_position_traded_daily)


def standard_position(settings: AutoLimitSettings, annual_risk_per_contract: float) -> float:
    """Contracts held at an average forecast (module docstring); pure."""
    return (settings.capital * settings.risk_target * settings.idm
            * settings.instrument_weight / annual_risk_per_contract)


def trade_limit_for(standard: float, period_days: int, max_position_traded_daily: float) -> int:
    """``max(4, ceil(standard × sqrt(period_days) × max_position_traded_daily))``; pure."""
    raw = standard * math.sqrt(period_days) * max_position_traded_daily
    return max(MIN_AUTO_TRADE_LIMIT, math.ceil(round(raw, 9)))


@dataclass(frozen=True)
class ProposedTradeLimit:
    """One limit to set: ``current`` is the limit stored now (None: none)."""

    instrument_code: str
    period_days: int
    annual_risk_per_contract: float
    standard_position: float
    current: int | None
    proposed: int

    def __str__(self) -> str:
        current = "-" if self.current is None else str(self.current)
        return (f"{self.instrument_code}  {self.period_days}d  {self.annual_risk_per_contract:,.2f}"
                f"  {self.standard_position:.2f}  {current}  {self.proposed}")


PROPOSAL_HEADER = ("instrument  period  annual risk/contract  standard position  "
                   "current limit  proposed limit")


def _risk_per_contract(data: DataBlob, instruments: list[str] | None) -> dict[str, float]:
    """Annual risk of one contract (base currency) per instrument with measurable risk over the
    year to now, sorted by code; :class:`MissingData` when there is none."""
    end = data.now()
    risk = figures.instrument_risk(data, end - figures.RISK_MIN_LOOKBACK, end)
    if instruments is not None:
        risk = risk[risk.index.isin(instruments)]
    risk = risk[risk["risk_per_contract"] > 0]
    if risk.empty:
        raise MissingData("no instrument has adjusted prices enough to measure its risk")
    return {str(code): float(risk.loc[code, "risk_per_contract"]) for code in sorted(risk.index)}


def propose_trade_limits(data: DataBlob, settings: AutoLimitSettings,
                         periods: tuple[int, ...] = AUTO_TRADE_LIMIT_PERIODS,
                         instruments: list[str] | None = None) -> list[ProposedTradeLimit]:
    """The limits :func:`apply_trade_limits` would set (nothing written), per instrument with
    measurable risk over the year to now (``instruments``: only those), per period in
    ``periods`` (days, 1 to ``MAX_TRADE_LIMIT_PERIOD_DAYS``); sorted by instrument then
    period. :class:`MissingData` when no instrument has measurable risk; ``ValueError`` for a
    period out of range or a limit above ``MAX_TRADE_LIMIT``."""
    bad = [p for p in periods
           if isinstance(p, bool) or not isinstance(p, int)
           or not 1 <= p <= MAX_TRADE_LIMIT_PERIOD_DAYS]
    if bad or not periods:
        raise ValueError(f"periods must be whole numbers of days from 1 to "
                         f"{MAX_TRADE_LIMIT_PERIOD_DAYS}, got {list(periods)!r}")
    proposals = []
    for code, per_contract in _risk_per_contract(data, instruments).items():
        standard = standard_position(settings, per_contract)
        for period in sorted(set(periods)):
            try:
                current = int(data.trade_limits.get(code, period, ALL_STRATEGIES)["limit"])
            except MissingData:
                current = None
            proposals.append(ProposedTradeLimit(
                code, period, per_contract, standard, current,
                trade_limit_for(standard, period, settings.max_position_traded_daily)))
    too_large = [p for p in proposals if p.proposed > MAX_TRADE_LIMIT]
    if too_large:
        worst = max(too_large, key=lambda p: p.proposed)
        raise ValueError(f"{len(too_large)} proposed limit(s) above {MAX_TRADE_LIMIT:,} "
                         f"contracts (e.g. {worst.instrument_code} {worst.period_days}d: "
                         f"{worst.proposed:.3g}): is the capital ({settings.capital:.6g}) "
                         f"right? nothing proposed")
    return proposals


def apply_trade_limits(data: DataBlob, proposals: list[ProposedTradeLimit]) -> int:
    """Set each proposed limit (strategy ``ALL``; trades counted are kept); returns how many
    changed. Each change is logged. Every limit is checked before the first is written
    (:class:`~syscore.exceptions.InvalidData`: nothing set)."""
    bad = [p for p in proposals if not 0 <= p.proposed <= MAX_TRADE_LIMIT
           or not 1 <= p.period_days <= MAX_TRADE_LIMIT_PERIOD_DAYS]
    if bad:
        raise InvalidData(f"{len(bad)} limit(s) out of range (limit 0 to {MAX_TRADE_LIMIT:,}, "
                          f"period 1 to {MAX_TRADE_LIMIT_PERIOD_DAYS} days), e.g. "
                          f"{bad[0].instrument_code} {bad[0].period_days}d "
                          f"{bad[0].proposed:.3g}: nothing set")
    changed = 0
    for item in proposals:
        if item.current == item.proposed:
            continue
        data.trade_limits.set_limit(item.instrument_code, item.period_days, item.proposed,
                                    ALL_STRATEGIES)
        data.log.warning("trade limit ALL/%s/%dd auto-populated: %d (was %s)",
                         item.instrument_code, item.period_days, item.proposed, item.current)
        changed += 1
    return changed


# --- position limits from risk ----------------------------------------------------------------

def position_limit_for(standard: float, max_forecast_ratio: float = MAX_FORECAST_RATIO) -> int:
    """``max(1, ceil(standard × max_forecast_ratio))`` contracts; pure."""
    if not (math.isfinite(max_forecast_ratio) and max_forecast_ratio > 0):
        raise ValueError(f"max_forecast_ratio must be a positive number, "
                         f"got {max_forecast_ratio!r}")
    return max(MIN_AUTO_POSITION_LIMIT, math.ceil(round(standard * max_forecast_ratio, 9)))


@dataclass(frozen=True)
class ProposedPositionLimit:
    """One position limit to set (strategy ``ALL``): ``current`` is the limit stored now
    (None: none)."""

    instrument_code: str
    annual_risk_per_contract: float
    standard_position: float
    current: int | None
    proposed: int

    def __str__(self) -> str:
        current = "-" if self.current is None else str(self.current)
        return (f"{self.instrument_code}  {self.annual_risk_per_contract:,.2f}  "
                f"{self.standard_position:.2f}  {current}  {self.proposed}")


POSITION_PROPOSAL_HEADER = ("instrument  annual risk/contract  standard position  "
                            "current limit  proposed limit")


def propose_position_limits(data: DataBlob, settings: AutoLimitSettings,
                            max_forecast_ratio: float = MAX_FORECAST_RATIO,
                            instruments: list[str] | None = None
                            ) -> list[ProposedPositionLimit]:
    """The position limits :func:`apply_position_limits` would set (nothing written), per
    instrument with measurable risk over the year to now, sorted by instrument; ``settings``'
    ``max_position_traded_daily`` is not used. :class:`MissingData` when no instrument has
    measurable risk."""
    proposals = []
    for code, per_contract in _risk_per_contract(data, instruments).items():
        standard = standard_position(settings, per_contract)
        proposals.append(ProposedPositionLimit(
            code, per_contract, standard, data.position_limits.get_limit(code, ALL_STRATEGIES),
            position_limit_for(standard, max_forecast_ratio)))
    too_large = [p for p in proposals if p.proposed > MAX_POSITION_LIMIT]
    if too_large:
        worst = max(too_large, key=lambda p: p.proposed)
        raise ValueError(f"{len(too_large)} proposed position limit(s) above "
                         f"{MAX_POSITION_LIMIT:,} contracts (e.g. {worst.instrument_code}: "
                         f"{worst.proposed:.3g}): is the capital ({settings.capital:.6g}) "
                         f"right? nothing proposed")
    return proposals


def apply_position_limits(data: DataBlob, proposals: list[ProposedPositionLimit]) -> int:
    """Set each proposed position limit (strategy ``ALL``; per-strategy limits untouched);
    returns how many changed. Each change is logged. Every limit is checked before the first
    is written (:class:`~syscore.exceptions.InvalidData`: nothing set)."""
    bad = [p for p in proposals if not 0 <= p.proposed <= MAX_POSITION_LIMIT]
    if bad:
        raise InvalidData(f"{len(bad)} position limit(s) out of range (0 to "
                          f"{MAX_POSITION_LIMIT:,}), e.g. {bad[0].instrument_code} "
                          f"{bad[0].proposed:.3g}: nothing set")
    changed = 0
    for item in proposals:
        if item.current == item.proposed:
            continue
        data.position_limits.set_limit(item.instrument_code, item.proposed, ALL_STRATEGIES)
        data.log.warning("position limit ALL/%s auto-populated: %d (was %s)",
                         item.instrument_code, item.proposed, item.current)
        changed += 1
    return changed


# --- spread costs ------------------------------------------------------------------------------

@dataclass(frozen=True)
class SpreadCostSuggestion:
    """Configured and suggested ``spread_cost`` (price points, half the bid/ask spread) of one
    instrument, with what the suggestion rests on."""

    instrument_code: str
    configured: float
    suggested: float
    samples: int
    fills: int

    @property
    def difference_pct(self) -> float:
        """Suggested vs configured, % of configured (NaN when configured is 0)."""
        return (100.0 * (self.suggested - self.configured) / self.configured
                if self.configured else math.nan)

    def __str__(self) -> str:
        difference = ("n/a" if math.isnan(self.difference_pct)
                      else f"{self.difference_pct:+.1f}%")
        return (f"{self.instrument_code}  {self.configured:g}  {self.suggested:.6g}  "
                f"{difference}  {self.samples}  {self.fills}")


SUGGESTION_HEADER = "instrument  configured  suggested  difference  samples  fills"


def suggest_spread_costs(data: DataBlob, days_back: int = 250) -> list[SpreadCostSuggestion]:
    """Per instrument with spread samples or fills with a mid price over the last
    ``days_back`` calendar days: the blended estimate of the slippage report
    (:func:`sysproduction.reporting.markets.spread_cost_suggestions`) against the configured
    ``spread_cost``; instruments without a usable estimate are left out. ``days_back``: 1 to
    :data:`MAX_SPREAD_COST_DAYS_BACK` (``ValueError`` otherwise)."""
    if isinstance(days_back, bool) or not isinstance(days_back, int) or not (
            1 <= days_back <= MAX_SPREAD_COST_DAYS_BACK):
        raise ValueError(f"days_back must be a whole number from 1 to "
                         f"{MAX_SPREAD_COST_DAYS_BACK}, got {days_back!r}")
    end = data.now()
    table = markets.spread_cost_suggestions(data, end - pd.Timedelta(days=days_back), end)
    return [SpreadCostSuggestion(str(code), float(row["configured"]),
                                 float(row["blended"]),
                                 int(row["samples"]), int(row["fills"]))
            for code, row in table.iterrows()
            if math.isfinite(float(row["blended"])) and float(row["blended"]) >= 0]


def set_spread_cost(data: DataBlob, instrument_code: str, spread_cost: float
                    ) -> InstrumentConfig:
    """Write ``spread_cost`` (price points, >= 0) into the instrument's configuration; every
    other field is kept. Returns the new configuration; logged."""
    return set_spread_costs(data, {instrument_code: spread_cost})[0]


def set_spread_costs(data: DataBlob, spread_costs: dict[str, float]) -> list[InstrumentConfig]:
    """Write each instrument's ``spread_cost`` (price points, >= 0) into its configuration,
    every other field kept, in one atomic change of the state store: a bad value or an
    instrument no longer configured raises before anything is written, and the store never
    holds some of the changes without the others. Returns the new configurations; each change
    logged."""
    for code, cost in spread_costs.items():
        if isinstance(cost, bool) or not isinstance(cost, (int, float)) or not (
                math.isfinite(cost) and cost >= 0):
            raise ValueError(f"spread cost of {code} must be a number >= 0, got {cost!r}")
    old = [data.instruments.get(code) for code in spread_costs]
    new = [replace(config, spread_cost=float(spread_costs[config.instrument_code]))
           for config in old]
    if new:
        data.instruments.add_many(new)
    for before, after in zip(old, new, strict=True):
        data.log.warning("spread_cost of %s set to %g (was %g)", after.instrument_code,
                         after.spread_cost, before.spread_cost)
    return new


# --- roll parameters -------------------------------------------------------------------------

#: The stored roll parameter fields, in the order shown.
ROLL_FIELDS = ("hold_roll_cycle", "priced_roll_cycle", "roll_offset_days", "carry_offset",
               "expiry_offset")
_CYCLE_FIELDS = ("hold_roll_cycle", "priced_roll_cycle")


def parse_roll_value(field: str, text: str) -> str | int:
    """The value typed for ``field``: a cycle of month letters (``FGHJKMNQUVXZ``, any case,
    calendar order) or a whole number; :class:`InvalidData` (one line) otherwise."""
    if field not in ROLL_FIELDS:
        raise InvalidData(f"unknown roll parameter {field!r}; expected one of {ROLL_FIELDS}")
    text = text.strip()
    if field in _CYCLE_FIELDS:
        return validate_roll_cycle(text.upper(), field.replace("_", " "))
    try:
        return int(text)
    except ValueError:
        raise InvalidData(f"{field} must be a whole number, got {text!r}") from None


def format_roll_parameters(code: str, parameters: RollParameters) -> str:
    """One line: ``CODE  hold  priced  roll_offset_days  carry_offset  expiry_offset``."""
    return (f"{code}  {parameters.hold_roll_cycle}  {parameters.priced_roll_cycle}  "
            f"{parameters.roll_offset_days}  {parameters.carry_offset:+d}  "
            f"{parameters.expiry_offset}")


ROLL_HEADER = ("instrument  hold cycle  priced cycle  roll offset days  carry offset  "
               "expiry offset")


def propose_roll_parameter(data: DataBlob, instrument_code: str, field: str,
                           value: str | int) -> tuple[RollParameters, RollParameters]:
    """(stored, proposed) roll parameters of ``instrument_code`` with only ``field`` changed to
    ``value`` (a string is parsed by :func:`parse_roll_value`); nothing written.
    :class:`~syscore.exceptions.UnknownInstrument` when none are stored, :class:`InvalidData`
    when the result is not valid (e.g. a hold month not in the priced cycle)."""
    if isinstance(value, str):
        value = parse_roll_value(field, value)
    elif field not in ROLL_FIELDS:
        parse_roll_value(field, "")  # the one-line unknown-field error
    old = data.roll_parameters.get(instrument_code)
    return old, replace(old, **{field: value})


def set_roll_parameter(data: DataBlob, instrument_code: str, field: str,
                       value: str | int) -> RollParameters:
    """Write ``field`` = ``value`` into the instrument's stored roll parameters (validated as
    :func:`propose_roll_parameter`); every other field is kept. Returns the new parameters;
    logged."""
    old, new = propose_roll_parameter(data, instrument_code, field, value)
    data.roll_parameters.add(instrument_code, new)
    data.log.warning("roll parameter %s of %s set to %s (was %s)", field, instrument_code,
                     getattr(new, field), getattr(old, field))
    return new


# --- price multipliers ---------------------------------------------------------------------------

@dataclass(frozen=True)
class MultiplierRow:
    """One instrument: the configured point size and the broker's multiplier (None: the
    broker does not list it); ``contract``: the broker contract compared (the first that
    differs, else the first active one)."""

    instrument_code: str
    configured: float
    broker: float | None
    contract: str = ""
    problem: str = ""

    @property
    def matches(self) -> bool:
        return self.broker is not None and math.isclose(
            self.configured, self.broker, rel_tol=MULTIPLIER_TOLERANCE)


@dataclass(frozen=True)
class MultiplierCheck:
    """Result of :func:`check_price_multipliers`; ``ok`` is False when any multiplier differs
    (``run.py`` exits 1). Prints as the mismatches and warnings, one a line."""

    rows: tuple[MultiplierRow, ...]

    @property
    def mismatches(self) -> list[MultiplierRow]:
        return [r for r in self.rows if r.broker is not None and not r.matches]

    @property
    def unlisted(self) -> list[MultiplierRow]:
        return [r for r in self.rows if r.broker is None]

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def __str__(self) -> str:
        if not self.rows:
            return "check_price_multipliers: no instruments configured"
        lines = [f"check_price_multipliers: {len(self.rows)} instruments, "
                 f"{len(self.mismatches)} mismatch(es), {len(self.unlisted)} not at the broker"]
        lines += [f"  MISMATCH {r.instrument_code} {r.contract}: configured pointsize "
                  f"{r.configured:g}, broker multiplier {r.broker:g}" for r in self.mismatches]
        lines += [f"  WARNING {r.instrument_code}: not checked ({r.problem})"
                  for r in self.unlisted]
        return "\n".join(lines)


def _broker_multiplier(data: DataBlob, config: InstrumentConfig) -> MultiplierRow:
    code = config.instrument_code
    try:
        contracts = data.broker.get_active_contracts(code)
    except (BrokerError, MissingData) as exc:
        return MultiplierRow(code, config.pointsize, None, problem=str(exc) or type(exc).__name__)
    if not contracts:
        return MultiplierRow(code, config.pointsize, None, problem="no active contract")
    for details in contracts:
        if not math.isclose(config.pointsize, details.multiplier, rel_tol=MULTIPLIER_TOLERANCE):
            return MultiplierRow(code, config.pointsize, details.multiplier,
                                 details.contract_date)
    return MultiplierRow(code, config.pointsize, contracts[0].multiplier,
                         contracts[0].contract_date)


def check_price_multipliers(data: DataBlob | None = None) -> MultiplierCheck:
    """Compare every configured instrument's ``pointsize`` with the broker's multiplier of
    each of its active contracts (module docstring). Each mismatch is logged as a WARNING.

        python run.py control_config_ops.check_price_multipliers
    """
    with blob_for(data, "check_price_multipliers") as blob:
        rows = tuple(_broker_multiplier(blob, blob.instruments.get(code))
                     for code in sorted(blob.instruments.list_codes()))
        result = MultiplierCheck(rows)
        for row in result.mismatches:
            blob.log.warning("price multiplier mismatch %s %s: configured %g, broker %g",
                             row.instrument_code, row.contract, row.configured, row.broker)
        return result
