"""Top-of-book quotes for reqMktData, from the simulated market.

Futures: the market's bid/ask and sizes at the last instant the market was open (so a closed
market shows its last quote, as TWS does). FX pairs: the market's mid one tick either side,
with a nominal size of 1,000,000 (IDEALPRO quotes sizes in base currency units).
Only bid, ask and their sizes are sent (tick types 1, 2, 0, 3); no last, volume or close.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sysbrokers.errors import UnknownContract
from sysbrokers.IB.fake_tws.catalogue import Listing, fx_round, fx_tick
from sysbrokers.sim.market import MarketModel

FX_SIZE = 1_000_000.0


@dataclass(frozen=True)
class Quote:
    bid: float
    ask: float
    bid_size: float
    ask_size: float


def quote_now(market: MarketModel, listing: Listing, now_ns: int) -> Quote:
    """UnknownContract if the contract does not trade (not listed yet or expired)."""
    if listing.is_future:
        code, c = listing.instrument_code, listing.contract_date
        if not market.listing_ns(code, c) <= now_ns < market.expiry_ns(code, c):
            raise UnknownContract(f"{code} {c} is not trading")
        t = market.last_open_instant(code, now_ns)
        q = market.quotes(code, c, np.array([t]))
        return Quote(float(q.bid[0]), float(q.ask[0]), float(q.bid_size[0]), float(q.ask_size[0]))
    mid = market.fx_rate(listing.base, listing.quote, np.array([now_ns]))
    tick = fx_tick(listing.quote)
    bid = float(fx_round(np.floor(mid / tick) * tick, listing.quote)[0])
    return Quote(bid, float(fx_round(np.array([bid + tick]), listing.quote)[0]), FX_SIZE, FX_SIZE)
