"""Stack handler step: broker orders from contract orders, through the pre-trade gate.

For each active outright contract order with an unfilled remainder and no live broker order,
one broker order may be created on the broker stack with our ``client_ref``, carrying its
algo's first decision (order type, limit price, algo state: see
:mod:`sysexecution.algo_orders`, which works it on every later pass):

* the gate (:func:`sysexecution.pretrade_gate.evaluate`) sees the trading state, the
  instrument lock (``data.locks``), trading hours, top of book and the contract position,
  before any broker order exists; a denial is recorded as a ``MODIFIED`` event of the contract
  order (status kept) whose reason is ``pre-trade gate: <why>``, once per change of reason (a
  lasting denial is one event, not one per loop); the order is tried again next loop; a
  resize (REDUCING, liquidity) sends the smaller quantity, the broker order's ``created``
  event giving the gate's notes as its reason;
* otherwise the broker order is created and sent (``SENT`` with the broker's id); a broker
  refusal is recorded as its ``REJECTED`` event with the broker's reason.

Crash safety: the broker order is on our stack before it is sent. A broker order still
``INITIALIZED`` (crash between the two) is first looked up at the broker by its
``client_ref`` (:meth:`Broker.find_orders`): if the broker has it, it is adopted (``SENT``
with that id), never placed twice. Spread contract orders (two legs) are not sent yet.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

from sysbrokers.errors import BrokerError, OrderRejected
from sysbrokers.objects import BrokerOrder as BrokerOrderAtBroker
from sysbrokers.objects import OrderType
from syscore.dates import iso_utc
from sysdata.data_blob import DataBlob
from sysexecution.algo_orders import Decision, ExecutionSettings, first_decision
from sysexecution.market_view import MarketView
from sysexecution.pretrade_gate import (
    OPTION_BAND_TICKS,
    OPTION_SPREAD_FRACTION,
    GateContext,
    GateDecision,
    GateRequest,
    GateSettings,
    MarketState,
    TradingState,
    evaluate,
    evaluate_halted,
)
from sysobjects.option_instruments import is_option_code
from sysobjects.orders.orders import BrokerOrder, BrokerOrderType, ContractOrder, client_ref
from sysobjects.orders.status import OrderEventType, OrderLevel, OrderStatus

LIVE = (OrderStatus.INITIALIZED, OrderStatus.SUBMITTED, OrderStatus.WORKING,
        OrderStatus.PENDING_UPDATE, OrderStatus.PENDING_CANCEL)
GATE = "pre-trade gate: "


@dataclass
class SubmitResult:
    sent: list[int]
    denied: dict[int, str]
    adopted: list[int]


def create_broker_orders(data: DataBlob, trading_state: TradingState = TradingState.ACTIVE,
                         settings: GateSettings | None = None,
                         execution: ExecutionSettings | None = None,
                         view: MarketView | None = None) -> SubmitResult:
    """Send what the contract stack needs (see module docstring); ``settings`` default:
    :class:`GateSettings` defaults; ``execution``: the algos' settings (default
    :class:`ExecutionSettings`); ``view``: the pass's market view (default a new one)."""
    settings = settings or GateSettings()
    execution = execution or ExecutionSettings()
    view = view or MarketView(data)
    result = SubmitResult([], {}, [])
    bstack, cstack = data.order_stack("broker"), data.order_stack("contract")
    for pending in bstack.orders({"status": OrderStatus.INITIALIZED.value}):
        if pending.locked:  # e.g. a balance trade being booked: never sent
            continue
        _link_parent(data, pending)  # finish a crashed submission
        _resume(data, view, pending, trading_state, settings, result)
    busy = {b.parent_id for b in bstack.orders() if b.status in LIVE}  # one listing
    for order in cstack.orders():
        if order.status not in (OrderStatus.INITIALIZED, OrderStatus.WORKING) \
                or order.locked or order.is_spread or order.remaining[0] == 0:
            continue
        if order.order_id in busy:  # a live broker order works it already
            continue
        # the contract order's fills (a projection) include every earlier child's fills
        contract_date, quantity = order.legs[0].contract_date, order.remaining[0]
        try:
            algo = first_decision(view, order, contract_date, quantity, execution)
        except BrokerError as exc:  # no contract details: nothing sane to decide on
            halt = data.broker.halt_reason(data.now())  # the disconnect policy says why
            _record_denial(data, order, evaluate_halted(halt).denial if halt
                           else f"no market data: {exc}", result)
            continue
        if algo.state is None:
            _record_denial(data, order, f"algo waits: {algo.why}", result)
            continue
        decision = _check(data, view, order, contract_date, quantity, trading_state, settings,
                          algo.limit_price)
        if not decision.allowed:
            _record_denial(data, order, decision.denial, result)
            continue
        _place(data, _new_broker_order(data, view, order, decision, algo), result)
    return result


def _check(data: DataBlob, view: MarketView, order, contract_date: str, quantity: int,
           trading_state: TradingState, settings: GateSettings,
           limit_price: float | None = None) -> GateDecision:
    """The gate's decision on sending ``quantity`` (at ``limit_price``; ``None``: a market
    order): allowed (possibly resized towards zero, with notes) or a non-empty denial. The
    broker is asked once per pass for the contract, the quote and the hours (``view``)."""
    code, broker = order.instrument_code, data.broker
    halt = broker.halt_reason(data.now())
    if halt:  # the disconnect policy: a broker blind too long is HALTED
        return evaluate_halted(halt)
    try:
        details = view.details(code, contract_date)
        quote = view.bid_ask(code, contract_date)
    except BrokerError as exc:  # no contract details or prices: nothing sane to check against
        halt = broker.halt_reason(data.now())
        return evaluate_halted(halt) if halt else GateDecision(0, f"no market data: {exc}")
    is_open = view.is_open(code)
    option = is_option_code(code)  # an option leg: a band and a spread suited to premiums
    request = GateRequest(code, quantity, data.positions.get_contract_position(code, contract_date),
                          reference_price=quote.mid, tick_size=details.tick_size,
                          point_size=details.multiplier, limit_price=limit_price,
                          min_band_ticks=OPTION_BAND_TICKS if option else 0,
                          spread_allowance_ticks=math.ceil(
                              OPTION_SPREAD_FRACTION * quote.mid / details.tick_size)
                          if option else 0)
    lock = data.locks.reason(code)
    context = GateContext(trading_state=trading_state, locked=lock is not None,
                          lock_reason=lock or "",
                          market=MarketState(is_open, quote.bid, quote.ask, quote.bid_size,
                                             quote.ask_size))
    decision = evaluate(request, context, settings)
    if decision.allowed or decision.denial:
        return decision
    return GateDecision(0, "nothing to send", decision.notes)


def _record_denial(data: DataBlob, order: ContractOrder, denial: str,
                   result: SubmitResult) -> None:
    """A denial before any broker order exists: an event on the contract order (status kept),
    appended only when the reason changes, so a lasting denial is one event, not one a loop."""
    result.denied[order.order_id] = denial
    if order.reason != GATE + denial:
        data.order_stack("contract").apply_event(order, OrderEventType.MODIFIED, data.now(),
                                                 GATE + denial)


def _new_broker_order(data: DataBlob, view: MarketView, order: ContractOrder,
                      decision: GateDecision, algo: Decision) -> BrokerOrder:
    """On the stack, before it is sent, with the algo's first decision (its state sized to
    what the gate allows); a resize by the gate is the created event's reason."""
    bstack, quantity = data.order_stack("broker"), decision.quantity
    now = data.now()
    order_id = bstack.new_order_id()
    leg = order.legs[0]
    state = replace(algo.state, quantity=quantity)
    prices: dict[str, float] = {}
    book = view.quote(order.instrument_code, leg.contract_date)
    if book.valid:
        prices = {"side_price": book.side(quantity > 0),
                  "offside_price": book.offside(quantity > 0),
                  "mid_price": (book.bid + book.ask) / 2.0}
    broker_order = bstack.add_order(BrokerOrder(
        order_id=order_id, strategy_name=order.strategy_name,
        instrument_code=order.instrument_code, parent_id=order.order_id,
        legs=(type(leg)(leg.contract_date, quantity),),
        roll_order=order.roll_order, manual_trade=order.manual_trade,
        order_type=(BrokerOrderType.MARKET if algo.limit_price is None
                    else BrokerOrderType.LIMIT),
        limit_price=algo.limit_price, algo_used=state.algo, algo_state=state.to_doc(),
        algo_comment=state.reason, **prices,
        client_ref=client_ref(OrderLevel.BROKER, order_id), generated_datetime=now), now,
        reason=GATE + "; ".join(decision.notes) if decision.notes else "created")
    _link_parent(data, broker_order)
    return broker_order


def _link_parent(data: DataBlob, broker_order: BrokerOrder) -> None:
    """The contract order's ``SENT`` event listing this child (also after a crash between the
    child's creation and this event)."""
    cstack = data.order_stack("contract")
    parent = cstack.get_order(broker_order.parent_id)
    if broker_order.order_id in parent.children and parent.status is not OrderStatus.INITIALIZED:
        return
    cstack.apply_event(parent.order_id, OrderEventType.SENT, data.now(),
                       reason=f"broker order {broker_order.order_id}",
                       changes={"children": sorted(set(parent.children)
                                                   | {broker_order.order_id})})


def _resume(data: DataBlob, view: MarketView, order: BrokerOrder,
            trading_state: TradingState, settings: GateSettings,
            result: SubmitResult) -> None:
    """A broker order left ``INITIALIZED`` by a crash: adopted if the broker has it (found by
    ``client_ref``), else checked by the gate again (the market has moved on) and placed."""
    found = data.broker.find_orders(order.client_ref)
    if found:
        adopt(data, order, found[0])
        result.adopted.append(order.order_id)
        return
    leg = order.legs[0]
    decision = _check(data, view, order, leg.contract_date, leg.trade, trading_state, settings,
                      order.limit_price)
    denial = decision.denial
    if decision.allowed and decision.quantity != leg.trade:
        denial = f"resized to {decision.quantity}: a new broker order is made next loop"
    if denial:  # a crashed submission now denied: this broker order is dead
        data.order_stack("broker").apply_event(order, OrderEventType.REJECTED, data.now(),
                                               GATE + denial)
        result.denied[order.order_id] = denial
        return
    _place(data, order, result)


def adopt(data: DataBlob, order: BrokerOrder, theirs: BrokerOrderAtBroker) -> BrokerOrder:
    """Our ``INITIALIZED`` broker order that the broker has (``theirs``, found by
    ``client_ref`` after a crash): ``SENT`` with the broker's id and account."""
    now = data.now()
    return data.order_stack("broker").apply_event(
        order, OrderEventType.SENT, now, "adopted: found at the broker",
        {"broker_order_id": theirs.order_id, "submit_datetime": iso_utc(now),
         "account": theirs.account})


def _place(data: DataBlob, order: BrokerOrder, result: SubmitResult) -> None:
    """Place a broker order that is on our stack and passed the gate; ``SENT`` with the
    broker's id, or ``REJECTED`` with the broker's reason."""
    bstack, now, leg = data.order_stack("broker"), data.now(), order.legs[0]
    market = order.order_type is not BrokerOrderType.LIMIT or order.limit_price is None
    try:
        placed = data.broker.place_order(
            order.instrument_code, leg.contract_date, leg.trade,
            OrderType.MARKET if market else OrderType.LIMIT,
            limit_price=None if market else order.limit_price, client_ref=order.client_ref)
    except OrderRejected as exc:
        bstack.apply_event(order, OrderEventType.REJECTED, now,
                           f"broker: {exc.reason.value} {exc.detail}".strip())
        result.denied[order.order_id] = f"broker: {exc.reason.value}"
        return
    changes = {"broker_order_id": placed.order_id, "submit_datetime": iso_utc(now),
               "account": placed.account}
    bstack.apply_event(order, OrderEventType.SENT, now, "sent", changes)
    result.sent.append(order.order_id)
