"""Exceptions raised by any broker implementation (simulated or Interactive Brokers)."""

from __future__ import annotations

import enum

from syscore.exceptions import SystradeError


class BrokerError(SystradeError):
    """Base class of every broker error (a :class:`~syscore.exceptions.SystradeError`)."""


class BrokerDisconnected(BrokerError):
    """The broker cannot be reached (socket closed, gateway down)."""


class AccountNotManaged(BrokerDisconnected):
    """The login does not manage the configured account, or manages several and none is
    configured: the broker refuses to start (a configuration error, not retried)."""


class UnknownContract(BrokerError):
    """The broker does not know this instrument, contract month or currency pair."""


class UnknownOrder(BrokerError):
    """No order with this id exists at the broker."""


class InvalidOrderState(BrokerError):
    """The order cannot be modified or cancelled in its current state (e.g. already filled)."""


class RejectReason(enum.Enum):
    """Why the broker refused an order."""

    UNKNOWN_CONTRACT = "unknown contract"
    CONTRACT_NOT_TRADEABLE = "contract expired or not yet listed"
    MARKET_CLOSED = "market closed"
    SIZE_LIMIT = "order size above the broker's limit"
    INVALID_QUANTITY = "invalid quantity"
    INVALID_PRICE = "invalid limit price"
    EXCHANGE_REJECT = "rejected by the exchange"
    UNKNOWN_ACCOUNT = "unknown account"


class OrderRejected(BrokerError):
    """The broker refused an order; ``reason`` says why, ``order_id`` is set if one was recorded."""

    def __init__(self, reason: RejectReason, detail: str = "", order_id: str | None = None):
        self.reason = reason
        self.detail = detail
        self.order_id = order_id
        text = reason.value if not detail else f"{reason.value}: {detail}"
        if order_id is not None:
            text = f"order {order_id} rejected, {text}"
        super().__init__(text)


class NotSupportedByBroker(BrokerError):
    """The broker does not implement this operation (e.g. option trading on a futures-only
    broker)."""


class ClientIdInUse(BrokerError):
    """IB refused the connection: the client id is already connected (error 326)."""


class PacingViolation(BrokerError):
    """IB kept refusing historical-data requests for pacing (error 162) after every retry."""


class MarketDataUnavailable(BrokerError):
    """No quote: not subscribed (354), a competing live session (10197), or no bid/ask."""
