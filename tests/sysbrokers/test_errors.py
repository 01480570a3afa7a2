"""Broker errors belong to the package's one exception hierarchy."""
from __future__ import annotations

import pytest

from sysbrokers.errors import (
    BrokerDisconnected,
    BrokerError,
    InvalidOrderState,
    OrderRejected,
    RejectReason,
    UnknownContract,
    UnknownOrder,
)
from syscore.exceptions import SystradeError


@pytest.mark.parametrize("error", [
    BrokerError("x"), BrokerDisconnected("gateway down"), UnknownContract("ZZ"), UnknownOrder("7"),
    InvalidOrderState("filled"), OrderRejected(RejectReason.MARKET_CLOSED),
])
def test_every_broker_error_is_a_systrade_error(error):
    assert isinstance(error, BrokerError) and isinstance(error, SystradeError)
    with pytest.raises(SystradeError):
        raise error
