"""Option series traded through the futures interface: :class:`OptionRoutedBroker`.

The execution layer (order stacks, pre-trade gate, algos, ledger, reconciliation) speaks the
futures half of :class:`~sysbrokers.broker.Broker`: ``(instrument_code, contract_date)``. This
wrapper lets it trade option legs unchanged: an instrument code in the option format of
:mod:`sysobjects.option_instruments` (``<PRODUCT>-<YYYYMM>-<C|P><STRIKE>-<YYYYMMDD>[-<CODE>]``)
with the underlying future's month as contract date is routed to the wrapped broker's option
methods; every other code goes to its futures methods unchanged.

* Contract details: the future's (multiplier, currency, tick), the code and the option's
  expiry; trading hours and ``is_open``: the future's.
* Top of book: the option's bid/ask, each with ``touch_size`` contracts (the simulated broker's
  ``option_touch_size``; the chain quotes no size).
* Orders: placed with :meth:`Broker.place_option_order`; their broker id is the option order's
  id prefixed ``opt-`` (futures ids are digits), so modify, cancel, ``get_order`` and
  ``find_orders`` route by id; ``get_orders`` lists both kinds.
* Executions: option executions (their own ids, ``simopt.*``) in :meth:`get_executions` and,
  as :class:`ExecutionEvent` and :class:`CommissionEvent`, in :meth:`drain_events` (those
  not yet drained by this object: from construction on, as the broker's own events);
* Positions: option positions as ``(option code, future month)`` positions.

A wrapped broker without options (:class:`NotSupportedByBroker`) shows none: option codes
are then unknown contracts and option orders are refused. Everything else (``trade_fx``,
``get_account_value``, attributes such as ``clock``) is the wrapped broker's.
"""
from __future__ import annotations

import pandas as pd

from sysbrokers.broker import Broker, Frequency
from sysbrokers.errors import (
    BrokerError,
    NotSupportedByBroker,
    OrderRejected,
    RejectReason,
    UnknownContract,
    UnknownOrder,
)
from sysbrokers.objects import (
    BidAsk,
    BrokerContractDetails,
    BrokerEvent,
    BrokerOptionOrder,
    BrokerOrder,
    BrokerPosition,
    CommissionEvent,
    CommissionReport,
    Execution,
    ExecutionEvent,
    OptionContract,
    OptionExecution,
    OrderType,
)
from sysobjects.option_instruments import OptionSeries, parse_option_code

OPTION_ORDER_PREFIX = "opt-"


def option_contract(series: OptionSeries) -> OptionContract:
    return OptionContract(series.product, series.future, series.right, series.strike,
                          series.expiry, series.option_code)


def series_of(contract: OptionContract) -> OptionSeries:
    return OptionSeries(contract.instrument_code, contract.contract_date, contract.right,
                        contract.strike, contract.expiry, contract.option_code)


class OptionRoutedBroker(Broker):
    """See the module docstring. ``inner``: the broker wrapped; ``touch_size``: the size shown
    at an option's bid and ask (default: ``inner.config.option_touch_size``, else 1)."""

    def __init__(self, inner: Broker, touch_size: int | None = None):
        self.inner = inner
        config = getattr(inner, "config", None)
        self.touch_size = int(touch_size if touch_size is not None
                              else getattr(config, "option_touch_size", 1))
        self._drained: set[str] | None = None
        try:  # events from construction on (the stack handler recovers the rest on start)
            self._drained = {e.exec_id for e in self._option_executions()}
        except BrokerError:
            pass  # disconnected: from the first drain on

    def __getattr__(self, name: str):  # clock, market, store... of the wrapped broker
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    # ---- routing helpers ---------------------------------------------------------------------
    def _series(self, instrument_code: str, contract_date: str | None = None
                ) -> OptionSeries | None:
        series = parse_option_code(instrument_code)
        if series is not None and contract_date is not None \
                and str(contract_date)[:6] != series.future:
            raise UnknownContract(f"{instrument_code} is an option on {series.future}, "
                                  f"not on {contract_date}")
        return series

    @staticmethod
    def _option_id(order_id: str) -> str | None:
        text = str(order_id)
        return text[len(OPTION_ORDER_PREFIX):] if text.startswith(OPTION_ORDER_PREFIX) else None

    def _option_executions(self, since: pd.Timestamp | None = None) -> list[OptionExecution]:
        try:
            return self.inner.get_option_executions(since)
        except NotSupportedByBroker:
            return []

    @staticmethod
    def _as_order(o: BrokerOptionOrder) -> BrokerOrder:
        return BrokerOrder(
            order_id=OPTION_ORDER_PREFIX + o.order_id, instrument_code=series_of(o.contract).code,
            contract_date=o.contract.contract_date, quantity=o.quantity,
            order_type=o.order_type, limit_price=o.limit_price, status=o.status,
            filled_quantity=o.filled_quantity, avg_fill_price=o.avg_fill_price,
            commission=o.commission, reason=o.reason, client_ref=o.client_ref,
            account=o.account, placed_at=o.placed_at, updated_at=o.updated_at)

    @staticmethod
    def _as_execution(e: OptionExecution) -> Execution:
        return Execution(e.exec_id, OPTION_ORDER_PREFIX + e.order_id, series_of(e.contract).code,
                         e.contract.contract_date, e.quantity, e.price, e.commission,
                         e.commission_currency, e.timestamp, client_ref=e.client_ref,
                         account=e.account)

    # ---- connection and events -----------------------------------------------------------------
    def connect(self) -> None:
        self.inner.connect()

    def is_connected(self) -> bool:
        return self.inner.is_connected()

    def drain_events(self) -> list[BrokerEvent]:
        events = self.inner.drain_events()
        if not self.inner.is_connected():
            return events
        extra: list[BrokerEvent] = []
        executions = self._option_executions()
        if self._drained is None:
            self._drained = {e.exec_id for e in executions}
        for e in executions:
            if e.exec_id in self._drained:
                continue
            self._drained.add(e.exec_id)
            extra.append(ExecutionEvent(self._as_execution(e)))
            extra.append(CommissionEvent(CommissionReport(e.exec_id, float(e.commission),
                                                          e.commission_currency, e.timestamp)))
        return extra + events

    def close(self) -> None:
        self.inner.close()

    def halt_reason(self, now: pd.Timestamp | None = None) -> str:
        return self.inner.halt_reason(now)

    # ---- reference data -----------------------------------------------------------------------
    def list_instruments(self) -> list[str]:
        return self.inner.list_instruments()

    def get_contract_details(self, instrument_code: str, contract_date: str
                             ) -> BrokerContractDetails:
        series = self._series(instrument_code, contract_date)
        if series is None:
            return self.inner.get_contract_details(instrument_code, contract_date)
        try:
            self.inner.get_option_expiry(option_contract(series))  # listed?
        except NotSupportedByBroker as exc:
            raise UnknownContract(f"{instrument_code}: {exc}") from None
        future = self.inner.get_contract_details(series.product, series.future)
        return BrokerContractDetails(instrument_code, series.future, series.expiry,
                                     future.multiplier, future.currency, future.tick_size,
                                     future.exchange, future.asset_class,
                                     f"option {instrument_code}")

    def get_active_contracts(self, instrument_code: str) -> list[BrokerContractDetails]:
        series = self._series(instrument_code)
        if series is None:
            return self.inner.get_active_contracts(instrument_code)
        try:
            expired = self.inner.get_option_expiry(option_contract(series))
        except NotSupportedByBroker:
            return []
        return [] if expired else [self.get_contract_details(instrument_code, series.future)]

    def _product(self, instrument_code: str) -> str:
        series = self._series(instrument_code)
        return series.product if series is not None else instrument_code

    def get_trading_hours(self, instrument_code: str, start: pd.Timestamp, end: pd.Timestamp):
        return self.inner.get_trading_hours(self._product(instrument_code), start, end)

    def is_open(self, instrument_code: str, when: pd.Timestamp | None = None) -> bool:
        return self.inner.is_open(self._product(instrument_code), when)

    # ---- market data ----------------------------------------------------------------------------
    def get_historical_bars(self, instrument_code: str, contract_date: str,
                            frequency: Frequency, start: pd.Timestamp,
                            end: pd.Timestamp) -> pd.DataFrame:
        if self._series(instrument_code) is not None:
            raise UnknownContract(f"{instrument_code}: no historical bars for options")
        return self.inner.get_historical_bars(instrument_code, contract_date, frequency, start,
                                              end)

    def get_fx_prices(self, ccy1: str, ccy2: str, start: pd.Timestamp,
                      end: pd.Timestamp) -> pd.Series:
        return self.inner.get_fx_prices(ccy1, ccy2, start, end)

    def get_bid_ask(self, instrument_code: str, contract_date: str) -> BidAsk:
        series = self._series(instrument_code, contract_date)
        if series is None:
            return self.inner.get_bid_ask(instrument_code, contract_date)
        try:
            quote = self.inner.get_option_quote(option_contract(series))
        except NotSupportedByBroker as exc:
            raise UnknownContract(f"{instrument_code}: {exc}") from None
        return BidAsk(instrument_code, series.future, quote.bid, quote.ask,
                      self.touch_size if quote.bid > 0 else 0, self.touch_size,
                      quote.timestamp)

    # ---- account --------------------------------------------------------------------------------
    def get_unmapped_positions(self):
        """The wrapped broker's (options it holds are named, so never among them)."""
        return self.inner.get_unmapped_positions()

    def get_positions(self) -> list[BrokerPosition]:
        positions = list(self.inner.get_positions())
        try:
            options = self.inner.get_option_positions()
        except NotSupportedByBroker:
            options = []
        return positions + [BrokerPosition(series_of(p.contract).code, p.contract.contract_date,
                                           p.quantity, p.average_price) for p in options]

    def get_account_value(self):
        return self.inner.get_account_value()

    # ---- orders ---------------------------------------------------------------------------------
    def place_order(self, instrument_code: str, contract_date: str, quantity: int,
                    order_type: OrderType = OrderType.MARKET, limit_price: float | None = None,
                    client_ref: str = "", account: str = "") -> BrokerOrder:
        try:
            series = self._series(instrument_code, contract_date)
        except UnknownContract as exc:
            raise OrderRejected(RejectReason.UNKNOWN_CONTRACT, str(exc)) from None
        if series is None:
            return self.inner.place_order(instrument_code, contract_date, quantity, order_type,
                                          limit_price, client_ref, account)
        try:
            placed = self.inner.place_option_order(option_contract(series), quantity,
                                                   client_ref, account, OrderType(order_type),
                                                   limit_price)
        except NotSupportedByBroker as exc:
            raise OrderRejected(RejectReason.UNKNOWN_CONTRACT, str(exc)) from None
        except OrderRejected as exc:
            order_id = None if exc.order_id is None else OPTION_ORDER_PREFIX + exc.order_id
            raise OrderRejected(exc.reason, exc.detail, order_id) from None
        return self._as_order(placed)

    @property
    def supports_spread_orders(self) -> bool:  # type: ignore[override]
        """The wrapped broker's: spreads are futures calendars, never routed to options."""
        return self.inner.supports_spread_orders

    def place_spread_order(self, instrument_code: str, legs, quantity: int,
                           order_type: OrderType = OrderType.MARKET,
                           limit_price: float | None = None, client_ref: str = "",
                           account: str = "") -> BrokerOrder:
        """Passed to the wrapped broker (an option code has no spread orders)."""
        if parse_option_code(instrument_code) is not None:
            raise NotSupportedByBroker(f"{instrument_code}: spread orders in options")
        return self.inner.place_spread_order(instrument_code, legs, quantity, order_type,
                                             limit_price, client_ref, account)

    def modify_order(self, order_id: str, quantity: int | None = None,
                     limit_price: float | None = None) -> BrokerOrder:
        option_id = self._option_id(order_id)
        if option_id is None:
            return self.inner.modify_order(order_id, quantity, limit_price)
        return self._as_order(self.inner.modify_option_order(option_id, quantity, limit_price))

    def cancel_order(self, order_id: str) -> BrokerOrder:
        option_id = self._option_id(order_id)
        if option_id is None:
            return self.inner.cancel_order(order_id)
        return self._as_order(self.inner.cancel_option_order(option_id))

    def get_order(self, order_id: str) -> BrokerOrder:
        option_id = self._option_id(order_id)
        if option_id is None:
            return self.inner.get_order(order_id)
        try:
            return self._as_order(self.inner.get_option_order(option_id))
        except NotSupportedByBroker:
            raise UnknownOrder(f"no order with id {order_id}") from None

    def _option_orders(self, open_only: bool = False) -> list[BrokerOrder]:
        try:
            return [self._as_order(o) for o in self.inner.get_option_orders(open_only)]
        except NotSupportedByBroker:
            return []

    def get_orders(self, open_only: bool = False) -> list[BrokerOrder]:
        return list(self.inner.get_orders(open_only)) + self._option_orders(open_only)

    def find_orders(self, client_ref: str) -> list[BrokerOrder]:
        try:
            options = [self._as_order(o) for o in self.inner.find_option_orders(client_ref)]
        except NotSupportedByBroker:
            options = []
        return list(self.inner.find_orders(client_ref)) + options

    def get_executions(self, since: pd.Timestamp | None = None) -> list[Execution]:
        return list(self.inner.get_executions(since)) + [
            self._as_execution(e) for e in self._option_executions(since)]

    # ---- cash FX and the option half itself ------------------------------------------------------
    def trade_fx(self, ccy1: str, ccy2: str, quantity: float, client_ref: str = "",
                 account: str = ""):
        return self.inner.trade_fx(ccy1, ccy2, quantity, client_ref, account)

    def get_fx_trades(self, client_ref: str = ""):
        return self.inner.get_fx_trades(client_ref)

    def get_option_quote(self, contract):
        return self.inner.get_option_quote(contract)

    def place_option_order(self, contract, quantity, client_ref="", account="",
                           order_type=OrderType.MARKET, limit_price=None):
        return self.inner.place_option_order(contract, quantity, client_ref, account,
                                             order_type, limit_price)

    def modify_option_order(self, order_id, quantity=None, limit_price=None):
        return self.inner.modify_option_order(order_id, quantity, limit_price)

    def cancel_option_order(self, order_id):
        return self.inner.cancel_option_order(order_id)

    def get_option_order(self, order_id):
        return self.inner.get_option_order(order_id)

    def get_option_orders(self, open_only=False):
        return self.inner.get_option_orders(open_only)

    def find_option_orders(self, client_ref):
        return self.inner.find_option_orders(client_ref)

    def get_option_executions(self, since=None):
        return self.inner.get_option_executions(since)

    def get_option_positions(self):
        return self.inner.get_option_positions()

    def get_option_expiry(self, contract):
        return self.inner.get_option_expiry(contract)
