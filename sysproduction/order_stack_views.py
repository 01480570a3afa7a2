"""Text views of the order stacks, the broker's orders and the positions, for the order-stack
console (and tests). Read-only. Times UTC, quantities signed contracts, prices in the
instrument's quoted units."""
from __future__ import annotations

from collections.abc import Sequence

from sysbrokers.errors import BrokerError
from syscore.exceptions import MissingData
from syscore.formatting import text_table
from sysdata.data_blob import DataBlob
from sysdata.orders import STACKS
from sysexecution.reconcile import position_breaks
from sysobjects.contracts import validate_contract_date
from sysobjects.orders.orders import InstrumentOrder, Order


def _table(header: Sequence[str], rows: list[Sequence[object]], empty: str) -> str:
    return "\n".join(text_table(header, rows)) if rows else empty


def _when(stamp) -> str:
    return "-" if stamp is None else f"{stamp:%Y-%m-%d %H:%M:%S}"


def _trade(order: Order) -> str:
    if isinstance(order, InstrumentOrder):
        return f"{order.trade}"
    return ", ".join(f"{leg.contract_date} {leg.trade:+d}" for leg in order.legs)


def _filled(order: Order) -> str:
    if isinstance(order, InstrumentOrder):
        return f"{order.filled}"
    return ", ".join(str(f) for f in order.filled)


def order_text(data: DataBlob, level: str, order_id: int) -> str:
    """One order (any stack, active or completed): its fields and every event with its reason.
    MissingData if there is no such order."""
    stack = data.order_stack(level)
    order = stack.get_order(order_id)
    fields = order.to_doc()
    lines = [f"{level} order {order_id}"]
    lines += [f"  {name}: {value}" for name, value in fields.items()
              if name not in ("level", "events") and value not in (None, "", [], ())]
    lines.append("  events:")
    lines += [f"    {event.number:>3} {_when(event.timestamp)} {event.event.value:<16} "
              f"{event.reason}" for event in stack.events(order_id)]
    return "\n".join(lines)


def find_order_text(data: DataBlob, order_id: int) -> str:
    """Order ``order_id`` on every stack that has one (ids are per stack)."""
    found = []
    for level in STACKS:
        try:
            found.append(order_text(data, level, order_id))
        except MissingData:
            continue
    if not found:
        raise MissingData(f"no order {order_id} on any stack")
    return "\n\n".join(found)


def stack_text(data: DataBlob, level: str, include_completed: bool = False) -> str:
    """The orders of one stack (active only unless ``include_completed``)."""
    orders = data.order_stack(level).orders(include_completed=include_completed)
    rows = []
    for o in orders:
        extra = ""
        if level == "broker":
            extra = o.broker_order_id or "-"
        elif level == "contract":
            extra = o.algo_state or "-"
        rows.append((o.order_id, o.strategy_name, o.instrument_code, _trade(o), _filled(o),
                     o.status.value, "yes" if o.locked else "", o.parent_id,
                     ",".join(map(str, o.children)) or "-",
                     "manual" if o.manual_trade else ("roll" if o.roll_order else ""), extra,
                     o.reason))
    last = {"broker": "broker id", "contract": "algo"}.get(level, "")
    header = ("id", "strategy", "instrument", "trade", "filled", "status", "locked", "parent",
              "children", "kind", last, "last reason")
    return f"{level} stack:\n" + _table(header, rows, f"(no {level} orders)")


def broker_orders_text(data: DataBlob, open_only: bool = False) -> str:
    """The orders and executions as the broker reports them (not our stack)."""
    orders = data.broker.get_orders(open_only=open_only)
    rows = [(o.order_id, o.instrument_code, o.contract_date, o.quantity, o.filled_quantity,
             o.order_type.value, o.limit_price, o.status.value, o.client_ref or "(not ours)",
             o.reason) for o in orders]
    executions = data.broker.get_executions()
    fills = [(e.exec_id, e.order_id, e.instrument_code, e.contract_date, e.quantity, e.price,
              _when(e.timestamp), "booked" if data.ledger.find_uid(f"fill:{e.exec_id}")
              else "NOT BOOKED") for e in executions]
    return ("orders at the broker:\n" + _table(
        ("id", "instrument", "contract", "qty", "filled", "type", "limit", "status",
         "client ref", "reason"), rows, "(none)")
        + "\n\nexecutions at the broker:\n" + _table(
            ("exec id", "order", "instrument", "contract", "qty", "price", "time", "ledger"),
            fills, "(none)"))


def optimal_positions_text(data: DataBlob) -> str:
    rows = []
    for strategy, code in sorted(data.optimal_positions.list_keys()):
        try:
            row = data.optimal_positions.current(strategy, code)
        except (MissingData, IndexError):
            continue
        rows.append((strategy, code, f"{row['lower']:.2f}", f"{row['upper']:.2f}",
                     data.positions.get_strategy_position(strategy, code)))
    return "optimal positions:\n" + _table(
        ("strategy", "instrument", "lower", "upper", "position"), rows, "(none)")


def instrument_positions_text(data: DataBlob) -> str:
    rows = [(s, c, p) for (s, c), p in sorted(data.positions.all_strategy_positions().items())]
    return "instrument (strategy) positions:\n" + _table(
        ("strategy", "instrument", "position"), rows, "(none)")


def contract_positions_text(data: DataBlob) -> str:
    rows = [(c, d, p) for (c, d), p in sorted(data.positions.all_contract_positions().items())]
    return "contract positions:\n" + _table(("instrument", "contract", "position"), rows,
                                            "(none)")


def broker_positions_text(data: DataBlob) -> str:
    rows = [(p.instrument_code, p.contract_date, p.quantity, f"{p.average_price:.4f}")
            for p in data.broker.get_positions()]
    return "broker positions:\n" + _table(("instrument", "contract", "position", "avg price"),
                                          rows, "(none)")


def position_breaks_text(data: DataBlob) -> str:
    """Contract positions vs the broker's (what the stack handler's reconciliation compares);
    and locked instruments with their reasons."""
    ours = data.positions.all_contract_positions()
    theirs: dict[tuple[str, str], int] = {}
    try:
        for p in data.broker.get_positions():
            key = (p.instrument_code, validate_contract_date(p.contract_date))
            theirs[key] = theirs.get(key, 0) + p.quantity
    except BrokerError as exc:
        return f"cannot read the broker's positions: {exc}"
    breaks = position_breaks(ours, theirs)
    locks = [(code, data.locks.reason(code) or "") for code in data.locks.locked_instruments()]
    return ("position breaks:\n" + ("\n".join(f"  {b}" for b in breaks) or "  none")
            + "\nlocked instruments:\n" + ("\n".join(f"  {c}: {r}" for c, r in locks)
                                            or "  none"))


def all_positions_text(data: DataBlob) -> str:
    return "\n\n".join([optimal_positions_text(data), instrument_positions_text(data),
                        contract_positions_text(data), broker_positions_text(data)])
