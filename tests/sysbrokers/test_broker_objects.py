"""Tests for sysbrokers.objects and sysbrokers.errors."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from sysbrokers.errors import BrokerError, InvalidOrderState, OrderRejected, RejectReason
from sysbrokers.objects import (
    ORDER_TRANSITIONS,
    AccountValue,
    BrokerContractDetails,
    BrokerOptionOrder,
    BrokerOrder,
    OptionContract,
    OrderStatus,
    OrderType,
    TradingHours,
    TradingSession,
    check_contract_date,
    check_transition,
)

UTC = "UTC"


def _order(**kw) -> BrokerOrder:
    base = dict(
        order_id="1",
        instrument_code="CORN",
        contract_date="202412",
        quantity=5,
        order_type=OrderType.MARKET,
        limit_price=None,
        status=OrderStatus.WORKING,
    )
    base.update(kw)
    return BrokerOrder(**base)


def test_terminal_states_have_no_exits_and_every_state_can_terminate():
    terminal = {s for s in OrderStatus if s.is_terminal}
    assert terminal == {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED}
    for status in OrderStatus:
        seen, frontier = {status}, [status]
        while frontier:
            for nxt in ORDER_TRANSITIONS[frontier.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    frontier.append(nxt)
        assert seen & terminal, status


@pytest.mark.parametrize(
    "old,new,ok",
    [
        (OrderStatus.PENDING_SUBMIT, OrderStatus.WORKING, True),
        (OrderStatus.WORKING, OrderStatus.PARTIALLY_FILLED, True),
        (OrderStatus.PARTIALLY_FILLED, OrderStatus.PARTIALLY_FILLED, True),
        (OrderStatus.PENDING_CANCEL, OrderStatus.FILLED, True),
        (OrderStatus.WORKING, OrderStatus.REJECTED, False),
        (OrderStatus.FILLED, OrderStatus.WORKING, False),
        (OrderStatus.CANCELLED, OrderStatus.CANCELLED, False),
        (OrderStatus.PENDING_CANCEL, OrderStatus.WORKING, False),
    ],
)
def test_transition_table(old, new, ok):
    if ok:
        check_transition(old, new)
    else:
        with pytest.raises(InvalidOrderState):
            check_transition(old, new)


def test_order_invariants():
    order = _order(filled_quantity=3)
    assert order.remaining_quantity == 2
    assert order.with_status(OrderStatus.FILLED, filled_quantity=5).status is OrderStatus.FILLED
    with pytest.raises(InvalidOrderState):
        _order(status=OrderStatus.FILLED).with_status(OrderStatus.WORKING)
    with pytest.raises(ValueError, match="overfilled"):
        _order(filled_quantity=6)
    with pytest.raises(ValueError, match="sign"):
        _order(filled_quantity=-1)
    with pytest.raises(ValueError):
        _order(quantity=0)
    with pytest.raises(ValueError, match="limit_price"):
        _order(order_type=OrderType.LIMIT)


def test_option_orders_keep_the_order_quantity_invariants():
    call = OptionContract("GOLD", "202406", "C", 2350.0, dt.date(2024, 5, 24))

    def option_order(quantity: int, filled: int) -> BrokerOptionOrder:
        return BrokerOptionOrder("7", call, quantity, OrderStatus.PARTIALLY_FILLED, filled)

    assert option_order(-3, -2).filled_quantity == -2
    with pytest.raises(ValueError, match="overfilled"):
        option_order(2, 3)
    with pytest.raises(ValueError, match="sign"):
        option_order(-2, 1)
    with pytest.raises(ValueError, match="zero"):
        option_order(0, 0)


def test_contract_dates_and_details_validation():
    assert check_contract_date("202412") == "202412"
    assert check_contract_date("20241220") == "20241220"
    for bad in ("2024", "202413", "2024-12", 202412):
        with pytest.raises(ValueError):
            check_contract_date(bad)
    with pytest.raises(ValueError):
        BrokerContractDetails(
            "X", "202412", dt.date(2024, 12, 13), 0, "USD", 1, "E"
        )


def test_trading_hours_and_account_value():
    s1 = TradingSession(
        pd.Timestamp("2024-01-02 09:00", tz=UTC), pd.Timestamp("2024-01-02 17:00", tz=UTC)
    )
    s2 = TradingSession(
        pd.Timestamp("2024-01-03 09:00", tz=UTC), pd.Timestamp("2024-01-03 17:00", tz=UTC)
    )
    hours = TradingHours("X", (s1, s2))
    assert hours.is_open(pd.Timestamp("2024-01-02 09:00", tz=UTC))
    assert not hours.is_open(pd.Timestamp("2024-01-02 17:00", tz=UTC))
    assert hours.next_open(pd.Timestamp("2024-01-02 18:00", tz=UTC)) == s2.open
    with pytest.raises(ValueError):
        TradingSession(pd.Timestamp("2024-01-02 09:00"), pd.Timestamp("2024-01-02 17:00"))
    value = AccountValue(
        "USD", {"USD": 10.0}, {"USD": -2.0}, 8.0, 3.0, pd.Timestamp("2024-01-02", tz=UTC)
    )
    assert value.available_funds == 5.0
    with pytest.raises(TypeError):
        value.cash["USD"] = 0.0  # type: ignore[index]


def test_order_rejected_carries_reason_and_id():
    error = OrderRejected(RejectReason.SIZE_LIMIT, "600 > 500", order_id=7)
    assert isinstance(error, BrokerError)
    assert error.reason is RejectReason.SIZE_LIMIT and error.order_id == 7
    assert "order 7" in str(error) and "600 > 500" in str(error)
