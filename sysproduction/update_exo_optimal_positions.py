"""EXO strategies' targets become optimal positions (``update_exo_optimal_positions``).

    python run.py sysproduction.update_exo_optimal_positions.update_exo_optimal_positions

An **EXO strategy** trades one EXO with its alpha picks: its strategy name is ``exo_<EXO
name>`` and its instrument the EXO's product. For every EXO of the settings that the alpha
rebalancer has picked (``alpha_picks``), the target is

    target (contracts) = Σ futures legs' quantity × combined exposure × ``units``

(``units``: optional ``{EXO name: multiplier}``, default 1: the exposure is a fraction of one
EXO unit). It is written as an optimal position with ``lower = upper = target`` (fractional;
the default order generator trades to the rounded target), the reference contract being the
EXO's future and the reference price that contract's mid at the broker now. From there the
order generator (``update_strategy_orders``) and the stack handler trade it like any other
strategy.

Refused (one failed line and an alert per EXO; the others go on):

* an EXO that is not fresh (fewer than ``min_rows`` rows, default 200, or a last row more than
  ``max_age_days``, default 7, old: the position may be out of date);
* an EXO holding **option legs**, or whose definition can hold them (a kind with options, a
  SmartEXO regime with options, a delta target): the stack handler trades futures only, and
  trading the futures legs of a collar alone would be a different risk, so nothing of it is
  traded. Judged on the definition, not only today's position: a SmartEXO in a futures-only
  regime would otherwise start a target that stays in place (a refusal writes nothing) once
  the regime turns to a collar;
* an EXO whose stored state (the legs) is not of its last row's day: an update interrupted
  between appending the rows and writing the state would otherwise trade the previous day's
  legs (before a roll: the wrong contract) as today's; rerunning the EXO update repairs it;
* an EXO with futures legs in two contracts (no kind does this);
* an EXO whose alpha picks are older than ``max_picks_age_days`` (default
  :data:`MAX_PICKS_AGE_DAYS`, 10: the weekly rebalance plus slack): a stopped rebalancer would
  otherwise keep an old exposure traded.

An EXO never rebalanced is skipped (``not rebalanced``); a flat EXO with an earlier row gets a
row of 0 (close); one flat since always writes nothing. A rerun at the same time writes nothing
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

from syscore.dates import to_utc
from syscore.exceptions import InvalidData, MissingData
from sysdata.data_blob import DataBlob
from sysexecution.spawn_orders import current_contracts
from sysexo.backfill import MAX_AGE_DAYS, MIN_ROWS, ExoStore, backfill_problem
from sysexo.engine import ExoDefinition
from sysproduction.exo_backfill import exo_settings
from sysproduction.process_helpers import ProcessReport, blob_for, each_item

PROCESS = "update_exo_optimal_positions"
STRATEGY_PREFIX = "exo_"


def exo_strategy_name(exo_name: str) -> str:
    """The strategy that trades ``exo_name``: ``exo_<name>``."""
    return f"{STRATEGY_PREFIX}{exo_name}"


@dataclass(frozen=True)
class ExoTargetResult:
    strategy_name: str
    instrument_code: str
    target: float | None  #: None: nothing written
    contract: str = ""
    note: str = ""

    def __str__(self) -> str:
        if self.target is None:
            return f"{self.strategy_name}: {self.note}"
        text = f"{self.strategy_name} {self.instrument_code} {self.contract}: target " \
               f"{self.target:+.3f}"
        return f"{text} ({self.note})" if self.note else text


MAX_PICKS_AGE_DAYS = 10  # the alpha rebalancer runs weekly


def exo_futures_target(data: DataBlob, definition: ExoDefinition, units: float = 1.0,
                       min_rows: int = MIN_ROWS, max_age_days: int = MAX_AGE_DAYS,
                       max_picks_age_days: int = MAX_PICKS_AGE_DAYS
                       ) -> tuple[float, str | None, float]:
    """``(target contracts, the EXO's future id or None when flat, exposure)``; MissingData
    when the EXO was never rebalanced, InvalidData when it cannot be traded (see module)."""
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
    templates = (definition.legs or (), definition.bullish, definition.bearish,
                 definition.neutral, (definition.option,) if definition.option else ())
    kind_legs = () if definition.legs is not None or definition.kind in ("smart",
                                                                          "delta_target") \
        else definition.template()
    if any(leg.type != "future" for legs in (*templates, kind_legs) for leg in legs):
        raise InvalidData(f"{name}: its definition ({definition.kind}) holds option legs; the "
                          f"stack trades futures only, so no leg of this EXO is ever traded")
    state, state_day = store.load(name)
    series_day = series.index[-1].date()
    if state_day != series_day:  # a crash between the rows' append and the state's write
        raise InvalidData(f"{name}: EXO state is of {state_day}, its last row of {series_day} "
                          f"(an update was interrupted): not traded; rerun the EXO update")
    options = sorted(str(i) for i in state.position.legs if i.is_option)
    if options:
        raise InvalidData(f"{name}: holds option legs ({', '.join(options)}); the stack trades "
                          f"futures only, so no leg of this EXO is traded")
    futures = {i.future_id for i in state.position.legs}
    if len(futures) > 1:
        raise InvalidData(f"{name}: futures legs in several contracts {sorted(futures)}")
    exposure = float(picks["exposure"])
    target = sum(q for q, _ in state.position.legs.values()) * exposure * units
    return target, (futures.pop() if futures else None), exposure


def update_one(data: DataBlob, definition: ExoDefinition, units: float, min_rows: int,
               max_age_days: int, max_picks_age_days: int = MAX_PICKS_AGE_DAYS
               ) -> ExoTargetResult:
    strategy, code = exo_strategy_name(definition.name), definition.product
    try:
        target, contract, exposure = exo_futures_target(data, definition, units, min_rows,
                                                        max_age_days, max_picks_age_days)
    except MissingData as exc:
        return ExoTargetResult(strategy, code, None, note=str(exc))
    now = data.now()
    last = data.optimal_positions.last_timestamp(strategy, code)
    if last is not None and last >= now:
        return ExoTargetResult(strategy, code, None, note="already written at this time")
    if contract is None:  # flat: close what an earlier target opened, else nothing to do
        if last is None:
            return ExoTargetResult(strategy, code, None, note="flat, never traded")
        previous = data.optimal_positions.current(strategy, code)
        data.optimal_positions.add(strategy, code, now, 0.0, 0.0,
                                   float(previous["reference_price"]),
                                   str(previous["reference_contract"]),
                                   previous["reference_date"])
        return ExoTargetResult(strategy, code, 0.0, str(previous["reference_contract"]),
                               "EXO flat")
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
    return ExoTargetResult(strategy, code, target, contract, note)


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
