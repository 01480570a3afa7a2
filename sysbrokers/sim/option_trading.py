"""Options on futures in the simulated broker (mixed into :class:`~sysbrokers.sim.broker.SimBroker`).

Conventions (deterministic, like the futures side):

* **Orders**: market orders only. An order reaches the exchange ``latency`` after it is placed
  and fills there in full, in one execution, at the option's ask (buy) or bid (sell) on the
  simulated chain (:class:`~sysbrokers.sim.options.SimOptionChains`) at that instant, plus
  ``slippage_ticks``. It is rejected on placement for an unknown listing, a strike without a
  quote, an expired option, a closed market or a size above ``max_order_size``; on arrival if
  the market has closed, the option has expired, or a sell finds no bid.
* **Margining**: futures-style (as options on futures are on Eurex and ICE): no premium
  changes hands; the position is marked to market at the chain's mid, closing trades and
  expiry book realised P&L (and commissions, the product's per-contract commission) to cash.
  Margin used counts ``|quantity| × mid × multiplier × margin_rate`` per option.
* **Expiry**: an option expires at the end of its last trading date's session (or the
  future's expiry instant when that comes first), against the future's final mid on the tick.
  Its position closes at **intrinsic value** (``max(F − K, 0)`` for a call, ``max(K − F, 0)``
  for a put), booking ``quantity × (intrinsic − average price) × multiplier`` to cash. An
  in-the-money option is then **exercised into the future**, the usual convention for options
  on futures: a long call (short put) becomes a long (short) future, booked at the final
  price ``F`` so that the future starts flat — the same value as assignment at the strike. When
  the option expires with its future (the simulator's default calendar) the future settles to
  cash at the same price at once, so the holder ends with cash at intrinsic value: the
  cash-settled case. Out-of-the-money options expire worthless. Each expiry is recorded in
  ``option_settlements``.

Options never appear in :meth:`get_positions` or :meth:`get_executions` (futures only, so
reconciliation of futures positions is unchanged): use :meth:`get_option_positions` and
:meth:`get_option_order`.
"""
from __future__ import annotations

import datetime as dt
import sqlite3

import numpy as np
import pandas as pd

from sysbrokers.broker import order_quantity
from sysbrokers.errors import OrderRejected, RejectReason, UnknownContract, UnknownOrder
from sysbrokers.objects import (
    BrokerOptionOrder,
    BrokerOptionPosition,
    OptionContract,
    OptionQuoteSnapshot,
    OrderStatus,
    check_transition,
)
from sysbrokers.sim.options import OptionListing, SimOptionChains
from sysbrokers.sim.position_math import apply_fill
from sysobjects.black76 import OptionRight

DAY_NS = 86_400_000_000_000


def _contract(row: sqlite3.Row) -> OptionContract:
    return OptionContract(row["instrument_code"], row["contract_date"],
                          OptionRight(row["option_right"]), row["strike"],
                          dt.date.fromisoformat(row["expiry"]), row["option_code"])


def _identity(contract: OptionContract) -> tuple:
    return (contract.instrument_code, contract.contract_date, contract.right.value,
            float(contract.strike), contract.expiry.isoformat(), contract.option_code)


class SimOptionTrading:
    """Option trading for the simulated broker (see module docstring). Expects the host to
    provide ``market``, ``config``, ``store``, ``option_chains``, ``_now_ns``, ``process``,
    ``_require_connection``, ``_order_account``, ``_add_cash`` and ``_apply_to_position``."""

    option_chains: SimOptionChains

    # ------------------------------------------------------------------ reference
    def option_expiry_ns(self, contract: OptionContract) -> int:
        """The instant the option stops trading (UTC ns); UnknownContract if not listed."""
        code, future = contract.instrument_code, contract.contract_date
        try:
            self.market.check_contract(code, future)
            listings = self.option_chains.listings(code, future)
        except (UnknownContract, KeyError, ValueError) as exc:
            raise UnknownContract(f"{contract.key}: {exc}") from None
        if OptionListing(future, contract.option_code, contract.expiry) not in listings:
            raise UnknownContract(f"{contract.key} is not listed (listed: " + ", ".join(
                f"{o.option_code or 'plain'} {o.expiry}" for o in listings) + ")")
        future_expiry = self.market.expiry_ns(code, future)
        day_end = pd.Timestamp(contract.expiry, tz="UTC").value + DAY_NS - 1
        return min(future_expiry, int(self.market.last_open_instant(code, day_end)) + 1)

    def _final_price(self, contract: OptionContract, expiry_ns: int) -> float:
        spec = self.market.spec(contract.instrument_code)
        final = float(self.market.mid_price(contract.instrument_code, contract.contract_date,
                                            np.array([expiry_ns - 1]))[0])
        return round(final / spec.tick_size) * spec.tick_size

    def _chain_quote(self, contract: OptionContract, when_ns: int):
        listing = OptionListing(contract.contract_date, contract.option_code, contract.expiry)
        return self.option_chains.quote(contract.instrument_code, listing, contract.strike,
                                        contract.right, pd.Timestamp(when_ns, tz="UTC"))

    def get_option_quote(self, contract: OptionContract) -> OptionQuoteSnapshot:
        """The chain's quote now (the last one before the close if the market is shut)."""
        self._require_connection()
        expiry = self.option_expiry_ns(contract)
        now_ns = self._now_ns()
        if now_ns >= expiry:
            raise UnknownContract(f"{contract.key} has expired")
        t = int(self.market.last_open_instant(contract.instrument_code, now_ns))
        q = self._chain_quote(contract, t)
        return OptionQuoteSnapshot(contract, q.bid, q.ask, q.mid, q.delta,
                                   pd.Timestamp(t, tz="UTC"))

    # ------------------------------------------------------------------ orders
    def place_option_order(self, contract: OptionContract, quantity: int, client_ref: str = "",
                           account: str = "") -> BrokerOptionOrder:
        """See the module docstring. OrderRejected (with the order recorded as REJECTED when
        it got an id) if refused."""
        self._require_connection()
        account = self._order_account(account)
        quantity = order_quantity(quantity)
        try:
            expiry = self.option_expiry_ns(contract)
        except UnknownContract as exc:
            raise OrderRejected(RejectReason.UNKNOWN_CONTRACT, str(exc)) from None
        now_ns = self._now_ns()
        self.process(pd.Timestamp(now_ns, tz="UTC"))
        reason, detail = self._option_placement_rejection(contract, quantity, now_ns, expiry)
        with self.store.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO option_orders(client_ref, account, instrument_code, contract_date,"
                " option_right, strike, expiry, option_code, quantity, status, reason, placed_ns,"
                " arrival_ns) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (client_ref, account, *_identity(contract), quantity,
                 (OrderStatus.REJECTED if reason else OrderStatus.PENDING_SUBMIT).value,
                 f"{reason.value}: {detail}" if reason else "", now_ns,
                 now_ns + self.config.latency.value))
            order_id = int(cur.lastrowid)
        if reason is not None:
            raise OrderRejected(reason, detail, str(order_id))
        return self.get_option_order(str(order_id))

    def _option_placement_rejection(self, contract: OptionContract, quantity: int, now_ns: int,
                                    expiry: int) -> tuple[RejectReason | None, str]:
        code = contract.instrument_code
        if now_ns >= expiry:
            return RejectReason.CONTRACT_NOT_TRADEABLE, f"{contract.key} has expired"
        if abs(quantity) > self.config.max_order_size:
            return RejectReason.SIZE_LIMIT, f"{abs(quantity)} > {self.config.max_order_size}"
        if not self.market.open_mask(code, np.array([now_ns]))[0]:
            return RejectReason.MARKET_CLOSED, f"{code} is outside its trading hours"
        tick = self.market.spec(code).tick_size
        if self._chain_quote(contract, now_ns).mid < tick:
            return RejectReason.UNKNOWN_CONTRACT, f"{contract.key} has no quote (worth < 1 tick)"
        return None, ""

    def get_option_order(self, order_id: str) -> BrokerOptionOrder:
        self.process()
        try:
            key = int(order_id)
        except (TypeError, ValueError):
            raise UnknownOrder(f"no option order with id {order_id!r}") from None
        rows = self.store.read("SELECT * FROM option_orders WHERE order_id = ?", (key,))
        if not rows:
            raise UnknownOrder(f"no option order with id {order_id}")
        r = rows[0]
        return BrokerOptionOrder(str(r["order_id"]), _contract(r), r["quantity"],
                                 OrderStatus(r["status"]), r["filled_quantity"],
                                 r["avg_fill_price"], r["commission"], r["reason"],
                                 r["client_ref"], r["account"],
                                 pd.Timestamp(r["placed_ns"], tz="UTC"))

    def get_option_positions(self) -> list[BrokerOptionPosition]:
        self.process()
        return self._option_positions()

    def _option_positions(self) -> list[BrokerOptionPosition]:
        return [BrokerOptionPosition(_contract(r), r["quantity"], r["average_price"])
                for r in self.store.read(
                    "SELECT * FROM option_positions ORDER BY instrument_code, contract_date,"
                    " expiry, option_code, option_right, strike")]

    # ------------------------------------------------------------------ processing
    def _process_option_orders(self, conn: sqlite3.Connection, now_ns: int) -> None:
        """Fill (or reject) every option order that has arrived by ``now_ns``, oldest first."""
        rows = conn.execute("SELECT * FROM option_orders WHERE status = ? AND arrival_ns <= ?"
                            " ORDER BY arrival_ns, order_id",
                            (OrderStatus.PENDING_SUBMIT.value, now_ns)).fetchall()
        for row in rows:
            contract = _contract(row)
            code, arrival = contract.instrument_code, row["arrival_ns"]
            spec = self.market.spec(code)
            reason = ""
            quote = None
            if arrival >= self.option_expiry_ns(contract):
                reason = f"{RejectReason.CONTRACT_NOT_TRADEABLE.value}: expired before arrival"
            elif not self.market.open_mask(code, np.array([arrival]))[0]:
                reason = f"{RejectReason.MARKET_CLOSED.value}: market closed on arrival"
            else:
                quote = self._chain_quote(contract, arrival)
                if row["quantity"] < 0 and quote.bid <= 0:
                    reason = f"{RejectReason.EXCHANGE_REJECT.value}: no bid for {contract.key}"
            if reason:
                check_transition(OrderStatus.PENDING_SUBMIT, OrderStatus.REJECTED)
                conn.execute("UPDATE option_orders SET status = ?, reason = ? WHERE order_id = ?",
                             (OrderStatus.REJECTED.value, reason, row["order_id"]))
                continue
            slip = self.config.slippage_ticks * spec.tick_size
            price = quote.ask + slip if row["quantity"] > 0 else max(quote.bid - slip, 0.0)
            commission = abs(row["quantity"]) * spec.commission
            check_transition(OrderStatus.PENDING_SUBMIT, OrderStatus.FILLED)
            conn.execute("UPDATE option_orders SET status = ?, filled_quantity = quantity,"
                         " avg_fill_price = ?, commission = ?, fill_ns = ? WHERE order_id = ?",
                         (OrderStatus.FILLED.value, price, commission, arrival, row["order_id"]))
            realised = self._apply_to_option_position(conn, contract, row["quantity"], price,
                                                      spec.multiplier)
            self._add_cash(conn, spec.currency, realised - commission)

    @staticmethod
    def _apply_to_option_position(conn, contract: OptionContract, qty: int, price: float,
                                  multiplier: float) -> float:
        ident = _identity(contract)
        where = ("instrument_code = ? AND contract_date = ? AND option_right = ? AND strike = ?"
                 " AND expiry = ? AND option_code = ?")
        row = conn.execute(f"SELECT quantity, average_price FROM option_positions WHERE {where}",
                           ident).fetchone()
        pos, avg = (row["quantity"], row["average_price"]) if row else (0, 0.0)
        new_pos, new_avg, realised = apply_fill(pos, avg, qty, price, multiplier)
        if new_pos == 0:
            conn.execute(f"DELETE FROM option_positions WHERE {where}", ident)
        else:
            conn.execute(
                "INSERT INTO option_positions(instrument_code, contract_date, option_right,"
                " strike, expiry, option_code, quantity, average_price)"
                " VALUES(?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(instrument_code, contract_date,"
                " option_right, strike, expiry, option_code) DO UPDATE SET"
                " quantity = excluded.quantity, average_price = excluded.average_price",
                (*ident, new_pos, new_avg))
        return realised

    def _settle_expired_options(self, conn: sqlite3.Connection, now_ns: int) -> None:
        """Close expired option positions at intrinsic value and exercise those in the money
        into the future (see the module docstring)."""
        for row in conn.execute("SELECT * FROM option_positions ORDER BY rowid").fetchall():
            contract = _contract(row)
            expiry = self.option_expiry_ns(contract)
            if expiry > now_ns:
                continue
            spec = self.market.spec(contract.instrument_code)
            final = self._final_price(contract, expiry)
            call = contract.right is OptionRight.CALL
            intrinsic = max(0.0, (final - contract.strike) if call else (contract.strike - final))
            quantity = row["quantity"]
            pnl = self._apply_to_option_position(conn, contract, -quantity, intrinsic,
                                                 spec.multiplier)
            if intrinsic > 0:  # exercised (long) or assigned (short) into the future
                pnl += self._apply_to_position(conn, contract.instrument_code,
                                               contract.contract_date,
                                               quantity * (1 if call else -1), final,
                                               spec.multiplier)
            conn.execute(
                "INSERT INTO option_settlements(instrument_code, contract_date, option_right,"
                " strike, expiry, option_code, quantity, intrinsic, final_price, pnl, currency,"
                " time_ns) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*_identity(contract), quantity, intrinsic, final, pnl, spec.currency, expiry))
            self._add_cash(conn, spec.currency, pnl)

    def _option_marks(self, now_ns: int) -> list[tuple[str, float, float]]:
        """Per open option position: (currency, unrealised P&L, margin in that currency)."""
        out = []
        for pos in self._option_positions():
            spec = self.market.spec(pos.contract.instrument_code)
            t = int(self.market.last_open_instant(pos.contract.instrument_code, now_ns))
            mid = self._chain_quote(pos.contract, t).mid
            out.append((spec.currency,
                        pos.quantity * (mid - pos.average_price) * spec.multiplier,
                        abs(pos.quantity) * mid * spec.multiplier * spec.margin_rate))
        return out
