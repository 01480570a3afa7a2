"""Order state machines: each level accepts exactly its transition table."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syscore.exceptions import InvalidData, InvalidTransition
from sysobjects.orders.orders import BrokerOrder, ContractOrder, InstrumentOrder, Leg
from sysobjects.orders.status import (
    TRANSITIONS,
    OrderEventType,
    OrderLevel,
    OrderStatus,
    initial_status,
    next_status,
)

E, S = OrderEventType, OrderStatus


@given(st.sampled_from(list(OrderLevel)), st.sampled_from(list(OrderStatus)),
       st.sampled_from(list(OrderEventType)))
def test_each_machine_accepts_exactly_its_table(level, status, event):
    table = TRANSITIONS[level]
    if (status, event) in table:
        assert next_status(level, status, event) is table[(status, event)]
    else:
        with pytest.raises(InvalidTransition):
            next_status(level, status, event)


@given(st.sampled_from(list(OrderLevel)),
       st.lists(st.sampled_from(list(OrderEventType)), max_size=12))
def test_an_order_walks_the_table_or_raises_and_stays(level, events):
    """Applying events to a typed order follows the table; a refused event changes nothing."""
    cls = {OrderLevel.INSTRUMENT: InstrumentOrder, OrderLevel.CONTRACT: ContractOrder,
           OrderLevel.BROKER: BrokerOrder}[level]
    extra = {"trade": 1} if level is OrderLevel.INSTRUMENT else {"legs": (Leg("202403", 1),)}
    order = cls(order_id=1, strategy_name="s", instrument_code="CORN", **extra)
    status = S.INITIALIZED
    for count, event in enumerate(events):
        expected = TRANSITIONS[level].get((status, event))
        if expected is None:
            with pytest.raises(InvalidTransition):
                order.apply(event)
            continue
        order = order.apply(event, reason=f"step {count}")
        status = expected
        assert order.status is status
        if event is E.LOCKED:
            assert order.locked
        if event is E.UNLOCKED:
            assert not order.locked


@pytest.mark.parametrize("status, event, after", [
    (S.PENDING_CANCEL, E.CANCEL_REJECTED, S.WORKING),  # cancel fails: order still working
    (S.PENDING_CANCEL, E.PARTIALLY_FILLED, S.PENDING_CANCEL),  # fill while cancel pending
    (S.PENDING_CANCEL, E.FILLED, S.FILLED),
    (S.CANCELLED, E.FILLED, S.FILLED),  # fill after the cancel took effect
    (S.CANCELLED, E.PARTIALLY_FILLED, S.CANCELLED),
    (S.WORKING, E.MODIFY_REQUESTED, S.PENDING_UPDATE),
    (S.PENDING_UPDATE, E.MODIFY_REJECTED, S.WORKING),  # modify pending, then rejected
    (S.PENDING_UPDATE, E.PARTIALLY_FILLED, S.PENDING_UPDATE),
    (S.COMPLETED, E.FILLED, S.COMPLETED),  # a late fill of an archived order
])
def test_real_world_broker_cases(status, event, after):
    assert next_status(OrderLevel.BROKER, status, event) is after


def test_orders_found_at_the_broker_start_working_and_illegal_moves_raise():
    assert initial_status(OrderLevel.BROKER, E.DISCOVERED) is S.WORKING
    with pytest.raises(InvalidTransition):
        initial_status(OrderLevel.CONTRACT, E.DISCOVERED)
    for bad in [(S.FILLED, E.CANCEL_REQUESTED), (S.REJECTED, E.FILLED),
                (S.INITIALIZED, E.ACKNOWLEDGED), (S.COMPLETED, E.CANCELLED)]:
        with pytest.raises(InvalidTransition):
            next_status(OrderLevel.BROKER, *bad)


def test_orders_round_trip_and_refuse_bad_values():
    order = ContractOrder(order_id=3, strategy_name="_ROLL", instrument_code="CORN",
                          legs=(Leg("202403", -2), Leg("20240600", 2)), parent_id=1,
                          roll_order=True, generated_datetime="2024-01-02 10:00")
    assert order.legs[1].contract_date == "202406" and order.is_spread
    assert ContractOrder.from_doc(order.to_doc()) == order
    broker = BrokerOrder(order_id=9, strategy_name="s", instrument_code="CORN",
                         legs=(Leg("202403", 1),), broker_order_id="123", client_ref="x/9",
                         submit_datetime="2024-01-02T10:00:00+01:00")
    assert BrokerOrder.from_doc(broker.to_doc()) == broker
    assert str(broker.submit_datetime.tz) == "UTC"
    with pytest.raises(InvalidData):
        ContractOrder(order_id=1, strategy_name="s", instrument_code="CORN", legs=())
    with pytest.raises(InvalidData):
        InstrumentOrder(order_id=1, strategy_name="s", instrument_code="CORN", trade=1.5)
    with pytest.raises(InvalidData):
        InstrumentOrder.from_doc({**order.to_doc(), "level": "contract"})
    with pytest.raises(InvalidData, match="cannot change"):
        order.apply(E.SENT, changes={"order_id": 4})
