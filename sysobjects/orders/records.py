"""The immutable records of the money ledger.

Each record has a ``uid``, unique in the ledger, so that delivering it twice books it once:

* :class:`Fill` — one execution at the broker, ``fill:<exec_id>`` (the broker's execution id, a
  string; IB's execId);
* :class:`CommissionReport` — the commission of one execution, which may arrive after the fill
  (IB sends it in its own message keyed by execId), ``commission:<exec_id>``;
* :class:`OrderEvent` — one step of an order's life with its reason,
  ``event:<level>/<order_id>/<number>`` (numbers count from 1 per order, so two writers can
  never both append event *n* of one order: the second is refused and must re-read);
* :class:`PositionAdjustment` — a position change that is not a fill (a balance trade after a
  reconciliation, a position set by hand), ``adjust:<id>``.

Quantities are signed whole contracts, prices in the instrument's quoted units, commissions in
``commission_currency``, timestamps tz-aware UTC (stored as ISO-8601 UTC strings).
"""
from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import pandas as pd

from syscore.dates import iso_utc, to_utc
from syscore.exceptions import InvalidData
from sysobjects.contracts import validate_contract_date
from sysobjects.instruments import validate_instrument_code
from sysobjects.orders.status import OrderEventType, OrderLevel


class RecordKind(enum.Enum):
    FILL = "fill"
    COMMISSION = "commission"
    EVENT = "event"
    ADJUSTMENT = "adjustment"


def _check_qty(quantity: Any, allow_zero: bool = False) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int) \
            or (quantity == 0 and not allow_zero):
        raise InvalidData(f"quantity must be a non-zero whole number of contracts, got {quantity!r}")
    return quantity


def _check_text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidData(f"{name} must be a non-empty string, got {value!r}")
    return value


def _strategy(name: str | None) -> str | None:
    if name is not None and (not isinstance(name, str) or not name or "/" in name):
        raise InvalidData(f"invalid strategy name {name!r}")
    return name


@dataclass(frozen=True)
class Fill:
    """One execution of one of our broker orders (one contract; a spread fills leg by leg).

    ``broker_order_id`` … ``instrument_order_id`` are *our* stack ids of the order family, so
    that one record feeds every projection (order fills at three levels, contract position,
    strategy position). ``strategy_name`` is None for fills that change no strategy position
    (the legs of a roll). ``commission`` is None when it comes later in a
    :class:`CommissionReport`. ``bid``/``ask``: the top of book at the fill, when the broker
    gave it (stored only when set).
    """

    exec_id: str
    instrument_code: str
    contract_date: str
    quantity: int
    price: float
    timestamp: pd.Timestamp
    strategy_name: str | None = None
    broker_order_id: int | None = None
    contract_order_id: int | None = None
    instrument_order_id: int | None = None
    commission: float | None = None
    commission_currency: str = ""
    account: str = ""
    broker_ref: str = ""  # the broker's id of the order (IB orderId/permId), a string
    client_ref: str = ""
    reason: str = ""  # why, for a fill booked without an execution (a balance trade)
    bid: float | None = None  # top of book when it filled, when the broker gave it
    ask: float | None = None

    kind = RecordKind.FILL

    def __post_init__(self) -> None:
        _check_text("exec_id", self.exec_id)
        validate_instrument_code(self.instrument_code)
        object.__setattr__(self, "contract_date", validate_contract_date(self.contract_date))
        _check_qty(self.quantity)
        _strategy(self.strategy_name)
        object.__setattr__(self, "timestamp", to_utc(self.timestamp, "fill timestamp"))
        if not isinstance(self.price, (int, float)) or isinstance(self.price, bool):
            raise InvalidData(f"fill price must be a number, got {self.price!r}")

    @property
    def uid(self) -> str:
        return f"fill:{self.exec_id}"

    def to_doc(self) -> dict[str, Any]:
        return {"exec_id": self.exec_id, "instrument_code": self.instrument_code,
                "contract_date": self.contract_date, "quantity": self.quantity,
                "price": float(self.price), "timestamp": iso_utc(self.timestamp),
                "strategy_name": self.strategy_name, "broker_order_id": self.broker_order_id,
                "contract_order_id": self.contract_order_id,
                "instrument_order_id": self.instrument_order_id, "commission": self.commission,
                "commission_currency": self.commission_currency, "account": self.account,
                "broker_ref": self.broker_ref, "client_ref": self.client_ref,
                # only when set, so a fill's stored content is what it was before reasons
                # existed (a redelivered execution must compare equal)
                **({"reason": self.reason} if self.reason else {}),
                **({"bid": float(self.bid), "ask": float(self.ask)}
                   if self.bid is not None and self.ask is not None else {})}

    @property
    def mid(self) -> float | None:
        """The mid price when it filled (None when the broker gave no bid/ask)."""
        if self.bid is None or self.ask is None:
            return None
        return (float(self.bid) + float(self.ask)) / 2.0

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Fill:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in doc.items() if k in names})


@dataclass(frozen=True)
class CommissionReport:
    """The commission of execution ``exec_id`` (IB's commissionReport)."""

    exec_id: str
    commission: float
    currency: str
    timestamp: pd.Timestamp

    kind = RecordKind.COMMISSION

    def __post_init__(self) -> None:
        _check_text("exec_id", self.exec_id)
        object.__setattr__(self, "timestamp", to_utc(self.timestamp, "commission timestamp"))

    @property
    def uid(self) -> str:
        return f"commission:{self.exec_id}"

    def to_doc(self) -> dict[str, Any]:
        return {"exec_id": self.exec_id, "commission": float(self.commission),
                "currency": self.currency, "timestamp": iso_utc(self.timestamp)}

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> CommissionReport:
        return cls(doc["exec_id"], doc["commission"], doc["currency"], doc["timestamp"])


@dataclass(frozen=True)
class OrderEvent:
    """Event ``number`` (1, 2, ...) of order ``order_id`` at ``level``. ``changes`` are the new
    values of order fields (the whole order for CREATED/DISCOVERED)."""

    level: OrderLevel
    order_id: int
    number: int
    event: OrderEventType
    timestamp: pd.Timestamp
    reason: str = ""
    changes: Mapping[str, Any] = field(default_factory=dict)

    kind = RecordKind.EVENT

    def __post_init__(self) -> None:
        if self.order_id <= 0 or self.number <= 0:
            raise InvalidData("order id and event number must be positive")
        object.__setattr__(self, "level", OrderLevel(self.level))
        object.__setattr__(self, "event", OrderEventType(self.event))
        object.__setattr__(self, "timestamp", to_utc(self.timestamp, "event timestamp"))
        object.__setattr__(self, "changes", MappingProxyType(dict(self.changes)))

    @property
    def order_ref(self) -> str:
        return f"{self.level.value}/{self.order_id}"

    @property
    def uid(self) -> str:
        return f"event:{self.order_ref}/{self.number}"

    def to_doc(self) -> dict[str, Any]:
        return {"level": self.level.value, "order_id": self.order_id, "number": self.number,
                "event": self.event.value, "timestamp": iso_utc(self.timestamp),
                "reason": self.reason, "changes": dict(self.changes)}

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> OrderEvent:
        return cls(doc["level"], doc["order_id"], doc["number"], doc["event"], doc["timestamp"],
                   doc.get("reason", ""), doc.get("changes", {}))


@dataclass(frozen=True)
class PositionAdjustment:
    """A change of position that is not a fill: at strategy level (``strategy_name`` set,
    ``contract_date`` None), at contract level (``contract_date`` set, no strategy) or both."""

    adjustment_id: str
    instrument_code: str
    quantity: int
    timestamp: pd.Timestamp
    reason: str
    strategy_name: str | None = None
    contract_date: str | None = None

    kind = RecordKind.ADJUSTMENT

    def __post_init__(self) -> None:
        _check_text("adjustment_id", self.adjustment_id)
        validate_instrument_code(self.instrument_code)
        _check_qty(self.quantity)
        _strategy(self.strategy_name)
        if self.contract_date is not None:
            object.__setattr__(self, "contract_date", validate_contract_date(self.contract_date))
        if self.strategy_name is None and self.contract_date is None:
            raise InvalidData("an adjustment needs a strategy, a contract date or both")
        object.__setattr__(self, "timestamp", to_utc(self.timestamp, "adjustment timestamp"))

    @property
    def uid(self) -> str:
        return f"adjust:{self.adjustment_id}"

    def to_doc(self) -> dict[str, Any]:
        return {"adjustment_id": self.adjustment_id, "instrument_code": self.instrument_code,
                "quantity": self.quantity, "timestamp": iso_utc(self.timestamp),
                "reason": self.reason, "strategy_name": self.strategy_name,
                "contract_date": self.contract_date}

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> PositionAdjustment:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in doc.items() if k in names})


LedgerRecord = Fill | CommissionReport | OrderEvent | PositionAdjustment
RECORD_CLASSES = {RecordKind.FILL: Fill, RecordKind.COMMISSION: CommissionReport,
                  RecordKind.EVENT: OrderEvent, RecordKind.ADJUSTMENT: PositionAdjustment}
