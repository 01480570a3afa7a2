"""Stack handler step: broker executions into the ledger, exactly once per execution id.

An :class:`~sysbrokers.objects.Execution` is matched to our broker order by its ``client_ref``
(``systrade/broker/<id>``, sent with the order), and booked as one ledger
:class:`~sysobjects.orders.records.Fill` carrying the whole family's ids (broker, contract and
instrument order) and the strategy (none for a roll order): the order fills at the three levels
and the contract and strategy positions are projections of it. The ledger's unique index on
``fill:<exec_id>`` makes booking idempotent: the same execution from ``drain_events``, from
``get_executions`` after a restart, or twice, is booked once. A commission arriving later
(:class:`~sysbrokers.objects.CommissionReport`) is booked once per execution likewise.

An execution whose ``client_ref`` is not one of our broker orders is not booked (it would move
no position of ours); it is returned as ``unknown`` for reconciliation to alert.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sysbrokers.objects import CommissionEvent, CommissionReport, Execution, ExecutionEvent
from syscore.exceptions import MissingData
from sysdata.data_blob import DataBlob
from sysobjects.orders import records


@dataclass
class BookingResult:
    """Execution ids booked now, already in the ledger, and not ours."""

    booked: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    commissions: int = 0


def book_executions(data: DataBlob, executions: Iterable[Execution],
                    result: BookingResult | None = None) -> BookingResult:
    """Book each execution once (see module docstring)."""
    result = result if result is not None else BookingResult()
    bstack, cstack = data.order_stack("broker"), data.order_stack("contract")
    for execution in executions:
        if data.ledger.find_uid(f"fill:{execution.exec_id}") is not None:
            result.duplicates.append(execution.exec_id)
            continue
        ours = bstack.find_by_client_ref(execution.client_ref) if execution.client_ref else []
        if len(ours) != 1:
            result.unknown.append(execution.exec_id)
            continue
        order = ours[0]
        contract_order = cstack.get_order(order.parent_id) if order.parent_id else None
        fill = records.Fill(
            exec_id=execution.exec_id, instrument_code=execution.instrument_code,
            contract_date=execution.contract_date, quantity=execution.quantity,
            price=execution.price, timestamp=execution.timestamp,
            strategy_name=None if order.roll_order else order.strategy_name,
            broker_order_id=order.order_id,
            contract_order_id=contract_order.order_id if contract_order else None,
            instrument_order_id=contract_order.parent_id if contract_order else None,
            commission=execution.commission,
            commission_currency=execution.commission_currency, account=execution.account,
            broker_ref=execution.order_id, client_ref=execution.client_ref,
            bid=execution.bid, ask=execution.ask)
        booked = data.ledger.book_fill(fill)
        (result.duplicates if booked.duplicate else result.booked).append(execution.exec_id)
    return result


def book_commission(data: DataBlob, report: CommissionReport) -> bool:
    """Book a late commission once; False if already booked or its fill is not ours."""
    try:
        booked = data.ledger.book_commission(report)
    except MissingData:
        return False
    return not booked.duplicate


def book_events(data: DataBlob, events: Iterable[object]) -> BookingResult:
    """Book the executions and commissions among drained broker events, in order."""
    result = BookingResult()
    for event in events:
        if isinstance(event, ExecutionEvent):
            book_executions(data, [event.execution], result)
        elif isinstance(event, CommissionEvent):
            result.commissions += book_commission(data, event.report)
    return result
