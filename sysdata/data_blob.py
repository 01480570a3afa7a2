"""The data blob: everything a process needs, built once from configuration and passed around.

It owns the state store, the time-series store, the broker (built lazily, so processes that do
not trade never connect), the clock and the logger, and gives typed access to every data type.
The broker is built by a ``broker_factory(blob)`` passed in by whoever composes the process
(``sysproduction`` passes :func:`sysbrokers.factory.broker_from_blob`): this package sits above
``sysbrokers`` in ARCHITECTURE.md's table and never imports it.
Close it (or use it as a context manager) when the process ends.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

from syscore.config import load_config
from syscore.config_models import SystradeConfig
from syscore.exceptions import ConfigError, StoreError
from syscore.home import systrade_home
from syscore.store_urls import resolve_timeseries_uri
from sysdata.alpha_picks import AlphaPicksData
from sysdata.broker_config import BrokerConfigData
from sysdata.capital import CapitalData
from sysdata.contracts import FuturesContractData, RollStateData
from sysdata.controls import InstrumentLockData, OverrideData, PositionLimitData, TradeLimitData
from sysdata.home_record import HomeAccess, open_home_stores
from sysdata.instruments import InstrumentData, RollParametersData
from sysdata.ledger import LedgerData
from sysdata.logs import AlertData, LogData
from sysdata.optimal_positions import OptimalPositionData, SpreadData
from sysdata.orders import OrderStackData
from sysdata.positions import PositionData
from sysdata.prices import (
    AdjustedPricesData,
    FuturesContractPriceData,
    FxPricesData,
    MultiplePricesData,
    RollCalendarData,
)
from sysdata.process_control import ClientIdData, ProcessControlData
from sysdata.roll_journal import RollJournalData
from sysdata.state.base import StateStore
from sysdata.timeseries.arctic_store import TimeSeriesStore
from sysdata.trading_state import TradingStateData


def default_timeseries_uri(config: SystradeConfig, home: Path) -> str:
    """The time-series URI of ``config`` with LMDB paths made absolute (relative to ``home``)."""
    return resolve_timeseries_uri(config.timeseries_store, home)


class DataBlob:
    """Typed access to storage, broker, clock and log for one process.

    Build with :meth:`from_config` in production; tests may pass stores directly.
    ``broker_factory(blob)`` builds :attr:`broker` on first use; without one, :attr:`broker`
    raises :class:`ConfigError`.
    """

    def __init__(
        self,
        state: StateStore,
        timeseries: TimeSeriesStore,
        config: SystradeConfig,
        home: Path,
        clock: Any = None,
        broker_factory: Callable[[DataBlob], Any] | None = None,
        log: logging.Logger | None = None,
    ):
        self.state = state
        self.timeseries = timeseries
        self.config = config
        self.home = home
        self._clock = clock
        self._broker_factory = broker_factory
        self._broker = None
        self._order_stacks: dict[str, OrderStackData] = {}
        self.log = log or logging.getLogger("systrade")

    @classmethod
    def from_config(cls, home: Path | None = None, process_name: str = "systrade",
                    config: SystradeConfig | None = None,
                    access: HomeAccess = HomeAccess.USE,
                    broker_factory: Callable[[DataBlob], Any] | None = None) -> DataBlob:
        """The blob of ``home`` (default ``$SYSTRADE_HOME``). A never-used home is initialised;
        an initialised home whose stores are missing or empty is refused with
        :class:`StoreError` before anything is written (``access``: see
        :mod:`sysdata.home_record`; restores pass ``HomeAccess.RESTORE``). ``broker_factory``:
        see the class (``sysproduction.blob.production_blob`` passes the configured one)."""
        try:
            home = home or systrade_home()
            home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the systrade home: {exc}") from None
        config = config or load_config(home)
        opened = open_home_stores(home, config, access)
        return cls(opened.state, opened.timeseries, config, home,
                   broker_factory=broker_factory,
                   log=logging.getLogger(f"systrade.{process_name}"))

    # clock and broker ---------------------------------------------------------------------
    @property
    def clock(self):
        if self._clock is None:
            from syscore.clock import clock_from_config

            self._clock = clock_from_config(self.config.clock, self.home)
        return self._clock

    def now(self):
        """Current time, tz-aware UTC, from the blob's clock."""
        return self.clock.now()

    def batch(self, max_seconds: float = 0.5, max_records: int = 1000):
        """A context manager grouping the state-store changes made inside into few commits
        (:meth:`sysdata.state.base.StateStore.batch`: SQLite one transaction, committed after
        ``max_seconds`` [0.5] or ``max_records`` [1000] records and at each checkpoint;
        MongoDB no change)."""
        return self.state.batch(max_seconds, max_records)

    @property
    def broker(self):
        if self._broker is None:
            if self._broker_factory is None:
                raise ConfigError("this data blob has no broker: build it with a broker_factory "
                                  "(sysproduction.blob.production_blob wires the configured one)")
            self._broker = self._broker_factory(self)
        return self._broker

    # typed data access ----------------------------------------------------------------------
    @cached_property
    def instruments(self) -> InstrumentData:
        return InstrumentData(self.state)

    @cached_property
    def roll_parameters(self) -> RollParametersData:
        return RollParametersData(self.state)

    @cached_property
    def contracts(self) -> FuturesContractData:
        return FuturesContractData(self.state)

    @cached_property
    def roll_states(self) -> RollStateData:
        return RollStateData(self.state)

    @cached_property
    def alpha_picks(self) -> AlphaPicksData:
        return AlphaPicksData(self.state)

    @cached_property
    def roll_journal(self) -> RollJournalData:
        return RollJournalData(self.state, self.timeseries)

    @cached_property
    def contract_prices(self) -> FuturesContractPriceData:
        return FuturesContractPriceData(self.timeseries)

    @cached_property
    def multiple_prices(self) -> MultiplePricesData:
        return MultiplePricesData(self.timeseries)

    @cached_property
    def adjusted_prices(self) -> AdjustedPricesData:
        return AdjustedPricesData(self.timeseries)

    @cached_property
    def fx_prices(self) -> FxPricesData:
        return FxPricesData(self.timeseries)

    @cached_property
    def roll_calendars(self) -> RollCalendarData:
        return RollCalendarData(self.timeseries)

    @cached_property
    def capital(self) -> CapitalData:
        return CapitalData(self.timeseries)

    @cached_property
    def optimal_positions(self) -> OptimalPositionData:
        return OptimalPositionData(self.timeseries)

    @cached_property
    def spreads(self) -> SpreadData:
        return SpreadData(self.timeseries)

    @cached_property
    def ledger(self) -> LedgerData:
        return LedgerData(self.state)

    @cached_property
    def positions(self) -> PositionData:
        return PositionData(self.state, self.ledger)

    def order_stack(self, stack: str) -> OrderStackData:
        """One :class:`OrderStackData` per stack and blob (it keeps decoded orders)."""
        if stack not in self._order_stacks:
            self._order_stacks[stack] = OrderStackData(self.state, stack, self.ledger)
        return self._order_stacks[stack]

    @cached_property
    def locks(self) -> InstrumentLockData:
        return InstrumentLockData(self.state)

    @cached_property
    def trading_state(self) -> TradingStateData:
        return TradingStateData(self.state)

    @cached_property
    def trade_limits(self) -> TradeLimitData:
        return TradeLimitData(self.state)

    @cached_property
    def position_limits(self) -> PositionLimitData:
        return PositionLimitData(self.state)

    @cached_property
    def overrides(self) -> OverrideData:
        return OverrideData(self.state)

    @cached_property
    def process_control(self) -> ProcessControlData:
        return ProcessControlData(self.state)

    @cached_property
    def client_ids(self) -> ClientIdData:
        return ClientIdData(self.state)

    @cached_property
    def logs(self) -> LogData:
        return LogData(self.state)

    @cached_property
    def alerts(self) -> AlertData:
        return AlertData(self.state)

    @cached_property
    def broker_config(self) -> BrokerConfigData:
        return BrokerConfigData(self.state)

    # lifecycle ----------------------------------------------------------------------------
    def release_broker(self) -> None:
        """Close the broker, if one was built, and forget it: the next use of :attr:`broker`
        builds a new one (the stores stay open)."""
        broker, self._broker = self._broker, None
        if broker is not None and hasattr(broker, "close"):
            broker.close()

    def close(self) -> None:
        if self._broker is not None and hasattr(self._broker, "close"):
            self._broker.close()
        self.state.close()
        self.timeseries.close()

    def __enter__(self) -> DataBlob:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
