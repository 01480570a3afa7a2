"""Manual resolution of price spikes: the logic behind the ``interactive_manual_check_*`` consoles.

The daily processes (``update_historical_prices``, ``update_fx_prices``) hold back everything
fetched for a contract (or FX pair) when a new price spikes, and alert. A manual check does the
same fetch, clean and spike check, then asks the operator about each spike, earliest first:

- ``a``  accept the price as it is;
- ``p``  use the previous value (the bar before, after any correction; for the first new bar the
  last stored price): a zero change, never a spike;
- a number: use that price, rounded to the instrument's tick when its configuration has a
  ``tick_size`` (the operator is told when rounding changed it). It is spike-checked again at
  the same place; if it also spikes the operator is told and asked again, and may accept it
  anyway with ``a``;
- ``q``  stop (:class:`ManualCheckAborted`); nothing not yet finished is written.

After each answer the spike check is re-run on the corrected series, so the spike *out* of a bad
bar that was corrected disappears on its own; accepted and corrected timestamps are never asked
about twice.

A corrected futures bar keeps its shape: OPEN, HIGH and LOW move by the same amount as FINAL
(:func:`apply_corrections`); VOLUME is unchanged. Prices are in the instrument's quoted units (FX:
value in ``ccy2`` of one ``ccy1``); timestamps are UTC.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum

import pandas as pd

from syscore.exceptions import InvalidData, MissingData, SystradeError
from sysobjects.contract_prices import FINAL, HIGH, LOW, OPEN
from sysobjects.instruments import round_to_tick
from sysobjects.spike_check import SpikeCheckSettings, check_for_spikes

Ask = Callable[[str], str]
Say = Callable[[str], None]


class ManualCheckAborted(SystradeError):  # noqa: N818 - like syscore.exceptions names
    """The operator stopped a manual check (``q``); unfinished work was not written."""


class SpikeAction(Enum):
    """What to do with a spiking price."""

    ACCEPT = "accept"
    PREVIOUS = "previous"
    VALUE = "value"


@dataclass(frozen=True)
class SpikeDecision:
    """The operator's decision for the price at ``timestamp`` (UTC); ``value`` only for VALUE."""

    timestamp: pd.Timestamp
    action: SpikeAction
    value: float | None = None

    def __post_init__(self) -> None:
        if self.action is SpikeAction.VALUE:
            if self.value is None or not math.isfinite(float(self.value)):
                raise InvalidData(f"a typed price must be a finite number, got {self.value!r}")
        elif self.value is not None:
            raise InvalidData(f"{self.action.value} takes no value")

    def __str__(self) -> str:
        if self.action is SpikeAction.VALUE:
            return f"{self.timestamp}: replaced by {self.value:.10g}"
        return f"{self.timestamp}: {self.action.value}"


def corrected_prices(prices: pd.Series, decisions: Iterable[SpikeDecision],
                     previous: float | None = None) -> pd.Series:
    """``prices`` with ``decisions`` applied, in time order (pure).

    ``previous`` is the price before the first one (the last stored price), used by PREVIOUS on
    the first bar. A decision for a timestamp not in ``prices``, or PREVIOUS with nothing before,
    raises :class:`InvalidData`.
    """
    values = prices.astype(float).copy()
    for decision in sorted(decisions, key=lambda d: d.timestamp):
        if decision.timestamp not in values.index:
            raise InvalidData(f"no price at {decision.timestamp} to correct")
        pos = values.index.get_loc(decision.timestamp)
        if decision.action is SpikeAction.ACCEPT:
            continue
        if decision.action is SpikeAction.PREVIOUS:
            before = float(values.iloc[pos - 1]) if pos > 0 else previous
            if before is None or not math.isfinite(before):
                raise InvalidData(f"no previous price before {decision.timestamp}")
            values.iloc[pos] = before
        else:
            values.iloc[pos] = float(decision.value)
    return values


def apply_corrections(bars: pd.DataFrame, decisions: Iterable[SpikeDecision],
                      previous_final: float | None = None) -> pd.DataFrame:
    """OHLCV bars with corrected FINALs (pure). OPEN/HIGH/LOW shift by the FINAL's change at the
    same bar (NaN stays NaN); VOLUME is unchanged. ``previous_final`` as in
    :func:`corrected_prices`."""
    final = corrected_prices(bars[FINAL], decisions, previous_final)
    shift = final - bars[FINAL].astype(float)
    out = bars.copy()
    for column in (OPEN, HIGH, LOW):
        out[column] = bars[column].astype(float) + shift
    out[FINAL] = final
    return out


def _last_valid(series: pd.Series) -> float | None:
    valid = series.dropna()
    return float(valid.iloc[-1]) if len(valid) else None


def instrument_tick_size(data, instrument_code: str) -> float | None:
    """The configured ``tick_size`` of an instrument (``data.instruments``), or None when the
    instrument or its tick size is not configured."""
    try:
        return data.instruments.get(instrument_code).tick_size
    except MissingData:
        return None


def typed_price(value: float, tick_size: float | None, say: Say, label: str) -> float:
    """A typed price rounded to ``tick_size`` (None: unchanged); says so when it changed."""
    rounded = round_to_tick(value, tick_size)
    if rounded != value:
        say(f"{label}: {value:.10g} rounded to the tick ({tick_size:g}): {rounded:.10g}")
    return rounded


def _parse_price(text: str, positive_only: bool = False) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    if not math.isfinite(value) or (positive_only and value <= 0):
        return None
    return value


def review_spikes(existing: pd.Series, new: pd.Series, settings: SpikeCheckSettings, ask: Ask,
                  say: Say, label: str, positive_only: bool = False,
                  tick_size: float | None = None) -> tuple[list[SpikeDecision], pd.Series]:
    """Ask about every spike in ``new`` (after ``existing``) until none is left undecided.

    Returns the decisions (time order) and the corrected ``new`` prices. Raises
    :class:`ManualCheckAborted` when the operator answers ``q``. ``positive_only`` refuses typed
    prices <= 0 (FX); futures prices may be negative. ``tick_size``: typed prices are rounded to
    it (None: as typed).
    """
    previous = _last_valid(existing)
    decisions: dict[pd.Timestamp, SpikeDecision] = {}
    while True:
        current = corrected_prices(new, decisions.values(), previous)
        result = check_for_spikes(existing, current, settings)
        pending = [ts for ts in result.spikes if ts not in decisions]
        if not pending:
            return [decisions[t] for t in sorted(decisions)], current
        when = pending[0]
        decisions[when] = _ask_one(existing, current, when, result.checked.loc[when, "ratio"],
                                   settings, ask, say, label, previous, positive_only, tick_size)


def _ask_one(existing: pd.Series, current: pd.Series, when: pd.Timestamp, ratio: float,
             settings: SpikeCheckSettings, ask: Ask, say: Say, label: str,
             previous: float | None, positive_only: bool,
             tick_size: float | None = None) -> SpikeDecision:
    pos = current.index.get_loc(when)
    if pos > 0:
        before, before_at = float(current.iloc[pos - 1]), current.index[pos - 1]
    else:
        before = previous
        before_at = existing.dropna().index[-1] if previous is not None else None
    price = float(current.iloc[pos])
    say(f"{label}: spike at {when}: {price:.10g} after {before:.10g} at {before_at} "
        f"({ratio:.1f} x the average daily move; limit {settings.max_price_spike:g})"
        if before is not None else f"{label}: spike at {when}: {price:.10g}")
    while True:
        answer = ask(f"{label} {when}: [a]ccept {price:.10g}, [p]revious value"
                     + (f" {before:.10g}" if before is not None else "")
                     + ", type a price, or [q]uit: ").strip().lower()
        if answer in ("q", "quit"):
            raise ManualCheckAborted(f"manual check stopped by the operator at {label} {when}")
        if answer in ("a", "accept"):
            return SpikeDecision(when, SpikeAction.ACCEPT)
        if answer in ("p", "previous"):
            if before is None:
                say("there is no previous value; accept or type a price")
                continue
            return SpikeDecision(when, SpikeAction.PREVIOUS)
        value = _parse_price(answer, positive_only)
        if value is None:
            say(f"not understood: {answer!r}"
                + (" (a price must be > 0)" if positive_only else ""))
            continue
        value = typed_price(value, tick_size, say, label)
        decision = _confirm_typed(existing, current, when, value, settings, ask, say, label,
                                  positive_only, tick_size)
        if decision is not None:
            return decision


def _confirm_typed(existing: pd.Series, current: pd.Series, when: pd.Timestamp, value: float,
                   settings: SpikeCheckSettings, ask: Ask, say: Say, label: str,
                   positive_only: bool, tick_size: float | None = None) -> SpikeDecision | None:
    """Spike-check a typed price in place; returns the decision, or None to ask again."""
    while True:
        upto = current[current.index <= when].copy()
        upto.iloc[-1] = value
        check = check_for_spikes(existing, upto, settings)
        if when not in check.spikes:
            return SpikeDecision(when, SpikeAction.VALUE, value)
        ratio = check.checked.loc[when, "ratio"]
        say(f"{label}: {value:.10g} at {when} also spikes ({ratio:.1f} x the average daily move)")
        answer = ask(f"{label} {when}: [a]ccept {value:.10g} anyway, or type another price "
                     "(anything else: back): ").strip().lower()
        if answer in ("a", "accept"):
            return SpikeDecision(when, SpikeAction.VALUE, value)
        other = _parse_price(answer, positive_only)
        if other is None:
            return None
        value = typed_price(other, tick_size, say, label)
