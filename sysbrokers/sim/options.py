"""Option chains on the simulated futures: calendars, strikes, a volatility surface, prices.

Deterministic like the rest of the simulator: every figure is a function of the market model
and the time asked about.

- **Calendar** (:class:`OptionCalendar`, per product): each future has a quarterly-style
  option with ``code`` expiring ``expiry_offset_days`` calendar days before the future's
  expiry; with ``serial_months`` (e.g. 2) the preceding months also list *serial* options on the
  same future, code ``serial_code``, expiring on the same day of those months — so monthly and
  quarterly products, and option codes that differ from the future's, are all represented.
- **Strikes**: a grid of ``strikes_each_side`` (30) strikes either side of the money, spaced by
  the product's ``strike_step`` (default: a round number near 5 % of a year's standard
  deviation, on the tick: 1 % of the price for a 20 % vol product). Only strikes whose option is worth at least one tick are *quoted*.
- **Volatility surface**: ``vol(K, T, t) = atm(t) × term(T) × smile(K/F)`` where ``atm`` is the
  product's annual vol scaled up when the futures price has fallen over the last 20 days (vol
  moves with the underlying), ``term`` adds up to +15 % for the shortest expiries and
  ``smile = 1 + skew × ln(K/F) + curve × ln(K/F)²`` (equity-like negative skew by default).
- **Prices**: Black-76 (rate 0) mid; bid/ask mid ∓ half of max(one tick, 2 % of mid), on the tick.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from syscore.exceptions import InvalidData
from sysobjects.black76 import OptionRight, delta, price

DAY_NS = 86_400_000_000_000


@dataclass(frozen=True)
class OptionCalendar:
    code: str = ""
    serial_code: str = "S"
    serial_months: int = 0
    expiry_offset_days: int = 0
    strikes_each_side: int = 30
    strike_step: float | None = None
    skew: float = -0.8
    curve: float = 2.0


@dataclass(frozen=True)
class OptionListing:
    future_id: str
    option_code: str
    expiry: dt.date


@dataclass(frozen=True)
class OptionQuote:
    strike: float
    right: OptionRight
    bid: float
    ask: float
    mid: float
    delta: float
    vol: float


def _nice_step(price_level: float, tick: float, annual_vol: float) -> float:
    """A round strike step near 5 % of a year's standard deviation (1 % of the price at 20 %
    vol), so that every product's chain spans a similar number of standard deviations."""
    raw = price_level * annual_vol * 0.05
    magnitude = 10 ** math.floor(math.log10(raw))
    step = min((m * magnitude for m in (1, 2, 2.5, 5, 10)), key=lambda s: abs(s - raw))
    return max(tick, round(step / tick) * tick)


class SimOptionChains:
    """Option chains on a :class:`~sysbrokers.sim.market.MarketModel`'s futures."""

    def __init__(self, market, calendars: dict[str, OptionCalendar] | None = None,
                 cache_size: int = 50_000):
        self.market = market
        self.calendars = calendars or {}
        # the path model costs about a millisecond a call: forwards and ATM vols are shared
        # by every strike of a chain, so each is computed once per (product, future, time)
        self.forward = lru_cache(maxsize=cache_size)(self._forward)
        self.atm_vol = lru_cache(maxsize=cache_size)(self._atm_vol)

    def calendar(self, product: str) -> OptionCalendar:
        return self.calendars.get(product, OptionCalendar())

    # --- listings -----------------------------------------------------------------------
    def listings(self, product: str, future_id: str) -> list[OptionListing]:
        cal = self.calendar(product)
        future_expiry = pd.Timestamp(self.market.expiry_ns(product, future_id)).date()
        main = future_expiry - dt.timedelta(days=cal.expiry_offset_days)
        out = [OptionListing(future_id, cal.code, main)]
        for back in range(1, cal.serial_months + 1):
            month = (main.month - back - 1) % 12 + 1
            year = main.year - (1 if main.month - back < 1 else 0)
            day = min(main.day, 28)
            out.append(OptionListing(future_id, cal.serial_code, dt.date(year, month, day)))
        return sorted(out, key=lambda o: o.expiry)

    # --- surface and prices -------------------------------------------------------------
    def _forward(self, product: str, future_id: str, when: pd.Timestamp) -> float:
        return float(self.market.mid_price(product, future_id, np.array([when.value]))[0])

    def _atm_vol(self, product: str, future_id: str, when: pd.Timestamp) -> float:
        now = when.value
        then = now - 20 * DAY_NS
        logs = self.market.log_price(product, future_id, np.array([then, now]))
        return self._atm_from_move(product, float(logs[1] - logs[0]))

    def _atm_from_move(self, product: str, move: float) -> float:
        """ATM vol given the log move of the future over the last 20 days."""
        base = self.market.spec(product).path.annual_vol
        return base * float(np.clip(math.exp(-2.0 * move), 0.7, 1.6))

    def vol(self, product: str, future_id: str, strike: float, expiry: dt.date,
            when: pd.Timestamp) -> float:
        return self._vol(product, self.forward(product, future_id, when),
                         self.atm_vol(product, future_id, when), strike, expiry, when.date())

    def _vol(self, product: str, forward: float, atm: float, strike: float, expiry: dt.date,
             day: dt.date) -> float:
        cal = self.calendar(product)
        years = max((expiry - day).days, 1) / 365.0
        moneyness = math.log(strike / forward)
        term = 1.0 + 0.15 * math.exp(-years / 0.25)
        smile = max(0.3, 1.0 + cal.skew * moneyness + cal.curve * moneyness ** 2)
        return atm * term * smile

    def strike_grid(self, product: str, future_id: str, when: pd.Timestamp) -> list[float]:
        spec = self.market.spec(product)
        forward = self.forward(product, future_id, when)
        step = self.calendar(product).strike_step or _nice_step(forward, spec.tick_size,
                                                                spec.path.annual_vol)
        atm = round(forward / step) * step
        n = self.calendar(product).strikes_each_side
        return [round(atm + k * step, 10) for k in range(-n, n + 1) if atm + k * step > 0]

    def quote(self, product: str, listing: OptionListing, strike: float, right: OptionRight,
              when: pd.Timestamp) -> OptionQuote:
        if when.date() > listing.expiry:
            raise InvalidData(f"{product} option {listing} expired before {when}")
        return self._quote(product, listing, strike, right, when.date(),
                           self.forward(product, listing.future_id, when),
                           self.atm_vol(product, listing.future_id, when))

    def quotes(self, product: str, listing: OptionListing, strike: float, right: OptionRight,
               t_ns: np.ndarray) -> list[OptionQuote]:
        """:meth:`quote` at each of ``t_ns`` (int64 ns UTC, none after the expiry date), the
        same figures, with the path model evaluated once for all times (a resting limit
        order's fill opportunities)."""
        t = np.asarray(t_ns, dtype=np.int64)
        if t.size == 0:
            return []
        if pd.Timestamp(int(t.max()), tz="UTC").date() > listing.expiry:
            raise InvalidData(f"{product} option {listing} expired before "
                              f"{pd.Timestamp(int(t.max()), tz='UTC')}")
        forwards = self.market.mid_price(product, listing.future_id, t)
        moves = (self.market.log_price(product, listing.future_id, t)
                 - self.market.log_price(product, listing.future_id, t - 20 * DAY_NS))
        return [self._quote(product, listing, strike, right,
                            pd.Timestamp(int(when), tz="UTC").date(), float(forward),
                            self._atm_from_move(product, float(move)))
                for when, forward, move in zip(t, forwards, moves, strict=True)]

    def _quote(self, product: str, listing: OptionListing, strike: float, right: OptionRight,
               day: dt.date, forward: float, atm: float) -> OptionQuote:
        tick = self.market.spec(product).tick_size
        years = max((listing.expiry - day).days, 0) / 365.0
        sigma = self._vol(product, forward, atm, strike, listing.expiry, day)
        mid = price(right, forward, strike, years, sigma)
        half = max(tick, 0.02 * mid) / 2
        bid = max(0.0, math.floor((mid - half) / tick + 1e-9) * tick)
        ask = math.ceil((mid + half) / tick - 1e-9) * tick
        return OptionQuote(strike, right, bid, ask, mid, delta(right, forward, strike, years,
                                                                sigma), sigma)

    def quoted_strikes(self, product: str, listing: OptionListing,
                       when: pd.Timestamp) -> list[float]:
        """Strikes where both the call and the put are worth at least one tick."""
        tick = self.market.spec(product).tick_size
        return [k for k in self.strike_grid(product, listing.future_id, when)
                if min(self.quote(product, listing, k, OptionRight.CALL, when).mid,
                       self.quote(product, listing, k, OptionRight.PUT, when).mid) >= tick]
