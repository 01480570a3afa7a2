"""The EXO engine's view of the simulated market: futures and option chains at decision time.

Prices are taken at each product's decision time (``decision_time`` in its zone) on the day
asked. ``point_value`` is the contract multiplier in the instrument's currency.
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

import pandas as pd

from sysbrokers.sim.options import OptionListing, SimOptionChains
from sysexo.positions import Instrument
from sysexo.roll_regimes import FutureContract, OptionExpiry
from sysexo.settings import ProductSettings


class SimExoMarket:
    """Answers are cached per adapter (bounded LRU): every EXO of a product asks for the same
    chain on the same day, so the chain is priced once per product and day. The caches live
    and die with the adapter (one per backfill or update run)."""

    def __init__(self, chains: SimOptionChains, products: dict[str, ProductSettings],
                 cache_size: int = 20_000):
        self.chains = chains
        self.products = products
        self.market = chains.market
        self.future_price = lru_cache(maxsize=cache_size)(self._future_price)
        self.strikes = lru_cache(maxsize=cache_size)(self._strikes)
        self.option_quote = lru_cache(maxsize=cache_size)(self._option_quote)
        # per instance, like the others: a class-level cache would keep every adapter alive
        self.futures = lru_cache(maxsize=64)(self._futures)

    def decision_time(self, product: str, day: dt.date) -> pd.Timestamp:
        settings = self.products.get(product, ProductSettings())
        hours, minutes = (int(x) for x in settings.decision_time.split(":"))
        local = dt.datetime.combine(day, dt.time(hours, minutes), ZoneInfo(settings.timezone))
        return pd.Timestamp(local).tz_convert("UTC")

    def _futures(self, product: str) -> list[FutureContract]:
        first = pd.Timestamp(self.market.first_ns, tz="UTC").date()
        last = pd.Timestamp(self.market.last_ns, tz="UTC").date()
        out = []
        for contract in self.market.contracts_expiring_between(product, first, last):
            expiry = pd.Timestamp(self.market.expiry_ns(product, contract), tz="UTC").date()
            out.append(FutureContract(contract[:6], expiry))
        return out

    def option_expiries(self, product: str, future_id: str) -> list[OptionExpiry]:
        return [OptionExpiry(o.option_code, o.expiry)
                for o in self.chains.listings(product, future_id)]

    def _future_price(self, product: str, future_id: str, day: dt.date) -> float:
        return self.chains.forward(product, future_id, self.decision_time(product, day))

    def _strikes(self, product: str, future_id: str, option: OptionExpiry,
                 day: dt.date) -> list[float]:
        listing = OptionListing(future_id, option.option_code, option.expiry)
        return self.chains.quoted_strikes(product, listing, self.decision_time(product, day))

    def _option_quote(self, product: str, instrument: Instrument,
                      day: dt.date) -> tuple[float, float]:
        listing = OptionListing(instrument.future_id, instrument.option_code, instrument.expiry)
        when = self.decision_time(product, day)
        if day >= instrument.expiry:  # at expiry: intrinsic value
            forward = self.chains.forward(product, instrument.future_id, when)
            call = instrument.right.value == "C"
            value = max(0.0, (forward - instrument.strike) if call else
                        (instrument.strike - forward))
            in_money = value > 0
            return value, (1.0 if call else -1.0) if in_money else 0.0
        quote = self.chains.quote(product, listing, instrument.strike, instrument.right, when)
        return quote.mid, quote.delta

    def point_value(self, product: str) -> float:
        return float(self.market.spec(product).multiplier)

    def trading_days(self, product: str, start: dt.date, end: dt.date) -> list[dt.date]:
        """Business days on which the product trades at its decision time's date (exchange
        holidays of the simulator's calendar skipped)."""
        start_ns = pd.Timestamp(start, tz="UTC").value
        end_ns = pd.Timestamp(end + dt.timedelta(days=1), tz="UTC").value
        sessions = self.market.sessions(product, start_ns, end_ns)
        trading = {int(d) for d in sessions.trading_day}
        return [day.date() for day in pd.bdate_range(start, end)
                if pd.Timestamp(day, tz="UTC").value // 86_400_000_000_000 in trading]
