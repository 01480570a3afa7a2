"""``IBBroker``: the :class:`~sysbrokers.broker.Broker` interface on Interactive Brokers.

Built from small parts: :mod:`.connection` (client ids, 326, reconnects, blindness),
:mod:`.contracts` (mapping from the IB futures config, expiries from contract details),
:mod:`.history` (bars with pacing), :mod:`.orders` (ids, records, status from executions).

Time: "now" is the injected clock (the data blob's), as for the simulated broker; times IB
reports (executions) are converted to UTC. Quantities are signed contracts; prices are in our
units (see :mod:`.contracts` for the price magnifier).

Reconciliation: at every (re)connect, all open orders (``reqAllOpenOrders``) and the day's
executions (``reqExecutions``) are read and merged into the order book: fills made while we were
disconnected are recorded once (keyed by execId) and reported as events, and an order of ours
that TWS no longer lists is finished (FILLED if its executions are complete, else CANCELLED).
"""
from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
from ib_async import (
    ComboLeg,
    Contract,
    ExecutionFilter,
    LimitOrder,
    MarketOrder,
    Order,
    RequestError,
    Trade,
    util,
)

from sysbrokers.broker import Broker, Frequency, fx_quantity, order_quantity
from sysbrokers.errors import (
    BrokerError,
    InvalidOrderState,
    MarketDataUnavailable,
    OrderRejected,
    RejectReason,
    UnknownContract,
    UnknownOrder,
)
from sysbrokers.IB.client_ids import ClientIdAllocator
from sysbrokers.IB.connection import IBConnection
from sysbrokers.IB.contracts import ContractResolver, IBContract
from sysbrokers.IB.fx_trades import FxTradeBook
from sysbrokers.IB.history import HistoryService, empty_bars
from sysbrokers.IB.hours import WeeklyHours
from sysbrokers.IB.orders import (
    CANCELLING_CODES,
    REJECTING_CODES,
    OrderBook,
    TrackedOrder,
    reject_reason,
)
from sysbrokers.objects import (
    AccountValue,
    BidAsk,
    BrokerContractDetails,
    BrokerEvent,
    BrokerOrder,
    BrokerPosition,
    CommissionEvent,
    CommissionReport,
    ConnectionEvent,
    Execution,
    ExecutionEvent,
    FxTrade,
    OrderStatus,
    OrderStatusEvent,
    OrderType,
    SpreadLeg,
    TradingHours,
    UnmappedPosition,
    check_spread_legs,
)
from syscore.clock import Clock
from syscore.config_models import IBConfig
from syscore.dates import to_utc
from sysdata.broker_config import IBFuturesConfig
from sysdata.process_control import ClientIdData
from sysdata.state.base import StateStore

log = logging.getLogger(__name__)

MARKET_DATA_ERRORS = frozenset({354, 10089, 10090, 10167, 10168, 10197, 200})
UNSET = 1.7976931348623157e308  # IB's "no value" double


class IBBroker(Broker):
    """See the module docstring. Connects on construction (as the simulated broker does)."""

    supports_spread_orders = True

    def __init__(
        self,
        config: IBConfig,
        clock: Clock,
        store: StateStore,
        mapping: list[IBFuturesConfig],
        owner: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        connect: bool = True,
    ):
        self.config = config
        self.clock = clock
        ids = ClientIdAllocator(ClientIdData(store), config.client_id_min, config.client_id_max,
                                owner)
        self.connection = IBConnection(config, ids, clock, sleep=sleep)
        self.ib = self.connection.ib
        self.contracts = ContractResolver(self.connection, mapping)
        self.history = HistoryService(self.connection, config, sleep=sleep)
        self.book = OrderBook(store)
        self.fx_book = FxTradeBook(store)
        self._fx_pending: set[int] = set()
        self._events: list[BrokerEvent] = []
        self._hours: dict[str, WeeklyHours] = {}
        self._order_errors: dict[int, tuple[int, str]] = {}
        #: order id -> (quantity, limit) of a modify in flight or not yet answered (its wait
        #: timed out): an error for that id is about the change, not the live order
        self._modifying: dict[int, tuple[int, float | None]] = {}
        self._market_data_errors: dict[int, tuple[int, str]] = {}
        #: (account, contract, quantity) of positions without a mapping already alerted
        self._unmapped_alerted: set[tuple[str, str, float]] = set()
        self.ib.openOrderEvent += self._on_open_order
        self.ib.orderStatusEvent += self._on_order_status
        self.ib.errorEvent += self._on_error
        self._early_commissions: dict[str, object] = {}
        self._keep_early_commissions()
        self.connection.on_disconnect.append(self._on_connection_lost)
        self.connection.on_reconnect.append(self._on_reconnected)
        if connect:
            self.connect()

    # ================================================================= connection & events
    def connect(self) -> None:
        """Connect (idempotent) and reconcile orders and executions with TWS."""
        if self.connection.is_connected():
            return
        first = not self.connection.ever_connected
        self.connection.connect()
        if first:
            self._above_order_ids()
            self.reconcile()

    def is_connected(self) -> bool:
        return self.connection.is_connected()

    def disconnect(self) -> None:
        """Drop the socket (as a gateway restart would); the next call reconnects."""
        self.connection.disconnect()

    def close(self) -> None:
        self.connection.close()

    @property
    def client_id(self) -> int | None:
        return self.connection.client_id

    def should_halt(self, now: pd.Timestamp | None = None) -> bool:
        """Whether IB has been unreachable longer than ``ib.disconnect_halt_seconds``."""
        return self.connection.should_halt(now)

    def halt_reason(self, now: pd.Timestamp | None = None) -> str:
        """Non-empty once IB has been unreachable longer than ``ib.disconnect_halt_seconds``
        (a lost socket is noticed first, without waiting)."""
        if self.connection.blind_since is None and self.ib.isConnected():
            try:
                self.connection.pump()  # let ib_async notice a socket that has gone
            except BrokerError:
                pass
        if not self.connection.should_halt(now):
            return ""
        blind = self.connection.blind_for(now).total_seconds()
        return (f"broker ib blind for {blind:.0f} s, longer than ib.disconnect_halt_seconds "
                f"{self.config.disconnect_halt_seconds:.0f}")

    def heartbeat(self, timeout: float = 5.0) -> bool:
        """Whether TWS answers a round trip within ``timeout`` s (a silent one is dropped and
        reconnected by the next call); see :meth:`IBConnection.heartbeat`."""
        return self.connection.heartbeat(timeout)

    def _ready(self) -> None:
        self.connection.ensure_connected()
        self.connection.pump()
        if self.connection.needs_reconcile:  # IB reported 1101/1102: connectivity restored
            self._on_reconnected()
        self._collect_fills()

    def drain_events(self) -> list[BrokerEvent]:
        """Order status changes, executions, commission reports and connection changes since
        the last call. A lost connection is retried first (see :mod:`.connection`)."""
        try:
            self._ready()
        except BrokerError as exc:
            log.warning("IB: %s", exc)
        events, self._events = self._events, []
        return events

    def sync(self) -> None:
        """Wait until TWS has answered everything sent before (a reqCurrentTime round trip),
        then take in what arrived."""
        self.connection.round_trip()
        self._ready()

    def _on_connection_lost(self, reason: str) -> None:
        self._events.append(ConnectionEvent(False, reason, self.clock.now()))

    def _above_order_ids(self) -> None:
        """ib_async numbers requests from TWS's next valid id: keep request ids above every
        order id we ever used, or an error for a request (200 for contract details) would be
        taken as an error of the order with the same id."""
        self.ib.client.updateReqId(self.book.last_order_id() + 1)

    def _on_reconnected(self) -> None:
        self._above_order_ids()
        self.reconcile()
        self._events.append(ConnectionEvent(True, "reconnected: orders and executions "
                                            "reconciled", self.clock.now()))

    def reconcile(self) -> None:
        """Merge TWS's open orders and the day's executions into the order book."""
        self.connection.needs_reconcile = False
        trades = self.connection.run(lambda: self.ib.reqAllOpenOrdersAsync(), "reqAllOpenOrders")
        live: set[str] = set()
        for trade in trades:
            tracked = self._tracked(trade.order)
            if tracked is not None:
                live.add(tracked.order.order_id)
                self._update_from_trade(tracked, trade, use_status=True)
        fills = self.connection.run(lambda: self.ib.reqExecutionsAsync(), "reqExecutions")
        self._collect_fills(fills)
        now = self.clock.now()
        for order_id, tracked in list(self.book.orders.items()):
            if tracked.order.is_terminal or order_id in live:
                continue
            before = tracked.order.status
            t = self.book.refresh(order_id, now)
            if not t.order.is_terminal:
                t = self.book.refresh(order_id, now, ib_status="Cancelled",
                                      error_text="not open at IB when reconciled")
            if t.order.status is not before:
                self._events.append(OrderStatusEvent(t.order))

    # ================================================================= reference data
    def list_instruments(self) -> list[str]:
        return self.contracts.instruments()

    def get_contract_details(self, instrument_code: str, contract_date: str
                             ) -> BrokerContractDetails:
        return self.contracts.future(instrument_code, contract_date).broker_details()

    def get_active_contracts(self, instrument_code: str) -> list[BrokerContractDetails]:
        return [c.broker_details() for c in self.contracts.active(instrument_code)]

    def _weekly_hours(self, instrument_code: str) -> WeeklyHours:
        if instrument_code not in self._hours:
            front = self.contracts.active(instrument_code)[0]
            self._hours[instrument_code] = front.hours()
        return self._hours[instrument_code]

    def get_trading_hours(self, instrument_code: str, start: pd.Timestamp, end: pd.Timestamp
                          ) -> TradingHours:
        return self._weekly_hours(instrument_code).trading_hours(instrument_code, start, end)

    def is_open(self, instrument_code: str, when: pd.Timestamp | None = None) -> bool:
        when = when if when is not None else self.clock.now()
        hours = self.get_trading_hours(instrument_code, when - pd.Timedelta(days=1),
                                       when + pd.Timedelta(days=1))
        return hours.is_open(when)

    # ================================================================= market data
    def get_historical_bars(self, instrument_code: str, contract_date: str,
                            frequency: Frequency, start: pd.Timestamp, end: pd.Timestamp
                            ) -> pd.DataFrame:
        try:
            c = self.contracts.future(instrument_code, contract_date)
        except UnknownContract:
            if self._listed_later(instrument_code, contract_date):
                return empty_bars()  # as the simulated broker: no bars before the listing
            raise
        contract = _with_expired(c.contract)
        return self.history.bars(contract, c.hours(), frequency, start, end, self.clock.now(),
                                 "TRADES", f"{instrument_code} {contract_date}")

    def _listed_later(self, instrument_code: str, contract_date: str) -> bool:
        """Whether ``contract_date`` is after every contract IB lists now (not listed yet)."""
        try:
            active = self.contracts.active(instrument_code)
        except UnknownContract:
            return False
        return contract_date[:6] > max(c.contract_date for c in active)

    def get_fx_prices(self, ccy1: str, ccy2: str, start: pd.Timestamp, end: pd.Timestamp
                      ) -> pd.Series:
        """Daily MIDPOINT closes of one ``ccy1`` in ``ccy2``; inverted when IB quotes the pair
        the other way round (USD.JPY for JPY in USD)."""
        contract, details, inverted = self.contracts.fx(ccy1, ccy2)
        hours = WeeklyHours.from_ib(details.tradingHours, details.timeZoneId)
        bars = self.history.bars(contract, hours, "D", start, end, self.clock.now(), "MIDPOINT",
                                 f"FX {ccy1}{ccy2}")
        prices = bars["FINAL"].astype(float)
        if inverted:
            prices = 1.0 / prices
        prices.name = f"{ccy1}{ccy2}"
        return prices

    def get_bid_ask(self, instrument_code: str, contract_date: str) -> BidAsk:
        """A snapshot (reqMktData); :class:`MarketDataUnavailable` on 354 (no subscription),
        10197 (competing live session) or a quote without a bid and an ask."""
        c = self.contracts.future(instrument_code, contract_date)
        self._ready()
        self._market_data_errors.pop(c.contract.conId, None)
        what = f"{instrument_code} {contract_date}"
        try:
            tickers = self.connection.run(lambda: self.ib.reqTickersAsync(c.contract),
                                          f"quote of {what}")
        except RequestError as exc:
            self._market_data_errors.pop(c.contract.conId, None)
            raise MarketDataUnavailable(
                f"no quote for {what}: IB error {exc.code}: {exc.message}") from None
        error = self._market_data_errors.pop(c.contract.conId, None)
        if error is not None:
            raise MarketDataUnavailable(f"no quote for {what}: IB error {error[0]}: {error[1]}")
        t = tickers[0] if tickers else None
        values = (t.bid, t.ask, t.bidSize, t.askSize) if t is not None else (math.nan,) * 4
        if any(v is None or not np.isfinite(v) or v <= 0 for v in values):
            raise MarketDataUnavailable(f"no quote for {what}: IB sent no bid and ask")
        return BidAsk(instrument_code, c.contract_date, float(t.bid), float(t.ask),
                      int(t.bidSize), int(t.askSize), self.clock.now())

    # ================================================================= account
    def get_positions(self) -> list[BrokerPosition]:
        """Non-zero positions of the configured account (all accounts if none is set).

        A position in a contract without an IB mapping cannot be named as (instrument,
        contract) and is left out; it is logged at CRITICAL (an alert, through the alert
        handler) the first time this broker sees it with that quantity, and listed by
        :meth:`get_unmapped_positions`."""
        mapped, unmapped = self._read_positions()
        for u in unmapped:
            key = (u.account, u.description, u.quantity)
            if key not in self._unmapped_alerted:
                self._unmapped_alerted.add(key)
                log.critical("IB position without an IB mapping: %s %s in %s is not in "
                             "systrade's positions (add its IB futures config, or close it "
                             "by hand)", u.description, _quantity_text(u.quantity), u.account)
        return mapped

    def get_unmapped_positions(self) -> list[UnmappedPosition]:
        """Non-zero positions of the configured account in contracts without an IB mapping
        (futures of a symbol not in the IB futures config, stocks, options ...; cash FX
        balances are account values, not positions, and are never listed)."""
        return self._read_positions()[1]

    def _read_positions(self) -> tuple[list[BrokerPosition], list[UnmappedPosition]]:
        self._ready()
        positions = self.connection.run(lambda: self.ib.reqPositionsAsync(), "reqPositions")
        account = self.connection.account
        out, unmapped = [], []
        for p in positions:
            if not p.position or (account and p.account != account):
                continue  # another account of the same login: not ours
            c = self.contracts.from_ib(p.contract)
            if c is None:
                if p.contract.secType != "CASH":
                    unmapped.append(UnmappedPosition(p.account, _describe(p.contract),
                                                     float(p.position), float(p.avgCost)))
                continue
            out.append(BrokerPosition(c.instrument_code, c.contract_date, int(p.position),
                                      float(p.avgCost) / c.point_value))
        return (sorted(out, key=lambda p: (p.instrument_code, p.contract_date)),
                sorted(unmapped, key=lambda u: (u.account, u.description)))

    def get_account_value(self) -> AccountValue:
        """Net liquidation in the base currency (``NetLiquidation``), cash and unrealised P&L
        per currency, initial margin (``InitMarginReq``), from a fresh reqAccountUpdates."""
        self._ready()
        account = self.connection.account
        self.connection.run(lambda: self.ib.reqAccountUpdatesAsync(account), "reqAccountUpdates")
        values = [v for v in self.ib.accountValues(account)]
        base = next((v.value for v in values if v.tag == "Currency" and v.value), "")
        cash: dict[str, float] = {}
        unrealised: dict[str, float] = {}
        net = margin = None
        for v in values:
            if v.tag == "CashBalance" and v.currency not in ("", "BASE"):
                cash[v.currency] = float(v.value)
            elif v.tag == "UnrealizedPnL" and v.currency not in ("", "BASE"):
                unrealised[v.currency] = float(v.value)
            elif v.tag == "NetLiquidation" and v.currency not in ("", "BASE"):
                net = float(v.value)
                base = base or v.currency
            elif v.tag == "InitMarginReq" and v.currency not in ("", "BASE"):
                margin = float(v.value)
        if net is None:
            raise BrokerError(f"IB reported no NetLiquidation for account {account or '?'}")
        return AccountValue(base, cash, unrealised, net, margin or 0.0, self.clock.now())

    # ================================================================= orders
    def place_order(self, instrument_code: str, contract_date: str, quantity: int,
                    order_type: OrderType = OrderType.MARKET, limit_price: float | None = None,
                    client_ref: str = "", account: str = "") -> BrokerOrder:
        """Send an order (``orderRef`` = ``client_ref``) and wait until TWS acknowledges or
        refuses it (:class:`OrderRejected`, with the order id when one was recorded)."""
        quantity = order_quantity(quantity)
        order_type = OrderType(order_type)
        if (order_type is OrderType.LIMIT) != (limit_price is not None):
            raise OrderRejected(RejectReason.INVALID_PRICE,
                                "a LIMIT order needs a limit price, a MARKET order none")
        self._check_account(account)
        try:
            c = self.contracts.future(instrument_code, contract_date)
        except UnknownContract as exc:
            raise OrderRejected(RejectReason.UNKNOWN_CONTRACT, str(exc)) from None
        self._ready()
        account = account or self.connection.account
        order_id = self.book.next_order_id(self.ib.client.getReqId())
        self.ib.client.updateReqId(order_id + 1)
        action = "BUY" if quantity > 0 else "SELL"
        if order_type is OrderType.MARKET:
            ib_order: Order = MarketOrder(action, abs(quantity))
        else:
            ib_order = LimitOrder(action, abs(quantity), float(limit_price))
        ib_order.orderId = order_id
        ib_order.orderRef = client_ref
        ib_order.account = account
        ib_order.tif = "GTC"
        now = self.clock.now()
        tracked = TrackedOrder(BrokerOrder(
            str(order_id), instrument_code, c.contract_date, quantity, order_type,
            float(limit_price) if limit_price is not None else None,
            OrderStatus.PENDING_SUBMIT, client_ref=client_ref, account=account,
            placed_at=now, updated_at=now), client_id=self.client_id)
        self.book.add(tracked)  # recorded before it is sent: a crash leaves a record
        self.ib.placeOrder(c.contract, ib_order)
        self.connection.wait_until(lambda: tracked.ib_status != "" or tracked.error_code)
        self._collect_fills()
        order = tracked.order
        if order.status is OrderStatus.REJECTED:
            raise OrderRejected(reject_reason(tracked.error_text), tracked.error_text,
                                order.order_id)
        return order

    def place_spread_order(self, instrument_code: str, legs: tuple[SpreadLeg, SpreadLeg],
                           quantity: int, order_type: OrderType = OrderType.MARKET,
                           limit_price: float | None = None, client_ref: str = "",
                           account: str = "") -> BrokerOrder:
        """See :meth:`Broker.place_spread_order`: a BAG contract (symbol, exchange and currency
        of the instrument) with one ``comboLeg`` per leg (its conId, ``|ratio|``, BUY for leg 1
        and SELL for leg 2), action BUY for a positive ``quantity`` (buying the spread) and
        SELL for a negative one, ``lmtPrice`` the spread price (leg 1 minus leg 2), ``orderRef``
        our ``client_ref``. Its fills come as one execution per leg (booked) plus one of the
        BAG itself (never reported: it would count the fill twice)."""
        quantity = order_quantity(quantity)
        order_type = OrderType(order_type)
        if (order_type is OrderType.LIMIT) != (limit_price is not None):
            raise OrderRejected(RejectReason.INVALID_PRICE,
                                "a LIMIT order needs a limit price, a MARKET order none")
        try:
            legs = check_spread_legs(legs)
        except ValueError as exc:
            raise OrderRejected(RejectReason.UNKNOWN_CONTRACT, f"bad spread legs: {exc}") from None
        self._check_account(account)
        try:
            resolved = [self.contracts.future(instrument_code, leg.contract_date) for leg in legs]
        except UnknownContract as exc:
            raise OrderRejected(RejectReason.UNKNOWN_CONTRACT, str(exc)) from None
        legs = tuple(SpreadLeg(c.contract_date, leg.ratio)
                     for c, leg in zip(resolved, legs, strict=True))
        self._ready()
        account = account or self.connection.account
        order_id = self.book.next_order_id(self.ib.client.getReqId())
        self.ib.client.updateReqId(order_id + 1)
        bag = _bag(resolved, legs)
        ib_order = _ib_order(quantity, order_type, limit_price)
        ib_order.orderId = order_id
        ib_order.orderRef = client_ref
        ib_order.account = account
        ib_order.tif = "GTC"
        now = self.clock.now()
        tracked = TrackedOrder(BrokerOrder(
            str(order_id), instrument_code, legs[0].contract_date, quantity, order_type,
            float(limit_price) if limit_price is not None else None,
            OrderStatus.PENDING_SUBMIT, client_ref=client_ref, account=account,
            placed_at=now, updated_at=now, legs=legs), client_id=self.client_id)
        self.book.add(tracked)  # recorded before it is sent: a crash leaves a record
        self.ib.placeOrder(bag, ib_order)
        self.connection.wait_until(lambda: tracked.ib_status != "" or tracked.error_code)
        self._collect_fills()
        order = tracked.order
        if order.status is OrderStatus.REJECTED:
            raise OrderRejected(reject_reason(tracked.error_text), tracked.error_text,
                                order.order_id)
        return order

    def _check_account(self, account: str) -> None:
        """:class:`OrderRejected` (``UNKNOWN_ACCOUNT``) for an ``account`` other than the
        configured ``ib.account`` (any account when none is configured)."""
        configured = self.config.account.get_secret_value() if self.config.account else ""
        if account and configured and account != configured:
            raise OrderRejected(RejectReason.UNKNOWN_ACCOUNT, "not the configured IB account")

    def _ours_to_change(self, tracked: TrackedOrder, what: str) -> None:
        """IB lets only the client id that placed an order modify or cancel it; under another
        one the same order id is a new order (a modify would place it twice)."""
        if tracked.client_id != self.client_id:
            placed = (f"client id {tracked.client_id}" if tracked.client_id is not None
                      else "an unknown client id")
            raise InvalidOrderState(
                f"order {tracked.order.order_id} was placed under IB {placed}, not this "
                f"session's client id {self.client_id}: only that client id can {what} it")

    def _live(self, order_id: str) -> TrackedOrder:
        self._ready()
        tracked = self.book.orders.get(str(order_id))
        if tracked is None:
            raise UnknownOrder(f"no IB order with id {order_id} placed by systrade")
        return tracked

    def modify_order(self, order_id: str, quantity: int | None = None,
                     limit_price: float | None = None) -> BrokerOrder:
        tracked = self._live(order_id)
        o = tracked.order
        if o.is_terminal or o.status is OrderStatus.PENDING_CANCEL:
            raise InvalidOrderState(f"order {order_id} is {o.status.name} and cannot be modified")
        new_qty = o.quantity if quantity is None else int(quantity)
        if (new_qty == 0 or (new_qty > 0) != (o.quantity > 0)
                or abs(new_qty) < abs(o.filled_quantity)):
            raise InvalidOrderState(f"order {order_id}: new quantity {new_qty} must keep the "
                                    f"sign and be at least the filled {o.filled_quantity}")
        if limit_price is not None and o.order_type is not OrderType.LIMIT:
            raise InvalidOrderState(f"order {order_id} is a MARKET order: no limit price to "
                                    "change")
        new_limit = float(limit_price) if limit_price is not None else o.limit_price
        self._ours_to_change(tracked, "modify")
        if o.legs:  # the same BAG again
            ib_contract = _bag([self.contracts.future(o.instrument_code, leg.contract_date)
                                for leg in o.legs], o.legs)
        else:
            ib_contract = self.contracts.future(o.instrument_code, o.contract_date).contract
        ib_order = _ib_order(new_qty, o.order_type, new_limit)
        ib_order.orderId = int(order_id)
        ib_order.permId = tracked.perm_id
        ib_order.orderRef = o.client_ref
        ib_order.account = o.account
        ib_order.tif = "GTC"
        key = int(order_id)
        self._order_errors.pop(key, None)
        self._reopen_locally(key)
        self._modifying[key] = (new_qty, new_limit)
        try:
            self.ib.placeOrder(ib_contract, ib_order)
            done = self.connection.wait_until(
                lambda: key in self._order_errors or (
                    tracked.order.quantity == new_qty and tracked.order.limit_price == new_limit))
        except BaseException:
            self._modifying.pop(key, None)
            raise
        if key in self._order_errors:
            self._modifying.pop(key, None)
            code, text = self._order_errors.pop(key)
            if code == 201:
                raise OrderRejected(reject_reason(text), text, str(order_id))
            raise InvalidOrderState(f"order {order_id} not modified: IB error {code}: {text}")
        if not done:
            # the change stays pending: IB's late answer is about it (a 201 then refuses the
            # change, not the live order; a confirmation ends it: _modify_settled)
            log.warning("IB order %s: the change to %s @ %s is not confirmed yet; a late "
                        "refusal will leave the order as it was", order_id, new_qty, new_limit)
            raise BrokerError(f"IB did not confirm the change of order {order_id}")
        self._modifying.pop(key, None)
        return tracked.order

    def _modify_settled(self, tracked: TrackedOrder) -> None:
        """A modify whose wait timed out ends when TWS reports the changed order (or the order
        ends)."""
        key = int(tracked.order.order_id)
        target = self._modifying.get(key)
        if target is None:
            return
        o = tracked.order
        if o.is_terminal or (o.quantity, o.limit_price) == target:
            self._modifying.pop(key, None)

    def _reopen_locally(self, order_id: int) -> None:
        """ib_async marks a trade Cancelled on informational errors (10349); its modify
        refuses such a trade. Our book says it is live: let ib_async agree."""
        for trade in self.ib.trades():
            if trade.order.orderId == order_id and trade.orderStatus.status == "Cancelled":
                trade.orderStatus.status = "Submitted"

    def cancel_order(self, order_id: str) -> BrokerOrder:
        tracked = self._live(order_id)
        if tracked.order.is_terminal:
            raise InvalidOrderState(f"order {order_id} is {tracked.order.status.name} and "
                                    "cannot be cancelled")
        self._ours_to_change(tracked, "cancel")
        key = int(order_id)
        self._order_errors.pop(key, None)
        self.ib.client.cancelOrder(key, "")
        self.connection.wait_until(
            lambda: key in self._order_errors
            or tracked.order.status in (OrderStatus.PENDING_CANCEL, OrderStatus.CANCELLED,
                                        OrderStatus.FILLED))
        if key in self._order_errors:
            code, text = self._order_errors.pop(key)
            if code in (10147, 10148, 104, 161, 135):
                self.reconcile()
                raise InvalidOrderState(f"order {order_id} cannot be cancelled: IB error "
                                        f"{code}: {text}")
        return tracked.order

    def get_order(self, order_id: str) -> BrokerOrder:
        return self._live(order_id).order

    def get_orders(self, open_only: bool = False) -> list[BrokerOrder]:
        self._ready()
        orders = [t.order for t in self.book.orders.values()]
        if open_only:
            orders = [o for o in orders if not o.is_terminal]
        return sorted(orders, key=lambda o: int(o.order_id))

    def get_executions(self, since: pd.Timestamp | None = None) -> list[Execution]:
        """Executions known to the book with ``timestamp >= since`` (all if ``None``), after
        a fresh reqExecutions; with ``since`` TWS is asked only for the executions from then
        on (``ExecutionFilter.time``, UTC), so a reconciliation reads only what is new."""
        exec_filter = ExecutionFilter(acctCode=self.connection.account)
        if since is not None:
            exec_filter.time = to_utc(since).strftime("%Y%m%d-%H:%M:%S")
        fills = self.connection.run(lambda: self.ib.reqExecutionsAsync(exec_filter),
                                    "reqExecutions")
        self._collect_fills(fills)
        out = [e for e in self.book.executions.values() if since is None or e.timestamp >= since]
        return sorted(out, key=lambda e: e.exec_id)

    # ================================================================= cash FX
    def trade_fx(self, ccy1: str, ccy2: str, quantity: float, client_ref: str = "",
                 account: str = "") -> FxTrade:
        """A MKT order on the IDEALPRO pair ``ccy1.ccy2`` (``orderRef`` = ``client_ref``),
        ``quantity`` in ``ccy1``, waited for until its executions are complete.

        IB lists a pair one way only (EUR.USD, USD.JPY) and an order's quantity is in the base
        currency, so ``ccy1`` must be the base IB lists: the other direction (USD against EUR)
        is refused with the pair to use (:class:`OrderRejected`). Not filled within
        ``ib.timeout_seconds``: :class:`BrokerError` (the order may still fill: look it up
        with :meth:`get_fx_trades` and the ``client_ref``)."""
        quantity = fx_quantity(quantity)
        self._check_account(account)
        if ccy1 == ccy2:
            raise OrderRejected(RejectReason.UNKNOWN_CONTRACT, f"{ccy1}{ccy2} is not a pair")
        try:
            contract, _details, inverted = self.contracts.fx(ccy1, ccy2)
        except UnknownContract as exc:
            raise OrderRejected(RejectReason.UNKNOWN_CONTRACT, str(exc)) from None
        if inverted:
            raise OrderRejected(
                RejectReason.UNKNOWN_CONTRACT,
                f"IB trades {ccy2}.{ccy1}, quantity in {ccy2}: trade {ccy2} against {ccy1}")
        self._ready()
        account = account or self.connection.account
        order_id = self.book.next_order_id(self.ib.client.getReqId())
        self.ib.client.updateReqId(order_id + 1)
        ib_order = MarketOrder("BUY" if quantity > 0 else "SELL", abs(quantity))
        ib_order.orderId = order_id
        ib_order.orderRef = client_ref
        ib_order.account = account
        ib_order.tif = "DAY"
        self._fx_pending.add(order_id)
        self._order_errors.pop(order_id, None)
        target = abs(quantity)

        def fills() -> list:
            return [f for f in self.ib.wrapper.fills.values()
                    if f.contract.secType == "CASH" and f.execution.orderId == order_id
                    and f.execution.clientId == self.client_id]

        def executed() -> float:
            return sum(float(f.execution.shares) for f in fills())

        try:
            self.ib.placeOrder(contract, ib_order)
            self.connection.wait_until(
                lambda: order_id in self._order_errors or executed() >= target - 1e-9)
            self._collect_fills()
        finally:
            self._fx_pending.discard(order_id)
        if executed() < target - 1e-9:
            code, text = self._order_errors.pop(order_id, (0, ""))
            if code in REJECTING_CODES | CANCELLING_CODES:
                raise OrderRejected(reject_reason(text), f"IB error {code}: {text}")
            raise BrokerError(f"FX order {order_id} ({client_ref or 'no reference'}) not "
                              f"filled yet{f': IB error {code}: {text}' if code else ''}; "
                              "look it up by its reference")
        trade_ids = {f"ib.fx.{f.execution.permId}" for f in fills()}
        trades = [t for t in self.fx_book.trades() if t.trade_id in trade_ids]
        if len(trades) != 1:
            raise BrokerError(f"FX order {order_id}: executions of {len(trades)} trades")
        return trades[0]

    def get_fx_trades(self, client_ref: str = "") -> list[FxTrade]:
        """Cash FX trades recorded, after a fresh reqExecutions (so a trade done before a
        crash is found by its ``client_ref`` while IB still reports the day's executions)."""
        fills = self.connection.run(lambda: self.ib.reqExecutionsAsync(), "reqExecutions")
        self._collect_fills(fills)
        return self.fx_book.trades(client_ref)

    # ================================================================= IB messages
    def _tracked(self, ib_order: Order) -> TrackedOrder | None:
        return self.book.by_ib(ib_order.orderId, ib_order.permId, ib_order.orderRef)

    def _update_from_trade(self, tracked: TrackedOrder, trade: Trade, use_status: bool) -> None:
        before = tracked.order.status
        o = trade.order
        facts = {"perm_id": o.permId or None, "client_id": o.clientId or None}
        if use_status:
            facts["ib_status"] = trade.orderStatus.status
            facts["ib_filled"] = int(trade.orderStatus.filled or 0)
        if o.totalQuantity:
            sign = 1 if o.action == "BUY" else -1
            facts["quantity"] = sign * int(o.totalQuantity)
        if tracked.order.order_type is OrderType.LIMIT and o.lmtPrice not in (None, UNSET):
            facts["limit_price"] = float(o.lmtPrice)
        t = self.book.refresh(tracked.order.order_id, self.clock.now(), **facts)
        if t.order.status is not before:
            self._events.append(OrderStatusEvent(t.order))

    def _on_open_order(self, trade: Trade) -> None:
        tracked = self._tracked(trade.order)
        if tracked is not None:
            self._update_from_trade(tracked, trade, use_status=True)
            self._modify_settled(self.book.orders.get(tracked.order.order_id, tracked))

    def _on_order_status(self, trade: Trade) -> None:
        tracked = self._tracked(trade.order)
        if tracked is None:
            return
        from_error = bool(trade.log) and trade.log[-1].errorCode != 0
        self._update_from_trade(tracked, trade, use_status=not from_error)
        self._modify_settled(self.book.orders.get(tracked.order.order_id, tracked))

    def _on_error(self, req_id: int, code: int, text: str, contract: Contract | None) -> None:
        if contract is not None and code in MARKET_DATA_ERRORS and contract.conId:
            self._market_data_errors[contract.conId] = (code, text)
        if req_id in self._fx_pending:
            self._order_errors[req_id] = (code, text)
            return
        tracked = self.book.orders.get(str(req_id)) if req_id > 0 else None
        if tracked is None or tracked.order.is_terminal:
            return  # a finished order cannot change: an error with its id is not about it
        self._order_errors[req_id] = (code, text)
        if req_id in self._modifying and code != 202:
            # a refusal of the change (201 off-tick, size limit ...), not of the live order,
            # also when it comes after the modify's wait timed out
            target = self._modifying.pop(req_id)
            log.warning("IB order %s: modify to %s @ %s refused: IB error %s: %s", req_id,
                        target[0], target[1], code, text)
        elif code in REJECTING_CODES | CANCELLING_CODES:
            before = tracked.order.status
            t = self.book.refresh(tracked.order.order_id, self.clock.now(), error_code=code,
                                  error_text=text)
            if t.order.status is not before:
                self._events.append(OrderStatusEvent(t.order))
        else:
            log.info("IB order %s: informational error %s (order still live): %s", req_id,
                     code, text)

    def _keep_early_commissions(self) -> None:
        """TWS may send a commission report before its execution; ib_async drops a report
        whose execId it has not seen. Keep those, to be joined when the execution arrives."""
        wrapper = self.ib.wrapper
        original = wrapper.commissionReport

        def commission_report(report) -> None:
            if report.execId and report.execId not in wrapper.fills:
                self._early_commissions[report.execId] = report
            original(report)

        wrapper.commissionReport = commission_report

    def _collect_fills(self, fills=None) -> None:
        """Take in every execution ib_async knows (live, from reqExecutions, or from the
        startup sync) not seen before, and commissions that arrived since."""
        fills = list(fills) if fills is not None else list(self.ib.wrapper.fills.values())
        account = self.connection.account
        touched: set[str] = set()
        for fill in fills:
            if account and fill.execution.acctNumber and fill.execution.acctNumber != account:
                continue  # another account of the same login: not ours
            if fill.contract.secType == "CASH":
                self.fx_book.add_fill(fill)  # a cash FX trade, not a futures fill
                continue
            ex = fill.execution
            early = self._early_commissions.pop(ex.execId, None)
            if early is not None and not fill.commissionReport.execId:
                util.dataclassUpdate(fill.commissionReport, early)
            report = fill.commissionReport
            known = self.book.executions.get(ex.execId)
            if known is None:
                execution = self._execution(fill)
                if execution is None:
                    continue
                recorded = self.book.add_execution(execution)
                if recorded is None:
                    continue  # a correction that changes no quantity (logged)
                execution = recorded
                self._events.append(ExecutionEvent(execution))
                touched.add(execution.order_id)
                known = execution
                if execution.commission is not None:
                    self._events.append(CommissionEvent(CommissionReport(
                        execution.exec_id, execution.commission,
                        execution.commission_currency, execution.timestamp)))
            elif known.commission is None and report.execId:
                updated = self.book.set_commission(ex.execId, float(report.commission),
                                                   report.currency)
                touched.add(known.order_id)
                self._events.append(CommissionEvent(CommissionReport(
                    updated.exec_id, float(report.commission), updated.commission_currency,
                    updated.timestamp)))
        now = self.clock.now()
        for order_id in touched:
            if order_id in self.book.orders:
                before = self.book.orders[order_id].order.status
                t = self.book.refresh(order_id, now)
                if t.order.status is not before:
                    self._events.append(OrderStatusEvent(t.order))

    def _execution(self, fill) -> Execution | None:
        ex = fill.execution
        if fill.contract.secType == "BAG":
            return None  # a BAG order's own execution: its legs' executions are the fills
        c: IBContract | None = self.contracts.from_ib(fill.contract)
        if c is None:
            log.warning("IB execution %s in %s has no IB mapping: ignored", ex.execId,
                        fill.contract.localSymbol)
            return None
        tracked = self.book.by_ib(ex.orderId, ex.permId, ex.orderRef)
        order_id = tracked.order.order_id if tracked is not None else str(ex.orderId)
        sign = 1 if ex.side.upper() in ("BOT", "BUY") else -1
        report = fill.commissionReport
        commission = float(report.commission) if report.execId else None
        return Execution(
            exec_id=ex.execId, order_id=order_id, instrument_code=c.instrument_code,
            contract_date=c.contract_date, quantity=sign * int(ex.shares), price=float(ex.price),
            commission=commission,
            commission_currency=(report.currency or c.contract.currency),
            timestamp=to_utc(ex.time), client_ref=ex.orderRef, account=ex.acctNumber)


def _ib_order(quantity: int, order_type: OrderType, limit_price: float | None) -> Order:
    """A MKT or LMT order for signed ``quantity`` (BUY when positive)."""
    action = "BUY" if quantity > 0 else "SELL"
    if order_type is OrderType.LIMIT:
        return LimitOrder(action, abs(quantity), float(limit_price))
    return MarketOrder(action, abs(quantity))


def _bag(resolved: list[IBContract], legs: tuple[SpreadLeg, ...]) -> Contract:
    """The BAG contract of a calendar spread: the legs' conIds, ``|ratio|`` and BUY (leg 1)
    or SELL (leg 2), on the instrument's exchange."""
    first = resolved[0].contract
    return Contract(
        secType="BAG", symbol=first.symbol, exchange=first.exchange, currency=first.currency,
        comboLegs=[ComboLeg(conId=c.contract.conId, ratio=abs(leg.ratio),
                            action="BUY" if leg.ratio > 0 else "SELL",
                            exchange=c.contract.exchange)
                   for c, leg in zip(resolved, legs, strict=True)])


def _describe(contract: Contract) -> str:
    """IB's name for a contract, for people: ``FUT GBL GBLU4 EUREX EUR conId 200324326``."""
    parts = [contract.secType, contract.symbol, contract.localSymbol,
             contract.exchange or contract.primaryExchange, contract.currency]
    return " ".join(p for p in parts if p) + f" conId {contract.conId}"


def _quantity_text(quantity: float) -> str:
    return f"{quantity:+g}"


def _with_expired(contract: Contract) -> Contract:
    """A copy asking IB to include expired contracts (qualifying resets the flag)."""
    copy = Contract(**{k: getattr(contract, k) for k in (
        "conId", "symbol", "secType", "lastTradeDateOrContractMonth", "multiplier", "exchange",
        "currency", "localSymbol", "tradingClass")})
    copy.includeExpired = True
    return copy
