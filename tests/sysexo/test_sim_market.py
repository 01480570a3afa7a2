"""The EXO engine's adapter over the simulated market."""
from __future__ import annotations

import gc
import weakref

from sysbrokers.sim.market import default_market
from sysbrokers.sim.options import SimOptionChains
from sysexo.settings import ProductSettings
from sysexo.sim_market import SimExoMarket


def test_answers_are_cached_per_adapter_and_freed_with_it():
    chains = SimOptionChains(default_market())
    market = SimExoMarket(chains, {"GOLD": ProductSettings()})
    futures = market.futures("GOLD")
    assert futures and market.futures("GOLD") is futures  # computed once
    other = SimExoMarket(chains, {"GOLD": ProductSettings()})
    assert other.futures("GOLD") == futures and other.futures("GOLD") is not futures
    gone = weakref.ref(market)
    del market
    gc.collect()
    assert gone() is None  # no cache outside the adapter keeps it (and its caches) alive
