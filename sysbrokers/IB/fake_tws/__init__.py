"""A fake TWS / IB Gateway speaking the TWS socket API (server version 178) on the simulated
market and broker. See ``docs/ib.md`` and :mod:`sysbrokers.IB.fake_tws.server`."""

from sysbrokers.IB.fake_tws.server import FakeTws, FakeTwsConfig, FakeTwsThread, HistoryPacing

__all__ = ["FakeTws", "FakeTwsConfig", "FakeTwsThread", "HistoryPacing"]
