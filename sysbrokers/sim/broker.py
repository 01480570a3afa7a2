"""``SimBroker``: the default broker, trading against the simulated market.

It behaves as an external party: account, positions, working orders and executions live in its
own SQLite file (:mod:`sysbrokers.sim.store`). Every public call first *processes* the market up
to the injected clock's "now": orders reach the exchange after ``latency``, then get a fill
opportunity every ``fill_interval`` (for the first ``dense_opportunities`` opportunities, then
every ``sparse_interval``) while the market is open. At each opportunity an order takes up to
``participation`` x the size at the touch, at the touch price (plus ``slippage_ticks`` for market
orders; limit orders fill only at or better than their limit). Cancels take effect ``latency``
after the request, and fills can arrive in between (cancels race with fills).

Processing is deterministic: fills are a pure function of the order, its modifications and the
market, whatever the schedule of calls, and each step is one transaction, so a process killed at
any point never loses or duplicates a fill. Each order sees the whole touch (orders do not
consume each other's liquidity).

Positions are settled into cash at the contract's last trading instant (marked at the final mid).

Options on the futures trade too (:mod:`sysbrokers.sim.option_trading`: market and limit
orders, modify and cancel, partial fills, executions, fills at the chain's touch, futures-style
margining, expiry at intrinsic value with exercise into the future).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StrictStr,
    ValidationError,
    field_validator,
)

from sysbrokers.broker import Broker, Frequency, fx_quantity, order_quantity
from sysbrokers.errors import (
    BrokerDisconnected,
    InvalidOrderState,
    OrderRejected,
    RejectReason,
    UnknownContract,
    UnknownOrder,
)
from sysbrokers.objects import (
    AccountValue,
    BidAsk,
    BrokerContractDetails,
    BrokerEvent,
    BrokerOrder,
    BrokerPosition,
    CommissionEvent,
    CommissionReport,
    ConnectionEvent,
    Execution,
    ExecutionEvent,
    FxTrade,
    OrderStatus,
    OrderStatusEvent,
    OrderType,
    SpreadLeg,
    TradingHours,
    check_spread_legs,
    check_transition,
)
from sysbrokers.sim.counter_rng import stream_key, uniforms
from sysbrokers.sim.market import MarketModel, Quotes, default_market
from sysbrokers.sim.option_trading import SimOptionTrading
from sysbrokers.sim.options import SimOptionChains
from sysbrokers.sim.position_math import apply_fill, off_tick
from sysbrokers.sim.store import BrokerStore
from syscore.clock import Clock
from syscore.config import validation_message
from syscore.dates import aware_to_utc

OPEN_STATUSES = tuple(s.value for s in OrderStatus if not s.is_terminal)
_OPPORTUNITY_CHUNK = 4096


def _duration(value: Any) -> Any:
    """A duration as ``pd.Timedelta`` (``"250ms"``, ``"5s"``, or a Timedelta); anything else is
    left for the type check to refuse."""
    if isinstance(value, pd.Timedelta):
        return value
    if isinstance(value, (str, dt.timedelta)) and not isinstance(value, bool):
        try:
            return pd.Timedelta(value)
        except ValueError:
            pass
    raise ValueError("expected Timedelta (e.g. '250ms', '5s')")


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"expected a number, not {value}")
    return value


Duration = Annotated[pd.Timedelta, BeforeValidator(_duration)]
Number = Annotated[float, BeforeValidator(_not_bool)]
Count = Annotated[int, BeforeValidator(_not_bool)]


class SimBrokerConfig(BaseModel):
    """Behaviour of the simulated broker (defaults in brackets).

    * ``base_currency`` [USD] and ``initial_cash`` [1,000,000 in base currency];
    * ``latency`` [250 ms]: order and cancel travel time;
    * ``fill_interval`` [5 s] between fill opportunities, for the first ``dense_opportunities``
      [720] opportunities, then every ``sparse_interval`` [5 min];
    * ``participation`` [1.0]: fraction of the touch size an order can take per opportunity;
    * ``slippage_ticks`` [0]: market orders pay this many ticks beyond the touch;
    * ``max_order_size`` [500] contracts per order;
    * ``option_touch_size`` [50]: option contracts a limit order can take per fill opportunity
      (times ``participation``; the chain quotes no size);
    * ``exchange_reject_rate`` [0]: probability an order is rejected on arrival;
    * ``synchronous`` [NORMAL]: SQLite synchronous mode (NORMAL survives process kills; FULL
      also survives power loss);
    * ``account`` [SIM0001]: the one account; orders for any other account are rejected.

    A pydantic model like the rest of the configuration: validated when built (durations from
    text such as ``"250ms"``); a bad value raises ``ValueError`` (pydantic's ValidationError).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    base_currency: StrictStr = "USD"
    initial_cash: Number = 1_000_000.0
    latency: Duration = pd.Timedelta(milliseconds=250)
    fill_interval: Duration = pd.Timedelta(seconds=5)
    dense_opportunities: Count = 720
    sparse_interval: Duration = pd.Timedelta(minutes=5)
    participation: Number = 1.0
    slippage_ticks: Number = 0.0
    max_order_size: Count = 500
    option_touch_size: Count = 50
    exchange_reject_rate: Number = 0.0
    synchronous: StrictStr = "NORMAL"
    account: StrictStr = "SIM0001"

    @field_validator("fill_interval", "sparse_interval")
    @classmethod
    def _positive(cls, value: pd.Timedelta) -> pd.Timedelta:
        if value <= pd.Timedelta(0):
            raise ValueError("expected a positive duration")
        return value

    @field_validator("latency")
    @classmethod
    def _not_negative(cls, value: pd.Timedelta) -> pd.Timedelta:
        if value < pd.Timedelta(0):
            raise ValueError("expected a duration >= 0")
        return value

    @field_validator("option_touch_size")
    @classmethod
    def _at_least_one(cls, value: int) -> int:
        if value < 1:
            raise ValueError("expected at least 1 contract")
        return value

    @field_validator("participation")
    @classmethod
    def _fraction(cls, value: float) -> float:
        if not 0 < value <= 1:
            raise ValueError("expected a fraction in (0, 1]")
        return value

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], source: str = "sim_broker config"
    ) -> SimBrokerConfig:
        """Build from a config mapping (durations as strings such as ``"250ms"`` or ``"5s"``).

        Unknown keys or values of the wrong type raise ``ValueError`` naming ``source``, the
        key, what was expected and what was found.
        """
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            raise ValueError(validation_message(exc, source, dict(data))) from None


def default_broker_path(home: Path | str) -> Path:
    """``<home>/sim_broker/broker.sqlite`` (``home``: the systrade home, e.g. ``data.home``)."""
    return Path(home) / "sim_broker" / "broker.sqlite"


@dataclass
class _Fill:
    order_id: int
    time_ns: int
    quantity: int  #: contracts (an outright) or spread units (a spread)
    price: float  #: the spread price for a spread
    bid: float | None = None  #: top of book when it filled (an outright)
    ask: float | None = None
    leg_prices: tuple[float, ...] = ()  #: a spread's price per leg, in leg order
    leg_books: tuple[tuple[float, float], ...] = ()  #: a spread's (bid, ask) per leg


class SimBroker(SimOptionTrading, Broker):
    """Simulated broker on a :class:`MarketModel`, state in ``<home>/sim_broker/broker.sqlite``.
    ``option_chains`` (default: the simulator's chains with default calendars) lists and
    prices the options it trades."""

    supports_spread_orders = True

    def __init__(
        self,
        clock: Clock,
        home: Path | str,
        market: MarketModel | None = None,
        config: SimBrokerConfig | None = None,
        option_chains: SimOptionChains | None = None,
    ):
        self.clock = clock
        self.market = market if market is not None else default_market()
        self.option_chains = option_chains if option_chains is not None else \
            SimOptionChains(self.market)
        self.config = config if config is not None else SimBrokerConfig()
        self.path = default_broker_path(home)
        self.store = BrokerStore(self.path, self.config.synchronous)
        with self.store.transaction() as conn:
            if BrokerStore.get_meta(conn, "initialised") is None:
                conn.execute(
                    "INSERT INTO cash(currency, amount) VALUES(?, ?)",
                    (self.config.base_currency, float(self.config.initial_cash)),
                )
                BrokerStore.set_meta(conn, "initialised", "1")
                BrokerStore.set_meta(conn, "base_currency", self.config.base_currency)
                BrokerStore.set_meta(conn, "processed_ns", "0")
            self._migrate_option_executions(conn)
            self._base_currency = BrokerStore.get_meta(conn, "base_currency") or "USD"
        self._connected = False
        self._quote_cache: dict[tuple[str, str, bytes], Quotes] | None = None
        self._event_cursor = 0
        self._pending: list[BrokerEvent] = []
        self._ever_connected = False
        self.connect()

    # ================================================================= connection & events
    def connect(self) -> None:
        """Connect (idempotent). Events are drained from the moment of connection on; what
        happened while disconnected is found with get_orders / get_executions."""
        if self._connected:
            return
        if self.store.closed:
            self.store = BrokerStore(self.path, self.config.synchronous)
        self._connected = True
        self.process()  # what happened while disconnected is state, not events
        rows = self.store.read("SELECT MAX(event_id) AS last FROM events")
        self._event_cursor = rows[0]["last"] or 0
        if self._ever_connected:
            self._pending.append(ConnectionEvent(True, "reconnected: reconcile orders and "
                                                 "executions", self.clock.now()))
        self._ever_connected = True

    def is_connected(self) -> bool:
        return self._connected

    def disconnect(self, reason: str = "disconnected") -> None:
        """Drop the connection (as a gateway restart would); calls raise BrokerDisconnected
        until :meth:`connect`."""
        if self._connected:
            self._connected = False
            self._pending.append(ConnectionEvent(False, reason, self.clock.now()))

    def close(self) -> None:
        self._connected = False
        self.store.close()

    def _require_connection(self) -> None:
        if not self._connected:
            raise BrokerDisconnected("the simulated broker is disconnected: connect() first")

    def drain_events(self) -> list[BrokerEvent]:
        """Order status changes, executions and commission reports since the last call (each
        order event carries the order as it is now), then connection changes."""
        pending, self._pending = self._pending, []
        if not self._connected:
            return pending
        self.process()
        rows = self.store.read("SELECT * FROM events WHERE event_id > ? ORDER BY event_id",
                               (self._event_cursor,))
        events: list[BrokerEvent] = []
        for row in rows:
            self._event_cursor = row["event_id"]
            if row["kind"] == "order":
                events.append(OrderStatusEvent(self.get_order(str(row["ref"]))))
            else:
                execution = self._executions("WHERE e.exec_id = ?", (row["ref"],))[0]
                if row["kind"] == "execution":
                    events.append(ExecutionEvent(execution))
                else:
                    events.append(CommissionEvent(CommissionReport(
                        execution.exec_id, float(execution.commission),
                        execution.commission_currency, execution.timestamp)))
        return events + pending

    @staticmethod
    def _event(conn, kind: str, ref: int, time_ns: int) -> None:
        conn.execute("INSERT INTO events(kind, ref, time_ns) VALUES(?, ?, ?)",
                     (kind, int(ref), int(time_ns)))

    # ================================================================= time & processing
    def _now_ns(self) -> int:
        return aware_to_utc(self.clock.now()).value

    def process(self, now: pd.Timestamp | None = None) -> None:
        """Advance every working order up to ``now`` (default: the clock). Idempotent."""
        self._require_connection()
        now_ns = aware_to_utc(now).value if now is not None else self._now_ns()
        rows = self.store.read("SELECT value FROM meta WHERE key = 'processed_ns'")
        if rows and int(rows[0]["value"]) >= now_ns:
            return
        with self.store.transaction() as conn:
            if int(BrokerStore.get_meta(conn, "processed_ns", "0")) >= now_ns:
                return
            self._process_locked(conn, now_ns)
            BrokerStore.set_meta(conn, "processed_ns", str(now_ns))

    def _process_locked(
        self, conn: sqlite3.Connection, now_ns: int, only: int | None = None
    ) -> None:
        sql = f"SELECT * FROM orders WHERE status IN ({','.join('?' * len(OPEN_STATUSES))})"
        params: tuple = OPEN_STATUSES
        if only is not None:
            sql += " AND order_id = ?"
            params = (*OPEN_STATUSES, only)
        fills: list[_Fill] = []
        # quotes are a pure function of contract and times: orders of one contract that
        # arrived together ask for the same times, so each is computed once per call
        self._quote_cache = {}
        try:
            for row in conn.execute(sql + " ORDER BY order_id", params).fetchall():
                fills.extend(self._advance_order(conn, row, now_ns))
        finally:
            self._quote_cache = None
        fills.sort(key=lambda f: (f.time_ns, f.order_id))
        for fill in fills:
            self._book_fill(conn, fill)
        if only is None:
            self._process_option_orders(conn, now_ns)
            self._settle_expired_options(conn, now_ns)  # may exercise into futures: first
            self._settle_expired(conn, now_ns)

    def _quotes(self, code: str, contract: str, times: np.ndarray) -> Quotes:
        """The market's quotes at ``times``, from this processing's cache when asked before
        (never mutated: callers copy before changing)."""
        cache = self._quote_cache
        if cache is None:
            return self.market.quotes(code, contract, times)
        key = (code, contract, times.tobytes())
        quotes = cache.get(key)
        if quotes is None:
            quotes = cache[key] = self.market.quotes(code, contract, times)
        return quotes

    def _opportunity_times(self, arrival: int, after: int, until: int) -> np.ndarray:
        """Fill opportunity times in ``(after, until]`` for an order arriving at ``arrival``."""
        iv = self.config.fill_interval.value
        dense_n = self.config.dense_opportunities
        sparse_iv = self.config.sparse_interval.value
        dense_end = arrival + (dense_n - 1) * iv
        out = []
        if after < dense_end and until >= arrival:
            k_lo = max(0, (after - arrival) // iv + 1) if after >= arrival else 0
            k_hi = min(dense_n - 1, (until - arrival) // iv)
            if k_hi >= k_lo:
                out.append(
                    arrival + np.arange(k_lo, min(k_hi, k_lo + _OPPORTUNITY_CHUNK - 1) + 1) * iv
                )
        if not out and until > dense_end:
            base = dense_end + sparse_iv
            j_lo = max(0, (after - base) // sparse_iv + 1) if after >= base else 0
            j_hi = (until - base) // sparse_iv
            if j_hi >= j_lo:
                out.append(
                    base + np.arange(j_lo, min(j_hi, j_lo + _OPPORTUNITY_CHUNK - 1) + 1) * sparse_iv
                )
        return out[0].astype(np.int64) if out else np.empty(0, dtype=np.int64)

    def _advance_order(
        self, conn: sqlite3.Connection, row: sqlite3.Row, now_ns: int
    ) -> list[_Fill]:
        order_id = row["order_id"]
        status = OrderStatus(row["status"])
        arrival = row["arrival_ns"]
        cancel_at = row["cancel_effective_ns"]
        code, contract = row["instrument_code"], row["contract_date"]
        legs = _legs(row)
        if now_ns < arrival:
            return []
        expiry = min(self.market.expiry_ns(code, c)
                     for c in ([leg.contract_date for leg in legs] or [contract]))
        if status is OrderStatus.PENDING_SUBMIT or (
            status is OrderStatus.PENDING_CANCEL and row["processed_ns"] < arrival
        ):
            if cancel_at is not None and cancel_at <= arrival:
                self._set_status(
                    conn,
                    row,
                    OrderStatus.CANCELLED,
                    now_ns,
                    reason="cancelled before reaching the exchange",
                )
                return []
            reason = self._arrival_rejection(order_id, code, arrival, expiry)
            if reason is not None:
                self._set_status(conn, row, OrderStatus.REJECTED, now_ns, reason=reason)
                return []
        quantity = row["quantity"]
        sign = 1 if quantity > 0 else -1
        remaining = abs(quantity) - abs(row["filled_quantity"])
        fill_until = min(now_ns, expiry - 1)
        if cancel_at is not None:
            fill_until = min(fill_until, cancel_at - 1)
        after = max(row["processed_ns"], arrival - 1)
        spec = self.market.spec(code)
        fills: list[_Fill] = []
        while remaining > 0 and after < fill_until:
            times = self._opportunity_times(arrival, after, fill_until)
            if len(times) == 0:
                break
            if legs:  # a spread: both legs at once, whole units, or nothing
                taken = self._spread_fills(row, legs, sign, remaining, times, spec.tick_size)
                fills.extend(taken)
                remaining -= sum(abs(f.quantity) for f in taken)
                after = int(times[-1])
                continue
            quotes = self._quotes(code, contract, times)
            if sign > 0:
                price = quotes.ask + self._slippage(row, spec.tick_size)
                size = quotes.ask_size
                ok = quotes.is_open.copy()
                if row["limit_price"] is not None:
                    ok &= quotes.ask <= row["limit_price"] + 1e-12
                    price = quotes.ask
            else:
                price = quotes.bid - self._slippage(row, spec.tick_size)
                size = quotes.bid_size
                ok = quotes.is_open.copy()
                if row["limit_price"] is not None:
                    ok &= quotes.bid >= row["limit_price"] - 1e-12
                    price = quotes.bid
            avail = np.where(
                ok, np.maximum(1, np.floor(size * self.config.participation)), 0
            ).astype(np.int64)
            before = np.cumsum(avail) - avail
            take = np.clip(remaining - before, 0, avail)
            for i in np.flatnonzero(take):
                fills.append(_Fill(order_id, int(times[i]), sign * int(take[i]), float(price[i]),
                                   float(quotes.bid[i]), float(quotes.ask[i])))
            remaining -= int(take.sum())
            after = int(times[-1])
        filled = abs(quantity) - remaining
        if remaining == 0:
            new_status = OrderStatus.FILLED
            reason = row["reason"]
        elif cancel_at is not None and cancel_at <= now_ns:
            new_status, reason = OrderStatus.CANCELLED, row["reason"] or "cancelled"
        elif expiry <= now_ns:
            new_status, reason = OrderStatus.CANCELLED, "contract expired"
        elif cancel_at is not None:
            new_status, reason = OrderStatus.PENDING_CANCEL, row["reason"]
        elif filled > 0:
            new_status, reason = OrderStatus.PARTIALLY_FILLED, row["reason"]
        else:
            new_status, reason = OrderStatus.WORKING, row["reason"]
        check_transition(status, new_status)
        conn.execute(
            "UPDATE orders SET status = ?, reason = ?, processed_ns = ?, updated_ns = ? WHERE order_id = ?",
            (new_status.value, reason, max(now_ns, row["processed_ns"]), now_ns, order_id),
        )
        if new_status is not status:
            self._event(conn, "order", order_id, now_ns)
        return fills

    def _spread_fills(self, row: sqlite3.Row, legs: tuple[SpreadLeg, ...], sign: int,
                      remaining: int, times: np.ndarray, tick: float) -> list[_Fill]:
        """A spread's fills at opportunities ``times``: each leg traded at its touch (buying the
        spread buys leg 1 at its ask and sells leg 2 at its bid), the synthetic price
        ``sum(ratio * leg price)``; a limit fills only where that price is at or better than
        the limit; the units available are the fewest any leg's touch offers."""
        code = row["instrument_code"]
        slip = self._slippage(row, tick)
        ok = np.ones(len(times), dtype=bool)
        units = np.full(len(times), np.iinfo(np.int64).max, dtype=np.int64)
        synthetic = np.zeros(len(times))
        leg_prices, leg_books = [], []
        for leg in legs:
            quotes = self.market.quotes(code, leg.contract_date, times)
            leg_books.append((quotes.bid, quotes.ask))
            buying = sign * leg.ratio > 0
            price = quotes.ask + slip if buying else quotes.bid - slip
            size = quotes.ask_size if buying else quotes.bid_size
            ok &= quotes.is_open
            leg_units = np.maximum(1, np.floor(size * self.config.participation)).astype(
                np.int64) // abs(leg.ratio)
            units = np.minimum(units, leg_units)
            synthetic = synthetic + leg.ratio * price
            leg_prices.append(price)
        if row["limit_price"] is not None:
            limit = row["limit_price"]
            ok &= (synthetic <= limit + 1e-9) if sign > 0 else (synthetic >= limit - 1e-9)
        avail = np.where(ok, units, 0).astype(np.int64)
        before = np.cumsum(avail) - avail
        take = np.clip(remaining - before, 0, avail)
        return [_Fill(row["order_id"], int(times[i]), sign * int(take[i]), float(synthetic[i]),
                      leg_prices=tuple(float(p[i]) for p in leg_prices),
                      leg_books=tuple((float(b[i]), float(a[i])) for b, a in leg_books))
                for i in np.flatnonzero(take)]

    def _slippage(self, row: sqlite3.Row, tick: float) -> float:
        if row["order_type"] == OrderType.MARKET.value:
            return self.config.slippage_ticks * tick
        return 0.0

    def _arrival_rejection(self, order_id: int, code: str, arrival: int, expiry: int) -> str | None:
        if arrival >= expiry:
            return f"{RejectReason.CONTRACT_NOT_TRADEABLE.value}: expired before the order arrived"
        if not self.market.open_mask(code, np.array([arrival]))[0]:
            return f"{RejectReason.MARKET_CLOSED.value}: market closed when the order arrived"
        rate = self.config.exchange_reject_rate
        if rate > 0:
            key = stream_key(self.market.seed, 0x5EED, order_id)
            if uniforms(key, np.array([0]))[0] < rate:
                return RejectReason.EXCHANGE_REJECT.value
        return None

    def _set_status(self, conn, row, status: OrderStatus, now_ns: int, reason: str) -> None:
        check_transition(OrderStatus(row["status"]), status)
        conn.execute(
            "UPDATE orders SET status = ?, reason = ?, processed_ns = ?, updated_ns = ? WHERE order_id = ?",
            (status.value, reason, max(now_ns, row["processed_ns"]), now_ns, row["order_id"]),
        )
        self._event(conn, "order", row["order_id"], now_ns)

    def _book_fill(self, conn: sqlite3.Connection, fill: _Fill) -> None:
        """One fill of an order, in one transaction: an execution per contract (a spread: one
        per leg, each with its own execution id), the order's filled quantity and average
        price (a spread's in units and spread price), positions and cash."""
        order = conn.execute("SELECT * FROM orders WHERE order_id = ?", (fill.order_id,)).fetchone()
        spec = self.market.spec(order["instrument_code"])
        legs = _legs(order)
        if legs:
            parts = [(i + 1, leg.contract_date, fill.quantity * leg.ratio, fill.leg_prices[i],
                      *fill.leg_books[i]) for i, leg in enumerate(legs)]
        else:
            parts = [(0, order["contract_date"], fill.quantity, fill.price, fill.bid, fill.ask)]
        commission = 0.0
        for leg_no, contract, quantity, price, bid, ask in parts:
            leg_commission = abs(quantity) * spec.commission
            cur = conn.execute(
                "INSERT INTO executions(order_id, instrument_code, contract_date, quantity, price,"
                " commission, currency, time_ns, leg, bid, ask)"
                " VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (fill.order_id, order["instrument_code"], contract, quantity, price,
                 leg_commission, spec.currency, fill.time_ns, leg_no, bid, ask),
            )
            self._event(conn, "execution", cur.lastrowid, fill.time_ns)
            self._event(conn, "commission", cur.lastrowid, fill.time_ns)  # IB: its own report
            realised = self._apply_to_position(
                conn, order["instrument_code"], contract, quantity, price, spec.multiplier)
            self._add_cash(conn, spec.currency, realised - leg_commission)
            commission += leg_commission
        filled = order["filled_quantity"] + fill.quantity
        if abs(filled) > abs(order["quantity"]):
            raise AssertionError(f"order {fill.order_id} would be overfilled")  # invariant guard
        avg = (
            order["filled_quantity"] * (order["avg_fill_price"] or 0.0) + fill.quantity * fill.price
        ) / filled
        conn.execute(
            "UPDATE orders SET filled_quantity = ?, avg_fill_price = ?, commission = commission + ?"
            " WHERE order_id = ?",
            (filled, avg, commission, fill.order_id),
        )

    @staticmethod
    def _apply_to_position(
        conn, code: str, contract: str, qty: int, price: float, multiplier: float
    ) -> float:
        row = conn.execute(
            "SELECT quantity, average_price FROM positions WHERE instrument_code = ? AND contract_date = ?",
            (code, contract),
        ).fetchone()
        pos, avg = (row["quantity"], row["average_price"]) if row else (0, 0.0)
        new_pos, new_avg, realised = apply_fill(pos, avg, qty, price, multiplier)
        if new_pos == 0:
            conn.execute(
                "DELETE FROM positions WHERE instrument_code = ? AND contract_date = ?",
                (code, contract),
            )
        else:
            conn.execute(
                "INSERT INTO positions(instrument_code, contract_date, quantity, average_price) VALUES(?, ?, ?, ?)"
                " ON CONFLICT(instrument_code, contract_date) DO UPDATE SET quantity = excluded.quantity,"
                " average_price = excluded.average_price",
                (code, contract, new_pos, new_avg),
            )
        return realised

    @staticmethod
    def _add_cash(conn, currency: str, amount: float) -> None:
        conn.execute(
            "INSERT INTO cash(currency, amount) VALUES(?, ?)"
            " ON CONFLICT(currency) DO UPDATE SET amount = amount + excluded.amount",
            (currency, amount),
        )

    def _settle_expired(self, conn: sqlite3.Connection, now_ns: int) -> None:
        for row in conn.execute("SELECT * FROM positions").fetchall():
            code, contract = row["instrument_code"], row["contract_date"]
            expiry = self.market.expiry_ns(code, contract)
            if expiry > now_ns:
                continue
            spec = self.market.spec(code)
            final = float(self.market.mid_price(code, contract, np.array([expiry - 1]))[0])
            final = round(final / spec.tick_size) * spec.tick_size
            pnl = row["quantity"] * (final - row["average_price"]) * spec.multiplier
            conn.execute(
                "INSERT INTO settlements(instrument_code, contract_date, quantity, price, pnl, currency, time_ns)"
                " VALUES(?, ?, ?, ?, ?, ?, ?)",
                (code, contract, row["quantity"], final, pnl, spec.currency, expiry),
            )
            conn.execute(
                "DELETE FROM positions WHERE instrument_code = ? AND contract_date = ?",
                (code, contract),
            )
            self._add_cash(conn, spec.currency, pnl)

    # ================================================================= reference data
    def list_instruments(self) -> list[str]:
        return self.market.instruments()

    def get_contract_details(
        self, instrument_code: str, contract_date: str
    ) -> BrokerContractDetails:
        return self.market.contract_details(instrument_code, contract_date)

    def get_active_contracts(self, instrument_code: str) -> list[BrokerContractDetails]:
        now = self.clock.now()
        return [
            self.market.contract_details(instrument_code, c)
            for c in self.market.active_contracts(instrument_code, now)
        ]

    def get_trading_hours(
        self, instrument_code: str, start: pd.Timestamp, end: pd.Timestamp
    ) -> TradingHours:
        return self.market.trading_hours(instrument_code, start, end)

    def is_open(self, instrument_code: str, when: pd.Timestamp | None = None) -> bool:
        return self.market.is_open(instrument_code, when if when is not None else self.clock.now())

    # ================================================================= market data
    def get_historical_bars(
        self,
        instrument_code: str,
        contract_date: str,
        frequency: Frequency,
        start: pd.Timestamp,
        end: pd.Timestamp,
    ) -> pd.DataFrame:
        return self.market.bars(
            instrument_code, contract_date, frequency, start, end, as_of=self.clock.now()
        )

    def get_fx_prices(
        self, ccy1: str, ccy2: str, start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.Series:
        now = self.clock.now()
        return self.market.fx_daily(ccy1, ccy2, start, min(aware_to_utc(end), now))

    def get_bid_ask(self, instrument_code: str, contract_date: str) -> BidAsk:
        self.market.check_contract(instrument_code, contract_date)
        now_ns = self._now_ns()
        if (
            not self.market.listing_ns(instrument_code, contract_date)
            <= now_ns
            < self.market.expiry_ns(instrument_code, contract_date)
        ):
            raise UnknownContract(f"{instrument_code} {contract_date} is not trading now")
        t = self.market.last_open_instant(instrument_code, now_ns)
        q = self.market.quotes(instrument_code, contract_date, np.array([t]))
        return BidAsk(
            instrument_code,
            contract_date,
            float(q.bid[0]),
            float(q.ask[0]),
            int(q.bid_size[0]),
            int(q.ask_size[0]),
            pd.Timestamp(t, tz="UTC"),
        )

    # ================================================================= account
    def get_positions(self) -> list[BrokerPosition]:
        self.process()
        return self._positions()

    def _positions(self) -> list[BrokerPosition]:
        """Stored positions as they are (the caller has processed)."""
        return [
            BrokerPosition(
                r["instrument_code"], r["contract_date"], r["quantity"], r["average_price"]
            )
            for r in self.store.read(
                "SELECT * FROM positions ORDER BY instrument_code, contract_date"
            )
        ]

    def get_account_value(self) -> AccountValue:
        self.process()
        now_ns = self._now_ns()
        base = self._base_currency
        cash = {
            r["currency"]: r["amount"]
            for r in self.store.read("SELECT * FROM cash ORDER BY currency")
        }
        unrealised: dict[str, float] = {}
        margin = 0.0
        for pos in self._positions():
            spec = self.market.spec(pos.instrument_code)
            t = self.market.last_open_instant(pos.instrument_code, now_ns)
            mid = float(
                self.market.mid_price(pos.instrument_code, pos.contract_date, np.array([t]))[0]
            )
            value = pos.quantity * (mid - pos.average_price) * spec.multiplier
            unrealised[spec.currency] = unrealised.get(spec.currency, 0.0) + value
            fx = float(self.market.fx_rate(spec.currency, base, np.array([now_ns]))[0])
            margin += abs(pos.quantity) * mid * spec.multiplier * spec.margin_rate * fx
        for currency, value, option_margin in self._option_marks(now_ns):
            unrealised[currency] = unrealised.get(currency, 0.0) + value
            fx = float(self.market.fx_rate(currency, base, np.array([now_ns]))[0])
            margin += option_margin * fx
        total = 0.0
        for ccy in set(cash) | set(unrealised):
            fx = float(self.market.fx_rate(ccy, base, np.array([now_ns]))[0])
            total += (cash.get(ccy, 0.0) + unrealised.get(ccy, 0.0)) * fx
        return AccountValue(base, cash, unrealised, total, margin, pd.Timestamp(now_ns, tz="UTC"))

    # ================================================================= orders
    def _order_account(self, account: str) -> str:
        """The account an order or FX trade goes to: ``account``, or this broker's when empty;
        :class:`OrderRejected` (``UNKNOWN_ACCOUNT``) for any other."""
        account = account or self.config.account
        if account != self.config.account:
            raise OrderRejected(RejectReason.UNKNOWN_ACCOUNT,
                                f"{account!r} (this broker has {self.config.account!r})")
        return account

    def place_order(
        self,
        instrument_code: str,
        contract_date: str,
        quantity: int,
        order_type: OrderType = OrderType.MARKET,
        limit_price: float | None = None,
        client_ref: str = "",
        account: str = "",
    ) -> BrokerOrder:
        """See :meth:`Broker.place_order`. Every contract in the simulated universe is monthly,
        so a ``'YYYYMMDD'`` contract date is recorded as its ``'YYYYMM'``."""
        self._require_connection()
        account = self._order_account(account)
        quantity = order_quantity(quantity)
        order_type = OrderType(order_type)
        if isinstance(contract_date, str) and len(contract_date) == 8 and contract_date.isdigit():
            contract_date = contract_date[:6]  # monthly contracts: 'YYYYMMDD' -> 'YYYYMM'
        if (order_type is OrderType.LIMIT) != (limit_price is not None):
            raise OrderRejected(
                RejectReason.INVALID_PRICE, "a LIMIT order needs a limit price, a MARKET order none"
            )
        now_ns = self._now_ns()
        self.process(pd.Timestamp(now_ns, tz="UTC"))
        reason, detail = self._placement_rejection(
            instrument_code, contract_date, quantity, limit_price, now_ns
        )
        arrival = now_ns + self.config.latency.value
        with self.store.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO orders(client_ref, account, instrument_code, contract_date, quantity,"
                " order_type, limit_price, status, reason, placed_ns, arrival_ns, processed_ns,"
                " updated_ns) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    client_ref,
                    account,
                    instrument_code,
                    contract_date,
                    quantity,
                    order_type.value,
                    limit_price,
                    (OrderStatus.REJECTED if reason else OrderStatus.PENDING_SUBMIT).value,
                    f"{reason.value}: {detail}" if reason else "",
                    now_ns,
                    arrival,
                    arrival - 1,
                    now_ns,
                ),
            )
            order_id = int(cur.lastrowid)
            self._event(conn, "order", order_id, now_ns)
            if reason is None:
                self._process_locked(conn, now_ns, only=order_id)
        if reason is not None:
            raise OrderRejected(reason, detail, str(order_id))
        return self.get_order(str(order_id))

    def place_spread_order(
        self,
        instrument_code: str,
        legs: tuple[SpreadLeg, SpreadLeg],
        quantity: int,
        order_type: OrderType = OrderType.MARKET,
        limit_price: float | None = None,
        client_ref: str = "",
        account: str = "",
    ) -> BrokerOrder:
        """See :meth:`Broker.place_spread_order`: filled atomically against both legs' books
        (whole units; the size at each opportunity is the fewest units any leg's touch
        offers), one execution per leg. Rejected (:class:`OrderRejected`) like an outright
        order when either leg would be (unknown, not trading, closed, more than
        ``max_order_size`` contracts), or a limit off the instrument's tick."""
        self._require_connection()
        account = self._order_account(account)
        quantity = order_quantity(quantity)
        order_type = OrderType(order_type)
        try:
            legs = check_spread_legs(
                SpreadLeg(leg.contract_date[:6] if len(leg.contract_date) == 8
                          else leg.contract_date, leg.ratio) for leg in legs)
        except (ValueError, AttributeError, TypeError) as exc:
            raise OrderRejected(RejectReason.UNKNOWN_CONTRACT, f"bad spread legs: {exc}") from None
        if (order_type is OrderType.LIMIT) != (limit_price is not None):
            raise OrderRejected(
                RejectReason.INVALID_PRICE, "a LIMIT order needs a limit price, a MARKET order none"
            )
        now_ns = self._now_ns()
        self.process(pd.Timestamp(now_ns, tz="UTC"))
        reason, detail = None, ""
        for leg in legs:
            reason, detail = self._placement_rejection(
                instrument_code, leg.contract_date, quantity * leg.ratio, None, now_ns)
            if reason is not None:
                detail = f"leg {leg.contract_date}: {detail}"
                break
        if reason is None and limit_price is not None:
            tick = self.market.spec(instrument_code).tick_size
            if not np.isfinite(limit_price) or _off_grid(limit_price, tick):
                reason = RejectReason.INVALID_PRICE
                detail = f"spread price {limit_price} is not a multiple of tick {tick}"
        arrival = now_ns + self.config.latency.value
        with self.store.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO orders(client_ref, account, instrument_code, contract_date, quantity,"
                " order_type, limit_price, status, reason, placed_ns, arrival_ns, processed_ns,"
                " updated_ns, legs) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (client_ref, account, instrument_code, legs[0].contract_date, quantity,
                 order_type.value, None if limit_price is None else float(limit_price),
                 (OrderStatus.REJECTED if reason else OrderStatus.PENDING_SUBMIT).value,
                 f"{reason.value}: {detail}" if reason else "", now_ns, arrival, arrival - 1,
                 now_ns, _legs_text(legs)),
            )
            order_id = int(cur.lastrowid)
            self._event(conn, "order", order_id, now_ns)
            if reason is None:
                self._process_locked(conn, now_ns, only=order_id)
        if reason is not None:
            raise OrderRejected(reason, detail, str(order_id))
        return self.get_order(str(order_id))

    def _placement_rejection(
        self, code: str, contract: str, quantity: int, limit_price: float | None, now_ns: int
    ) -> tuple[RejectReason | None, str]:
        try:
            spec = self.market.check_contract(code, contract)
        except UnknownContract as exc:
            return RejectReason.UNKNOWN_CONTRACT, str(exc)
        if (
            not self.market.listing_ns(code, contract)
            <= now_ns
            < self.market.expiry_ns(code, contract)
        ):
            return RejectReason.CONTRACT_NOT_TRADEABLE, f"{code} {contract} does not trade now"
        if abs(quantity) > self.config.max_order_size:
            return (
                RejectReason.SIZE_LIMIT,
                f"{abs(quantity)} > {self.config.max_order_size} contracts",
            )
        if limit_price is not None:
            if off_tick(limit_price, spec.tick_size):
                return (
                    RejectReason.INVALID_PRICE,
                    f"{limit_price} is not a positive multiple of tick {spec.tick_size}",
                )
        if not self.market.open_mask(code, np.array([now_ns]))[0]:
            return RejectReason.MARKET_CLOSED, f"{code} is outside its trading hours"
        return None, ""

    def modify_order(
        self, order_id: str, quantity: int | None = None, limit_price: float | None = None
    ) -> BrokerOrder:
        order_id = _parse_id(order_id)
        now_ns = self._now_ns()
        self.process(pd.Timestamp(now_ns, tz="UTC"))
        with self.store.transaction() as conn:
            row = self._order_row(conn, order_id)
            status = OrderStatus(row["status"])
            if status.is_terminal or status is OrderStatus.PENDING_CANCEL:
                raise InvalidOrderState(f"order {order_id} is {status.name} and cannot be modified")
            new_qty = row["quantity"] if quantity is None else int(quantity)
            filled = row["filled_quantity"]
            if new_qty == 0 or (new_qty > 0) != (row["quantity"] > 0) or abs(new_qty) < abs(filled):
                raise InvalidOrderState(
                    f"order {order_id}: new quantity {new_qty} must keep the sign and be at least the filled {filled}"
                )
            biggest = max([abs(new_qty * leg.ratio) for leg in _legs(row)] or [abs(new_qty)])
            if biggest > self.config.max_order_size:
                raise OrderRejected(
                    RejectReason.SIZE_LIMIT,
                    f"{abs(new_qty)} > {self.config.max_order_size}",
                    order_id,
                )
            new_limit = row["limit_price"]
            if limit_price is not None:
                if row["order_type"] != OrderType.LIMIT.value:
                    raise InvalidOrderState(
                        f"order {order_id} is a MARKET order: no limit price to change"
                    )
                tick = self.market.spec(row["instrument_code"]).tick_size
                off = _off_grid if row["legs"] else off_tick  # a spread's price may be <= 0
                if off(limit_price, tick):
                    raise OrderRejected(
                        RejectReason.INVALID_PRICE, f"{limit_price} not on tick {tick}", order_id
                    )
                new_limit = float(limit_price)
            new_status = OrderStatus.FILLED if new_qty == filled else status
            check_transition(status, new_status)
            conn.execute(
                "UPDATE orders SET quantity = ?, limit_price = ?, status = ?, updated_ns = ? WHERE order_id = ?",
                (new_qty, new_limit, new_status.value, now_ns, order_id),
            )
            self._event(conn, "order", order_id, now_ns)
        return self.get_order(str(order_id))

    def cancel_order(self, order_id: str) -> BrokerOrder:
        order_id = _parse_id(order_id)
        now_ns = self._now_ns()
        self.process(pd.Timestamp(now_ns, tz="UTC"))
        with self.store.transaction() as conn:
            row = self._order_row(conn, order_id)
            status = OrderStatus(row["status"])
            if status.is_terminal:
                raise InvalidOrderState(
                    f"order {order_id} is {status.name} and cannot be cancelled"
                )
            if status is not OrderStatus.PENDING_CANCEL:
                check_transition(status, OrderStatus.PENDING_CANCEL)
                conn.execute(
                    "UPDATE orders SET status = ?, cancel_effective_ns = ?, updated_ns = ? WHERE order_id = ?",
                    (
                        OrderStatus.PENDING_CANCEL.value,
                        now_ns + self.config.latency.value,
                        now_ns,
                        order_id,
                    ),
                )
                self._event(conn, "order", order_id, now_ns)
                self._process_locked(conn, now_ns, only=order_id)
        return self.get_order(str(order_id))

    def _order_row(self, conn, order_id: int) -> sqlite3.Row:
        row = conn.execute("SELECT * FROM orders WHERE order_id = ?", (int(order_id),)).fetchone()
        if row is None:
            raise UnknownOrder(f"no order with id {order_id}")
        return row

    def get_order(self, order_id: str) -> BrokerOrder:
        self.process()
        rows = self.store.read("SELECT * FROM orders WHERE order_id = ?", (_parse_id(order_id),))
        if not rows:
            raise UnknownOrder(f"no order with id {order_id}")
        return _order_from_row(rows[0])

    def get_orders(self, open_only: bool = False) -> list[BrokerOrder]:
        self.process()
        sql = "SELECT * FROM orders"
        params: tuple = ()
        if open_only:
            sql += f" WHERE status IN ({','.join('?' * len(OPEN_STATUSES))})"
            params = OPEN_STATUSES
        return [_order_from_row(r) for r in self.store.read(sql + " ORDER BY order_id", params)]

    def find_orders(self, client_ref: str) -> list[BrokerOrder]:
        self.process()
        return [_order_from_row(r) for r in self.store.read(
            "SELECT * FROM orders WHERE client_ref = ? ORDER BY order_id", (client_ref,))]

    def get_executions(self, since: pd.Timestamp | None = None) -> list[Execution]:
        self.process()
        since_ns = aware_to_utc(since).value if since is not None else -(2**62)
        return self._executions("WHERE e.time_ns >= ?", (since_ns,))

    def _executions(self, where: str, params: tuple) -> list[Execution]:
        rows = self.store.read(
            "SELECT e.*, o.client_ref, o.account FROM executions e JOIN orders o"
            f" ON o.order_id = e.order_id {where} ORDER BY e.exec_id", params)
        return [
            Execution(
                exec_id_text(r["exec_id"]),
                str(r["order_id"]),
                r["instrument_code"],
                r["contract_date"],
                r["quantity"],
                r["price"],
                r["commission"],
                r["currency"],
                pd.Timestamp(r["time_ns"], tz="UTC"),
                client_ref=r["client_ref"],
                account=r["account"],
                bid=r["bid"],
                ask=r["ask"],
            )
            for r in rows
        ]


    # ================================================================= cash FX
    def trade_fx(self, ccy1: str, ccy2: str, quantity: float, client_ref: str = "",
                 account: str = "") -> FxTrade:
        """See :meth:`Broker.trade_fx`: done at once at the market's mid rate now (no spread,
        no commission), the cash of both currencies moved in one transaction."""
        self._require_connection()
        account = self._order_account(account)
        quantity = fx_quantity(quantity)
        if ccy1 == ccy2:
            raise OrderRejected(RejectReason.UNKNOWN_CONTRACT, f"{ccy1}{ccy2} is not a pair")
        now_ns = self._now_ns()
        try:
            rate = float(self.market.fx_rate(ccy1, ccy2, np.array([now_ns]))[0])
        except UnknownContract as exc:
            raise OrderRejected(RejectReason.UNKNOWN_CONTRACT, str(exc)) from None
        with self.store.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO fx_trades(client_ref, account, ccy1, ccy2, quantity, rate, time_ns)"
                " VALUES(?, ?, ?, ?, ?, ?, ?)",
                (client_ref, account, ccy1, ccy2, quantity, rate, now_ns))
            self._add_cash(conn, ccy1, quantity)
            self._add_cash(conn, ccy2, -quantity * rate)
            trade_id = int(cur.lastrowid)
        return FxTrade(f"simfx.{trade_id:010d}", ccy1, ccy2, quantity, rate,
                       pd.Timestamp(now_ns, tz="UTC"), client_ref, account)

    def get_fx_trades(self, client_ref: str = "") -> list[FxTrade]:
        self._require_connection()
        sql, params = "SELECT * FROM fx_trades", ()
        if client_ref:
            sql, params = sql + " WHERE client_ref = ?", (client_ref,)
        return [FxTrade(f"simfx.{r['trade_id']:010d}", r["ccy1"], r["ccy2"], r["quantity"],
                        r["rate"], pd.Timestamp(r["time_ns"], tz="UTC"), r["client_ref"],
                        r["account"])
                for r in self.store.read(sql + " ORDER BY trade_id", params)]


def exec_id_text(exec_id: int) -> str:
    """The simulated broker's execution id as text, IB-like: ``sim.<number>.01`` (a stem and
    a correction suffix; the simulator never corrects an execution)."""
    return f"sim.{int(exec_id):010d}.01"


def _parse_id(order_id: str | int) -> int:
    try:
        value = int(order_id)
    except (TypeError, ValueError):
        raise UnknownOrder(f"no order with id {order_id!r}") from None
    return value


def _off_grid(price: float, tick: float) -> bool:
    """Whether a spread price (any sign) is not a multiple of ``tick``."""
    return abs(price / tick - round(price / tick)) > 1e-6


def _legs_text(legs: tuple[SpreadLeg, ...]) -> str:
    return json.dumps([[leg.contract_date, leg.ratio] for leg in legs])


def _legs(row: sqlite3.Row) -> tuple[SpreadLeg, ...]:
    """A stored order's spread legs (empty for an outright)."""
    text = row["legs"]
    return tuple(SpreadLeg(c, int(r)) for c, r in json.loads(text)) if text else ()


def _order_from_row(r: sqlite3.Row) -> BrokerOrder:
    return BrokerOrder(
        order_id=str(r["order_id"]),
        instrument_code=r["instrument_code"],
        contract_date=r["contract_date"],
        quantity=r["quantity"],
        order_type=OrderType(r["order_type"]),
        limit_price=r["limit_price"],
        status=OrderStatus(r["status"]),
        filled_quantity=r["filled_quantity"],
        avg_fill_price=r["avg_fill_price"],
        commission=r["commission"],
        reason=r["reason"],
        client_ref=r["client_ref"],
        account=r["account"],
        placed_at=pd.Timestamp(r["placed_ns"], tz="UTC"),
        updated_at=pd.Timestamp(r["updated_ns"], tz="UTC"),
        legs=_legs(r),
    )
