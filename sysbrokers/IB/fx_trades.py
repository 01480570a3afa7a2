"""Cash FX trades at IB: executions of MKT orders on IDEALPRO pairs, kept in the state store.

IB does a cash conversion as an order on the pair as it lists it (EUR.USD, USD.JPY), quantity in
the base currency. Its fills come from executions (``execDetails``, keyed by execId), as for
futures; each is recorded once (collection ``ib_fx_executions``) so trades are still known after
a restart and after IB forgets the day's executions. A trade is every execution of one order
(permId): quantity the signed sum (a correction, IB's execId with the same stem and a higher
last part, replaces the execution it corrects), rate the quantity-weighted average price, ``trade_id``
``ib.fx.<permId>``, ``client_ref`` the order's ``orderRef``.
"""
from __future__ import annotations

from collections import defaultdict

from sysbrokers.IB.orders import exec_stem
from sysbrokers.objects import FxTrade
from syscore.dates import to_utc
from sysdata.state.base import StateStore

FX_EXECUTIONS = "ib_fx_executions"


def _current(docs) -> list[dict]:
    """The executions in force: of each execId stem, the latest correction only."""
    latest: dict[str, dict] = {}
    for doc in docs:
        stem = exec_stem(doc["exec_id"])
        kept = latest.get(stem)
        if kept is None or _correction_number(doc["exec_id"]) > _correction_number(
                kept["exec_id"]):
            latest[stem] = doc
    return list(latest.values())


def _correction_number(exec_id: str) -> int:
    tail = exec_id.rpartition(".")[2]
    return int(tail) if tail.isdigit() else 0


class FxTradeBook:
    """FX executions recorded in ``store`` (see the module docstring)."""

    def __init__(self, store: StateStore):
        self.store = store
        self.executions: dict[str, dict] = dict(store.find(FX_EXECUTIONS))

    def add_fill(self, fill) -> bool:
        """Record one ib_async ``Fill`` of a CASH contract (False if its execId is known)."""
        ex = fill.execution
        if ex.execId in self.executions:
            return False
        sign = 1.0 if ex.side.upper() in ("BOT", "BUY") else -1.0
        doc = {
            "exec_id": ex.execId, "perm_id": int(ex.permId), "order_id": int(ex.orderId),
            "base": fill.contract.symbol, "quote": fill.contract.currency,
            "quantity": sign * float(ex.shares), "price": float(ex.price),
            "time": to_utc(ex.time).isoformat(), "client_ref": ex.orderRef or "",
            "account": ex.acctNumber or "",
        }
        self.store.put(FX_EXECUTIONS, ex.execId, doc)
        self.executions[ex.execId] = doc
        return True

    def trades(self, client_ref: str = "") -> list[FxTrade]:
        """Trades (all, or those with ``client_ref``), oldest first."""
        groups: dict[int, list[dict]] = defaultdict(list)
        for doc in _current(self.executions.values()):
            if not client_ref or doc["client_ref"] == client_ref:
                groups[doc["perm_id"]].append(doc)
        out = []
        for perm_id, docs in groups.items():
            docs.sort(key=lambda d: (d["time"], d["exec_id"]))
            quantity = sum(d["quantity"] for d in docs)
            rate = sum(abs(d["quantity"]) * d["price"] for d in docs) / sum(
                abs(d["quantity"]) for d in docs)
            first = docs[0]
            out.append(FxTrade(f"ib.fx.{perm_id}", first["base"], first["quote"], quantity,
                               rate, to_utc(first["time"]), first["client_ref"],
                               first["account"]))
        return sorted(out, key=lambda t: (t.timestamp, t.trade_id))
