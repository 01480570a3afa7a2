"""Market simulator and simulated broker (the default broker).

See ``docs/simulator.md``.
"""

from sysbrokers.sim.bad_data import BadDataConfig, BadDataInjection, BadDataKind
from sysbrokers.sim.broker import SimBroker, SimBrokerConfig, default_broker_path
from sysbrokers.sim.market import MarketModel, default_market
from sysbrokers.sim.universe import Universe, UniverseError, load_universe

__all__ = [
    "BadDataConfig",
    "BadDataInjection",
    "BadDataKind",
    "MarketModel",
    "SimBroker",
    "SimBrokerConfig",
    "Universe",
    "UniverseError",
    "default_broker_path",
    "default_market",
    "load_universe",
]
