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
  resize (REDUCING, trade limits, liquidity) sends the smaller quantity, the broker order's
  ``created`` event giving the gate's notes as its reason;
* trade limits: the gate sees the remaining capacity of every limit of the instrument (each
  period, instrument level ``ALL`` and the order's strategy); reducing trades and roll orders
  count too (as pysystemtrade). The contracts of a broker order are recorded against them
  when it is made (before it is placed), keyed by its ``client_ref`` (see
  :func:`_record_usage`);
* the submit-rate throttle: one :class:`SubmitThrottle` per process (:func:`process_throttle`,
  ``ExecutionSettings.submit_rate`` per ``submit_period_seconds``); a throttled order is
  tried again next pass;
* otherwise the broker order is created and sent (``SENT`` with the broker's id); a broker
  refusal is recorded as its ``REJECTED`` event with the broker's reason.

Crash safety: the broker order is on our stack before it is sent. A broker order still
``INITIALIZED`` (crash between the two) is first looked up at the broker by its
``client_ref`` (:meth:`Broker.find_orders`): if the broker has it, it is adopted (``SENT``
with that id), never placed twice.

Spread contract orders (two legs, a Force roll or a manual spread) go to the broker as one
spread order (:meth:`Broker.place_spread_order`, mapping and price convention "leg 1 minus
leg 2" in :mod:`sysexecution.spread_orders`), market or limit on the spread price (the algo:
``limit`` when the order has a limit price, else ``market``): the gate checks each leg as a
market order for its contracts (trading state, lock, market open, prices, limits, liquidity:
a denial names the leg; resizes keep whole spread units) and a limit's spread price (tick,
fat-finger distance from the synthetic mid). The broker fills both legs together and reports
one execution per leg, booked once each (:mod:`sysexecution.broker_fills`). A broker that
does not take spread orders (``Broker.supports_spread_orders`` False) gets none: the contract
order is denied with that reason (use Force_Outright).

Two phases, for throughput inside the stack handler's batch (:meth:`StateStore.batch`): every
broker order of the call is made first, then :meth:`StateStore.checkpoint` commits them all
(so each ``client_ref`` is durable before anything is placed), then they are placed and their
``SENT`` / ``REJECTED`` events recorded (committed with the batch: a crash before that commit
leaves them ``INITIALIZED``, the case above).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

from sysbrokers.errors import BrokerError, OrderRejected
from sysbrokers.objects import BrokerOrder as BrokerOrderAtBroker
from sysbrokers.objects import OrderType
from syscore.dates import iso_utc
from syscore.exceptions import InvalidData
from sysdata.data_blob import DataBlob
from sysexecution.algo_orders import (
    Decision,
    ExecutionSettings,
    first_decision,
    first_spread_decision,
)
from sysexecution.market_view import MarketView
from sysexecution.pretrade_gate import (
    OPTION_BAND_TICKS,
    OPTION_SPREAD_FRACTION,
    GateContext,
    GateDecision,
    GateRequest,
    GateSettings,
    MarketState,
    SubmitThrottle,
    TradingState,
    evaluate,
    evaluate_halted,
    spread_price_denial,
)
from sysexecution.spread_orders import BrokerSpread, broker_spread, synthetic_quote, units_for
from sysobjects.option_instruments import is_option_code
from sysobjects.orders.orders import BrokerOrder, BrokerOrderType, ContractOrder, Leg, client_ref
from sysobjects.orders.status import OrderEventType, OrderLevel, OrderStatus

LIVE = (OrderStatus.INITIALIZED, OrderStatus.SUBMITTED, OrderStatus.WORKING,
        OrderStatus.PENDING_UPDATE, OrderStatus.PENDING_CANCEL)
GATE = "pre-trade gate: "


#: one submit-rate throttle per process, per home and rate (see :func:`process_throttle`)
_THROTTLES: dict[tuple[str, int, float], SubmitThrottle] = {}


def process_throttle(data: DataBlob, execution: ExecutionSettings) -> SubmitThrottle:
    """This process's submit-rate throttle for ``data``'s home: ``execution.submit_rate``
    submits per ``execution.submit_period_seconds`` (kept across passes: a pass may open a new
    blob, the process keeps its bucket)."""
    key = (str(data.home), execution.submit_rate, execution.submit_period_seconds)
    if key not in _THROTTLES:
        _THROTTLES[key] = SubmitThrottle(execution.submit_rate, execution.submit_period_seconds)
    return _THROTTLES[key]


def _seconds(data: DataBlob) -> float:
    """The throttle's time scale: the blob's clock, in seconds."""
    return data.now().timestamp()


@dataclass
class SubmitResult:
    sent: list[int]
    denied: dict[int, str]
    adopted: list[int]


def create_broker_orders(data: DataBlob, trading_state: TradingState = TradingState.ACTIVE,
                         settings: GateSettings | None = None,
                         execution: ExecutionSettings | None = None,
                         view: MarketView | None = None,
                         throttle: SubmitThrottle | None = None) -> SubmitResult:
    """Send what the contract stack needs (see module docstring); ``settings`` default:
    :class:`GateSettings` defaults; ``execution``: the algos' settings (default
    :class:`ExecutionSettings`); ``view``: the pass's market view (default a new one);
    ``throttle``: the submit-rate throttle (default :func:`process_throttle`)."""
    settings = settings or GateSettings()
    execution = execution or ExecutionSettings()
    throttle = throttle or process_throttle(data, execution)
    view = view or MarketView(data)
    result = SubmitResult([], {}, [])
    bstack, cstack = data.order_stack("broker"), data.order_stack("contract")
    for pending in bstack.orders({"status": OrderStatus.INITIALIZED.value}):
        if pending.locked:  # e.g. a balance trade being booked: never sent
            continue
        _link_parent(data, pending)  # finish a crashed submission
        _resume(data, view, pending, trading_state, settings, result, throttle)
    busy = {b.parent_id for b in bstack.orders() if b.status in LIVE}  # one listing
    made: list[BrokerOrder] = []
    for order in cstack.orders():
        if order.status not in (OrderStatus.INITIALIZED, OrderStatus.WORKING) \
                or order.locked or not any(order.remaining):
            continue
        if order.order_id in busy:  # a live broker order works it already
            continue
        if order.is_spread:
            spread_order = _make_spread(data, view, order, trading_state, settings, execution,
                                        result, throttle)
            if spread_order is not None:
                made.append(spread_order)
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
                          algo.limit_price, throttle=throttle)
        if not decision.allowed:
            _record_denial(data, order, decision.denial, result)
            continue
        made.append(_new_broker_order(data, view, order, decision, algo, throttle=throttle))
    data.state.checkpoint()  # every client_ref durable before anything is placed
    for broker_order in made:
        _place(data, broker_order, result)
    return result


def _check(data: DataBlob, view: MarketView, order, contract_date: str, quantity: int,
           trading_state: TradingState, settings: GateSettings,
           limit_price: float | None = None, throttle: SubmitThrottle | None = None,
           limit_share: tuple[int, int] = (1, 1)) -> GateDecision:
    """The gate's decision on sending ``quantity`` (at ``limit_price``; ``None``: a market
    order): allowed (possibly resized towards zero, with notes) or a non-empty denial. The
    broker is asked once per pass for the contract, the quote and the hours (``view``).

    Trade limits: the remaining capacity of every limit of the instrument (each period;
    instrument level and ``order``'s strategy), a broker order's own recorded trade
    (``client_ref``: a crashed submission checked again) not counted; ``limit_share``:
    ``(r, R)`` for a spread leg of ratio ``r`` in a spread whose legs' ratios total ``R``
    contracts a unit: the leg may use ``(remaining // R) * r`` (every leg's contracts count
    against the instrument's limits, so the legs share the capacity in whole units).
    ``throttle``: whether a submit is available now (none: no throttle)."""
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
    now = data.now()
    remaining = data.trade_limits.remaining_for(
        code, order.strategy_name, now,
        exclude_ref=getattr(order, "client_ref", None) or None)
    context = GateContext(trading_state=trading_state, locked=lock is not None,
                          lock_reason=lock or "",
                          trade_limit_remaining=tuple(r // limit_share[1] * limit_share[0]
                                                      for r in remaining),
                          market=MarketState(is_open, quote.bid, quote.ask, quote.bid_size,
                                             quote.ask_size),
                          throttle_ok=throttle is None or throttle.available(_seconds(data)))
    decision = evaluate(request, context, settings)
    if decision.allowed or decision.denial:
        return decision
    return GateDecision(0, "nothing to send", decision.notes)


def _spread_of(order) -> BrokerSpread:
    """The broker spread of a legged order's whole trade (its ratios)."""
    return broker_spread(order.contract_dates, order.trade)


def _make_spread(data: DataBlob, view: MarketView, order: ContractOrder,
                 trading_state: TradingState, settings: GateSettings,
                 execution: ExecutionSettings, result: SubmitResult,
                 throttle: SubmitThrottle | None = None) -> BrokerOrder | None:
    """One spread broker order, on our stack, for a spread contract order's unfilled units
    (see module docstring), placed by the caller once committed; None after a denial,
    recorded on the contract order as for an outright."""
    if not data.broker.supports_spread_orders:
        _record_denial(data, order, f"broker {type(data.broker).__name__} does not take spread "
                                    "orders (use the roll state Force_Outright)", result)
        return None
    try:
        spread = _spread_of(order)
    except InvalidData as exc:
        _record_denial(data, order, f"not a spread the broker takes: {exc}", result)
        return None
    units = units_for(spread, order.remaining)
    if units is None:  # e.g. one leg filled by hand: the legs no longer match
        _record_denial(data, order, f"spread legs unevenly filled {order.filled}: "
                                    "not a whole number of spread units", result)
        return None
    algo = first_spread_decision(order, units, execution, view.now)
    decision = _check_spread(data, view, order, spread, units, trading_state, settings,
                             algo.limit_price, throttle)
    if not decision.allowed:
        _record_denial(data, order, decision.denial, result)
        return None
    return _new_broker_order(data, view, order, decision, algo, spread, throttle)


def _check_spread(data: DataBlob, view: MarketView, order, spread: BrokerSpread, units: int,
                  trading_state: TradingState, settings: GateSettings,
                  limit_price: float | None,
                  throttle: SubmitThrottle | None = None) -> GateDecision:
    """The gate on a spread of ``units``: each leg as an order for its contracts (a market
    spread: market orders; a limit spread: limits at the leg's touch, so not cut to the visible
    size), a denial naming the leg, a leg's resize keeping whole units; then a limit's spread
    price."""
    notes: list[str] = []
    allowed = abs(units)
    total_ratio = sum(abs(leg.ratio) for leg in spread.legs)  # contracts per spread unit
    for leg, trade in zip(spread.legs, spread.leg_trades(units), strict=True):
        leg_price = None  # a market spread: each leg checked as a market order
        if limit_price is not None:  # a limit spread: each leg as a limit at its touch
            try:
                book = view.bid_ask(order.instrument_code, leg.contract_date)
                leg_price = book.ask if trade > 0 else book.bid
            except BrokerError:
                pass  # _check says why
        # the trade limits: the leg gets its share (r / R) of the capacity, as every leg's
        # contracts count against the instrument's limits
        decision = _check(data, view, order, leg.contract_date, trade, trading_state, settings,
                          leg_price, throttle=throttle,
                          limit_share=(abs(leg.ratio), total_ratio))
        notes += [f"leg {leg.contract_date}: {note}" for note in decision.notes]
        if not decision.allowed:
            return GateDecision(0, f"leg {leg.contract_date}: {decision.denial}", tuple(notes))
        allowed = min(allowed, abs(decision.quantity) // abs(leg.ratio))
    if allowed == 0:
        return GateDecision(0, "the legs' limits leave no whole spread unit", tuple(notes))
    if limit_price is not None:
        code = order.instrument_code
        quotes = [view.bid_ask(code, leg.contract_date) for leg in spread.legs]
        bid, ask = synthetic_quote(spread.legs, [q.bid for q in quotes], [q.ask for q in quotes])
        tick = view.details(code, spread.legs[0].contract_date).tick_size
        denial = spread_price_denial(limit_price, (bid + ask) / 2.0, quotes[0].mid, tick,
                                     settings)
        if denial:
            return GateDecision(0, denial, tuple(notes))
    quantity = int(math.copysign(allowed, units))
    if quantity != units:
        notes.append(f"spread: {units} cut to {quantity} units")
    return GateDecision(quantity, "", tuple(notes))


def _record_denial(data: DataBlob, order: ContractOrder, denial: str,
                   result: SubmitResult) -> None:
    """A denial before any broker order exists: an event on the contract order (status kept),
    appended only when the reason changes, so a lasting denial is one event, not one a loop."""
    result.denied[order.order_id] = denial
    if order.reason != GATE + denial:
        data.order_stack("contract").apply_event(order, OrderEventType.MODIFIED, data.now(),
                                                 GATE + denial)


def _new_broker_order(data: DataBlob, view: MarketView, order: ContractOrder,
                      decision: GateDecision, algo: Decision,
                      spread: BrokerSpread | None = None,
                      throttle: SubmitThrottle | None = None) -> BrokerOrder:
    """On the stack, before it is sent, with the algo's first decision (its state sized to
    what the gate allows); a resize by the gate is the created event's reason. ``spread``:
    a spread order of ``decision.quantity`` units (its legs' trades on our order; prices are
    spread prices). Its contracts are recorded against the trade limits at once (so the next
    order of the pass sees them: :func:`_record_usage`); ``throttle``: a submit token is taken
    (the gate saw one available)."""
    bstack, quantity = data.order_stack("broker"), decision.quantity
    now = data.now()
    order_id = bstack.new_order_id()
    state = replace(algo.state, quantity=quantity)
    prices: dict[str, float] = {}
    if spread is None:
        leg = order.legs[0]
        legs = (Leg(leg.contract_date, quantity),)
        book = view.quote(order.instrument_code, leg.contract_date)
        if book.valid:
            prices = {"side_price": book.side(quantity > 0),
                      "offside_price": book.offside(quantity > 0),
                      "mid_price": (book.bid + book.ask) / 2.0}
    else:
        legs = tuple(Leg(leg.contract_date, trade) for leg, trade
                     in zip(spread.legs, spread.leg_trades(quantity), strict=True))
        books = [view.quote(order.instrument_code, leg.contract_date) for leg in spread.legs]
        if all(book.valid for book in books):
            bid, ask = synthetic_quote(spread.legs, [b.bid for b in books],
                                       [b.ask for b in books])
            prices = {"side_price": ask if quantity > 0 else bid,
                      "offside_price": bid if quantity > 0 else ask,
                      "mid_price": (bid + ask) / 2.0}
    broker_order = bstack.add_order(BrokerOrder(
        order_id=order_id, strategy_name=order.strategy_name,
        instrument_code=order.instrument_code, parent_id=order.order_id,
        legs=legs, roll_order=order.roll_order, manual_trade=order.manual_trade,
        order_type=(BrokerOrderType.MARKET if algo.limit_price is None
                    else BrokerOrderType.LIMIT),
        limit_price=algo.limit_price, algo_used=state.algo, algo_state=state.to_doc(),
        algo_comment=state.reason, **prices,
        client_ref=client_ref(OrderLevel.BROKER, order_id), generated_datetime=now), now,
        reason=GATE + "; ".join(decision.notes) if decision.notes else "created")
    _record_usage(data, broker_order)
    if throttle is not None:
        throttle.try_take(_seconds(data))
    _link_parent(data, broker_order)
    return broker_order


def _record_usage(data: DataBlob, order: BrokerOrder) -> None:
    """The broker order's contracts (every leg's, absolute) against the instrument's trade
    limits (its strategy's and ``ALL``), under its ``client_ref``: recording again changes
    nothing, so no path counts an order twice. Called when the order is made (committed with
    it, before it is placed) and again when a crashed submission is resumed (a crash between
    the order's creation and this record, where the store has no transactions)."""
    data.trade_limits.record_trade(order.instrument_code,
                                   sum(abs(leg.trade) for leg in order.legs), data.now(),
                                   order.strategy_name, ref=order.client_ref)


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
            result: SubmitResult, throttle: SubmitThrottle | None = None) -> None:
    """A broker order left ``INITIALIZED`` by a crash: adopted if the broker has it (found by
    ``client_ref``), else checked by the gate again (the market has moved on) and placed."""
    found = data.broker.find_orders(order.client_ref)
    if found:
        adopt(data, order, found[0])
        result.adopted.append(order.order_id)
        return
    if order.is_spread:
        spread = _spread_of(order)
        wanted = spread.units
        decision = _check_spread(data, view, order, spread, wanted, trading_state, settings,
                                 order.limit_price, throttle)
    else:
        wanted = order.legs[0].trade
        decision = _check(data, view, order, order.legs[0].contract_date, wanted,
                          trading_state, settings, order.limit_price, throttle=throttle)
    denial = decision.denial
    if decision.allowed and decision.quantity != wanted:
        denial = f"resized to {decision.quantity}: a new broker order is made next loop"
    if denial:  # a crashed submission now denied: this broker order is dead
        data.order_stack("broker").apply_event(order, OrderEventType.REJECTED, data.now(),
                                               GATE + denial)
        # it never reached the broker: its usage (recorded before the crash) is released
        data.trade_limits.forget_trade(order.instrument_code, order.client_ref)
        result.denied[order.order_id] = denial
        return
    _record_usage(data, order)  # a no-op unless the crash came before its record
    data.state.checkpoint()  # its parent's SENT (just linked) durable before it is placed
    _place(data, order, result, throttle)


def adopt(data: DataBlob, order: BrokerOrder, theirs: BrokerOrderAtBroker) -> BrokerOrder:
    """Our ``INITIALIZED`` broker order that the broker has (``theirs``, found by
    ``client_ref`` after a crash): ``SENT`` with the broker's id and account."""
    now = data.now()
    return data.order_stack("broker").apply_event(
        order, OrderEventType.SENT, now, "adopted: found at the broker",
        {"broker_order_id": theirs.order_id, "submit_datetime": iso_utc(now),
         "account": theirs.account})


def _place(data: DataBlob, order: BrokerOrder, result: SubmitResult,
           throttle: SubmitThrottle | None = None) -> None:
    """Place a broker order that is on our stack and passed the gate; ``SENT`` with the
    broker's id, or ``REJECTED`` with the broker's reason.

    Its trade-limit usage was recorded before (:func:`_record_usage`); a broker refusal
    releases it. ``throttle`` (a resumed submission): a token is taken (the gate saw one
    available)."""
    bstack, now, leg = data.order_stack("broker"), data.now(), order.legs[0]
    if throttle is not None:
        throttle.try_take(_seconds(data))
    market = order.order_type is not BrokerOrderType.LIMIT or order.limit_price is None
    order_type = OrderType.MARKET if market else OrderType.LIMIT
    limit = None if market else order.limit_price
    try:
        if order.is_spread:  # one order at the broker for both legs
            spread = _spread_of(order)
            placed = data.broker.place_spread_order(
                order.instrument_code, spread.legs, spread.units, order_type,
                limit_price=limit, client_ref=order.client_ref)
        else:
            placed = data.broker.place_order(
                order.instrument_code, leg.contract_date, leg.trade, order_type,
                limit_price=limit, client_ref=order.client_ref)
    except OrderRejected as exc:
        bstack.apply_event(order, OrderEventType.REJECTED, now,
                           f"broker: {exc.reason.value} {exc.detail}".strip())
        data.trade_limits.forget_trade(order.instrument_code, order.client_ref)
        result.denied[order.order_id] = f"broker: {exc.reason.value}"
        return
    changes = {"broker_order_id": placed.order_id, "submit_datetime": iso_utc(now),
               "account": placed.account}
    bstack.apply_event(order, OrderEventType.SENT, now, "sent", changes)
    result.sent.append(order.order_id)
