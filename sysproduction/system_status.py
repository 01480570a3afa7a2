"""What ``systrade status`` shows: the state of a home in one structure.

:func:`collect_status` gathers, from the stores and the broker: processes (status, run state,
alive, pid, host, times), positions per instrument and contract (strategy, contract, broker) and
the breaks between them (our contract positions vs the broker's; per instrument, the strategies'
total vs the contracts' total), each strategy's optimal range (lower and upper buffer, from the
last ``run_systems``), the instrument orders generated and the fills booked since a time
(default: midnight UTC of the store clock's day), the global trading state, instrument locks,
working orders per stack,
capital, the last price time per instrument, and alerts not yet e-mailed. Each part that cannot be read (no broker
connection, say) is reported as an error string in its place, so status always answers.
:func:`format_status` prints it as readable tables; ``--json`` prints the structure.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from syscore.dates import iso_utc, to_utc
from syscore.exceptions import BrokerUnavailable
from syscore.formatting import text_table
from sysdata.data_blob import DataBlob
from sysexecution.order_completion import FINISHED
from sysexecution.reconcile import internal_breaks, position_breaks
from sysobjects.orders.records import RecordKind
from sysproduction.process_control_ops import list_processes

STACKS = ("instrument", "contract", "broker")


def _safe(part):
    def wrapper(data: DataBlob):
        try:
            return part(data)
        except Exception as exc:  # status must answer even when one part cannot be read
            return {"error": f"{type(exc).__name__}: {exc}"}
    wrapper.__name__ = part.__name__
    return wrapper


def _time(value) -> str | None:
    return None if value is None else iso_utc(value)


@_safe
def _processes(data: DataBlob) -> list[dict[str, Any]]:
    return [{"name": r.name, "status": r.status, "run_state": r.run_state, "alive": r.alive,
             "pid": r.pid, "host": r.host, "last_start": _time(r.last_start),
             "last_end": _time(r.last_end), "heartbeat": _time(r.heartbeat)}
            for r in list_processes(data)]


@_safe
def _positions(data: DataBlob) -> dict[str, Any]:
    strategies = data.positions.all_strategy_positions()
    contracts = data.positions.all_contract_positions()
    broker = {}
    broker_error = None
    unreachable = None
    try:
        for position in data.broker.get_positions():
            key = (position.instrument_code, position.contract_date[:6])
            broker[key] = broker.get(key, 0) + int(position.quantity)
    except BrokerUnavailable as exc:  # e.g. the IB Gateway is down: no broker at all
        broker_error = f"{type(exc).__name__}: {exc}"
        unreachable = str(exc)
    except Exception as exc:  # positions still shown without the broker's side
        broker_error = f"{type(exc).__name__}: {exc}"
    ours = {(code, contract[:6]): qty for (code, contract), qty in contracts.items()}
    instruments = sorted({c for _, c in strategies} | {c for c, _ in ours} | {c for c, _ in broker})
    rows = []
    for code in instruments:
        rows.append({
            "instrument": code,
            "strategies": {s: q for (s, c), q in strategies.items() if c == code},
            "contracts": {k: q for (c, k), q in ours.items() if c == code},
            "broker": {k: q for (c, k), q in broker.items() if c == code},
        })
    breaks = [] if broker_error else [
        {"instrument": b.instrument_code, "contract": b.contract_id, "ours": b.ours,
         "broker": b.broker} for b in position_breaks(ours, broker)]
    internal = [{"instrument": b.instrument_code, "strategies": b.strategies,
                 "contracts": b.contracts} for b in internal_breaks(strategies, contracts)]
    return {"instruments": rows, "breaks": breaks, "internal_breaks": internal,
            "broker_error": broker_error, "broker_unreachable": unreachable}


@_safe
def _optimal(data: DataBlob) -> dict[str, dict[str, list[float]]]:
    """Instrument → strategy → ``[lower, upper]`` buffer of the last optimal position
    (contracts)."""
    out: dict[str, dict[str, list[float]]] = {}
    for strategy, code in sorted(data.optimal_positions.list_keys()):
        row = data.optimal_positions.current(strategy, code)
        out.setdefault(code, {})[strategy] = [float(row["lower"]), float(row["upper"])]
    return out


def day_start(when) -> pd.Timestamp:
    """Midnight UTC of ``when``'s UTC date."""
    return to_utc(when).normalize()


def trades_since(data: DataBlob, since) -> dict[str, dict[str, int]]:
    """Per instrument: ``orders`` (instrument orders generated at or after ``since``, any
    status, roll orders included), ``fills`` (fills booked in the ledger with a fill time at or
    after ``since``) and ``filled`` (their net quantity, contracts). Instruments with neither
    are left out."""
    start = iso_utc(since)
    out: dict[str, dict[str, int]] = {}

    def row(code: str) -> dict[str, int]:
        return out.setdefault(code, {"orders": 0, "fills": 0, "filled": 0})

    for order in data.order_stack("instrument").orders(include_completed=True):
        if order.generated_datetime is not None and iso_utc(order.generated_datetime) >= start:
            row(order.instrument_code)["orders"] += 1
    for doc in data.ledger.records(where={"kind": RecordKind.FILL.value}):
        fill = doc["record"]
        if fill["timestamp"] >= start:  # sortable ISO UTC strings
            entry = row(fill["instrument_code"])
            entry["fills"] += 1
            entry["filled"] += int(fill["quantity"])
    return dict(sorted(out.items()))


def _trades(data: DataBlob, since) -> dict[str, Any]:
    try:
        return {"since": iso_utc(since), "instruments": trades_since(data, since)}
    except Exception as exc:  # status must answer even when one part cannot be read
        return {"error": f"{type(exc).__name__}: {exc}"}


def working_orders(data: DataBlob) -> dict[str, list[dict[str, Any]]]:
    """Per stack (instrument, contract, broker): the orders not yet finished (any status but
    completed, filled, cancelled or rejected), as plain rows: id, strategy, instrument, trade
    (contracts; per leg ``contract:trade`` for contract and broker orders), filled, status,
    locked, roll order, generated (ISO UTC) and reason."""
    out: dict[str, list[dict[str, Any]]] = {}
    for stack in STACKS:
        rows = []
        for order in data.order_stack(stack).orders():
            if order.status in FINISHED:
                continue
            legs = getattr(order, "legs", None)
            trade = (" ".join(f"{leg.contract_date}:{leg.trade:+d}" for leg in legs)
                     if legs is not None else f"{order.trade:+d}")
            filled = order.filled
            rows.append({"order_id": order.order_id, "strategy": order.strategy_name,
                         "instrument": order.instrument_code, "trade": trade,
                         "filled": (" ".join(f"{f:+d}" for f in filled)
                                    if isinstance(filled, tuple) else f"{filled:+d}"),
                         "status": order.status.value, "locked": order.locked,
                         "roll_order": order.roll_order,
                         "generated": _time(order.generated_datetime),
                         "reason": order.reason})
        out[stack] = rows
    return out


@_safe
def _orders(data: DataBlob) -> dict[str, int]:
    return {stack: len(rows) for stack, rows in working_orders(data).items()}


@_safe
def _capital(data: DataBlob) -> dict[str, Any]:
    try:
        row = data.capital.last_total()
    except Exception:
        return {"total": None}
    return {key: float(row[key]) for key in row.index}


@_safe
def _prices(data: DataBlob) -> dict[str, str | None]:
    out = {}
    for code in data.adjusted_prices.list_codes():
        tail = data.adjusted_prices.read_tail(code)
        out[code] = iso_utc(tail.index[-1]) if len(tail) else None
    return out


@_safe
def _alerts(data: DataBlob) -> dict[str, Any]:
    pending = data.alerts.undelivered()
    return {"undelivered": len(pending), "latest": [
        {"timestamp": a["timestamp"], "subject": a["subject"]} for a in pending[-5:]]}


def collect_status(data: DataBlob, trades_from=None) -> dict[str, Any]:
    """The home's state (see module docstring); ``trades_from``: count orders and fills from
    then on (default: :func:`day_start` of the clock's now)."""
    now = data.now()
    return {"time": iso_utc(now), "processes": _processes(data),
            "positions": _positions(data), "optimal": _optimal(data),
            "trades": _trades(data, day_start(now) if trades_from is None else trades_from),
            "locks": _locks(data), "trading_state": _trading_state(data),
            "working_orders": _orders(data), "capital": _capital(data),
            "last_price": _prices(data), "alerts": _alerts(data)}


@_safe
def _trading_state(data: DataBlob) -> str:
    return data.trading_state.current().value


@_safe
def _locks(data: DataBlob) -> list[str]:
    return sorted(data.locks.locked_instruments())


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    return text_table(header, rows, indent="  ") if rows else ["  (none)"]


def format_status(status: dict[str, Any]) -> str:
    """Readable tables of :func:`collect_status`'s result."""
    lines = [f"status at {status['time']}", "", "processes"]
    processes = status["processes"]
    if isinstance(processes, dict):
        lines.append(f"  {processes['error']}")
    else:
        lines += _table(("process", "status", "state", "alive", "pid", "host", "last end"),
                        [(p["name"], p["status"], p["run_state"], "yes" if p["alive"] else "no",
                          str(p["pid"] or "-"), p["host"] or "-", (p["last_end"] or "-")[:16])
                         for p in processes])
    lines += [""] + format_positions(status)
    state = status.get("trading_state", "?")
    lines += ["", f"trading state: {state['error'] if isinstance(state, dict) else state}"]
    lines += [f"locks: {', '.join(status['locks']) if isinstance(status['locks'], list) and status['locks'] else 'none'}"]
    orders = status["working_orders"]
    lines.append("working orders: " + (", ".join(f"{k} {v}" for k, v in orders.items())
                                       if "error" not in orders else orders["error"]))
    capital = status["capital"]
    total = capital.get("total")
    lines.append("capital: " + (f"{total:,.2f}" if isinstance(total, float) else "not recorded"))
    prices = status["last_price"]
    lines += ["", "last price per instrument"]
    if "error" in prices:
        lines.append(f"  {prices['error']}")
    else:
        lines += _table(("instrument", "last price (UTC)"),
                        [(c, (t or "-")[:16]) for c, t in sorted(prices.items())])
    alerts = status["alerts"]
    if "error" in alerts:
        lines += ["", f"alerts: {alerts['error']}"]
    else:
        lines += ["", f"alerts not yet e-mailed: {alerts['undelivered']}"]
        lines += [f"  {a['timestamp'][:16]}  {a['subject']}" for a in alerts["latest"]]
    return "\n".join(lines)


def _range(optimal: dict[str, list[float]]) -> str:
    return " ".join(f"{s}:{lo:.2f}..{hi:.2f}" for s, (lo, hi) in optimal.items()) or "-"


def format_positions(status: dict[str, Any]) -> list[str]:
    """The positions table of :func:`collect_status`'s result: per instrument the optimal
    range, strategy, contract and broker positions, orders and fills since
    ``status['trades']['since']``; then the breaks (contracts vs broker, strategies vs
    contracts)."""
    positions, optimal, trades = status["positions"], status["optimal"], status["trades"]
    if "error" in positions:
        return ["positions", f"  {positions['error']}"]
    since = trades.get("since", "")[:16] if "error" not in trades else ""
    lines = [f"positions (optimal lower..upper | strategy | contracts | broker | orders, fills "
             f"and filled quantity since {since or '?'} UTC)"]
    ranges = {} if "error" in optimal else optimal
    counts = {} if "error" in trades else trades["instruments"]
    rows = {r["instrument"]: r for r in positions["instruments"]}
    codes = sorted(set(rows) | set(ranges) | set(counts))
    empty = {"strategies": {}, "contracts": {}, "broker": {}}
    table = []
    for code in codes:
        r, n = rows.get(code, empty), counts.get(code, {"orders": 0, "fills": 0, "filled": 0})
        table.append((code, _range(ranges.get(code, {})),
                      " ".join(f"{s}:{q}" for s, q in r["strategies"].items()) or "-",
                      " ".join(f"{k}:{q}" for k, q in r["contracts"].items()) or "-",
                      " ".join(f"{k}:{q}" for k, q in r["broker"].items()) or "-",
                      str(n["orders"]), str(n["fills"]), f"{n['filled']:+d}"))
    lines += _table(("instrument", "optimal", "strategies", "contracts", "broker", "orders",
                     "fills", "filled"), table)
    for part, value in (("optimal positions", optimal), ("orders and fills", trades)):
        if "error" in value:
            lines.append(f"  {part} unavailable: {value['error']}")
    if positions["broker_error"]:
        lines.append(f"  broker positions unavailable: {positions['broker_error']}")
    internal = positions.get("internal_breaks", [])
    lines.append(f"  breaks: {len(positions['breaks']) + len(internal)}")
    lines += [f"    {b['instrument']} {b['contract']}: ours {b['ours']}, broker "
              f"{b['broker']}" for b in positions["breaks"]]
    lines += [f"    {b['instrument']}: strategies {b['strategies']}, contracts "
              f"{b['contracts']}" for b in internal]
    return lines
