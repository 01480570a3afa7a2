"""Typed orders at the three levels, frozen, with ``to_doc``/``from_doc`` for the state store.

* :class:`InstrumentOrder`: a strategy's trade in an instrument, contract-agnostic.
* :class:`ContractOrder`: a child of an instrument order for specific contract(s); several
  :class:`Leg` for a spread (a roll).
* :class:`BrokerOrder`: a child of a contract order as sent to the broker (drip-feeding gives
  several per contract order).

Quantities are signed whole contracts (positive = buy). Prices are in the instrument's quoted
units. Timestamps are tz-aware UTC (stored as ISO-8601 UTC strings). ``filled``/``fill_price``/
``fill_datetime``/``commission`` are *not* part of an order's own record: they are projections of
the fills in the ledger, merged in when an order is read (see ``sysdata.ledger``). An order
changes only through :meth:`Order.apply` of an :class:`~sysobjects.orders.records.OrderEvent`,
which checks the level's transition table.
"""
from __future__ import annotations

import copy
import enum
import functools
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import pandas as pd

from syscore.dates import iso_utc, to_utc
from syscore.exceptions import InvalidData
from sysobjects.contracts import validate_contract_date
from sysobjects.instruments import validate_instrument_code
from sysobjects.orders.status import OrderEventType, OrderLevel, OrderStatus, next_status

# fields derived from the ledger's fills: never stored with the order itself
FILL_FIELDS = ("filled", "fill_price", "fill_datetime", "commission")


class InstrumentOrderType(enum.Enum):
    BEST = "best"
    MARKET = "market"
    LIMIT = "limit"
    ZERO_ROLL = "zero_roll_order"
    BALANCE = "balance_trade"
    TRANSFER = "transfer_trade"


class ContractOrderType(enum.Enum):
    BEST = "best"
    MARKET = "market"
    LIMIT = "limit"
    BALANCE = "balance_trade"
    PANIC = "panic"


class BrokerOrderType(enum.Enum):
    MARKET = "market"
    LIMIT = "limit"
    BALANCE = "balance_trade"
    SNAP_MKT = "snap_mkt"
    SNAP_MID = "snap_mid"
    SNAP_PRIM = "snap_prim"
    ADAPTIVE_MKT = "adaptive_mkt"


@dataclass(frozen=True)
class Leg:
    """One contract of an order and its signed trade."""

    contract_date: str
    trade: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "contract_date", validate_contract_date(self.contract_date))
        _check_int("trade", self.trade)


def _check_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidData(f"{name} must be a whole number of contracts, got {value!r}")


_FROZEN = frozenset({"order_id", "level", "status", "events", *FILL_FIELDS})


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    """The dataclass field names of an order class (computed once per class)."""
    return tuple(f.name for f in fields(cls))


@functools.cache
def _field_set(cls: type) -> frozenset[str]:
    return frozenset(_field_names(cls))


def _encode(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, pd.Timestamp):
        return iso_utc(value)
    if isinstance(value, Leg):
        return {"contract_date": value.contract_date, "trade": value.trade}
    if isinstance(value, (tuple, list)):
        return [_encode(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _encode(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class Order:
    """What every level carries. ``events`` is how many ledger events built this order (the
    next event is number ``events + 1``); ``reason`` is the last event's reason."""

    level: ClassVar[OrderLevel]
    order_type_enum: ClassVar[type[enum.Enum]]
    _times: ClassVar[tuple[str, ...]] = ("generated_datetime", "fill_datetime")

    order_id: int
    strategy_name: str
    instrument_code: str
    status: OrderStatus = OrderStatus.INITIALIZED
    locked: bool = False
    parent_id: int | None = None
    children: tuple[int, ...] = ()
    manual_trade: bool = False
    roll_order: bool = False
    generated_datetime: pd.Timestamp | None = None
    reason: str = ""
    events: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.order_id, bool) or not isinstance(self.order_id, int) \
                or self.order_id <= 0:
            raise InvalidData(f"order id must be a positive integer, got {self.order_id!r}")
        validate_instrument_code(self.instrument_code)
        if not isinstance(self.strategy_name, str) or "/" in self.strategy_name:
            raise InvalidData(f"invalid strategy name {self.strategy_name!r}")
        object.__setattr__(self, "children", tuple(int(c) for c in self.children))
        for name in self._times:
            value = getattr(self, name, None)
            if value is not None:
                object.__setattr__(self, name, to_utc(value, name))

    @property
    def is_active(self) -> bool:
        return self.status.is_active

    def apply(self, event: OrderEventType, reason: str = "",
              changes: Mapping[str, Any] | None = None) -> Order:
        """The order after ``event`` (InvalidTransition if the table refuses it). ``changes``
        are new values of the order's own fields (e.g. a modified limit price, the broker's
        order id on acknowledgement, a child id on SENT); identity fields cannot change."""
        return type(self).from_doc(type(self).applied_doc(self.to_doc(), event, reason,
                                                          changes))

    @classmethod
    def applied_doc(cls, doc: Mapping[str, Any], event: OrderEventType, reason: str = "",
                    changes: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """:meth:`apply` on an order's document (as :meth:`to_doc` or :meth:`record_doc`
        gives it): the document after ``event``, not validated as an order yet (build it
        with :meth:`from_doc`). Saves decoding and encoding the order once more when the
        document is at hand (the ledger's fold of an order's events)."""
        status = next_status(cls.level, OrderStatus(doc["status"]), event)
        changes = dict(changes or {})
        bad = _FROZEN & set(changes)
        if bad:
            raise InvalidData(f"an event cannot change {sorted(bad)}")
        if event is OrderEventType.LOCKED:
            changes["locked"] = True
        elif event is OrderEventType.UNLOCKED:
            changes["locked"] = False
        return {**doc, **_encode(changes), "status": status.value,
                "events": doc.get("events", 0) + 1, "reason": reason}

    def to_doc(self) -> dict[str, Any]:
        doc = {name: _encode(getattr(self, name)) for name in _field_names(type(self))}
        doc["level"] = self.level.value
        return doc

    def record_doc(self) -> dict[str, Any]:
        """The stored record: the order without its fill projection."""
        doc = self.to_doc()
        for name in FILL_FIELDS:
            doc.pop(name, None)
        return doc

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Order:
        doc = dict(doc)
        level = doc.pop("level", cls.level.value)
        if level != cls.level.value:
            raise InvalidData(f"a {level} order document is not a {cls.level.value} order")
        unknown = set(doc) - _field_set(cls)
        if unknown:
            raise InvalidData(f"{cls.__name__}: unknown fields {sorted(unknown)}")
        if "status" in doc:
            doc["status"] = OrderStatus(doc["status"])
        if "order_type" in doc:
            doc["order_type"] = cls.order_type_enum(doc["order_type"])
        if "legs" in doc:
            doc["legs"] = tuple(Leg(**leg) for leg in doc["legs"])
        for name in ("children", "filled", "fill_price"):
            if isinstance(doc.get(name), list):
                doc[name] = tuple(doc[name])
        for name in cls._times:
            if doc.get(name) is not None:
                doc[name] = to_utc(doc[name], name)
        try:
            return cls(**doc)
        except TypeError as exc:
            raise InvalidData(f"{cls.__name__}: {exc}") from None

    def with_fills(self, **values: Any) -> Order:
        """This order with its fill fields (:data:`FILL_FIELDS` only) set from the ledger's
        projection. The order's own fields are not validated again (they were when it was
        built), which keeps listing thousands of orders cheap."""
        unknown = set(values) - set(FILL_FIELDS)
        if unknown:
            raise InvalidData(f"not fill fields: {sorted(unknown)}")
        new = copy.copy(self)
        for name, value in values.items():
            if name == "fill_datetime" and value is not None:
                value = to_utc(value, name)
            elif name in ("filled", "fill_price") and isinstance(value, list):
                value = tuple(value)
            object.__setattr__(new, name, value)
        if isinstance(new, _LeggedOrder) and (len(new.filled) != len(new.legs)
                                              or len(new.fill_price) != len(new.legs)):
            raise InvalidData("filled and fill_price need one value per leg")
        return new


@dataclass(frozen=True)
class InstrumentOrder(Order):
    """A strategy's trade in an instrument (``trade`` signed contracts; 0 for a roll)."""

    level: ClassVar[OrderLevel] = OrderLevel.INSTRUMENT
    order_type_enum: ClassVar[type[enum.Enum]] = InstrumentOrderType
    _times: ClassVar[tuple[str, ...]] = ("generated_datetime", "fill_datetime",
                                         "reference_datetime")

    trade: int = 0
    order_type: InstrumentOrderType = InstrumentOrderType.BEST
    reference_price: float | None = None
    reference_contract: str | None = None
    reference_datetime: pd.Timestamp | None = None
    limit_price: float | None = None
    limit_contract: str | None = None
    filled: int = 0
    fill_price: float | None = None
    fill_datetime: pd.Timestamp | None = None
    commission: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_int("trade", self.trade)
        if self.order_type is InstrumentOrderType.LIMIT and self.limit_price is None:
            raise InvalidData("a limit instrument order needs a limit_price")

    @property
    def key(self) -> str:
        return f"{self.strategy_name}/{self.instrument_code}"


@dataclass(frozen=True)
class _LeggedOrder(Order):
    legs: tuple[Leg, ...] = ()
    filled: tuple[int, ...] = ()
    fill_price: tuple[float | None, ...] = ()
    fill_datetime: pd.Timestamp | None = None
    commission: float = 0.0
    limit_price: float | None = None
    manual_fill: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        legs = tuple(leg if isinstance(leg, Leg) else Leg(**leg) for leg in self.legs)
        if not legs:
            raise InvalidData(f"{type(self).__name__} {self.order_id} needs at least one leg")
        if len({leg.contract_date for leg in legs}) != len(legs):
            raise InvalidData(f"{type(self).__name__} {self.order_id}: repeated contract in legs")
        object.__setattr__(self, "legs", legs)
        if not self.filled:
            object.__setattr__(self, "filled", tuple(0 for _ in legs))
        if not self.fill_price:
            object.__setattr__(self, "fill_price", tuple(None for _ in legs))
        if len(self.filled) != len(legs) or len(self.fill_price) != len(legs):
            raise InvalidData("filled and fill_price need one value per leg")

    @property
    def trade(self) -> tuple[int, ...]:
        return tuple(leg.trade for leg in self.legs)

    @property
    def contract_dates(self) -> tuple[str, ...]:
        return tuple(leg.contract_date for leg in self.legs)

    @property
    def is_spread(self) -> bool:
        return len(self.legs) > 1

    @property
    def remaining(self) -> tuple[int, ...]:
        return tuple(leg.trade - done for leg, done in zip(self.legs, self.filled, strict=True))


@dataclass(frozen=True)
class ContractOrder(_LeggedOrder):
    """An instrument order's child for specific contracts. ``algo_to_use`` is the dotted class
    of the algo that will execute it; ``algo_state`` says which algo instance controls it now
    (``None``: free), pysystemtrade's ``reference_of_controlling_algo``."""

    level: ClassVar[OrderLevel] = OrderLevel.CONTRACT
    order_type_enum: ClassVar[type[enum.Enum]] = ContractOrderType

    order_type: ContractOrderType = ContractOrderType.BEST
    reference_price: float | None = None
    algo_to_use: str = ""
    algo_state: str | None = None
    inter_spread_order: bool = False


@dataclass(frozen=True)
class BrokerOrder(_LeggedOrder):
    """A contract order's child as sent to a broker. ``broker_order_id`` is the broker's own id
    (a string; IB's order id or permId), ``client_ref`` our reference sent with it (IB's
    ``orderRef``) so a restarted process can find it; ``side_price`` crosses the spread,
    ``offside_price`` is the passive side, ``mid_price`` between them, all at submission."""

    level: ClassVar[OrderLevel] = OrderLevel.BROKER
    order_type_enum: ClassVar[type[enum.Enum]] = BrokerOrderType
    _times: ClassVar[tuple[str, ...]] = ("generated_datetime", "fill_datetime",
                                         "submit_datetime")

    order_type: BrokerOrderType = BrokerOrderType.MARKET
    side_price: float | None = None
    mid_price: float | None = None
    offside_price: float | None = None
    algo_used: str = ""
    algo_comment: str = ""
    broker: str = ""
    account: str = ""
    client_ref: str = ""
    broker_order_id: str | None = None
    broker_perm_id: str | None = None
    submit_datetime: pd.Timestamp | None = None
    #: the algo's resumable state (``sysexecution.algos.AlgoState.to_doc()``), ``None`` for an
    #: order no algo works (a balance trade, an order found at the broker)
    algo_state: Mapping[str, Any] | None = None


ORDER_CLASSES: Mapping[OrderLevel, type[Order]] = {
    OrderLevel.INSTRUMENT: InstrumentOrder,
    OrderLevel.CONTRACT: ContractOrder,
    OrderLevel.BROKER: BrokerOrder,
}


def order_from_doc(doc: Mapping[str, Any]) -> Order:
    return ORDER_CLASSES[OrderLevel(doc["level"])].from_doc(doc)


def client_ref(level: OrderLevel, order_id: int) -> str:
    """Our reference for an order, sent to the broker (IB ``orderRef``)."""
    return f"systrade/{level.value}/{order_id}"


