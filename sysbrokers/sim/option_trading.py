"""Options on futures in the simulated broker (mixed into :class:`~sysbrokers.sim.broker.SimBroker`).

Conventions (deterministic, like the futures side):

* **Orders**: market and limit orders, modified and cancelled like futures orders. An order
  reaches the exchange ``latency`` after it is placed. A **market** order fills there in full,
  in one execution, at the option's ask (buy) or bid (sell) on the simulated chain
  (:class:`~sysbrokers.sim.options.SimOptionChains`) at that instant, plus ``slippage_ticks``.
  A **limit** order (price on the product's tick) then rests and gets the futures' fill
  opportunities (every ``fill_interval``, then every ``sparse_interval``) while the market is
  open: at each one where the option's ask is at or below a buy limit (the bid at or above a
  sell limit, and above zero) it takes up to ``option_touch_size`` × ``participation``
  contracts at the touch (never worse than its limit): **partial fills**, one execution each.
  ``modify_option_order`` changes the quantity (keeping its sign, not below what has filled)
  and/or the limit at once; ``cancel_option_order`` takes effect ``latency`` later and fills
  can arrive in between. A working order still open when its option expires is cancelled
  (reason ``option expired``). Orders are rejected on placement for an unknown listing, a
  strike without a quote, an expired option, a closed market, a size above
  ``max_order_size`` or a limit off the tick; on arrival if the market has closed, the option
  has expired, or a market sell finds no bid.
* **Executions**: every fill is an :class:`~sysbrokers.objects.OptionExecution` with its own
  id (``simopt.<number>.01``) from :meth:`get_option_executions`; a file written before
  executions were recorded gets one per filled order when it is opened. Like the futures
  side, processing is a pure function of the orders, their modifications and the market,
  whatever the schedule of calls, so a restarted broker ends with the same fills.
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

Options never appear in :meth:`get_positions`, :meth:`get_executions` or
:meth:`drain_events` (futures only, so reconciliation of futures positions is unchanged): use
:meth:`get_option_positions`, :meth:`get_option_orders` and :meth:`get_option_executions`.
"""
from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sysbrokers.broker import order_quantity
from sysbrokers.errors import (
    InvalidOrderState,
    OrderRejected,
    RejectReason,
    UnknownContract,
    UnknownOrder,
)
from sysbrokers.objects import (
    BrokerOptionOrder,
    BrokerOptionPosition,
    OptionContract,
    OptionExecution,
    OptionExpiry,
    OptionQuoteSnapshot,
    OrderStatus,
    OrderType,
    check_transition,
)
from sysbrokers.sim.options import OptionListing, SimOptionChains
from sysbrokers.sim.position_math import apply_fill, off_tick
from syscore.dates import aware_to_utc
from sysobjects.black76 import OptionRight

DAY_NS = 86_400_000_000_000
_OPEN = tuple(s.value for s in OrderStatus if not s.is_terminal)


@dataclass(frozen=True)
class _OptionFill:
    order_id: int
    time_ns: int
    quantity: int
    price: float


def option_exec_id_text(exec_id: int) -> str:
    """An option execution id as text: ``simopt.<number>.01`` (distinct from the futures'
    ``sim.<number>.01``, so one ledger can key both by execution id)."""
    return f"simopt.{int(exec_id):010d}.01"


def _option_order_id(order_id: str | int) -> int:
    try:
        return int(order_id)
    except (TypeError, ValueError):
        raise UnknownOrder(f"no option order with id {order_id!r}") from None


def _option_order(r: sqlite3.Row) -> BrokerOptionOrder:
    updated = r["updated_ns"] if r["updated_ns"] is not None else r["placed_ns"]
    return BrokerOptionOrder(str(r["order_id"]), _contract(r), r["quantity"],
                             OrderStatus(r["status"]), r["filled_quantity"],
                             r["avg_fill_price"], r["commission"], r["reason"],
                             r["client_ref"], r["account"],
                             pd.Timestamp(r["placed_ns"], tz="UTC"),
                             OrderType(r["order_type"]), r["limit_price"],
                             pd.Timestamp(updated, tz="UTC"))


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
    ``_require_connection``, ``_order_account``, ``_add_cash``, ``_apply_to_position`` and
    ``_opportunity_times``."""

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

    def get_option_expiry(self, contract: OptionContract) -> OptionExpiry | None:
        """See :meth:`Broker.get_option_expiry` (the same figures as the settlement)."""
        expiry = self.option_expiry_ns(contract)
        if self._now_ns() < expiry:
            return None
        final = self._final_price(contract, expiry)
        call = contract.right is OptionRight.CALL
        intrinsic = max(0.0, (final - contract.strike) if call else (contract.strike - final))
        future_expiry = self.market.expiry_ns(contract.instrument_code, contract.contract_date)
        return OptionExpiry(contract, pd.Timestamp(expiry, tz="UTC"), final, intrinsic,
                            future_expiry > expiry)

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
                           account: str = "", order_type: OrderType = OrderType.MARKET,
                           limit_price: float | None = None) -> BrokerOptionOrder:
        """See the module docstring. OrderRejected (with the order recorded as REJECTED when
        it got an id) if refused."""
        self._require_connection()
        account = self._order_account(account)
        quantity = order_quantity(quantity)
        order_type = OrderType(order_type)
        if (order_type is OrderType.LIMIT) != (limit_price is not None):
            raise OrderRejected(RejectReason.INVALID_PRICE,
                                "a LIMIT order needs a limit price, a MARKET order none")
        try:
            expiry = self.option_expiry_ns(contract)
        except UnknownContract as exc:
            raise OrderRejected(RejectReason.UNKNOWN_CONTRACT, str(exc)) from None
        now_ns = self._now_ns()
        self.process(pd.Timestamp(now_ns, tz="UTC"))
        reason, detail = self._option_placement_rejection(contract, quantity, limit_price,
                                                          now_ns, expiry)
        arrival = now_ns + self.config.latency.value
        with self.store.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO option_orders(client_ref, account, instrument_code, contract_date,"
                " option_right, strike, expiry, option_code, quantity, status, reason, placed_ns,"
                " arrival_ns, order_type, limit_price, processed_ns, updated_ns)"
                " VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (client_ref, account, *_identity(contract), quantity,
                 (OrderStatus.REJECTED if reason else OrderStatus.PENDING_SUBMIT).value,
                 f"{reason.value}: {detail}" if reason else "", now_ns, arrival,
                 order_type.value, None if limit_price is None else float(limit_price),
                 arrival - 1, now_ns))
            order_id = int(cur.lastrowid)
            if reason is None:
                self._process_option_orders(conn, now_ns, only=order_id)
        if reason is not None:
            raise OrderRejected(reason, detail, str(order_id))
        return self.get_option_order(str(order_id))

    def _option_placement_rejection(self, contract: OptionContract, quantity: int,
                                    limit_price: float | None, now_ns: int, expiry: int
                                    ) -> tuple[RejectReason | None, str]:
        code = contract.instrument_code
        if now_ns >= expiry:
            return RejectReason.CONTRACT_NOT_TRADEABLE, f"{contract.key} has expired"
        if abs(quantity) > self.config.max_order_size:
            return RejectReason.SIZE_LIMIT, f"{abs(quantity)} > {self.config.max_order_size}"
        tick = self.market.spec(code).tick_size
        if limit_price is not None and off_tick(limit_price, tick):
            return (RejectReason.INVALID_PRICE,
                    f"{limit_price} is not a positive multiple of tick {tick}")
        if not self.market.open_mask(code, np.array([now_ns]))[0]:
            return RejectReason.MARKET_CLOSED, f"{code} is outside its trading hours"
        if self._chain_quote(contract, now_ns).mid < tick:
            return RejectReason.UNKNOWN_CONTRACT, f"{contract.key} has no quote (worth < 1 tick)"
        return None, ""

    def modify_option_order(self, order_id: str, quantity: int | None = None,
                            limit_price: float | None = None) -> BrokerOptionOrder:
        """See :meth:`Broker.modify_option_order`: effective at once (fills up to now are
        processed first)."""
        key = _option_order_id(order_id)
        now_ns = self._now_ns()
        self.process(pd.Timestamp(now_ns, tz="UTC"))
        with self.store.transaction() as conn:
            row = self._option_order_row(conn, key)
            status = OrderStatus(row["status"])
            if status.is_terminal or status is OrderStatus.PENDING_CANCEL:
                raise InvalidOrderState(
                    f"option order {key} is {status.name} and cannot be modified")
            new_qty = row["quantity"] if quantity is None else order_quantity(quantity)
            filled = row["filled_quantity"]
            if (new_qty > 0) != (row["quantity"] > 0) or abs(new_qty) < abs(filled):
                raise InvalidOrderState(f"option order {key}: new quantity {new_qty} must keep "
                                        f"the sign and be at least the filled {filled}")
            if abs(new_qty) > self.config.max_order_size:
                raise OrderRejected(RejectReason.SIZE_LIMIT,
                                    f"{abs(new_qty)} > {self.config.max_order_size}", str(key))
            new_limit = row["limit_price"]
            if limit_price is not None:
                if row["order_type"] != OrderType.LIMIT.value:
                    raise InvalidOrderState(
                        f"option order {key} is a MARKET order: no limit price to change")
                tick = self.market.spec(row["instrument_code"]).tick_size
                if off_tick(limit_price, tick):
                    raise OrderRejected(RejectReason.INVALID_PRICE,
                                        f"{limit_price} not on tick {tick}", str(key))
                new_limit = float(limit_price)
            new_status = OrderStatus.FILLED if new_qty == filled else status
            check_transition(status, new_status)
            conn.execute("UPDATE option_orders SET quantity = ?, limit_price = ?, status = ?,"
                         " updated_ns = ? WHERE order_id = ?",
                         (new_qty, new_limit, new_status.value, now_ns, key))
            self._process_option_orders(conn, now_ns, only=key)
        return self.get_option_order(str(key))

    def cancel_option_order(self, order_id: str) -> BrokerOptionOrder:
        """See :meth:`Broker.cancel_option_order`: effective ``latency`` after the request;
        fills can arrive in between."""
        key = _option_order_id(order_id)
        now_ns = self._now_ns()
        self.process(pd.Timestamp(now_ns, tz="UTC"))
        with self.store.transaction() as conn:
            row = self._option_order_row(conn, key)
            status = OrderStatus(row["status"])
            if status.is_terminal:
                raise InvalidOrderState(
                    f"option order {key} is {status.name} and cannot be cancelled")
            if status is not OrderStatus.PENDING_CANCEL:
                check_transition(status, OrderStatus.PENDING_CANCEL)
                conn.execute("UPDATE option_orders SET status = ?, cancel_effective_ns = ?,"
                             " updated_ns = ? WHERE order_id = ?",
                             (OrderStatus.PENDING_CANCEL.value,
                              now_ns + self.config.latency.value, now_ns, key))
                self._process_option_orders(conn, now_ns, only=key)
        return self.get_option_order(str(key))

    @staticmethod
    def _option_order_row(conn, key: int) -> sqlite3.Row:
        row = conn.execute("SELECT * FROM option_orders WHERE order_id = ?", (key,)).fetchone()
        if row is None:
            raise UnknownOrder(f"no option order with id {key}")
        return row

    def get_option_order(self, order_id: str) -> BrokerOptionOrder:
        self.process()
        key = _option_order_id(order_id)
        rows = self.store.read("SELECT * FROM option_orders WHERE order_id = ?", (key,))
        if not rows:
            raise UnknownOrder(f"no option order with id {order_id}")
        return _option_order(rows[0])

    def get_option_orders(self, open_only: bool = False) -> list[BrokerOptionOrder]:
        self.process()
        sql, params = "SELECT * FROM option_orders", ()
        if open_only:
            sql += f" WHERE status IN ({','.join('?' * len(_OPEN))})"
            params = _OPEN
        return [_option_order(r) for r in self.store.read(sql + " ORDER BY order_id", params)]

    def find_option_orders(self, client_ref: str) -> list[BrokerOptionOrder]:
        self.process()
        return [_option_order(r) for r in self.store.read(
            "SELECT * FROM option_orders WHERE client_ref = ? ORDER BY order_id", (client_ref,))]

    def get_option_executions(self, since: pd.Timestamp | None = None
                              ) -> list[OptionExecution]:
        self.process()
        since_ns = aware_to_utc(since).value if since is not None else -(2 ** 62)
        rows = self.store.read(
            "SELECT e.*, o.client_ref, o.account, o.instrument_code, o.contract_date,"
            " o.option_right, o.strike, o.expiry, o.option_code FROM option_executions e"
            " JOIN option_orders o ON o.order_id = e.order_id WHERE e.time_ns >= ?"
            " ORDER BY e.exec_id", (since_ns,))
        return [OptionExecution(option_exec_id_text(r["exec_id"]), str(r["order_id"]),
                                _contract(r), r["quantity"], r["price"], r["commission"],
                                r["currency"], pd.Timestamp(r["time_ns"], tz="UTC"),
                                r["client_ref"], r["account"]) for r in rows]

    def get_option_positions(self) -> list[BrokerOptionPosition]:
        self.process()
        return self._option_positions()

    def _option_positions(self) -> list[BrokerOptionPosition]:
        return [BrokerOptionPosition(_contract(r), r["quantity"], r["average_price"])
                for r in self.store.read(
                    "SELECT * FROM option_positions ORDER BY instrument_code, contract_date,"
                    " expiry, option_code, option_right, strike")]

    # ------------------------------------------------------------------ processing
    def _process_option_orders(self, conn: sqlite3.Connection, now_ns: int,
                               only: int | None = None) -> None:
        """Advance every open option order that has arrived by ``now_ns`` (or only order
        ``only``), then book the fills in time order (ties: order id)."""
        sql = (f"SELECT * FROM option_orders WHERE status IN ({','.join('?' * len(_OPEN))})"
               " AND arrival_ns <= ?")
        params: tuple = (*_OPEN, now_ns)
        if only is not None:
            sql, params = sql + " AND order_id = ?", (*params, only)
        fills: list[_OptionFill] = []
        for row in conn.execute(sql + " ORDER BY order_id", params).fetchall():
            fills.extend(self._advance_option_order(conn, row, now_ns))
        for fill in sorted(fills, key=lambda f: (f.time_ns, f.order_id)):
            self._book_option_fill(conn, fill)

    def _option_arrival_rejection(self, row: sqlite3.Row, contract: OptionContract,
                                  arrival: int, expiry: int) -> str:
        if arrival >= expiry:
            return f"{RejectReason.CONTRACT_NOT_TRADEABLE.value}: expired before arrival"
        if not self.market.open_mask(contract.instrument_code, np.array([arrival]))[0]:
            return f"{RejectReason.MARKET_CLOSED.value}: market closed on arrival"
        if row["order_type"] == OrderType.MARKET.value and row["quantity"] < 0 and \
                self._chain_quote(contract, arrival).bid <= 0:
            return f"{RejectReason.EXCHANGE_REJECT.value}: no bid for {contract.key}"
        return ""

    def _advance_option_order(self, conn: sqlite3.Connection, row: sqlite3.Row,
                              now_ns: int) -> list[_OptionFill]:
        """Status changes and fills of one option order up to ``now_ns`` (see module)."""
        order_id, status = row["order_id"], OrderStatus(row["status"])
        arrival, cancel_at = row["arrival_ns"], row["cancel_effective_ns"]
        processed = row["processed_ns"] if row["processed_ns"] is not None else arrival - 1
        contract = _contract(row)
        expiry = self.option_expiry_ns(contract)
        spec = self.market.spec(contract.instrument_code)
        quantity = row["quantity"]
        sign = 1 if quantity > 0 else -1
        market = row["order_type"] == OrderType.MARKET.value
        reason = row["reason"]
        if status is OrderStatus.PENDING_SUBMIT or (
                status is OrderStatus.PENDING_CANCEL and processed < arrival):
            if cancel_at is not None and cancel_at <= arrival:
                self._set_option_status(conn, order_id, status, OrderStatus.CANCELLED, now_ns,
                                        "cancelled before reaching the exchange")
                return []
            rejection = self._option_arrival_rejection(row, contract, arrival, expiry)
            if rejection:
                self._set_option_status(conn, order_id, status, OrderStatus.REJECTED, now_ns,
                                        rejection)
                return []
            if market:
                quote = self._chain_quote(contract, arrival)
                slip = self.config.slippage_ticks * spec.tick_size
                price = quote.ask + slip if sign > 0 else max(quote.bid - slip, 0.0)
                self._set_option_status(conn, order_id, status, OrderStatus.FILLED, now_ns,
                                        reason)
                return [_OptionFill(order_id, arrival, quantity - row["filled_quantity"],
                                    price)]
        remaining = abs(quantity) - abs(row["filled_quantity"])
        fill_until = min(now_ns, expiry - 1)
        if cancel_at is not None:
            fill_until = min(fill_until, cancel_at - 1)
        after = max(processed, arrival - 1)
        per_opportunity = max(1, int(self.config.option_touch_size
                                     * self.config.participation))
        limit = row["limit_price"]
        fills: list[_OptionFill] = []
        while remaining > 0 and after < fill_until:
            times = self._opportunity_times(arrival, after, fill_until)
            if len(times) == 0:
                break
            open_times = times[self.market.open_mask(contract.instrument_code, times)]
            listing = OptionListing(contract.contract_date, contract.option_code,
                                    contract.expiry)
            quotes = self.option_chains.quotes(contract.instrument_code, listing,
                                               contract.strike, contract.right, open_times)
            for t, quote in zip(open_times, quotes, strict=True):
                if sign > 0 and quote.ask <= limit + 1e-12:
                    price = quote.ask
                elif sign < 0 and 0 < quote.bid and quote.bid >= limit - 1e-12:
                    price = quote.bid
                else:
                    continue
                take = min(remaining, per_opportunity)
                fills.append(_OptionFill(order_id, int(t), sign * take, float(price)))
                remaining -= take
                if remaining == 0:
                    break
            after = int(times[-1])
        filled = abs(quantity) - remaining
        if remaining == 0:
            new_status = OrderStatus.FILLED
        elif cancel_at is not None and cancel_at <= now_ns:
            new_status, reason = OrderStatus.CANCELLED, reason or "cancelled"
        elif expiry <= now_ns:
            new_status, reason = OrderStatus.CANCELLED, "option expired"
        elif cancel_at is not None:
            new_status = OrderStatus.PENDING_CANCEL
        elif filled > 0:
            new_status = OrderStatus.PARTIALLY_FILLED
        else:
            new_status = OrderStatus.WORKING
        check_transition(status, new_status)
        conn.execute("UPDATE option_orders SET status = ?, reason = ?, processed_ns = ?,"
                     " updated_ns = ? WHERE order_id = ?",
                     (new_status.value, reason, max(now_ns, processed),
                      now_ns if new_status is not status else row["updated_ns"], order_id))
        return fills

    @staticmethod
    def _set_option_status(conn, order_id: int, old: OrderStatus, new: OrderStatus,
                           now_ns: int, reason: str) -> None:
        check_transition(old, new)
        conn.execute("UPDATE option_orders SET status = ?, reason = ?, processed_ns = ?,"
                     " updated_ns = ? WHERE order_id = ?",
                     (new.value, reason, now_ns, now_ns, order_id))

    def _book_option_fill(self, conn: sqlite3.Connection, fill: _OptionFill) -> None:
        """One execution: the order's totals, the position, realised P&L and commission."""
        row = self._option_order_row(conn, fill.order_id)
        contract = _contract(row)
        spec = self.market.spec(contract.instrument_code)
        commission = abs(fill.quantity) * spec.commission
        conn.execute("INSERT INTO option_executions(order_id, quantity, price, commission,"
                     " currency, time_ns) VALUES(?, ?, ?, ?, ?, ?)",
                     (fill.order_id, fill.quantity, fill.price, commission, spec.currency,
                      fill.time_ns))
        filled = row["filled_quantity"] + fill.quantity
        if abs(filled) > abs(row["quantity"]):
            raise AssertionError(f"option order {fill.order_id} would be overfilled")
        average = (row["filled_quantity"] * (row["avg_fill_price"] or 0.0)
                   + fill.quantity * fill.price) / filled
        conn.execute("UPDATE option_orders SET filled_quantity = ?, avg_fill_price = ?,"
                     " commission = commission + ?, fill_ns = ? WHERE order_id = ?",
                     (filled, average, commission, fill.time_ns, fill.order_id))
        realised = self._apply_to_option_position(conn, contract, fill.quantity, fill.price,
                                                  spec.multiplier)
        self._add_cash(conn, spec.currency, realised - commission)

    def _migrate_option_executions(self, conn: sqlite3.Connection) -> None:
        """A file written before option executions were recorded: one execution per filled
        option order (market orders only then, filled in one go at ``fill_ns``). Idempotent."""
        rows = conn.execute(
            "SELECT o.* FROM option_orders o WHERE o.filled_quantity != 0 AND o.fill_ns IS NOT"
            " NULL AND NOT EXISTS (SELECT 1 FROM option_executions e WHERE e.order_id ="
            " o.order_id) ORDER BY o.order_id").fetchall()
        for r in rows:
            conn.execute("INSERT INTO option_executions(order_id, quantity, price, commission,"
                         " currency, time_ns) VALUES(?, ?, ?, ?, ?, ?)",
                         (r["order_id"], r["filled_quantity"], r["avg_fill_price"],
                          r["commission"], self.market.spec(r["instrument_code"]).currency,
                          r["fill_ns"]))

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
