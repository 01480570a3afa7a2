"""The broker interface implemented by the simulated broker and by the Interactive Brokers layer.

Every method may raise :class:`~sysbrokers.errors.BrokerDisconnected` when the broker cannot be
reached. Times are tz-aware UTC. "Now" is the broker's own notion of the current time (the
simulated broker uses its injected clock).

Shaped to fit an event-driven client (IB): broker order ids and execution ids are strings;
every order and execution carries our ``client_ref`` (IB ``orderRef``) and the account;
commissions may come later, keyed by execution id; :meth:`Broker.drain_events` hands over what
happened since the last call (status changes, executions, commission reports, disconnects).
Events are a convenience, not the truth: after a (re)connect, reconcile with
:meth:`Broker.get_orders`, :meth:`Broker.find_orders` and :meth:`Broker.get_executions`.
"""

from __future__ import annotations

import abc
from typing import Literal

import numpy as np
import pandas as pd

from sysbrokers.errors import NotSupportedByBroker, OrderRejected, RejectReason
from sysbrokers.objects import (
    AccountValue,
    BidAsk,
    BrokerContractDetails,
    BrokerEvent,
    BrokerOptionOrder,
    BrokerOptionPosition,
    BrokerOrder,
    BrokerPosition,
    Execution,
    FxTrade,
    OptionContract,
    OptionExecution,
    OptionExpiry,
    OptionQuoteSnapshot,
    OrderType,
    SpreadLeg,
    TradingHours,
    UnmappedPosition,
)

Frequency = Literal["D", "H"]
BAR_COLUMNS: tuple[str, ...] = ("OPEN", "HIGH", "LOW", "FINAL", "VOLUME")


def order_quantity(quantity) -> int:
    """``quantity`` (signed contracts) of a futures or option order as an ``int``;
    :class:`OrderRejected` (``INVALID_QUANTITY``) unless it is a non-zero integer (a bool or a
    float such as ``1.0`` is refused)."""
    if isinstance(quantity, bool) or not isinstance(quantity, (int, np.integer)) or quantity == 0:
        raise OrderRejected(RejectReason.INVALID_QUANTITY,
                            f"quantity must be a non-zero integer, got {quantity!r}")
    return int(quantity)


def fx_quantity(quantity) -> float:
    """``quantity`` (signed, units of the bought currency) of a cash FX trade as a ``float``;
    :class:`OrderRejected` (``INVALID_QUANTITY``) unless it is a finite non-zero number."""
    if (isinstance(quantity, bool) or not isinstance(quantity, (int, float, np.number))
            or not np.isfinite(quantity) or quantity == 0):
        raise OrderRejected(RejectReason.INVALID_QUANTITY,
                            f"an FX quantity must be a non-zero number, got {quantity!r}")
    return float(quantity)


class Broker(abc.ABC):
    """Abstract broker. Errors are exceptions from :mod:`sysbrokers.errors`."""

    #: whether :meth:`place_spread_order` is implemented (the stack handler sends no spread
    #: order to a broker without it, and says so on the contract order)
    supports_spread_orders: bool = False

    # ---- connection -----------------------------------------------------------------------
    @abc.abstractmethod
    def connect(self) -> None:
        """Connect (idempotent). Events start to accumulate from here."""

    @abc.abstractmethod
    def is_connected(self) -> bool:
        """Whether the last known state of the connection is up."""

    @abc.abstractmethod
    def drain_events(self) -> list[BrokerEvent]:
        """Events since the previous call (oldest first), each returned once."""

    # ---- reference data -------------------------------------------------------------------
    @abc.abstractmethod
    def list_instruments(self) -> list[str]:
        """Instrument codes this broker can trade, sorted."""

    @abc.abstractmethod
    def get_contract_details(
        self, instrument_code: str, contract_date: str
    ) -> BrokerContractDetails:
        """Details of one contract; :class:`UnknownContract` if the broker does not know it."""

    @abc.abstractmethod
    def get_active_contracts(self, instrument_code: str) -> list[BrokerContractDetails]:
        """Contracts listed and not expired now, nearest expiry first."""

    @abc.abstractmethod
    def get_trading_hours(
        self, instrument_code: str, start: pd.Timestamp, end: pd.Timestamp
    ) -> TradingHours:
        """Sessions overlapping ``[start, end]``."""

    @abc.abstractmethod
    def is_open(self, instrument_code: str, when: pd.Timestamp | None = None) -> bool:
        """Whether the instrument trades at ``when`` (default now)."""

    # ---- market data ----------------------------------------------------------------------
    @abc.abstractmethod
    def get_historical_bars(
        self,
        instrument_code: str,
        contract_date: str,
        frequency: Frequency,
        start: pd.Timestamp,
        end: pd.Timestamp,
    ) -> pd.DataFrame:
        """OHLCV bars with columns :data:`BAR_COLUMNS` and a UTC index.

        Each bar is labelled with the time it ended (the end of the hour or the session close,
        whichever is earlier; daily bars with the trading day's last session close), so a bar
        is never visible before its FINAL price is known. Only bars with ``start <= label <=
        min(end, now)`` are returned.
        """

    @abc.abstractmethod
    def get_fx_prices(
        self, ccy1: str, ccy2: str, start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.Series:
        """Daily mid prices of one ``ccy1`` in ``ccy2`` (UTC index, up to now)."""

    @abc.abstractmethod
    def get_bid_ask(self, instrument_code: str, contract_date: str) -> BidAsk:
        """Top-of-book snapshot now (the last one before the close if the market is shut)."""

    # ---- account --------------------------------------------------------------------------
    @abc.abstractmethod
    def get_positions(self) -> list[BrokerPosition]:
        """Non-zero positions."""

    def get_unmapped_positions(self) -> list[UnmappedPosition]:
        """Non-zero positions in contracts this broker cannot name as (instrument, contract):
        held at the broker but missing from :meth:`get_positions`. The default: none."""
        return []

    @abc.abstractmethod
    def get_account_value(self) -> AccountValue:
        """Cash, mark-to-market and margin now."""

    # ---- orders ---------------------------------------------------------------------------
    @abc.abstractmethod
    def place_order(
        self,
        instrument_code: str,
        contract_date: str,
        quantity: int,
        order_type: OrderType = OrderType.MARKET,
        limit_price: float | None = None,
        client_ref: str = "",
        account: str = "",
    ) -> BrokerOrder:
        """Send an order; returns it as recorded. :class:`OrderRejected` if refused.
        ``account`` empty: the broker's default account."""

    def place_spread_order(
        self,
        instrument_code: str,
        legs: tuple[SpreadLeg, SpreadLeg],
        quantity: int,
        order_type: OrderType = OrderType.MARKET,
        limit_price: float | None = None,
        client_ref: str = "",
        account: str = "",
    ) -> BrokerOrder:
        """Send a two-leg (calendar) spread order in one instrument: ``quantity`` spread units
        (signed; negative sells the spread), each trading ``quantity * leg.ratio`` contracts in
        each leg, filled **atomically** (both legs or neither, in whole units).

        Price convention: ``legs[0]`` has a positive ratio, ``legs[1]`` a negative one
        (:func:`~sysbrokers.objects.check_spread_legs`); the spread's price is
        ``ratio1 * price1 + ratio2 * price2``, i.e. **leg 1's price minus leg 2's** for a 1:1
        calendar. Buying the spread buys leg 1 at its ask and sells leg 2 at its bid; a LIMIT
        spread fills only when that synthetic price is at or better than ``limit_price`` (which
        may be zero or negative). The returned :class:`BrokerOrder` has ``legs`` set and counts
        units and spread prices; its fills come as one :class:`Execution` per leg with its own
        ``exec_id``. Modify, cancel, get and find work on it as on an outright order.
        The default raises :class:`NotSupportedByBroker`."""
        raise NotSupportedByBroker(f"spread orders are not supported by this broker "
                                   f"({type(self).__name__})")

    @abc.abstractmethod
    def modify_order(
        self, order_id: str, quantity: int | None = None, limit_price: float | None = None
    ) -> BrokerOrder:
        """Change quantity and/or limit price of a live order (:class:`InvalidOrderState`)."""

    @abc.abstractmethod
    def cancel_order(self, order_id: str) -> BrokerOrder:
        """Request cancellation. Fills can still arrive until the cancel takes effect."""

    @abc.abstractmethod
    def get_order(self, order_id: str) -> BrokerOrder:
        """One order (:class:`UnknownOrder` if the id is unknown)."""

    @abc.abstractmethod
    def get_orders(self, open_only: bool = False) -> list[BrokerOrder]:
        """All orders (or only non-terminal ones), by id."""

    def find_orders(self, client_ref: str) -> list[BrokerOrder]:
        """Orders placed with our reference ``client_ref`` (after a restart: what did I place?)."""
        return [o for o in self.get_orders() if o.client_ref == client_ref]

    @abc.abstractmethod
    def get_executions(self, since: pd.Timestamp | None = None) -> list[Execution]:
        """Executions with ``timestamp >= since`` (all if ``None``), by exec id."""

    # ---- cash FX ----------------------------------------------------------------------------
    @abc.abstractmethod
    def trade_fx(self, ccy1: str, ccy2: str, quantity: float, client_ref: str = "",
                 account: str = "") -> FxTrade:
        """Buy ``quantity`` of ``ccy1`` (negative: sell) against ``ccy2`` at the market now
        (a cash conversion, e.g. to pay margin in another currency). :class:`OrderRejected`
        (unknown currency, zero or non-finite quantity, unknown account) if refused."""

    @abc.abstractmethod
    def get_fx_trades(self, client_ref: str = "") -> list[FxTrade]:
        """Cash FX trades done (only those with our reference ``client_ref`` if given),
        oldest first."""

    # ---- options on futures (optional: the default raises NotSupportedByBroker) -----------
    def _no_options(self) -> NotSupportedByBroker:
        return NotSupportedByBroker(f"options are not supported by this broker "
                                    f"({type(self).__name__})")

    def get_option_quote(self, contract: OptionContract) -> OptionQuoteSnapshot:
        """Bid, ask, mid and delta of one option now."""
        raise self._no_options()

    def place_option_order(self, contract: OptionContract, quantity: int, client_ref: str = "",
                           account: str = "", order_type: OrderType = OrderType.MARKET,
                           limit_price: float | None = None) -> BrokerOptionOrder:
        """Send an order for ``quantity`` options (signed): MARKET, or LIMIT at
        ``limit_price`` (premium in the future's price units, on the tick).
        :class:`OrderRejected` if refused."""
        raise self._no_options()

    def modify_option_order(self, order_id: str, quantity: int | None = None,
                            limit_price: float | None = None) -> BrokerOptionOrder:
        """Change quantity and/or limit price of a live option order
        (:class:`InvalidOrderState`, :class:`OrderRejected` for a bad new value)."""
        raise self._no_options()

    def cancel_option_order(self, order_id: str) -> BrokerOptionOrder:
        """Request cancellation of an option order; fills can arrive until it takes effect."""
        raise self._no_options()

    def get_option_order(self, order_id: str) -> BrokerOptionOrder:
        """One option order (:class:`UnknownOrder` if the id is unknown)."""
        raise self._no_options()

    def get_option_orders(self, open_only: bool = False) -> list[BrokerOptionOrder]:
        """All option orders (or only non-terminal ones), by id."""
        raise self._no_options()

    def find_option_orders(self, client_ref: str) -> list[BrokerOptionOrder]:
        """Option orders placed with our reference ``client_ref``."""
        return [o for o in self.get_option_orders() if o.client_ref == client_ref]

    def get_option_executions(self, since: pd.Timestamp | None = None
                              ) -> list[OptionExecution]:
        """Option executions with ``timestamp >= since`` (all if ``None``), by exec id."""
        raise self._no_options()

    def get_option_positions(self) -> list[BrokerOptionPosition]:
        """Non-zero option positions."""
        raise self._no_options()

    def get_option_expiry(self, contract: OptionContract) -> OptionExpiry | None:
        """How ``contract`` expired (see :class:`OptionExpiry`), ``None`` while it trades;
        :class:`UnknownContract` if not listed."""
        raise self._no_options()

    def halt_reason(self, now: pd.Timestamp | None = None) -> str:
        """Why trading must halt because of the broker itself (e.g. blind for longer than the
        disconnect policy allows), or ``""``. The default: never."""
        return ""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections. The default does nothing."""
