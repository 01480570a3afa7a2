"""Typed value objects exchanged with a broker.

Conventions (all objects):

* timestamps are tz-aware UTC :class:`pandas.Timestamp`;
* quantities are signed integers in contracts (positive = long / buy, negative = short / sell);
* prices are in the instrument's quoted units (the same units as historical bars), never
  scaled by an IB price magnifier;
* ``contract_date`` is ``'YYYYMM'`` (monthly contracts) or ``'YYYYMMDD'`` (dated contracts).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Mapping

import pandas as pd

from sysbrokers.errors import InvalidOrderState
from sysobjects.black76 import OptionRight
from sysobjects.orders.records import CommissionReport  # the ledger's record, as brokers report it


def _check_utc(name: str, value: pd.Timestamp) -> None:
    if not isinstance(value, pd.Timestamp) or value.tzinfo is None:
        raise ValueError(f"{name} must be a tz-aware pandas Timestamp, got {value!r}")
    if str(value.tzinfo) != "UTC":
        raise ValueError(f"{name} must be in UTC, got {value.tzinfo}")


def check_contract_date(contract_date: str) -> str:
    """Validate a ``'YYYYMM'`` or ``'YYYYMMDD'`` contract date and return it unchanged."""
    ok = isinstance(contract_date, str) and contract_date.isdigit() and len(contract_date) in (6, 8)
    if ok:
        month = int(contract_date[4:6])
        ok = 1 <= month <= 12
    if not ok:
        raise ValueError(f"contract_date must be 'YYYYMM' or 'YYYYMMDD', got {contract_date!r}")
    return contract_date


@dataclass(frozen=True)
class BrokerContractDetails:
    """What the broker knows about one futures contract.

    ``multiplier`` is the value of one price point in ``currency`` (e.g. 50 USD per cent for
    CBOT corn quoted in cents). ``expiry`` is the last trading date (exchange local date).
    IB's own view of a contract (symbol, exchange, multiplier, price magnifier) is not here:
    it belongs to the IB mapping (:class:`sysdata.broker_config.IBFuturesConfig`).
    """

    instrument_code: str
    contract_date: str
    expiry: dt.date
    multiplier: float
    currency: str
    tick_size: float
    exchange: str
    asset_class: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        check_contract_date(self.contract_date)
        if self.multiplier <= 0 or self.tick_size <= 0:
            raise ValueError("multiplier and tick_size must be positive")


@dataclass(frozen=True)
class TradingSession:
    """One continuous trading session, ``open`` inclusive and ``close`` exclusive (UTC)."""

    open: pd.Timestamp
    close: pd.Timestamp

    def __post_init__(self) -> None:
        _check_utc("open", self.open)
        _check_utc("close", self.close)
        if self.close <= self.open:
            raise ValueError(f"session closes ({self.close}) before it opens ({self.open})")

    def contains(self, when: pd.Timestamp) -> bool:
        return self.open <= when < self.close


@dataclass(frozen=True)
class TradingHours:
    """The sessions of one instrument over a period, sorted and non-overlapping."""

    instrument_code: str
    sessions: tuple[TradingSession, ...]

    def is_open(self, when: pd.Timestamp) -> bool:
        _check_utc("when", when)
        return any(session.contains(when) for session in self.sessions)

    def next_open(self, when: pd.Timestamp) -> pd.Timestamp | None:
        """Start of the first session opening at or after ``when`` (``None`` if none known)."""
        for session in self.sessions:
            if session.open >= when:
                return session.open
        return None


@dataclass(frozen=True)
class BidAsk:
    """Top of book for one contract at ``timestamp`` (UTC). Sizes are in contracts.

    When the market is closed the snapshot is the last one before the close, so its
    ``timestamp`` is older than the time of the request: check it for staleness.
    """

    instrument_code: str
    contract_date: str
    bid: float
    ask: float
    bid_size: int
    ask_size: int
    timestamp: pd.Timestamp

    def __post_init__(self) -> None:
        _check_utc("timestamp", self.timestamp)

    @property
    def mid(self) -> float:
        return (self.bid + self.ask) / 2.0

    @property
    def spread(self) -> float:
        return self.ask - self.bid


@dataclass(frozen=True)
class BrokerPosition:
    """A position held at the broker; ``average_price`` is the average entry price."""

    instrument_code: str
    contract_date: str
    quantity: int
    average_price: float


@dataclass(frozen=True)
class UnmappedPosition:
    """A position the broker holds in a contract systrade cannot name (IB: no IB futures
    config for its symbol and exchange): not in :meth:`Broker.get_positions`, so no
    reconciliation sees it unless it is listed on its own. ``description`` is the broker's
    name for the contract (IB: secType, symbol, localSymbol, exchange, currency, conId)."""

    account: str
    description: str
    quantity: float
    average_cost: float


@dataclass(frozen=True)
class OptionContract:
    """An option on a futures contract: the underlying future (``instrument_code`` and its
    ``contract_date``), ``right``, ``strike`` (in the future's price units), the option's
    ``expiry`` (last trading date) and its ``option_code`` (``""`` the plain code; serial or
    weekly options have their own). Futures keep using ``(instrument_code, contract_date)``
    everywhere; options are only ever named by this object."""

    instrument_code: str
    contract_date: str
    right: OptionRight
    strike: float
    expiry: dt.date
    option_code: str = ""

    def __post_init__(self) -> None:
        check_contract_date(self.contract_date)
        object.__setattr__(self, "right", OptionRight(self.right))
        if not self.strike > 0:
            raise ValueError(f"an option strike must be positive, got {self.strike!r}")

    @property
    def key(self) -> str:
        """A readable unique id, e.g. ``GOLD 202406 C2350 @20240524`` (code appended if any)."""
        code = f" {self.option_code}" if self.option_code else ""
        return (f"{self.instrument_code} {self.contract_date} {self.right.value}{self.strike:g}"
                f" @{self.expiry:%Y%m%d}{code}")


@dataclass(frozen=True)
class OptionQuoteSnapshot:
    """Top of book of one option now: bid, ask, mid (model value) and delta (per contract,
    futures equivalent), ``timestamp`` UTC."""

    contract: OptionContract
    bid: float
    ask: float
    mid: float
    delta: float
    timestamp: pd.Timestamp

    def __post_init__(self) -> None:
        _check_utc("timestamp", self.timestamp)


@dataclass(frozen=True)
class BrokerOptionPosition:
    """An option position at the broker; ``average_price`` is the average premium paid
    (price units of the underlying future)."""

    contract: OptionContract
    quantity: int
    average_price: float


def _check_order_quantities(quantity: int, filled_quantity: int) -> None:
    """``ValueError`` unless ``quantity`` is non-zero and ``filled_quantity`` has its sign and
    does not exceed it (the invariants of every order, futures or option)."""
    if quantity == 0:
        raise ValueError("order quantity must not be zero")
    if filled_quantity and (filled_quantity > 0) != (quantity > 0):
        raise ValueError("filled_quantity must have the sign of quantity")
    if abs(filled_quantity) > abs(quantity):
        raise ValueError("an order can never be overfilled")


@dataclass(frozen=True)
class OptionExpiry:
    """How an expired option ended: at ``expired_at`` (UTC) against the future's
    ``final_price``, worth ``intrinsic`` (0: expired worthless). An option in the money is
    exercised into one future per option (a call long, a put short, for a holder; the other
    way round for a writer) when ``future_trades_on`` (the future outlives the option); else
    the future settles at once and only cash remains."""

    contract: OptionContract
    expired_at: pd.Timestamp
    final_price: float
    intrinsic: float
    future_trades_on: bool

    def __post_init__(self) -> None:
        _check_utc("expired_at", self.expired_at)

    @property
    def exercised(self) -> bool:
        """Whether a holder ends with a future position."""
        return self.intrinsic > 0 and self.future_trades_on

    @property
    def future_per_option(self) -> int:
        """Futures per option held when exercised: +1 for a call, -1 for a put, else 0."""
        if not self.exercised:
            return 0
        return 1 if self.contract.right is OptionRight.CALL else -1


@dataclass(frozen=True)
class AccountValue:
    """The account at ``timestamp``.

    ``cash`` is settled cash per currency (initial cash, realised P&L, commissions).
    ``unrealised_pnl`` is the mark-to-market of open positions per currency, marked at mid.
    ``net_liquidation`` is (cash + unrealised) converted to ``base_currency``.
    ``margin_used`` is the initial margin on open positions in ``base_currency``.
    """

    base_currency: str
    cash: Mapping[str, float]
    unrealised_pnl: Mapping[str, float]
    net_liquidation: float
    margin_used: float
    timestamp: pd.Timestamp

    def __post_init__(self) -> None:
        _check_utc("timestamp", self.timestamp)
        object.__setattr__(self, "cash", MappingProxyType(dict(self.cash)))
        object.__setattr__(self, "unrealised_pnl", MappingProxyType(dict(self.unrealised_pnl)))

    @property
    def available_funds(self) -> float:
        return self.net_liquidation - self.margin_used


class OrderType(enum.Enum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"


@dataclass(frozen=True)
class SpreadLeg:
    """One leg of a two-leg (calendar) spread order: ``contract_date`` and ``ratio``, the signed
    whole contracts one unit of the spread trades in it.

    Convention (every broker): a spread has exactly two legs, leg 1 with a positive ratio and
    leg 2 with a negative one, so *buying* one unit buys leg 1 and sells leg 2, and the spread's
    price is ``ratio1 * price1 + ratio2 * price2`` (for the usual 1:1 calendar: **leg 1's price
    minus leg 2's**). A spread order of ``quantity`` units (signed: negative sells the spread)
    trades ``quantity * ratio`` contracts in each leg. See :func:`check_spread_legs`."""

    contract_date: str
    ratio: int

    def __post_init__(self) -> None:
        check_contract_date(self.contract_date)
        if isinstance(self.ratio, bool) or not isinstance(self.ratio, int) or self.ratio == 0:
            raise ValueError(f"a spread leg's ratio must be a non-zero integer, got {self.ratio!r}")


def check_spread_legs(legs) -> tuple[SpreadLeg, SpreadLeg]:
    """``legs`` as a checked pair: two :class:`SpreadLeg` in different contracts, leg 1's ratio
    positive and leg 2's negative (:class:`ValueError` otherwise)."""
    legs = tuple(legs)
    if len(legs) != 2 or not all(isinstance(leg, SpreadLeg) for leg in legs):
        raise ValueError(f"a spread order has exactly two SpreadLeg legs, got {legs!r}")
    if legs[0].contract_date[:6] == legs[1].contract_date[:6]:
        raise ValueError(f"a spread's legs must be in different contracts, got {legs!r}")
    if not (legs[0].ratio > 0 > legs[1].ratio):
        raise ValueError("leg 1 of a spread has a positive ratio and leg 2 a negative one "
                         f"(price = leg 1 - leg 2), got {legs[0].ratio} and {legs[1].ratio}")
    return legs[0], legs[1]


def spread_price(legs, prices) -> float:
    """The price of one unit of the spread from one price per leg: ``sum(ratio * price)``
    (leg 1 minus leg 2 for a 1:1 calendar)."""
    return float(sum(leg.ratio * price for leg, price in zip(legs, prices, strict=True)))


class OrderStatus(enum.Enum):
    """Life cycle of a broker order (see :data:`ORDER_TRANSITIONS`)."""

    PENDING_SUBMIT = "PENDING_SUBMIT"  # accepted by the broker, on its way to the exchange
    WORKING = "WORKING"  # live at the exchange, nothing filled
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    PENDING_CANCEL = "PENDING_CANCEL"  # cancel requested; fills can still arrive
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"

    @property
    def is_terminal(self) -> bool:
        return not ORDER_TRANSITIONS[self]


_S = OrderStatus
ORDER_TRANSITIONS: Mapping[OrderStatus, frozenset[OrderStatus]] = MappingProxyType(
    {
        _S.PENDING_SUBMIT: frozenset(
            {
                _S.WORKING,
                _S.PARTIALLY_FILLED,
                _S.FILLED,
                _S.REJECTED,
                _S.PENDING_CANCEL,
                _S.CANCELLED,
            }
        ),
        _S.WORKING: frozenset({_S.PARTIALLY_FILLED, _S.FILLED, _S.PENDING_CANCEL, _S.CANCELLED}),
        _S.PARTIALLY_FILLED: frozenset(
            {_S.PARTIALLY_FILLED, _S.FILLED, _S.PENDING_CANCEL, _S.CANCELLED}
        ),
        # the exchange can still reject an order whose cancel is in flight
        _S.PENDING_CANCEL: frozenset({_S.PENDING_CANCEL, _S.FILLED, _S.CANCELLED, _S.REJECTED}),
        _S.FILLED: frozenset(),
        _S.CANCELLED: frozenset(),
        _S.REJECTED: frozenset(),
    }
)
"""Allowed status changes. An unchanged non-terminal status is always allowed."""


def check_transition(old: OrderStatus, new: OrderStatus) -> None:
    """Raise :class:`InvalidOrderState` unless ``old -> new`` is allowed."""
    if old is new and not old.is_terminal:
        return
    if new not in ORDER_TRANSITIONS[old]:
        raise InvalidOrderState(f"order status cannot go from {old.name} to {new.name}")


@dataclass(frozen=True)
class BrokerOptionOrder:
    """An option order as the broker sees it; the quantities obey the same rules as a
    :class:`BrokerOrder`'s. ``order_type`` MARKET (fills on arrival at the touch) or LIMIT
    (``limit_price`` in the future's price units, on the tick; rests until the option's touch
    crosses it). ``updated_at``: the last change (placement, modification, status)."""

    order_id: str
    contract: OptionContract
    quantity: int
    status: OrderStatus
    filled_quantity: int = 0
    avg_fill_price: float | None = None
    commission: float = 0.0
    reason: str = ""
    client_ref: str = ""
    account: str = ""
    placed_at: pd.Timestamp | None = None
    order_type: OrderType = OrderType.MARKET
    limit_price: float | None = None
    updated_at: pd.Timestamp | None = None

    def __post_init__(self) -> None:
        _check_order_quantities(self.quantity, self.filled_quantity)
        if (self.order_type is OrderType.LIMIT) != (self.limit_price is not None):
            raise ValueError("a LIMIT order needs a limit_price, a MARKET order none")

    @property
    def remaining_quantity(self) -> int:
        return self.quantity - self.filled_quantity

    @property
    def is_terminal(self) -> bool:
        return self.status.is_terminal


@dataclass(frozen=True)
class OptionExecution:
    """One fill of an option order. ``exec_id`` is unique per execution (the simulated broker:
    ``simopt.<number>.01``, never the same as a futures execution id); ``quantity`` signed;
    ``price`` the premium in the future's price units; ``commission`` in
    ``commission_currency``; ``timestamp`` UTC; ``client_ref`` and ``account`` the order's."""

    exec_id: str
    order_id: str
    contract: OptionContract
    quantity: int
    price: float
    commission: float
    commission_currency: str
    timestamp: pd.Timestamp
    client_ref: str = ""
    account: str = ""

    def __post_init__(self) -> None:
        _check_utc("timestamp", self.timestamp)
        if self.quantity == 0 or self.price < 0:
            raise ValueError("an option execution needs a non-zero quantity and a price >= 0")


@dataclass(frozen=True)
class BrokerOrder:
    """An order as the broker sees it.

    ``order_id`` is the broker's id, a string (IB: the order id or permId; ids are never reused).
    ``quantity`` and ``filled_quantity`` are signed and share a sign; ``avg_fill_price`` is
    ``None`` until something fills. ``reason`` explains a rejection or cancellation.
    ``client_ref`` is our reference sent with the order (IB's ``orderRef``, e.g.
    ``systrade/broker/42``) so that a restarted process finds what it placed
    (:meth:`Broker.find_orders`); ``account`` the broker account it was placed in.
    """

    order_id: str
    instrument_code: str
    contract_date: str
    quantity: int
    order_type: OrderType
    limit_price: float | None
    status: OrderStatus
    filled_quantity: int = 0
    avg_fill_price: float | None = None
    commission: float = 0.0
    reason: str = ""
    client_ref: str = ""
    account: str = ""
    placed_at: pd.Timestamp | None = None
    updated_at: pd.Timestamp | None = None
    #: a spread order's two legs (:class:`SpreadLeg`); empty for an outright. For a spread,
    #: ``contract_date`` is leg 1's, ``quantity``/``filled_quantity`` count spread units and
    #: ``limit_price``/``avg_fill_price`` are spread prices (leg 1 minus leg 2)
    legs: tuple[SpreadLeg, ...] = ()

    def __post_init__(self) -> None:
        _check_order_quantities(self.quantity, self.filled_quantity)
        if self.order_type is OrderType.LIMIT and self.limit_price is None:
            raise ValueError("a LIMIT order needs a limit_price")
        if self.legs:
            object.__setattr__(self, "legs", check_spread_legs(self.legs))

    @property
    def is_spread(self) -> bool:
        return bool(self.legs)

    def leg_quantities(self, units: int | None = None) -> dict[str, int]:
        """Contracts per leg (``{contract_date: signed contracts}``) for ``units`` spread
        units (default the order's quantity); an outright: its one contract."""
        units = self.quantity if units is None else units
        if not self.legs:
            return {self.contract_date: units}
        return {leg.contract_date: units * leg.ratio for leg in self.legs}

    @property
    def remaining_quantity(self) -> int:
        return self.quantity - self.filled_quantity

    @property
    def is_terminal(self) -> bool:
        return self.status.is_terminal

    def with_status(self, status: OrderStatus, **changes: object) -> BrokerOrder:
        """Return a copy in ``status`` after checking the transition table."""
        check_transition(self.status, status)
        return replace(self, status=status, **changes)


@dataclass(frozen=True)
class Execution:
    """One fill. ``exec_id`` is the broker's execution id, a string unique per execution (IB's
    execId; a correction of an execution has a new id with the same stem). ``quantity`` is
    signed. A spread order fills as one execution per leg, each with its own ``exec_id``, the
    leg's ``contract_date``, contracts and price, and the spread order's ``order_id`` and
    ``client_ref`` (a broker's execution of the combination itself is never reported). ``commission`` (in ``commission_currency``) is None until known: IB reports it
    later in a :class:`CommissionReport` keyed by ``exec_id``. ``client_ref`` and ``account``
    are those of the order. ``bid``/``ask``: the top of book when it filled, when the broker
    gives it (the simulated broker does; IB does not: None)."""

    exec_id: str
    order_id: str
    instrument_code: str
    contract_date: str
    quantity: int
    price: float
    commission: float | None
    commission_currency: str
    timestamp: pd.Timestamp
    client_ref: str = ""
    account: str = ""
    bid: float | None = None
    ask: float | None = None

    def __post_init__(self) -> None:
        _check_utc("timestamp", self.timestamp)
        if self.quantity == 0:
            raise ValueError("an execution must have a non-zero quantity")
        if not isinstance(self.exec_id, str) or not self.exec_id:
            raise ValueError(f"exec_id must be a non-empty string, got {self.exec_id!r}")


@dataclass(frozen=True)
class FxTrade:
    """A cash FX conversion done by the broker: ``quantity`` of ``ccy1`` bought (negative:
    sold) against ``ccy2`` at ``rate`` (units of ``ccy2`` per one ``ccy1``), so the account's
    ``ccy1`` cash moves by ``quantity`` and its ``ccy2`` cash by ``-quantity * rate``.
    ``trade_id`` is the broker's id (a string), ``client_ref`` ours, ``timestamp`` UTC."""

    trade_id: str
    ccy1: str
    ccy2: str
    quantity: float
    rate: float
    timestamp: pd.Timestamp
    client_ref: str = ""
    account: str = ""

    def __post_init__(self) -> None:
        _check_utc("timestamp", self.timestamp)
        if not self.quantity or not self.rate > 0:
            raise ValueError("an FX trade needs a non-zero quantity and a positive rate")


@dataclass(frozen=True)
class OrderStatusEvent:
    """An order changed status (or was modified) at the broker."""

    order: BrokerOrder


@dataclass(frozen=True)
class ExecutionEvent:
    """A new execution."""

    execution: Execution


@dataclass(frozen=True)
class CommissionEvent:
    report: CommissionReport


@dataclass(frozen=True)
class ConnectionEvent:
    """The connection went down (``connected`` False) or came back; ``reason`` says why.
    After a reconnect, events of the outage may be lost: reconcile with get_orders and
    get_executions."""

    connected: bool
    reason: str
    timestamp: pd.Timestamp


BrokerEvent = OrderStatusEvent | ExecutionEvent | CommissionEvent | ConnectionEvent
