"""Orders made by hand: manual trades, balance trades, instrument balance trades, cash FX.

* :func:`manual_trade`: an instrument order flagged ``manual_trade`` and its contract order in
  the contracts the operator chose (one leg, or a two-leg spread whose legs net to zero), with
  an optional algo and limit price. The stack handler executes it like any other (the
  instrument order is never spawned by roll state: its child exists from the start).
* :func:`manual_instrument_trade`: a manual instrument order alone, spawned by roll state.
* :func:`manual_fill`: a fill done outside the system (by hand, by telephone) booked against a
  contract order, or a broker order never sent, with the synthetic execution id
  ``manual.<level>.<id>.<n>``.
* :func:`balance_trade`: a fill that happened at the broker but is not in our books (a missed
  execution, a trade placed by hand in the broker's own screen), booked without executing
  anything, to repair a position break. It is a family of three orders (instrument, contract,
  broker; type ``balance_trade``) created locked, so nothing ever sends them, and one ledger
  :class:`~sysobjects.orders.records.Fill` with the synthetic execution id
  ``balance.<broker order id>`` (unique: the broker order id is never reused) and the reason.
  The orders are then marked filled and completed: history. The contract position (and the
  strategy's) moves by the fill; the next reconciliation sees the break cleared and lifts the
  break lock itself. A crash part-way leaves locked balance orders on the stacks, never sent;
  :func:`finish_balance_trades` (run by the next :func:`balance_trade`, or the console's
  option 23) completes them: as filled if the fill was booked, else as cancelled.
* :func:`balance_instrument_trade`: a strategy position that differs from what its fills say
  (e.g. a position moved between strategies): a ledger position adjustment at strategy level
  only (no contract, no order), with the reason.
* :func:`cash_fx_trade`: a currency conversion at the broker, recorded in the state store
  collection ``fx_trades`` before (``INITIALIZED``) and after (``DONE`` with the broker's id and
  rate) it is sent, with our ``client_ref`` ``systrade/fx/<id>`` so it can be found at the
  broker after a crash in between (:func:`resolve_fx_trades`, run by the next FX trade).

Quantities are signed whole contracts (FX: an amount of the first currency); prices in the
instrument's quoted units; times from the blob's clock (UTC).
"""
from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sysbrokers.errors import BrokerError
from syscore.dates import iso_utc
from syscore.exceptions import InvalidData
from sysdata.data_blob import DataBlob
from sysdata.leases import hold_lease
from sysdata.positions import validate_strategy_name
from sysexecution.order_completion import LIVE_AT_BROKER
from sysobjects.contracts import validate_contract_date
from sysobjects.instruments import validate_instrument_code
from sysobjects.orders import records
from sysobjects.orders.orders import (
    BrokerOrder,
    BrokerOrderType,
    ContractOrder,
    ContractOrderType,
    InstrumentOrder,
    InstrumentOrderType,
    Leg,
    client_ref,
)
from sysobjects.orders.status import OrderEventType, OrderLevel, OrderStatus

#: the most contracts a manual trade, fill or balance trade may name (as for trade and position
#: limits): a mistyped size is refused here, before it reaches a stack or the ledger
MAX_MANUAL_CONTRACTS = 10**9

BALANCE_EXEC_PREFIX = "balance."
FX_TRADES = "fx_trades"
#: one balance trade at a time (any process): finishing the half-done ones must not take one
#: being booked right now by another console for one a crash left behind
BALANCE_LEASE = "balance_trade"
BALANCE_LEASE_SECONDS = 120.0


def _check_reason(reason: str) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidData("give a reason: it is recorded with the trade")
    return reason.strip()


def _check_whole(value: int, name: str) -> None:
    """A non-zero whole number of contracts (a bool is not one), at most
    :data:`MAX_MANUAL_CONTRACTS` either way."""
    if isinstance(value, bool) or not isinstance(value, int) or value == 0:
        raise InvalidData(f"{name} must be a non-zero whole number, got {value!r}")
    if abs(value) > MAX_MANUAL_CONTRACTS:
        raise InvalidData(f"{name} {value:,} is more than {MAX_MANUAL_CONTRACTS:,} contracts: "
                          f"a mistyped size? nothing was done")


def _check_price(price: float) -> None:
    """A fill price: a finite positive number (a bool is not one)."""
    if isinstance(price, bool) or not isinstance(price, (int, float)) \
            or not math.isfinite(price) or price <= 0:
        raise InvalidData(f"price must be a positive number, got {price!r}")


def _check_limit_price(limit_price: float | None) -> None:
    """None (a market order) or a finite number (a bool is not one; a spread's limit may be
    zero or negative)."""
    if limit_price is not None and (isinstance(limit_price, bool)
                                    or not isinstance(limit_price, (int, float))
                                    or not math.isfinite(limit_price)):
        raise InvalidData(f"limit price must be a finite number, got {limit_price!r}")


def _check_contract(data: DataBlob, instrument_code: str, contract_date: str,
                    trading: bool = False) -> str:
    """The contract date, validated, if the broker knows the contract (``trading``: and it
    trades now, i.e. has a quote); InvalidData if not."""
    contract_date = validate_contract_date(str(contract_date))
    try:
        data.broker.get_contract_details(instrument_code, contract_date)
        if trading:
            data.broker.get_bid_ask(instrument_code, contract_date)
    except BrokerError as exc:
        raise InvalidData(f"{instrument_code} {contract_date}: {exc}") from None
    return contract_date


def _check_legs(legs: Sequence[tuple[str, int]]) -> tuple[Leg, ...]:
    out = tuple(Leg(str(contract), trade) for contract, trade in legs)
    if len(out) not in (1, 2):
        raise InvalidData(f"a manual trade has one leg or two (a spread), got {len(out)}")
    for leg in out:
        _check_whole(leg.trade, f"the trade in {leg.contract_date}")
    if len(out) == 2 and sum(leg.trade for leg in out) != 0:
        raise InvalidData(f"a spread's legs must net to zero, got {[leg.trade for leg in out]}")
    return out


@dataclass(frozen=True)
class ManualTrade:
    instrument_order_id: int
    contract_order_id: int

    def __str__(self) -> str:
        return (f"manual trade: instrument order {self.instrument_order_id}, contract order "
                f"{self.contract_order_id}")


def manual_trade(data: DataBlob, strategy_name: str, instrument_code: str,
                 legs: Sequence[tuple[str, int]], algo: str = "",
                 limit_price: float | None = None, reason: str = "manual trade") -> ManualTrade:
    """Put a manual trade on the stacks: ``legs`` is ``[(contract_date, trade)]`` (one
    outright) or two legs netting to zero (a calendar spread; the instrument trade is then 0).
    ``algo``: the dotted algo class to use ("" = the handler's default); ``limit_price``
    (instrument units; for a spread, the spread price): a limit order, else market.

    Crash safety: the instrument order is created already naming its child (so the stack
    handler never spawns it by roll state), then the contract order; a crash in between
    leaves an instrument order with no contract order, which the end of day cancels."""
    validate_strategy_name(strategy_name)
    validate_instrument_code(instrument_code)
    reason = _check_reason(reason)
    checked = _check_legs(legs)
    checked = tuple(Leg(_check_contract(data, instrument_code, leg.contract_date, True),
                        leg.trade)
                    for leg in checked)
    _check_limit_price(limit_price)
    istack, cstack = data.order_stack("instrument"), data.order_stack("contract")
    now = data.now()
    iid, cid = istack.new_order_id(), cstack.new_order_id()
    limit = limit_price is not None
    istack.add_order(InstrumentOrder(
        order_id=iid, strategy_name=strategy_name, instrument_code=instrument_code,
        trade=sum(leg.trade for leg in checked), manual_trade=True, children=(cid,),
        order_type=InstrumentOrderType.LIMIT if limit else InstrumentOrderType.MARKET,
        limit_price=limit_price, limit_contract=checked[0].contract_date if limit else None,
        generated_datetime=now), now, reason=f"manual trade: {reason}")
    cstack.add_order(ContractOrder(
        order_id=cid, strategy_name=strategy_name, instrument_code=instrument_code,
        parent_id=iid, legs=checked, manual_trade=True, algo_to_use=algo,
        order_type=ContractOrderType.LIMIT if limit else ContractOrderType.MARKET,
        limit_price=limit_price, generated_datetime=now), now, reason=f"manual trade: {reason}")
    istack.apply_event(iid, OrderEventType.SENT, now, reason=f"contract orders [{cid}]",
                       changes={"children": [cid]})
    data.log.warning("manual trade %s %s %s (algo %s, limit %s): %s", strategy_name,
                     instrument_code, [(leg.contract_date, leg.trade) for leg in checked],
                     algo or "default", limit_price, reason)
    return ManualTrade(iid, cid)


def manual_instrument_trade(data: DataBlob, strategy_name: str, instrument_code: str,
                            trade: int, limit_price: float | None = None,
                            reason: str = "manual trade") -> int:
    """A manual instrument order alone (``trade`` signed contracts): the stack handler spawns
    its contract order by roll state, as for a generated order. Returns its id."""
    validate_strategy_name(strategy_name)
    validate_instrument_code(instrument_code)
    reason = _check_reason(reason)
    _check_whole(trade, "trade")
    _check_limit_price(limit_price)
    stack, now = data.order_stack("instrument"), data.now()
    order = stack.add_order(InstrumentOrder(
        order_id=stack.new_order_id(), strategy_name=strategy_name,
        instrument_code=instrument_code, trade=trade, manual_trade=True,
        order_type=InstrumentOrderType.MARKET if limit_price is None
        else InstrumentOrderType.LIMIT, limit_price=limit_price, generated_datetime=now),
        now, reason=f"manual trade: {reason}")
    data.log.warning("manual instrument trade %s %s %+d: %s", strategy_name, instrument_code,
                     trade, reason)
    return order.order_id


def manual_fill(data: DataBlob, level: str, order_id: int, quantity: int, price: float,
                reason: str, contract_date: str | None = None) -> str:
    """Book a fill done outside the system (you traded it by hand, by telephone) against a
    contract order or a broker order of ours that the broker does not have, so its fill can
    never also come from the broker: a contract order with no broker order live at the
    broker, or a broker order never sent (no broker id). ``quantity`` (signed, the order's
    sign, at most what is left) at ``price``; ``contract_date``: which leg (default: the
    only one). A ledger fill with the synthetic execution id ``manual.<level>.<id>.<n>`` and
    the reason; the order's status follows (the stack handler's fill propagation). Returns
    the execution id."""
    reason = _check_reason(reason)
    if level not in ("contract", "broker"):
        raise InvalidData(f"a manual fill is for a contract or broker order, not {level!r}")
    _check_price(price)
    stack = data.order_stack(level)
    order = stack.get_order(order_id)
    if order.status in (OrderStatus.COMPLETED, OrderStatus.CANCELLED, OrderStatus.REJECTED):
        raise InvalidData(f"{level} order {order_id} is {order.status.value}")
    if level == "broker" and order.broker_order_id:
        raise InvalidData(f"broker order {order_id} was sent to the broker (id "
                          f"{order.broker_order_id}): its fills come from the broker")
    if level == "broker" and _at_broker(data, order):
        raise InvalidData(f"broker order {order_id} was placed (a crash before it was marked "
                          "sent): the broker has it and its fills come from the broker")
    if level == "contract":
        # a child never marked sent may be at the broker (a crash, or the stack handler
        # placing it right now): its fills would come from the broker too
        live = [b.order_id for b in data.order_stack("broker").orders(
            {"parent_id": order_id}) if b.status in LIVE_AT_BROKER
            or (b.status is OrderStatus.INITIALIZED and _at_broker(data, b))]
        if live:
            raise InvalidData(f"contract order {order_id} has broker orders at the broker "
                              f"({live}): cancel them first")
    dates = order.contract_dates
    leg = validate_contract_date(contract_date) if contract_date else dates[0]
    if contract_date is None and len(dates) > 1:
        raise InvalidData(f"{level} order {order_id} is a spread: say which leg ({dates})")
    if leg not in dates:
        raise InvalidData(f"{level} order {order_id} has no leg {leg} ({dates})")
    rest = order.remaining[dates.index(leg)]
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity == 0 \
            or (quantity > 0) != (rest > 0) or abs(quantity) > abs(rest):
        raise InvalidData(f"quantity must be a non-zero part of what is left ({rest}), got "
                          f"{quantity!r}")
    now = data.now()
    if level == "broker" and not order.locked:  # never sent afterwards (nor resumed)
        order = stack.apply_event(order, OrderEventType.LOCKED, now,
                                  f"manual fill: {reason}")
    contract_order = order if level == "contract" else (
        data.order_stack("contract").get_order(order.parent_id) if order.parent_id else None)
    number = sum(1 for _ in data.ledger.records(0, None, {"p_" + level + "_order":
                                                          f"{order_id:012d}"})) + 1
    exec_id = f"manual.{level}.{order_id:010d}.{number}"
    data.ledger.book_fill(records.Fill(
        exec_id=exec_id, instrument_code=order.instrument_code, contract_date=leg,
        quantity=quantity, price=float(price), timestamp=now,
        strategy_name=None if order.roll_order else order.strategy_name,
        broker_order_id=order_id if level == "broker" else None,
        contract_order_id=contract_order.order_id if contract_order else None,
        instrument_order_id=contract_order.parent_id if contract_order else None,
        reason=f"manual fill: {reason}"))
    filled = stack.get_order(order_id)
    if filled.status is OrderStatus.INITIALIZED and all(r == 0 for r in filled.remaining):
        # nothing else marks an order filled that never had a child at the broker
        stack.apply_event(filled, OrderEventType.FILLED, now, f"manual fill: {reason}")
    data.log.warning("manual fill of %s order %d: %+d %s at %s (%s): %s", level, order_id,
                     quantity, leg, price, exec_id, reason)
    return exec_id


def _at_broker(data: DataBlob, order: BrokerOrder) -> bool:
    """Whether the broker has (or may have) the never-confirmed broker order ``order``: looked
    up by its ``client_ref``; a broker that cannot be asked counts as having it."""
    if order.broker_order_id:
        return True
    if not order.client_ref:
        return False
    try:
        return bool(data.broker.find_orders(order.client_ref))
    except BrokerError:
        return True


@dataclass(frozen=True)
class BalanceTrade:
    instrument_order_id: int
    contract_order_id: int
    broker_order_id: int
    exec_id: str

    def __str__(self) -> str:
        return (f"balance trade booked as {self.exec_id} (orders: instrument "
                f"{self.instrument_order_id}, contract {self.contract_order_id}, broker "
                f"{self.broker_order_id})")


def finish_balance_trades(data: DataBlob) -> list[int]:
    """Finish balance trades that a crash left half-done (locked ``balance_trade`` broker
    orders still active): with their fill ``balance.<id>`` booked, the family is marked filled
    and completed; without it, nothing was booked and the family is cancelled and completed
    (enter the trade again). Returns the broker order ids finished. Idempotent."""
    with hold_lease(data.state, BALANCE_LEASE, "finish_balance_trades", BALANCE_LEASE_SECONDS):
        return _finish_balance_trades(data)


def _finish_balance_trades(data: DataBlob) -> list[int]:
    istack, cstack, bstack = (data.order_stack(s) for s in ("instrument", "contract", "broker"))
    now, done = data.now(), []
    for border in bstack.orders({"order_type": BrokerOrderType.BALANCE.value}):
        booked = data.ledger.find_uid(f"fill:{BALANCE_EXEC_PREFIX}{border.order_id:010d}")
        family = [(bstack, border.order_id)]
        if border.parent_id is not None and cstack.has_order(border.parent_id):
            corder = cstack.get_order(border.parent_id)
            family.append((cstack, corder.order_id))
            if corder.parent_id is not None and istack.has_order(corder.parent_id):
                family.append((istack, corder.parent_id))
        event = OrderEventType.FILLED if booked else OrderEventType.CANCELLED
        why = ("balance trade finished after a crash: its fill is booked" if booked else
               "balance trade abandoned after a crash: nothing was booked")
        for stack, order_id in family:
            order = stack.get_order(order_id)
            if order.status is OrderStatus.INITIALIZED:
                stack.apply_event(order, event, now, why)
        for stack, order_id in family:
            if stack.get_order(order_id).status is not OrderStatus.COMPLETED:
                stack.complete(order_id, now, why)
        data.log.warning("balance trade %s (broker order %d): %s", border.instrument_code,
                         border.order_id, why)
        done.append(border.order_id)
    for order in istack.orders({"order_type": InstrumentOrderType.BALANCE.value}):
        if order.status is OrderStatus.INITIALIZED and not cstack.orders(
                {"parent_id": order.order_id}, include_completed=True):
            # a crash before its contract order was created: nothing booked
            istack.apply_event(order, OrderEventType.CANCELLED, now,
                               "balance trade abandoned after a crash: nothing was booked")
            istack.complete(order.order_id, now, "balance trade abandoned")
    return done


def balance_trade(data: DataBlob, strategy_name: str, instrument_code: str, contract_date: str,
                  quantity: int, price: float, reason: str,
                  commission: float = 0.0) -> BalanceTrade:
    """Book a fill of ``quantity`` contracts at ``price`` that is not in our books, without
    executing anything (see the module docstring). Moves the contract position and the
    strategy's. ``commission`` in the instrument's currency (default 0). One at a time: while
    another process books one, :class:`~syscore.exceptions.LeaseHeld` (nothing done)."""
    validate_strategy_name(strategy_name)
    validate_instrument_code(instrument_code)
    reason = _check_reason(reason)
    _check_whole(quantity, "quantity")
    _check_price(price)
    contract_date = _check_contract(data, instrument_code, contract_date)
    with hold_lease(data.state, BALANCE_LEASE, "balance_trade", BALANCE_LEASE_SECONDS):
        return _balance_trade(data, strategy_name, instrument_code, contract_date, quantity,
                              price, reason, commission)


def _balance_trade(data: DataBlob, strategy_name: str, instrument_code: str, contract_date: str,
                   quantity: int, price: float, reason: str, commission: float) -> BalanceTrade:
    _finish_balance_trades(data)  # an earlier one a crash left half-done, before this one
    istack, cstack, bstack = (data.order_stack(s) for s in ("instrument", "contract", "broker"))
    now = data.now()
    iid, cid, bid = istack.new_order_id(), cstack.new_order_id(), bstack.new_order_id()
    why = f"balance trade: {reason}"
    legs = (Leg(contract_date, quantity),)
    common = dict(strategy_name=strategy_name, instrument_code=instrument_code,
                  manual_trade=True, locked=True, generated_datetime=now)
    # locked: nothing (spawning, the gate, netting) ever acts on them; never sent
    istack.add_order(InstrumentOrder(order_id=iid, trade=quantity, children=(cid,),
                                     order_type=InstrumentOrderType.BALANCE, **common), now, why)
    cstack.add_order(ContractOrder(order_id=cid, parent_id=iid, legs=legs, children=(bid,),
                                   order_type=ContractOrderType.BALANCE, manual_fill=True,
                                   **common), now, why)
    ref = client_ref(OrderLevel.BROKER, bid)
    bstack.add_order(BrokerOrder(order_id=bid, parent_id=cid, legs=legs,
                                 order_type=BrokerOrderType.BALANCE, manual_fill=True,
                                 algo_used="balance_trade", client_ref=ref, **common), now, why)
    exec_id = f"{BALANCE_EXEC_PREFIX}{bid:010d}"
    data.ledger.book_fill(records.Fill(
        exec_id=exec_id, instrument_code=instrument_code, contract_date=contract_date,
        quantity=quantity, price=float(price), timestamp=now, strategy_name=strategy_name,
        broker_order_id=bid, contract_order_id=cid, instrument_order_id=iid,
        commission=float(commission), client_ref=ref, reason=why))
    for stack, order_id in ((bstack, bid), (cstack, cid), (istack, iid)):
        stack.apply_event(order_id, OrderEventType.FILLED, now, why)
    for stack, order_id in ((bstack, bid), (cstack, cid), (istack, iid)):
        stack.complete(order_id, now, "balance trade booked")
    data.log.warning("balance trade %s %s %s %+d at %s booked as %s: %s", strategy_name,
                     instrument_code, contract_date, quantity, price, exec_id, reason)
    return BalanceTrade(iid, cid, bid, exec_id)


def balance_instrument_trade(data: DataBlob, strategy_name: str, instrument_code: str,
                             quantity: int, reason: str) -> int:
    """Move the strategy position by ``quantity`` contracts (no contract position, no order,
    nothing sent): a ledger position adjustment with the reason. Returns its ledger sequence
    number."""
    validate_strategy_name(strategy_name)
    validate_instrument_code(instrument_code)
    reason = _check_reason(reason)
    _check_whole(quantity, "quantity")
    seq = data.positions.adjust_position(
        instrument_code, quantity, data.now(), f"balance instrument trade: {reason}",
        strategy_name=strategy_name, adjustment_id=f"balance-instrument.{uuid.uuid4().hex}")
    data.log.warning("balance instrument trade %s %s %+d: %s", strategy_name, instrument_code,
                     quantity, reason)
    return seq


def resolve_fx_trades(data: DataBlob) -> list[str]:
    """FX trade records a crash left ``INITIALIZED`` (between the record and the broker's
    answer): looked up at the broker by their ``client_ref``: ``DONE`` with the broker's
    trade if it has one, else ``NOT_SENT``. Returns the keys resolved. Idempotent."""
    resolved = []
    for key, record in data.state.find(FX_TRADES, {"status": "INITIALIZED"}):
        found = data.broker.get_fx_trades(record["client_ref"])
        if found:
            trade = found[0]
            record = {**record, "status": "DONE", "trade_id": trade.trade_id,
                      "rate": trade.rate, "account": trade.account,
                      "timestamp": iso_utc(trade.timestamp)}
        else:
            record = {**record, "status": "NOT_SENT"}
        data.state.put(FX_TRADES, key, record)
        data.log.warning("cash FX trade %s after a crash: %s", record["client_ref"],
                         record["status"])
        resolved.append(key)
    return resolved


def cash_fx_trade(data: DataBlob, ccy1: str, ccy2: str, quantity: float,
                  reason: str = "cash FX trade") -> dict:
    """Buy ``quantity`` of ``ccy1`` (negative: sell) against ``ccy2`` at the broker; returns the
    stored record (``status`` DONE, ``trade_id``, ``rate``). A refusal by the broker is
    recorded (``status`` REJECTED with the reason) and raised."""
    reason = _check_reason(reason)
    ccy1, ccy2 = str(ccy1).strip().upper(), str(ccy2).strip().upper()
    if not (len(ccy1) == 3 and len(ccy2) == 3 and ccy1.isalpha() and ccy2.isalpha()) \
            or ccy1 == ccy2:
        raise InvalidData(f"give two different currency codes, got {ccy1!r} and {ccy2!r}")
    if isinstance(quantity, bool) or not isinstance(quantity, (int, float)) \
            or not math.isfinite(quantity) or quantity == 0:
        raise InvalidData(f"quantity must be a non-zero number, got {quantity!r}")
    resolve_fx_trades(data)  # one a crash left unresolved, before a new one
    trade_number = data.state.next_id("fx_trade_id")
    key = f"{trade_number:012d}"
    ref = f"systrade/fx/{trade_number}"
    record = {"ccy1": ccy1, "ccy2": ccy2, "quantity": float(quantity), "reason": reason,
              "client_ref": ref, "status": "INITIALIZED", "created": iso_utc(data.now())}
    data.state.insert(FX_TRADES, key, record)
    try:
        trade = data.broker.trade_fx(ccy1, ccy2, float(quantity), client_ref=ref)
    except BrokerError as exc:
        data.state.put(FX_TRADES, key, {**record, "status": "REJECTED", "detail": str(exc)})
        raise
    record = {**record, "status": "DONE", "trade_id": trade.trade_id, "rate": trade.rate,
              "account": trade.account, "timestamp": iso_utc(trade.timestamp)}
    data.state.put(FX_TRADES, key, record)
    data.log.warning("cash FX trade %+.2f %s against %s at %s (%s): %s", quantity, ccy1, ccy2,
                     trade.rate, trade.trade_id, reason)
    return record
