"""Build the broker named by the ``broker`` config key for a data blob."""

from __future__ import annotations

from typing import Any

import pandas as pd

from syscore.exceptions import BrokerUnavailable, ConfigError


def broker_from_blob(data: Any):
    """``sim``: the simulated broker on the shared market model, its books under
    ``$SYSTRADE_HOME/sim_broker``, extended with every configured instrument the shipped universe
    does not know and its FX pairs continued from the stored FX prices
    (:mod:`sysbrokers.sim.configured`: anchored on its stored prices), wrapped in
    :class:`~sysbrokers.option_routing.OptionRoutedBroker` so that option legs trade through the
    futures interface under their option codes;
    ``ib``: Interactive Brokers through ib_async (:class:`sysbrokers.IB.broker.IBBroker`) at
    ``ib.host``/``ib.port``, instruments mapped by the IB futures config in the state store;
    :class:`BrokerUnavailable` (one line) when TWS / IB Gateway cannot be reached."""
    config = data.config
    if config.broker == "sim":
        from sysbrokers.option_routing import OptionRoutedBroker

        return OptionRoutedBroker(sim_broker_from_blob(data))
    if config.broker == "ib":
        from sysbrokers.errors import BrokerDisconnected
        from sysbrokers.IB.broker import IBBroker

        try:
            return IBBroker(config.ib, data.clock, data.state,
                            data.broker_config.all_ib_futures())
        except BrokerDisconnected as exc:
            raise BrokerUnavailable(f"broker 'ib': {exc}") from None
    raise ConfigError(f"unknown broker {config.broker!r}")


def sim_broker_from_blob(data: Any):
    """The simulated broker of a home, from its ``sim`` settings and configured instruments,
    whatever its ``broker`` key says (the fake TWS serving a home with ``broker: ib`` trades on
    the same simulated market and book as that home would with ``broker: sim``)."""
    config = data.config
    from sysbrokers.sim.broker import SimBroker, SimBrokerConfig

    sim = config.sim
    broker_config = SimBrokerConfig(
        base_currency=config.base_currency,
        initial_cash=sim.initial_cash,
        latency=pd.Timedelta(seconds=sim.latency_seconds),
        slippage_ticks=sim.slippage_ticks,
        max_order_size=sim.max_order_size,
    )
    return SimBroker(clock=data.clock, home=data.home, market=sim_market_from_blob(data),
                     config=broker_config)


def sim_market_from_blob(data: Any):
    """The simulated market of a home: the shipped universe (``sim.seed``, ``sim`` bad-data
    rates) extended with its configured instruments and anchored FX pairs
    (:mod:`sysbrokers.sim.configured`). Reads the blob's stores: call it on the blob's thread
    (a fake TWS serving the home builds its broker from this market on its own thread)."""
    from sysbrokers.sim.bad_data import BadDataConfig
    from sysbrokers.sim.configured import (
        anchored_shipped_specs,
        configured_fx_specs,
        configured_instrument_specs,
        with_anchored_shipped,
        with_fx,
        with_instruments,
    )
    from sysbrokers.sim.market import MarketModel, default_market

    sim = data.config.sim
    bad = BadDataConfig(spike_rate=sim.spike_rate, zero_price_rate=sim.zero_price_rate,
                        zero_volume_rate=sim.zero_volume_rate)
    market = default_market(sim.seed)
    extra = configured_instrument_specs(data, market.universe)
    shipped = anchored_shipped_specs(data, market.universe)
    fx = configured_fx_specs(data, market.universe)
    if extra or shipped or fx or not bad.is_clean:
        universe = with_fx(with_anchored_shipped(with_instruments(market.universe, extra),
                                                 shipped), fx)
        market = MarketModel(universe, bad_data=bad)
    return market
