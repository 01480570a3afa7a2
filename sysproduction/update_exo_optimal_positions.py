"""EXO strategies' targets become optimal positions (``update_exo_optimal_positions``).

    python run.py sysproduction.update_exo_optimal_positions.update_exo_optimal_positions

An **EXO strategy** trades one EXO with its alpha picks: its strategy name is ``exo_<EXO
name>``. For every EXO of the settings that the alpha rebalancer has picked (``alpha_picks``),
each leg's target is

    futures leg (instrument: the EXO's product) = Σ futures legs' quantity × exposure × units
    option leg  (instrument: the option's code)  = the leg's quantity × exposure × units

(``units``: optional ``{EXO name: multiplier}``, default 1: the exposure is a fraction of one
EXO unit). An option leg is an instrument of its own, named in the format of
:mod:`sysobjects.option_instruments` (``SP500_micro-202403-C3800-20240315``), its contract the
underlying future's month. Each target is written as an optimal position with ``lower = upper
= target`` (fractional; the default order generator trades to the rounded target); the
reference contract is the leg's future and the reference price that future's mid (futures leg)
or the option's (the middle of its bid and ask) at the broker now. From there the order generator
(``update_strategy_orders``) and the stack handler trade every leg like any other strategy
(the broker routes option codes to its option orders: :mod:`sysbrokers.option_routing`). An
option leg the EXO no longer holds (closed, rolled) gets a target of 0 once.

Refused (one failed line and an alert per EXO; the others go on):

* an EXO that is not fresh (fewer than ``min_rows`` rows, default 200, or a last row more than
  ``max_age_days``, default 7, old: the position may be out of date);
* an EXO holding **option legs**, or whose definition can hold them (a kind with options, a
  SmartEXO regime with options, a delta target), **when the broker does not trade options**
  (it raises ``NotSupportedByBroker``, e.g. the IB layer today): trading the futures legs of
  a collar alone would be a different risk, so nothing of it is traded. Judged on the
  definition, not only today's position: a SmartEXO in a futures-only regime would otherwise
  start a target that stays in place (a refusal writes nothing) once the regime turns to a
  collar;
* an EXO whose stored state (the legs) is not of its last row's day: an update interrupted
  between appending the rows and writing the state would otherwise trade the previous day's
  legs (before a roll: the wrong contract) as today's; rerunning the EXO update repairs it;
* an EXO with futures legs in two contracts (no kind does this);
* an EXO whose alpha picks are older than ``max_picks_age_days`` (default
  :data:`MAX_PICKS_AGE_DAYS`, 10: the weekly rebalance plus slack): a stopped rebalancer would
  otherwise keep an old exposure traded.

An EXO never rebalanced is skipped (``not rebalanced``); a flat EXO (or one without a futures
leg) with an earlier futures row gets a row of 0 (close); one flat since always writes nothing. A rerun at the same time writes nothing
twice.

Scheduling: ``systrade exo install`` adds this method (``product`` argument) to each product's
``run_exo_update_<PRODUCT>`` process as its completion method, so the target follows the day's
EXO update; the order generator trades it at its next run.

The stack handler spawns contract orders into the instrument's priced contract (roll state, as
for every strategy): the EXO's roll regime should roll where the instrument rolls. When the
priced contract is known and differs from the EXO's, the result says so.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from sysbrokers.errors import NotSupportedByBroker
from sysbrokers.objects import OptionContract
from syscore.dates import to_utc
from syscore.exceptions import InvalidData, MissingData
from sysdata.data_blob import DataBlob
from sysexecution.spawn_orders import current_contracts
from sysexo.backfill import MAX_AGE_DAYS, MIN_ROWS, ExoStore, backfill_problem
from sysexo.engine import ExoDefinition
from sysobjects.option_instruments import OptionSeries, parse_option_code
from sysproduction.exo_backfill import exo_settings
from sysproduction.process_helpers import ProcessReport, blob_for, each_item

PROCESS = "update_exo_optimal_positions"
STRATEGY_PREFIX = "exo_"


def exo_strategy_name(exo_name: str) -> str:
    """The strategy that trades ``exo_name``: ``exo_<name>``."""
    return f"{STRATEGY_PREFIX}{exo_name}"


@dataclass(frozen=True)
class LegTarget:
    """One leg's target: ``instrument_code`` the product (futures leg) or the option's code
    (:mod:`sysobjects.option_instruments`), ``contract`` the future's month, ``target`` in
    contracts (fractional)."""

    instrument_code: str
    contract: str
    target: float


@dataclass(frozen=True)
class ExoTargetResult:
    strategy_name: str
    instrument_code: str
    target: float | None  #: the futures leg's; None: nothing written for it
    contract: str = ""
    note: str = ""
    options: tuple[tuple[str, float], ...] = ()  #: (option code, target) written

    def __str__(self) -> str:
        legs = "".join(f", {code} {target:+.3f}" for code, target in self.options)
        if self.target is None:
            return f"{self.strategy_name}: {self.note}{legs}"
        text = f"{self.strategy_name} {self.instrument_code} {self.contract}: target " \
               f"{self.target:+.3f}{legs}"
        return f"{text} ({self.note})" if self.note else text


MAX_PICKS_AGE_DAYS = 10  # the alpha rebalancer runs weekly


def _can_hold_options(definition: ExoDefinition) -> bool:
    templates = (definition.legs or (), definition.bullish, definition.bearish,
                 definition.neutral, (definition.option,) if definition.option else ())
    kind_legs = () if definition.legs is not None or definition.kind in ("smart",
                                                                          "delta_target") \
        else definition.template()
    return any(leg.type != "future" for legs in (*templates, kind_legs) for leg in legs)


def broker_option_refusal(data: DataBlob) -> str:
    """Why the blob's broker cannot trade option legs (``""``: it can)."""
    try:
        data.broker.get_option_positions()
    except NotSupportedByBroker as exc:
        return str(exc)
    return ""


def exo_targets(data: DataBlob, definition: ExoDefinition, units: float = 1.0,
                min_rows: int = MIN_ROWS, max_age_days: int = MAX_AGE_DAYS,
                max_picks_age_days: int = MAX_PICKS_AGE_DAYS
                ) -> tuple[list[LegTarget], float]:
    """``(the legs' targets, exposure)``: the futures leg first (if any), then each option
    leg; MissingData when the EXO was never rebalanced, InvalidData when it cannot be traded
    (see module)."""
    name = definition.name
    picks = data.alpha_picks.get(name)
    if picks is None:
        raise MissingData(f"{name}: not rebalanced (no alpha picks)")
    store = ExoStore(data.timeseries, data.state)
    series = store.series(name)
    problem = backfill_problem(series, data.now().date(), min_rows, max_age_days)
    if problem:
        raise InvalidData(f"{name}: EXO not fresh, not traded: {problem}")
    picked = to_utc(picks["date"])
    if data.now() - picked > pd.Timedelta(days=max_picks_age_days):
        raise InvalidData(f"{name}: alpha picks of {picked:%Y-%m-%d} are more than "
                          f"{max_picks_age_days} days old (is run_alpha_rebalancer running?): "
                          f"not traded")
    state, state_day = store.load(name)
    series_day = series.index[-1].date()
    if state_day != series_day:  # a crash between the rows' append and the state's write
        raise InvalidData(f"{name}: EXO state is of {state_day}, its last row of {series_day} "
                          f"(an update was interrupted): not traded; rerun the EXO update")
    legs = state.position.legs
    if _can_hold_options(definition) or any(i.is_option for i in legs):
        refusal = broker_option_refusal(data)
        if refusal:
            raise InvalidData(f"{name}: its definition ({definition.kind}) holds option legs "
                              f"and {refusal}: no leg of this EXO is traded")
    futures = {i.future_id for i in legs if not i.is_option}
    if len(futures) > 1:
        raise InvalidData(f"{name}: futures legs in several contracts {sorted(futures)}")
    exposure = float(picks["exposure"])
    out = []
    if futures:
        future = futures.pop()
        out.append(LegTarget(definition.product, future,
                             sum(q for i, (q, _) in legs.items() if not i.is_option)
                             * exposure * units))
    for instrument, (quantity, _) in sorted(legs.items(), key=lambda kv: str(kv[0])):
        if instrument.is_option:
            code = OptionSeries(definition.product, instrument.future_id, instrument.right,
                                instrument.strike, instrument.expiry,
                                instrument.option_code).code
            out.append(LegTarget(code, instrument.future_id, quantity * exposure * units))
    return out, exposure


def exo_futures_target(data: DataBlob, definition: ExoDefinition, units: float = 1.0,
                       min_rows: int = MIN_ROWS, max_age_days: int = MAX_AGE_DAYS,
                       max_picks_age_days: int = MAX_PICKS_AGE_DAYS
                       ) -> tuple[float, str | None, float]:
    """``(the futures leg's target, its future or None when none, exposure)`` of
    :func:`exo_targets`."""
    legs, exposure = exo_targets(data, definition, units, min_rows, max_age_days,
                                 max_picks_age_days)
    future = [leg for leg in legs if leg.instrument_code == definition.product]
    if not future:
        return 0.0, None, exposure
    return future[0].target, future[0].contract, exposure


def _option_reference(data: DataBlob, code: str) -> tuple[float, pd.Timestamp]:
    """An option leg's reference price (the middle of its bid and ask, as a future's) and its
    time, from the broker."""
    series = parse_option_code(code)
    quote = data.broker.get_option_quote(OptionContract(
        series.product, series.future, series.right, series.strike, series.expiry,
        series.option_code))
    return (quote.bid + quote.ask) / 2.0, quote.timestamp


def _write_options(data: DataBlob, strategy: str, product: str, legs: list[LegTarget],
                   now: pd.Timestamp) -> tuple[tuple[str, float], ...]:
    """Each option leg's target, and 0 for an option this strategy was given a target in
    before and no longer holds (closed or rolled); an unchanged zero is not written again."""
    written = []
    wanted = {leg.instrument_code: leg for leg in legs if leg.instrument_code != product}
    before = sorted(code for s, code in data.optimal_positions.list_keys()
                    if s == strategy and parse_option_code(code) is not None
                    and parse_option_code(code).product == product)
    for code in sorted(set(wanted) | set(before)):
        last = data.optimal_positions.last_timestamp(strategy, code)
        if last is not None and last >= now:
            continue
        if code in wanted:
            leg = wanted[code]
            price, when = _option_reference(data, code)
            data.optimal_positions.add(strategy, code, now, leg.target, leg.target, price,
                                       leg.contract, when)
            written.append((code, leg.target))
            continue
        previous = data.optimal_positions.current(strategy, code)
        if float(previous["lower"]) == 0.0 == float(previous["upper"]):
            continue
        data.optimal_positions.add(strategy, code, now, 0.0, 0.0,
                                   float(previous["reference_price"]),
                                   str(previous["reference_contract"]),
                                   previous["reference_date"])
        written.append((code, 0.0))
    return tuple(written)


def update_one(data: DataBlob, definition: ExoDefinition, units: float, min_rows: int,
               max_age_days: int, max_picks_age_days: int = MAX_PICKS_AGE_DAYS
               ) -> ExoTargetResult:
    strategy, code = exo_strategy_name(definition.name), definition.product
    try:
        legs, exposure = exo_targets(data, definition, units, min_rows, max_age_days,
                                     max_picks_age_days)
    except MissingData as exc:
        return ExoTargetResult(strategy, code, None, note=str(exc))
    now = data.now()
    options = _write_options(data, strategy, code, legs, now)
    future = [leg for leg in legs if leg.instrument_code == code]
    last = data.optimal_positions.last_timestamp(strategy, code)
    if last is not None and last >= now:
        return ExoTargetResult(strategy, code, None, note="already written at this time",
                               options=options)
    if not future:  # flat: close what an earlier target opened, else nothing to do
        if last is None:
            return ExoTargetResult(strategy, code, None, note="no futures leg, never traded"
                                   if options else "flat, never traded", options=options)
        previous = data.optimal_positions.current(strategy, code)
        data.optimal_positions.add(strategy, code, now, 0.0, 0.0,
                                   float(previous["reference_price"]),
                                   str(previous["reference_contract"]),
                                   previous["reference_date"])
        return ExoTargetResult(strategy, code, 0.0, str(previous["reference_contract"]),
                               "EXO flat" if not legs else "no futures leg", options)
    target, contract = future[0].target, future[0].contract
    quote = data.broker.get_bid_ask(code, contract)
    data.optimal_positions.add(strategy, code, now, target, target, quote.mid, contract,
                               quote.timestamp)
    note = f"exposure {exposure:+.3f}"
    try:
        priced = current_contracts(data, code)[0]
        if priced[:6] != contract[:6]:
            note += f"; the stack trades the priced contract {priced}, not the EXO's {contract}"
    except MissingData:
        pass
    return ExoTargetResult(strategy, code, target, contract, note, options)


def update_exo_optimal_positions(data: DataBlob | None = None,
                                 units: Mapping[str, float] | None = None,
                                 min_rows: int = MIN_ROWS,
                                 max_age_days: int = MAX_AGE_DAYS,
                                 product: str | None = None,
                                 max_picks_age_days: int = MAX_PICKS_AGE_DAYS) -> ProcessReport:
    """Write every rebalanced EXO's target (of ``product``, default all) as an optimal
    position (see module docstring)."""
    with blob_for(data, PROCESS) as blob:
        settings = exo_settings(blob)
        return each_item(blob, PROCESS, settings.ordered_exos(product), lambda d: d.name,
                         lambda d: update_one(blob, d, float((units or {}).get(d.name, 1.0)),
                                              min_rows, max_age_days, max_picks_age_days))
