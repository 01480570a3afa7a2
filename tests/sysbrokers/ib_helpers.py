"""Helpers for tests of the IB broker against the fake TWS: the IB mapping of the simulated
universe and a broker connected to a running :class:`FakeTwsThread`."""
from __future__ import annotations

from pathlib import Path

from sysbrokers.IB.broker import IBBroker
from sysbrokers.sim.market import MarketModel
from syscore.config_models import IBConfig
from sysdata.broker_config import IBFuturesConfig
from sysdata.state.sqlite_store import SqliteStateStore


def ib_mapping(market: MarketModel) -> list[IBFuturesConfig]:
    """The IB futures config of every instrument of the simulated universe (as
    ``init_from_sim_universe`` stores it)."""
    out = []
    for code in market.instruments():
        ib = market.spec(code).ib
        out.append(IBFuturesConfig(code, ib.symbol, ib.exchange, ib.currency, ib.multiplier,
                                   float(ib.price_magnifier)))
    return out


def ib_config(port: int, **overrides) -> IBConfig:
    """Fast test settings: short timeouts, no waiting between retries."""
    values = dict(port=port, timeout_seconds=5.0, reconnect_initial_seconds=0.0,
                  reconnect_attempts=2, history_retry_seconds=0.0,
                  history_identical_gap_seconds=0.0)
    values.update(overrides)
    return IBConfig(**values)


def ib_broker(port: int, clock, store_dir: Path, market: MarketModel, sleeps=None,
              **overrides) -> IBBroker:
    """An IB broker on its own SQLite state store in ``store_dir``; ``sleeps`` (a list)
    records every back-off instead of sleeping."""
    store_dir.mkdir(parents=True, exist_ok=True)
    store = SqliteStateStore(store_dir / "state.sqlite")
    sleep = sleeps.append if sleeps is not None else (lambda _s: None)
    return IBBroker(ib_config(port, **overrides), clock, store, ib_mapping(market),
                    owner="testhost:1", sleep=sleep)
