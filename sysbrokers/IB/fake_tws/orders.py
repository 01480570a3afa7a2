"""Orders on the fake TWS: IB order ids bound to client ids, backed by the simulated broker.

TWS keys an order by ``(clientId, orderId)`` and gives it a ``permId``; the simulated broker has
its own order id. :class:`OrderDesk` keeps that mapping (in memory: a restarted fake forgets IB
ids, the broker keeps the orders) and turns the broker's state into TWS messages:

* placeOrder (new id): broker ``place_order``; then openOrder (Submitted) and orderStatus.
  Reused ids below the client's next id: error 103. Unknown contract: 200. Broker rejection
  (market closed, size limit, off-tick limit price ...): 201 "Order rejected - reason:...".
  Only MKT and LMT futures orders and MKT orders on IDEALPRO pairs (CASH) are supported
  (others: 201). A CASH order is a cash conversion of its quantity in the base currency
  (EUR of EUR.USD) by the broker's ``trade_fx``, filled at once in one execution.
  A BAG order (a calendar spread of two futures of one instrument, ``comboLegs`` BUY leg 1,
  SELL leg 2, by conId) is the broker's ``place_spread_order`` (units = totalQuantity, price
  leg 1 minus leg 2); its fills are reported as TWS does: an execDetails per leg (the leg's
  contract, the BAG order's ids) and one for the BAG itself (shares in units, the spread
  price), with commission reports for the legs only.
* placeOrder (known live id): a modify (quantity and/or limit price), answered with openOrder and
  orderStatus; a finished order gives 104 (filled) or 10148.
* cancelOrder: orderStatus PendingCancel; when the broker confirms, orderStatus Cancelled and
  error 202 "Order Canceled - reason:". Unknown id: 10147; finished: 10148.
* :meth:`OrderDesk.pump` (after every request and on the server's poll timer) reports what the
  broker did since: per fill execDetails (reqId -1), orderStatus, commissionReport, openOrder when
  filled, and position / portfolio / account pushes to subscribed clients. Fills for a client
  that is not connected are not pushed (as with TWS); they are returned by reqExecutions.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from sysbrokers.errors import BrokerError, InvalidOrderState, OrderRejected
from sysbrokers.IB.fake_tws import messages as m
from sysbrokers.IB.fake_tws.catalogue import ContractQuery, Listing
from sysbrokers.objects import OrderStatus, OrderType, SpreadLeg

if TYPE_CHECKING:
    from sysbrokers.IB.fake_tws.server import FakeTws, _Session

log = logging.getLogger(__name__)

FIRST_PERM_ID = 1_000_001
BAG_CON_ID = 28812380  # TWS's conId of every combination contract


def perm_id_for(broker_id: object, fx: bool) -> int | None:
    """The permId of the order the simulated broker knows as ``broker_id`` (an order id
    ``"42"``, or a cash FX trade ``"simfx.0000000007"``): derived from that id, which the
    broker's book keeps across restarts, so a restarted fake never hands out a permId it gave
    before (TWS never reuses one; a client keys its orders by permId). Futures orders get the
    even numbers above :data:`FIRST_PERM_ID`, FX trades the odd ones. ``None`` for an id
    without a trailing number (a broker other than the simulated one)."""
    digits = str(broker_id).rsplit(".", 1)[-1]
    if not digits.isdigit():
        return None
    return FIRST_PERM_ID + 2 * int(digits) + (0 if fx else 1)

# simulated broker status -> TWS order status
TWS_STATUS = {
    OrderStatus.PENDING_SUBMIT: "PreSubmitted",
    OrderStatus.WORKING: "Submitted",
    OrderStatus.PARTIALLY_FILLED: "Submitted",
    OrderStatus.PENDING_CANCEL: "PendingCancel",
    OrderStatus.FILLED: "Filled",
    OrderStatus.CANCELLED: "Cancelled",
    OrderStatus.REJECTED: "Cancelled",
}


@dataclass
class IbOrder:
    """One API order as TWS tracks it."""

    client_id: int
    order_id: int
    perm_id: int
    broker_id: object
    listing: Listing
    action: str
    total: int
    order_type: str
    lmt_price: float | None
    tif: str
    account: str
    order_ref: str
    status: str = "PreSubmitted"
    filled: int = 0
    avg_price: float = 0.0
    last_price: float = 0.0
    done: bool = False
    sent: tuple[str, int] = ("", -1)  # (status, filled) last reported to the client
    exec_ids: list[str] = field(default_factory=list)
    #: a BAG order: its legs ``(listing, signed ratio)`` and the BAG contract; per leg the
    #: contracts reported filled and the last price
    legs: tuple[tuple[Listing, int], ...] = ()
    bag: m.WireContract | None = None
    leg_filled: dict[str, int] = field(default_factory=dict)
    leg_price: dict[str, float] = field(default_factory=dict)
    bag_fills: int = 0

    @property
    def contract(self) -> m.WireContract:
        """The order's contract on the wire (the BAG for a spread)."""
        return self.bag if self.bag is not None else self.listing.contract

    @property
    def combo_legs(self) -> tuple[tuple[int, int, str, str], ...]:
        return tuple((listing.contract.con_id, abs(ratio), "BUY" if ratio > 0 else "SELL",
                      listing.contract.exchange) for listing, ratio in self.legs)

    def wire(self) -> m.WireOrder:
        return m.WireOrder(
            order_id=self.order_id,
            client_id=self.client_id,
            perm_id=self.perm_id,
            action=self.action,
            total_quantity=self.total,
            order_type=self.order_type,
            lmt_price=self.lmt_price,
            tif=self.tif,
            account=self.account,
            order_ref=self.order_ref,
        )


@dataclass(frozen=True)
class _FxFill:
    """A cash FX trade of the broker in the shape of an execution (for :meth:`_report_fill`)."""

    exec_id: str
    quantity: float
    price: float
    timestamp: object
    commission: float
    commission_currency: str


def _ib_instant(text: str, zone: str) -> pd.Timestamp:
    """A time as TWS writes and reads it: ``YYYYMMDD-HH:MM:SS`` (UTC) or ``YYYYMMDD
    HH:MM:SS [zone]`` (the TWS login zone when no zone is given)."""
    text = text.strip()
    if len(text) >= 17 and text[8] == "-":
        return pd.Timestamp(dt.datetime.strptime(text[:17], "%Y%m%d-%H:%M:%S"), tz="UTC")
    local = pd.Timestamp(dt.datetime.strptime(text[:17], "%Y%m%d %H:%M:%S"))
    return local.tz_localize(text[17:].strip() or zone).tz_convert("UTC")


@dataclass(frozen=True)
class FillRecord:
    """One execution as TWS reports it (kept for reqExecutions)."""

    order: IbOrder
    execution: m.WireExecution
    commission: float
    currency: str
    contract: m.WireContract | None = None  # a spread's leg or BAG (default: the order's)

    @property
    def wire_contract(self) -> m.WireContract:
        return self.contract if self.contract is not None else self.order.contract


class OrderDesk:
    """Order state of one fake TWS (see the module docstring)."""

    def __init__(self, server: FakeTws):
        self.server = server
        self.orders: dict[tuple[int, int], IbOrder] = {}
        self.by_broker_id: dict[object, IbOrder] = {}
        self.fills: list[FillRecord] = []
        self._seen_exec_ids: set[str] = set()
        #: send each live fill's commission report before its execDetails (TWS may)
        self.commission_first = False
        #: permIds for broker ids without a number (see :func:`perm_id_for`), counted down
        #: from below FIRST_PERM_ID so they never meet the derived ones
        self._next_perm_id = FIRST_PERM_ID - 1

    # ------------------------------------------------------------------ helpers
    def _status_fields(self, o: IbOrder) -> list[object]:
        return m.order_status(
            o.order_id,
            o.status,
            o.filled,
            o.total - o.filled,
            o.avg_price,
            o.perm_id,
            0,
            o.last_price,
            o.client_id,
        )

    def _send_status(self, o: IbOrder) -> None:
        """orderStatus to the owner if status or filled quantity changed since the last one."""
        if (o.status, o.filled) != o.sent:
            o.sent = (o.status, o.filled)
            self._send_to_owner(o, self._status_fields(o))

    def _send_to_owner(self, o: IbOrder, fields: list[object]) -> None:
        session = self.server.client_session(o.client_id)
        if session is not None:
            session.send(fields)

    def _perm_id(self, broker_id: object, fx: bool) -> int:
        derived = perm_id_for(broker_id, fx)
        if derived is not None:
            return derived
        self._next_perm_id -= 1
        return self._next_perm_id + 1

    # ------------------------------------------------------------------ requests
    def place(self, session: _Session, fields: list[str]) -> None:
        server = self.server
        client_id = session.client_id
        order_id = int(fields[1])
        action, qty_text, order_type = fields[16].upper(), fields[17], fields[18].upper()
        lmt_text, tif, account, order_ref = fields[19], fields[21] or "DAY", fields[23], fields[26]
        existing = self.orders.get((client_id, order_id))
        if existing is not None:
            self._modify(session, existing, qty_text, lmt_text)
            return
        if order_id < server.next_order_id(client_id):
            session.send(m.error(order_id, 103, f"Duplicate order id {order_id}"))
            return
        server.bump_order_id(client_id, order_id + 1)
        if fields[4].upper() == "BAG":
            self._place_bag(session, order_id, fields)
            return
        query = ContractQuery.from_fields(fields[2:14])
        listings = server.catalogue.resolve(query, server.now().value)
        if len(listings) != 1:
            session.send(m.no_security_definition(order_id))
            return
        listing = listings[0]
        if not listing.is_future and order_type == "MKT" and action in ("BUY", "SELL"):
            self._place_fx(session, order_id, listing, action, qty_text, tif, account, order_ref)
            return
        if (
            not listing.is_future
            or order_type not in ("MKT", "LMT")
            or action not in ("BUY", "SELL")
        ):
            session.send(
                m.error(
                    order_id,
                    201,
                    "Order rejected - reason:the fake TWS accepts only MKT and LMT orders (BUY or SELL) on futures and MKT orders on FX pairs",
                )
            )
            return
        quantity = float(qty_text or 0)
        if quantity <= 0 or not quantity.is_integer():
            session.send(
                m.error(order_id, 201, f"Order rejected - reason:invalid quantity {qty_text!r}")
            )
            return
        limit = float(lmt_text) if order_type == "LMT" and lmt_text else None
        if order_type == "LMT" and limit is None:
            session.send(
                m.error(order_id, 201, "Order rejected - reason:a LMT order needs a limit price")
            )
            return
        signed = int(quantity) if action == "BUY" else -int(quantity)
        try:
            bo = server.broker.place_order(
                listing.instrument_code,
                listing.contract_date,
                signed,
                OrderType.LIMIT if limit is not None else OrderType.MARKET,
                limit,
                client_ref=order_ref,
            )
        except OrderRejected as exc:
            session.send(m.error(order_id, 201, f"Order rejected - reason:{exc}"))
            return
        o = IbOrder(
            client_id=client_id,
            order_id=order_id,
            perm_id=self._perm_id(bo.order_id, fx=False),
            broker_id=bo.order_id,
            listing=listing,
            action=action,
            total=int(quantity),
            order_type=order_type,
            lmt_price=limit,
            tif=tif,
            account=account or server.config.accounts[0],
            order_ref=order_ref,
            status=TWS_STATUS[bo.status],
        )
        self.orders[(client_id, order_id)] = o
        self.by_broker_id[bo.order_id] = o
        session.send(m.open_order(o.contract, o.wire(), o.status, o.combo_legs))
        self._send_status(o)

    def _place_bag(self, session: _Session, order_id: int, fields: list[str]) -> None:
        """A BAG order: two futures legs of one instrument by conId (fields 35 on: the leg
        count, then conId, ratio, action, exchange, openClose, shortSaleSlot,
        designatedLocation, exemptCode per leg), BUY leg 1 and SELL leg 2."""
        server = self.server
        action, qty_text, order_type = fields[16].upper(), fields[17], fields[18].upper()
        lmt_text, tif, account, order_ref = fields[19], fields[21] or "DAY", fields[23], fields[26]

        def refuse(why: str) -> None:
            session.send(m.error(order_id, 201, f"Order rejected - reason:{why}"))

        try:
            count = int(fields[35])
            raw = [fields[36 + 8 * i: 36 + 8 * i + 4] for i in range(count)]
            legs = []
            for con_id, ratio, leg_action, _exchange in raw:
                listing = server.catalogue.by_con_id(int(con_id))
                sign = 1 if leg_action.upper() == "BUY" else -1
                legs.append((listing, sign * int(float(ratio))))
        except (ValueError, IndexError, BrokerError):
            session.send(m.no_security_definition(order_id))
            return
        if (len(legs) != 2 or not all(listing.is_future for listing, _ in legs)
                or legs[0][0].instrument_code != legs[1][0].instrument_code
                or not legs[0][1] > 0 > legs[1][1]):
            refuse("the fake TWS takes a BAG of two futures of one instrument, "
                   "BUY leg 1 and SELL leg 2")
            return
        if order_type not in ("MKT", "LMT") or action not in ("BUY", "SELL"):
            refuse("the fake TWS accepts only MKT and LMT BAG orders (BUY or SELL)")
            return
        quantity = float(qty_text or 0)
        if quantity <= 0 or not quantity.is_integer():
            refuse(f"invalid quantity {qty_text!r}")
            return
        limit = float(lmt_text) if order_type == "LMT" and lmt_text else None
        if order_type == "LMT" and limit is None:
            refuse("a LMT order needs a limit price")
            return
        units = int(quantity) if action == "BUY" else -int(quantity)
        first = legs[0][0]
        try:
            bo = server.broker.place_spread_order(
                first.instrument_code,
                tuple(SpreadLeg(listing.contract_date, ratio) for listing, ratio in legs),
                units, OrderType.LIMIT if limit is not None else OrderType.MARKET, limit,
                client_ref=order_ref)
        except OrderRejected as exc:
            refuse(str(exc))
            return
        c = first.contract
        bag = m.WireContract(BAG_CON_ID, c.symbol, "BAG", "", "", c.exchange, c.currency, "", "")
        o = IbOrder(
            client_id=session.client_id, order_id=order_id, perm_id=self._next_perm_id,
            broker_id=bo.order_id, listing=first, action=action, total=int(quantity),
            order_type=order_type, lmt_price=limit, tif=tif,
            account=account or server.config.accounts[0], order_ref=order_ref,
            status=TWS_STATUS[bo.status], legs=tuple(legs), bag=bag)
        self._next_perm_id += 1
        self.orders[(session.client_id, order_id)] = o
        self.by_broker_id[bo.order_id] = o
        session.send(m.open_order(o.contract, o.wire(), o.status, o.combo_legs))
        self._send_status(o)

    def _place_fx(self, session: _Session, order_id: int, listing: Listing, action: str,
                  qty_text: str, tif: str, account: str, order_ref: str) -> None:
        """A MKT order on an IDEALPRO pair: a cash conversion of ``qty`` base currency done at
        once by the broker's ``trade_fx`` (at its rate, no commission), reported as TWS does:
        openOrder, execDetails, orderStatus Filled, commissionReport, openOrder Filled."""
        server = self.server
        try:
            quantity = float(qty_text or 0)
        except ValueError:
            quantity = 0.0
        if not quantity > 0 or quantity != quantity or quantity == float("inf"):
            session.send(
                m.error(order_id, 201, f"Order rejected - reason:invalid quantity {qty_text!r}")
            )
            return
        signed = quantity if action == "BUY" else -quantity
        try:
            trade = server.broker.trade_fx(listing.base, listing.quote, signed,
                                           client_ref=order_ref)
        except OrderRejected as exc:
            session.send(m.error(order_id, 201, f"Order rejected - reason:{exc}"))
            return
        o = IbOrder(
            client_id=session.client_id,
            order_id=order_id,
            perm_id=self._perm_id(trade.trade_id, fx=True),
            broker_id=trade.trade_id,
            listing=listing,
            action=action,
            total=quantity,  # type: ignore[arg-type]  # FX quantities are not whole
            order_type="MKT",
            lmt_price=None,
            tif=tif,
            account=account or server.config.accounts[0],
            order_ref=order_ref,
            status="Submitted",
        )
        self.orders[(session.client_id, order_id)] = o
        self.by_broker_id[trade.trade_id] = o
        session.send(m.open_order(o.contract, o.wire(), o.status, o.combo_legs))
        self._send_status(o)
        self._report_fill(o, _FxFill(trade.trade_id, quantity, trade.rate, trade.timestamp,
                                     0.0, listing.quote))
        o.done = True
        self._send_to_owner(o, m.open_order(o.contract, o.wire(), o.status, o.combo_legs))
        server.push_portfolio()

    def _modify(self, session: _Session, o: IbOrder, qty_text: str, lmt_text: str) -> None:
        if o.done:
            code = 104 if o.status == "Filled" else 10148
            session.send(
                m.error(o.order_id, code, f"Cannot modify order {o.order_id} in state {o.status}")
            )
            return
        quantity = int(float(qty_text)) if qty_text else o.total
        signed = quantity if o.action == "BUY" else -quantity
        limit = float(lmt_text) if (o.order_type == "LMT" and lmt_text) else None
        try:
            bo = self.server.broker.modify_order(
                o.broker_id,
                quantity=signed if quantity != o.total else None,
                limit_price=limit if limit != o.lmt_price else None,
            )
        except (InvalidOrderState, OrderRejected) as exc:
            session.send(
                m.error(o.order_id, 10148 if isinstance(exc, InvalidOrderState) else 201, str(exc))
            )
            return
        o.total = abs(bo.quantity)
        o.lmt_price = bo.limit_price
        session.send(m.open_order(o.contract, o.wire(), o.status, o.combo_legs))
        session.send(self._status_fields(o))

    def cancel(self, session: _Session, fields: list[str]) -> None:
        order_id = int(fields[2])
        o = self.orders.get((session.client_id, order_id))
        if o is None:
            session.send(
                m.error(
                    order_id, 10147, f"OrderId {order_id} that needs to be cancelled is not found."
                )
            )
            return
        if o.done:
            session.send(
                m.error(
                    order_id,
                    10148,
                    f"OrderId {order_id} that needs to be cancelled cannot be cancelled, state: {o.status}.",
                )
            )
            return
        try:
            self.server.broker.cancel_order(o.broker_id)
        except InvalidOrderState:
            pass  # finished meanwhile: the pump reports it
        else:
            o.status = "PendingCancel"
            self._send_status(o)

    def global_cancel(self, session: _Session, fields: list[str]) -> None:
        for o in list(self.orders.values()):
            if not o.done:
                try:
                    self.server.broker.cancel_order(o.broker_id)
                except InvalidOrderState:
                    pass

    def open_orders(self, session: _Session, all_clients: bool) -> None:
        for o in self.orders.values():
            if o.done or (not all_clients and o.client_id != session.client_id):
                continue
            session.send(m.open_order(o.contract, o.wire(), o.status, o.combo_legs))
            session.send(self._status_fields(o))
        session.send(m.open_order_end())

    def executions(self, session: _Session, fields: list[str]) -> None:
        req_id = int(fields[2])
        want_client = int(fields[3] or 0)
        want_account, want_time, want_symbol = fields[4], fields[5], fields[6]
        want_sec_type, want_exchange, want_side = fields[7], fields[8], fields[9]
        zone = self.server.config.tws_zone
        since = _ib_instant(want_time, zone) if want_time.strip() else None
        for f in self.fills:
            c, e = f.wire_contract, f.execution
            if want_client and f.order.client_id != want_client:
                continue
            if want_account and e.account != want_account:
                continue
            if want_symbol and c.symbol != want_symbol:
                continue
            if want_sec_type and c.sec_type != want_sec_type:
                continue
            if want_exchange and c.exchange != want_exchange:
                continue
            if want_side and not e.side.startswith(want_side[:1].upper()):
                continue
            if since is not None and _ib_instant(e.time, zone) < since:
                continue
            session.send(m.exec_details(req_id, c, e))
            if c.sec_type != "BAG":  # the legs carry a BAG order's commissions
                session.send(m.commission_report(e.exec_id, f.commission, f.currency, None))
        session.send(m.exec_details_end(req_id))

    # ------------------------------------------------------------------ broker -> clients
    def pump(self) -> None:
        """Report the broker's fills and status changes since the last pump.

        Order states are read *before* executions, so an order is only marked finished once
        every fill booked before its final state has been reported (a fill booked in between
        belongs to an order still live in the snapshot and is reported by the next pump).
        """
        broker = self.server.broker
        live = [o for o in self.orders.values() if not o.done]
        if broker is None or not live:
            return
        snapshot = []
        for o in live:
            try:
                snapshot.append((o, broker.get_order(o.broker_id)))
            except BrokerError as exc:
                log.warning("fake TWS: order %s vanished from the broker: %s", o.broker_id, exc)
        touched = False
        for ex in broker.get_executions():
            key = str(ex.exec_id)
            if key in self._seen_exec_ids:
                continue
            o = self.by_broker_id.get(ex.order_id)
            if o is None:
                continue  # not an API order of this TWS
            self._seen_exec_ids.add(key)
            self._report_fill(o, ex)
            touched = True
        for o, bo in snapshot:
            if o.filled < o.total or bo.status.is_terminal:
                o.status = TWS_STATUS[bo.status]
            self._send_status(o)
            if not bo.status.is_terminal:
                continue
            o.done = True
            if bo.status is OrderStatus.FILLED:
                self._send_to_owner(o, m.open_order(o.contract, o.wire(), o.status, o.combo_legs))
            elif bo.status is OrderStatus.CANCELLED:
                text = "Order Canceled - reason:" + (bo.reason or "cancelled")
                self._send_to_owner(o, m.error(o.order_id, 202, text))
            else:
                text = "Order rejected - reason:" + (bo.reason or "rejected")
                self._send_to_owner(o, m.error(o.order_id, 201, text))
        if touched:
            self.server.push_portfolio()

    def correct(self, exec_id: str, price: float | None, shares: float | None) -> str:
        """See :meth:`FakeTws.correct_execution`."""
        import dataclasses

        index = next(i for i, f in enumerate(self.fills) if f.execution.exec_id == exec_id)
        f = self.fills[index]
        stem, last = exec_id.rsplit(".", 1)
        e = dataclasses.replace(
            f.execution, exec_id=f"{stem}.{int(last) + 1:02d}",
            price=f.execution.price if price is None else price,
            shares=f.execution.shares if shares is None else shares)
        self.fills[index] = FillRecord(f.order, e, 0.0, f.currency, f.contract)
        self._send_to_owner(f.order, m.exec_details(-1, f.wire_contract, e))
        self._send_to_owner(f.order, m.commission_report(e.exec_id, 0.0, f.currency, None))
        return e.exec_id

    def _report_fill(self, o: IbOrder, ex) -> None:
        if o.legs:
            self._report_leg_fill(o, ex)
            return
        qty = abs(ex.quantity) if not o.listing.is_future else abs(int(ex.quantity))
        o.avg_price = (o.avg_price * o.filled + ex.price * qty) / (o.filled + qty)
        o.filled += qty
        o.last_price = ex.price
        if o.filled >= o.total:
            o.status = "Filled"
        elif o.status == "PreSubmitted":
            o.status = "Submitted"
        zone = self.server.config.tws_zone
        execution = m.WireExecution(
            exec_id=f"{o.perm_id:08x}.{ex.exec_id}.01.01",
            order_id=o.order_id,
            client_id=o.client_id,
            perm_id=o.perm_id,
            time=ex.timestamp.tz_convert(zone).strftime("%Y%m%d %H:%M:%S ") + zone,
            account=o.account,
            exchange=o.listing.contract.exchange,
            side="BOT" if o.action == "BUY" else "SLD",
            shares=qty,
            price=ex.price,
            cum_qty=o.filled,
            avg_price=o.avg_price,
            order_ref=o.order_ref,
        )
        o.exec_ids.append(execution.exec_id)
        self.fills.append(FillRecord(o, execution, ex.commission, ex.commission_currency))
        report = m.commission_report(execution.exec_id, ex.commission, ex.commission_currency,
                                     None)
        if self.commission_first:
            self._send_to_owner(o, report)
        self._send_to_owner(o, m.exec_details(-1, o.listing.contract, execution))
        self._send_status(o)
        if not self.commission_first:
            self._send_to_owner(o, report)

    def _report_leg_fill(self, o: IbOrder, ex) -> None:
        """One leg's execution of a BAG order: its execDetails (the leg's contract, the BAG
        order's ids) and commission report; once every leg has filled a further unit, the BAG's
        own execDetails (shares in units, the spread price) and the order status."""
        listing, ratio = next((listing, r) for listing, r in o.legs
                              if listing.contract_date == ex.contract_date)
        qty = abs(int(ex.quantity))
        date = listing.contract_date
        o.leg_filled[date] = o.leg_filled.get(date, 0) + qty
        o.leg_price[date] = ex.price
        zone = self.server.config.tws_zone
        when = ex.timestamp.tz_convert(zone).strftime("%Y%m%d %H:%M:%S ") + zone
        execution = m.WireExecution(
            exec_id=f"{o.perm_id:08x}.{ex.exec_id}.01.01", order_id=o.order_id,
            client_id=o.client_id, perm_id=o.perm_id, time=when, account=o.account,
            exchange=listing.contract.exchange, side="BOT" if ex.quantity > 0 else "SLD",
            shares=qty, price=ex.price, cum_qty=o.leg_filled[date], avg_price=ex.price,
            order_ref=o.order_ref)
        o.exec_ids.append(execution.exec_id)
        self.fills.append(FillRecord(o, execution, ex.commission, ex.commission_currency,
                                     listing.contract))
        report = m.commission_report(execution.exec_id, ex.commission, ex.commission_currency,
                                     None)
        if self.commission_first:
            self._send_to_owner(o, report)
        self._send_to_owner(o, m.exec_details(-1, listing.contract, execution))
        if not self.commission_first:
            self._send_to_owner(o, report)
        units = min(o.leg_filled.get(leg.contract_date, 0) // abs(r) for leg, r in o.legs)
        if units <= o.filled:
            return  # the other leg of this unit comes next
        new = units - o.filled
        price = sum(r * o.leg_price[leg.contract_date] for leg, r in o.legs)
        o.avg_price = (o.avg_price * o.filled + price * new) / units
        o.filled = units
        o.last_price = price
        if o.filled >= o.total:
            o.status = "Filled"
        elif o.status == "PreSubmitted":
            o.status = "Submitted"
        o.bag_fills += 1
        bag = m.WireExecution(
            exec_id=f"{o.perm_id:08x}.bag{o.bag_fills:04d}.01.01", order_id=o.order_id,
            client_id=o.client_id, perm_id=o.perm_id, time=when, account=o.account,
            exchange=o.contract.exchange, side="BOT" if o.action == "BUY" else "SLD",
            shares=new, price=price, cum_qty=o.filled, avg_price=o.avg_price,
            order_ref=o.order_ref)
        self.fills.append(FillRecord(o, bag, 0.0, ex.commission_currency, o.contract))
        self._send_to_owner(o, m.exec_details(-1, o.contract, bag))
        self._send_status(o)
