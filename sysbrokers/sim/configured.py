"""Simulate any configured instrument, not only the shipped universe's 30.

An instrument the universe does not know (e.g. imported from pysystemtrade with
``sysinit.import_pysystemtrade_csv``) is simulated from what the stores hold about it:

* its instrument configuration: point size (the multiplier), currency, asset class, tick size
  (``tick_size``; when not configured, the finest decimal step of its stored prices, at most
  six decimals) and region (trading hours: ``US`` Chicago 08:30-15:15, ``EMEA`` Frankfurt
  08:00-22:00, ``ASIA`` Tokyo 08:45-15:15, others as ``US``; Monday to Friday);
* its roll parameters: priced and hold cycles (the hold cycle is the liquid one), how far out
  contracts are listed (``-roll_offset_days`` plus a year), where volume moves to the next
  contract (``-roll_offset_days`` before expiry, at most 45 days) and the approximate expiry
  (first of the month plus ``expiry_offset`` days, a weekend moved back to the Friday);
* an **anchor** (:class:`~sysbrokers.sim.universe.SimAnchor`) taken from its stored prices: the
  last multiple-price row with a PRICE (time, price, contract), the annualised volatility of the
  adjusted prices' daily changes over the last year (relative to the anchor price, 1%-200%,
  15% when fewer than 20 days) and the carry implied by that row's FORWARD and PRICE
  (annualised, +-50%, 0 without a FORWARD).

The fake TWS serving the home lists such an instrument under the home's IB futures config
(symbol, exchange, currency, multiplier, price magnifier: :func:`ib_mapping_for`) when it has one,
so the home's IB broker finds it as it would at IB; otherwise under its code on exchange ``SIM``.

FX pairs continue from their stored FX history the same way: every stored pair quoted against
USD (``EURUSD``; a stored ``USDJPY`` is read as ``JPYUSD``) gets an **FX anchor**
(:class:`~sysbrokers.sim.universe.FxAnchor`): its last stored price and time, kept in the state
store (collection ``sim_fx_anchors``). A pair of the shipped universe keeps its model (volatility,
mean reversion) and is moved to go through the anchor; any other pair is simulated with the
annualised volatility of its stored daily log changes over the last year (1%-100%, 10% when
fewer than 20 days) and an 8-year half-life. FX futures of the universe move with their pair.
A pair whose stored history the simulator wrote itself is left where it is.

The simulated path goes through the anchor (the anchor contract trades at the anchor price at
the anchor time) and moves on from there with the simulator's model, so a migrating trader's
universe continues from its own history. Anchors are computed once per instrument and kept in the
state store (collection ``sim_anchors``): the market stays deterministic while the stored history
grows. Delete an instrument's anchor document to re-anchor it on its then latest prices.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from sysbrokers.sim.universe import (
    ExpiryRule,
    FxAnchor,
    FxSpec,
    HoursSpec,
    IbMapping,
    InstrumentSpec,
    PathSpec,
    SessionSpec,
    SimAnchor,
    Universe,
)

ANCHOR_COLLECTION = "sim_anchors"
FX_ANCHOR_COLLECTION = "sim_fx_anchors"
DEFAULT_ANNUAL_VOL = 0.15
DEFAULT_FX_ANNUAL_VOL = 0.10
FX_HALF_LIFE_YEARS = 8.0
#: volume moves to the next contract at most this many days before expiry (a far roll offset,
#: EDOLLAR's -1100 days, is where the trader holds, not where the market trades)
LIQUIDITY_ROLL_DAYS = 45.0
_WEEKDAYS = (0, 1, 2, 3, 4)
REGION_HOURS = {
    "US": HoursSpec("America/Chicago", (SessionSpec(dt.time(8, 30), dt.time(15, 15), _WEEKDAYS),)),
    "EMEA": HoursSpec("Europe/Berlin", (SessionSpec(dt.time(8, 0), dt.time(22, 0), _WEEKDAYS),)),
    "ASIA": HoursSpec("Asia/Tokyo", (SessionSpec(dt.time(8, 45), dt.time(15, 15), _WEEKDAYS),)),
}


def tick_from_prices(prices: Iterable[float]) -> float:
    """The finest decimal step of ``prices`` (10^-k for the smallest k, at most 6, that makes
    them all whole multiples), e.g. 0.01 for ``[99.125, 99.13]`` gives 0.001."""
    values = [float(p) for p in prices if p is not None and math.isfinite(float(p))]
    for decimals in range(0, 7):
        scaled = np.asarray(values) * 10**decimals
        if np.all(np.abs(scaled - np.round(scaled)) < 1e-6):
            return 10.0**-decimals
    return 1e-6


def _contract(value: Any) -> str:
    return str(value).strip()[:6]


def anchor_document(multiple: pd.DataFrame, adjusted: pd.Series | None,
                    pointsize_tick: float | None = None) -> dict[str, Any]:
    """The anchor of one instrument from its stored multiple and adjusted prices (pure; see
    the module docstring): ``time`` (ISO, UTC), ``price``, ``contract_date``, ``annual_vol``,
    ``carry`` and ``tick_size``."""
    priced = multiple[multiple["PRICE"].notna()]
    if priced.empty:
        raise ValueError("no PRICE in the stored multiple prices")
    row = priced.iloc[-1]
    when = pd.Timestamp(priced.index[-1])
    when = when.tz_localize("UTC") if when.tzinfo is None else when.tz_convert("UTC")
    price = float(row["PRICE"])
    if not price > 0:
        raise ValueError(f"the last stored price {price} is not positive")
    vol = DEFAULT_ANNUAL_VOL
    if adjusted is not None and len(adjusted.dropna()):
        series = adjusted.dropna().astype(float)
        index = pd.DatetimeIndex(series.index)
        series.index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
        daily = series.resample("1D").last().dropna()
        changes = daily.diff().dropna().iloc[-256:]
        if len(changes) >= 20:
            vol = float(np.clip(changes.std() * 16.0 / price, 0.01, 2.0))
    carry = 0.0
    forward = row.get("FORWARD")
    if forward is not None and math.isfinite(float(forward)) and float(forward) > 0:
        months = (_months(_contract(row["FORWARD_CONTRACT"]))
                  - _months(_contract(row["PRICE_CONTRACT"])))
        if months > 0:
            carry = float(np.clip(math.log(float(forward) / price) / (months / 12.0), -0.5, 0.5))
    recent = priced["PRICE"].astype(float).iloc[-200:]
    return {"time": when.isoformat(), "price": price,
            "contract_date": _contract(row["PRICE_CONTRACT"]), "annual_vol": vol,
            "carry": carry, "tick_size": pointsize_tick or tick_from_prices(recent)}


def _months(contract_date: str) -> int:
    return int(contract_date[:4]) * 12 + int(contract_date[4:6]) - 1


def ib_mapping_for(config: Any, ib: Any | None) -> IbMapping:
    """How the fake TWS lists a configured instrument (pure): as the home's IB futures config
    ``ib`` (:class:`~sysdata.broker_config.IBFuturesConfig`) says when there is one, so an IB
    broker on this home finds it (symbol, exchange, currency, multiplier, price magnifier:
    the IB multiplier is the point size times the magnifier when not configured); otherwise
    under its instrument code on exchange ``SIM``."""
    pointsize = float(config.pointsize)
    if ib is None:
        return IbMapping(symbol=config.instrument_code, exchange="SIM",
                         currency=config.currency, multiplier=pointsize)
    magnifier = max(1, int(round(float(ib.price_multiplier or 1.0))))
    return IbMapping(symbol=ib.ib_symbol, exchange=ib.ib_exchange,
                     currency=ib.ib_currency or config.currency,
                     multiplier=float(ib.ib_multiplier or pointsize * magnifier),
                     price_magnifier=magnifier)


def instrument_spec(config: Any, roll: Any, anchor: dict[str, Any],
                    ib: Any | None = None) -> InstrumentSpec:
    """A simulator spec from an instrument config, its roll parameters, its anchor and its IB
    futures config if any (:func:`ib_mapping_for`) (pure)."""
    roll_days = float(max(1, -int(roll.roll_offset_days)))
    hours = REGION_HOURS.get(str(config.region or "").upper(), REGION_HOURS["US"])
    tick = float(anchor["tick_size"])
    return InstrumentSpec(
        code=config.instrument_code,
        description=config.description or config.instrument_code,
        asset_class=config.asset_class or "",
        exchange="SIM",
        currency=config.currency,
        multiplier=float(config.pointsize),
        tick_size=tick,
        path=PathSpec(key=config.instrument_code, price=float(anchor["price"]),
                      annual_vol=float(anchor["annual_vol"])),
        carry_mean=float(anchor["carry"]),
        carry_vol=0.01,
        carry_half_life_years=1.0,
        priced_cycle=roll.priced_roll_cycle,
        hold_cycle=roll.hold_roll_cycle,
        liquid_cycle=roll.hold_roll_cycle,
        listed_months=max(12, int(roll_days / 30) + 13),
        roll_days=min(roll_days, LIQUIDITY_ROLL_DAYS),
        expiry_rule=ExpiryRule(anchor="day", day=1, calendar_days=int(roll.expiry_offset)),
        hours=hours,
        depth=20,
        daily_volume=50_000.0,
        commission=float(config.per_block),
        margin_rate=0.1,
        ib=ib_mapping_for(config, ib),
        spread_ticks=1,
        anchor=SimAnchor(pd.Timestamp(anchor["time"]).to_pydatetime(), float(anchor["price"]),
                         str(anchor["contract_date"])),
    )


def configured_instrument_specs(data: Any, universe: Universe) -> dict[str, InstrumentSpec]:
    """Specs for every configured instrument the universe does not know, that is not ignored
    and has roll parameters and stored multiple prices; anchors are read from (or, the first
    time, computed and written to) the state store. An instrument whose anchor cannot be made
    is left out (the market then refuses it as unknown)."""
    ignored = getattr(data.config, "ignored_instruments", frozenset())
    specs = {}
    ib_futures = {c.instrument_code: c for c in data.broker_config.all_ib_futures()}
    for code in data.instruments.list_codes():
        if code in universe.instruments or code in ignored:
            continue
        if not (data.roll_parameters.has(code) and data.multiple_prices.has(code)):
            continue
        config = data.instruments.get(code)
        anchor = data.state.get(ANCHOR_COLLECTION, code)
        if anchor is None:
            try:
                adjusted = (data.adjusted_prices.read_series(code)
                            if data.adjusted_prices.has(code) else None)
                anchor = anchor_document(data.multiple_prices.read(code), adjusted,
                                         getattr(config, "tick_size", None))
            except ValueError as exc:
                data.log.warning("sim: %s cannot be simulated: %s", code, exc)
                continue
            data.state.put(ANCHOR_COLLECTION, code, anchor)
        specs[code] = instrument_spec(config, data.roll_parameters.get(code), anchor,
                                      ib_futures.get(code))
    return specs


def write_imported_anchor(data: Any, code: str) -> dict[str, Any] | None:
    """Anchor ``code`` on the history just imported for it (replacing an older anchor), so the
    simulator continues that history; called by ``import_pysystemtrade_csv`` for every
    instrument whose multiple prices it loads. This is what makes a **shipped** instrument
    (one of the universe's 30) continue from an imported history: shipped instruments are
    anchored only by such a document (:func:`anchored_shipped_specs`), never from prices the
    simulator wrote itself. None (and a warning) when no anchor can be made."""
    config = data.instruments.get(code)
    try:
        adjusted = data.adjusted_prices.read_series(code) if data.adjusted_prices.has(code) \
            else None
        anchor = anchor_document(data.multiple_prices.read(code), adjusted,
                                 getattr(config, "tick_size", None))
    except ValueError as exc:
        data.log.warning("sim: %s cannot be anchored on its imported history: %s", code, exc)
        return None
    data.state.put(ANCHOR_COLLECTION, code, anchor)
    return anchor


def anchored_shipped_specs(data: Any, universe: Universe) -> dict[str, InstrumentSpec]:
    """The universe's own instruments that have an anchor document (an imported history,
    :func:`write_imported_anchor`), moved to go through it, listed for IB under the home's IB
    futures config when it has one (symbol, exchange, currency; multiplier and magnifier when
    configured, the universe's otherwise). FX futures follow their pair and are left alone."""
    ib_futures = {c.instrument_code: c for c in data.broker_config.all_ib_futures()}
    specs = {}
    for code, spec in universe.instruments.items():
        if spec.path.key in universe.fx:
            continue
        anchor = data.state.get(ANCHOR_COLLECTION, code)
        if anchor is None:
            continue
        ib = spec.ib
        configured = ib_futures.get(code)
        if configured is not None:
            magnifier = int(round(configured.price_multiplier)) \
                if configured.ib_multiplier else ib.price_magnifier
            ib = IbMapping(symbol=configured.ib_symbol, exchange=configured.ib_exchange,
                           currency=configured.ib_currency or ib.currency,
                           multiplier=float(configured.ib_multiplier or ib.multiplier),
                           price_magnifier=max(1, magnifier))
        specs[code] = replace(spec, ib=ib, anchor=SimAnchor(
            pd.Timestamp(anchor["time"]).to_pydatetime(), float(anchor["price"]),
            str(anchor["contract_date"])))
    return specs


def with_anchored_shipped(universe: Universe, specs: dict[str, InstrumentSpec]) -> Universe:
    """``universe`` with its shipped instruments replaced by their anchored ``specs``."""
    if not specs:
        return universe
    return replace(universe, instruments={**universe.instruments, **specs})


def with_instruments(universe: Universe, specs: dict[str, InstrumentSpec]) -> Universe:
    """``universe`` with ``specs`` added (the shipped instruments win on a name clash)."""
    if not specs:
        return universe
    return replace(universe, instruments={**specs, **universe.instruments})


def fx_anchor_document(prices: pd.Series) -> dict[str, Any]:
    """The anchor of one FX pair from its stored daily prices (pure; see the module docstring):
    ``time`` (ISO, UTC), ``price`` (the last positive price) and ``annual_vol``."""
    series = prices.dropna().astype(float)
    series = series[series > 0]
    if series.empty:
        raise ValueError("no positive stored FX price")
    index = pd.DatetimeIndex(series.index)
    series.index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    vol = DEFAULT_FX_ANNUAL_VOL
    daily = series.resample("1D").last().dropna()
    changes = np.log(daily).diff().dropna().iloc[-256:]
    if len(changes) >= 20:
        vol = float(np.clip(changes.std() * 16.0, 0.01, 1.0))
    return {"time": series.index[-1].isoformat(), "price": float(series.iloc[-1]),
            "annual_vol": vol}


def _usd_pair(code: str) -> tuple[str, bool] | None:
    """The simulator's pair for a stored code and whether the stored prices are inverted
    (``USDJPY`` -> ``('JPYUSD', True)``); None for a cross such as ``EURGBP``."""
    if code.endswith("USD") and code != "USDUSD":
        return code, False
    if code.startswith("USD"):
        return f"{code[3:]}USD", True
    return None


def configured_fx_specs(data: Any, universe: Universe) -> dict[str, FxSpec]:
    """An anchored spec for every stored FX pair quoted against USD (module docstring); anchors
    are read from (or, the first time, computed and written to) the state store."""
    if not universe.fx:
        return {}
    hours = next(iter(universe.fx.values())).hours
    stored = set(data.fx_prices.list_codes())
    specs = {}
    for code in sorted(stored):
        pair = _usd_pair(code)
        if pair is None:
            data.log.info("sim: FX %s is a cross rate; the simulator quotes pairs against USD",
                          code)
            continue
        sim_code, inverted = pair
        if inverted and sim_code in stored:
            continue  # the pair is stored the simulator's way round too: that one is used
        anchor = data.state.get(FX_ANCHOR_COLLECTION, sim_code)
        if anchor is None:
            try:
                prices = data.fx_prices.read_series(code)
                anchor = fx_anchor_document(1.0 / prices if inverted else prices)
            except ValueError as exc:
                data.log.warning("sim: FX %s cannot be simulated: %s", code, exc)
                continue
            data.state.put(FX_ANCHOR_COLLECTION, sim_code, anchor)
        shipped = universe.fx.get(sim_code)
        path = shipped.path if shipped is not None else PathSpec(
            sim_code, float(anchor["price"]), float(anchor["annual_vol"]), FX_HALF_LIFE_YEARS)
        specs[sim_code] = FxSpec(sim_code, path, shipped.hours if shipped else hours,
                                 FxAnchor(pd.Timestamp(anchor["time"]).to_pydatetime(),
                                          float(anchor["price"])))
    return specs


def with_fx(universe: Universe, specs: dict[str, FxSpec]) -> Universe:
    """``universe`` with its FX pairs anchored (or added) by ``specs``."""
    if not specs:
        return universe
    return replace(universe, fx={**universe.fx, **specs})
