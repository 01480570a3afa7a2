"""What ``systrade status`` shows: the state of a home in one structure.

:func:`collect_status` gathers, from the stores and the broker: processes (status, run state,
alive, pid, host, times), positions per instrument and contract (strategy, contract, broker) and
the breaks between them, instrument locks, working orders per stack, capital, the last price
time per instrument, and alerts not yet e-mailed. Each part that cannot be read (no broker
connection, say) is reported as an error string in its place, so status always answers.
:func:`format_status` prints it as readable tables; ``--json`` prints the structure.
"""
from __future__ import annotations

from typing import Any

from syscore.dates import iso_utc
from sysdata.data_blob import DataBlob
from sysexecution.reconcile import position_breaks
from sysobjects.orders.status import OrderStatus
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
    try:
        for position in data.broker.get_positions():
            key = (position.instrument_code, position.contract_date[:6])
            broker[key] = broker.get(key, 0) + int(position.quantity)
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
    return {"instruments": rows, "breaks": breaks, "broker_error": broker_error}


@_safe
def _orders(data: DataBlob) -> dict[str, int]:
    working = {}
    for stack in STACKS:
        orders = data.order_stack(stack).orders()
        working[stack] = sum(1 for o in orders if o.status not in (
            OrderStatus.COMPLETED, OrderStatus.FILLED, OrderStatus.CANCELLED,
            OrderStatus.REJECTED))
    return working


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


def collect_status(data: DataBlob) -> dict[str, Any]:
    """The home's state (see module docstring)."""
    return {"time": iso_utc(data.now()), "processes": _processes(data),
            "positions": _positions(data), "locks": _locks(data),
            "working_orders": _orders(data), "capital": _capital(data),
            "last_price": _prices(data), "alerts": _alerts(data)}


@_safe
def _locks(data: DataBlob) -> list[str]:
    return sorted(data.locks.locked_instruments())


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    if not rows:
        return ["  (none)"]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    return ["  " + "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
            for r in [header, *rows]]


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
    positions = status["positions"]
    lines += ["", "positions (strategy | contracts | broker)"]
    if "error" in positions:
        lines.append(f"  {positions['error']}")
    else:
        lines += _table(("instrument", "strategies", "contracts", "broker"), [
            (r["instrument"], " ".join(f"{s}:{q}" for s, q in r["strategies"].items()) or "-",
             " ".join(f"{k}:{q}" for k, q in r["contracts"].items()) or "-",
             " ".join(f"{k}:{q}" for k, q in r["broker"].items()) or "-")
            for r in positions["instruments"]])
        if positions["broker_error"]:
            lines.append(f"  broker positions unavailable: {positions['broker_error']}")
        lines.append(f"  breaks: {len(positions['breaks'])}")
        lines += [f"    {b['instrument']} {b['contract']}: ours {b['ours']}, broker "
                  f"{b['broker']}" for b in positions["breaks"]]
    lines += ["", f"locks: {', '.join(status['locks']) if isinstance(status['locks'], list) and status['locks'] else 'none'}"]
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
