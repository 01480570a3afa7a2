"""Stack handler step: every working broker order advanced one step by its algo.

The algos are the pure state machines of :mod:`sysexecution.algos`; this module carries their
decisions out at the broker and stores their state with the broker order, in the ledger, so
that many orders are worked at once (one step each per pass, nothing blocks) and a restarted
handler resumes every order where it was.

* **Choice** (:func:`choose_algo`): the contract order's ``algo_to_use`` when it names an algo
  (``limit`` only with a limit price);
  a ``limit`` order (it has a limit price) the ``limit`` algo; a manual order its own type
  (``market`` or ``best``); otherwise :attr:`ExecutionSettings.default_algo` (``best``).
* **First decision** (:func:`first_decision`): when a broker order is created, its algo's first
  step is taken there and then; the broker order is stored with the resulting order type,
  limit price and algo state *before* it is sent, so that placing it (or adopting it after a
  crash, found by ``client_ref``) needs no second decision.
* **Each pass** (:func:`work_orders`): for each of our broker orders that the broker works
  (``WORKING``; ``PENDING_UPDATE`` left by a crash), :func:`sysexecution.algos.step` with the
  pass's quote, the unfilled quantity (from the ledger's fills) and the time to the close:

  - a re-price: ``MODIFY_REQUESTED`` (with the new algo state), the broker's modify,
    ``MODIFIED`` (with the new limit). A crash between leaves the order ``PENDING_UPDATE``:
    the next pass sends the same modify again (idempotent) and records ``MODIFIED``. A broker
    refusal (the order filled or was cancelled meanwhile) is ``MODIFY_REJECTED``;
  - a cancel (the algo's hard timeout): the broker's cancel, then ``CANCEL_REQUESTED`` with
    the algo state ``cancelling`` (a crash between: the next pass asks again, which the broker
    takes as the same request). The contract order's rest is sent again as a new broker order
    by the next pass (a new algo run), until the end of day;
  - a cancel the broker has not confirmed within ``cancel_wait_seconds``: one alert per pass
    (alerts are throttled) naming the order.

  An order still ``SUBMITTED`` (not acknowledged yet) waits for the next pass.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sysbrokers.errors import BrokerError
from sysdata.data_blob import DataBlob
from sysexecution.algos import (
    ALGOS,
    ActionKind,
    AlgoAction,
    AlgoPhase,
    AlgoSettings,
    AlgoState,
    Quote,
    step,
)
from sysexecution.market_view import MarketView
from sysexecution.spread_orders import broker_spread, units_for
from sysobjects.orders.orders import BrokerOrder, ContractOrder, ContractOrderType
from sysobjects.orders.status import OrderEventType as E
from sysobjects.orders.status import OrderStatus as S


class ExecutionSettings(BaseModel):
    """How the stack handler executes (arguments of ``stack_handler_pass`` in the control
    config; defaults in brackets). Seconds are clock seconds.

    * ``default_algo`` [best]: the algo of an order that does not name one;
    * ``passive_seconds`` [300]: a ``best`` order waits this long at the offside price before
      it turns aggressive;
    * ``total_seconds`` [600]: a ``best`` or ``market`` order is cancelled this long after it
      started (its rest is sent again as a new order);
    * ``cancel_wait_seconds`` [60]: a cancel not confirmed this long after it was sent raises
      an alert;
    * ``imbalance_ratio`` [5] and ``imbalance_size_multiple`` [3]: the book is adverse when
      the offside size over our side's size exceeds the ratio and our side shows fewer than the
      multiple times our quantity;
    * ``close_buffer_seconds`` [1800]: a ``best`` order turns aggressive this close to the end
      of the trading session;
    * ``spread_sample_minutes`` [60]: how often each instrument's bid/ask spread is sampled
      (0: never);
    * ``cancel_orphans`` [true]: an open order at the broker that we do not work (placed by
      hand, or left by a store restored from an older backup) is cancelled; false: only
      alerted;
    * ``batch_records`` [1000] and ``batch_seconds`` [0.5]: a step of the pass commits its
      ledger records in batches (SQLite: one transaction) of at most this many records or
      this many real seconds, whichever comes first; other writers to the store wait at most
      about that long. A crash loses only the records of the batch not committed yet, which
      the next pass makes again (docs/execution.md, "Batched commits");
    * ``submit_rate`` [10] per ``submit_period_seconds`` [1.0]: the stack handler process
      places at most this many broker orders per period (a token bucket, bursts up to
      ``submit_rate``; one per handler process); an order over the rate is denied by the
      pre-trade gate ("submit rate throttled") and tried again next pass.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    default_algo: Literal["market", "best"] = "best"
    passive_seconds: float = Field(default=300.0, ge=0)
    total_seconds: float = Field(default=600.0, gt=0)
    cancel_wait_seconds: float = Field(default=60.0, gt=0)
    imbalance_ratio: float = Field(default=5.0, gt=0)
    imbalance_size_multiple: float = Field(default=3.0, ge=0)
    close_buffer_seconds: float = Field(default=1800.0, ge=0)
    spread_sample_minutes: float = Field(default=60.0, ge=0)
    cancel_orphans: bool = True
    batch_records: int = Field(default=1000, ge=1)
    batch_seconds: float = Field(default=0.5, gt=0)
    submit_rate: int = Field(default=10, gt=0)
    submit_period_seconds: float = Field(default=1.0, gt=0)

    @property
    def algo_settings(self) -> AlgoSettings:
        return AlgoSettings(passive_seconds=self.passive_seconds,
                            total_seconds=self.total_seconds,
                            cancel_wait_seconds=self.cancel_wait_seconds,
                            imbalance_ratio=self.imbalance_ratio,
                            imbalance_size_multiple=self.imbalance_size_multiple,
                            close_buffer_seconds=self.close_buffer_seconds)


def choose_algo(order: ContractOrder, settings: ExecutionSettings) -> str:
    """The algo that executes a contract order (see module docstring)."""
    if order.algo_to_use in ALGOS and (order.algo_to_use != "limit"
                                       or order.limit_price is not None):
        return order.algo_to_use
    if order.order_type is ContractOrderType.LIMIT and order.limit_price is not None:
        return "limit"
    if order.manual_trade and order.order_type.value in ("market", "best"):
        return order.order_type.value
    return settings.default_algo


@dataclass(frozen=True)
class Decision:
    """An algo's first step for a new broker order: place at ``limit_price`` (``None``: a
    market order), the state to store with it; ``why`` explains a wait (no order made)."""

    state: AlgoState | None
    limit_price: float | None = None
    why: str = ""


def first_decision(view: MarketView, order: ContractOrder, contract_date: str, quantity: int,
                   settings: ExecutionSettings) -> Decision:
    """The first step of the algo chosen for ``order`` for ``quantity`` contracts now."""
    algo = choose_algo(order, settings)
    code = order.instrument_code
    state = AlgoState(algo, quantity, view.now,
                      limit_price=order.limit_price if algo == "limit" else None)
    details = view.details(code, contract_date)
    state, action = step(state, view.now, view.quote(code, contract_date), quantity, False,
                         details.tick_size, view.seconds_to_close(code), settings.algo_settings)
    if action.kind is ActionKind.PLACE_MARKET:
        return Decision(state)
    if action.kind is ActionKind.PLACE_LIMIT:
        return Decision(state, action.price)
    return Decision(None, why=action.reason or f"{algo}: nothing to place")


def choose_spread_algo(order: ContractOrder) -> str:
    """The algo of a spread contract order: ``limit`` when it carries a limit price (a spread
    price, leg 1 minus leg 2) and names ``limit`` or is of type ``limit``; otherwise
    ``market``. ``best`` is not used for spreads (its passive/aggressive prices and quote
    checks are for one contract's book; a spread's synthetic price may be zero or negative)."""
    limit = order.algo_to_use == "limit" or order.order_type is ContractOrderType.LIMIT
    return "limit" if limit and order.limit_price is not None else "market"


def first_spread_decision(order: ContractOrder, units: int, settings: ExecutionSettings,
                          now) -> Decision:
    """The first step of a spread's algo for ``units`` spread units (``market``: a market
    spread order, cancelled at the hard timeout like any market order; ``limit``: at the
    order's spread limit price, left until filled, cancelled by its family or the end of
    day)."""
    algo = choose_spread_algo(order)
    state = AlgoState(algo, units, now,
                      limit_price=order.limit_price if algo == "limit" else None)
    state, action = step(state, now, Quote(None, None), units, False, 1.0, None,
                         settings.algo_settings)
    return Decision(state, action.price if action.kind is ActionKind.PLACE_LIMIT else None)


@dataclass
class WorkResult:
    """What one pass of the algos did, by broker order id."""

    modified: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)
    cancel_unconfirmed: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        return (f"{len(self.modified)} re-priced, {len(self.cancelled)} cancelled, "
                f"{len(self.refused)} refused, "
                f"{len(self.cancel_unconfirmed)} cancels unconfirmed")


def work_orders(data: DataBlob, view: MarketView, settings: ExecutionSettings) -> WorkResult:
    """One step of every working broker order's algo (see module docstring)."""
    result = WorkResult()
    modifies: list[BrokerOrder] = []  # PENDING_UPDATE: their modify to send
    for order in data.order_stack("broker").orders():
        if order.algo_state is None or not order.broker_order_id:
            continue
        if order.status is S.PENDING_UPDATE:
            modifies.append(order)
        elif order.status in (S.WORKING, S.PENDING_CANCEL):
            requested = _step_one(data, view, order, settings, result)
            if requested is not None:
                modifies.append(requested)
    # each MODIFY_REQUESTED (the new algo state) durable before its modify is sent
    data.state.checkpoint()
    for order in modifies:
        _finish_modify(data, order, result)
    return result


def _step_one(data: DataBlob, view: MarketView, order: BrokerOrder,
              settings: ExecutionSettings, result: WorkResult) -> BrokerOrder | None:
    """One step of the order's algo; the order after its ``MODIFY_REQUESTED`` when the step
    is a re-price (the modify itself is sent by the caller), else None."""
    state = AlgoState.from_doc(order.algo_state)
    if order.status is S.PENDING_CANCEL and state.phase is not AlgoPhase.CANCELLING:
        return None  # cancelled by its family (end of day, a new target): nothing to work
    leg = order.legs[0]
    code = order.instrument_code
    if order.is_spread:  # market or limit only: timeouts, no quote or tick needed
        units = units_for(broker_spread(order.contract_dates, order.trade), order.remaining)
        new, action = step(state, view.now, Quote(None, None),
                           state.quantity if units is None else units, True, 1.0,
                           view.seconds_to_close(code), settings.algo_settings)
    else:
        try:
            tick = view.details(code, leg.contract_date).tick_size
        except BrokerError:
            return None  # no contract details this pass: try again next pass
        new, action = step(state, view.now, view.quote(code, leg.contract_date),
                           order.remaining[0], True, tick, view.seconds_to_close(code),
                           settings.algo_settings)
    if action.kind is ActionKind.MODIFY_LIMIT:
        return _request_modify(data, order, new, action)
    if action.kind is ActionKind.CANCEL:
        _cancel(data, order, new, action, result)
    elif action.kind is ActionKind.FINISH and state.phase is AlgoPhase.CANCELLING \
            and new.reason.startswith("cancel not confirmed"):
        result.cancel_unconfirmed.append(order.order_id)
    return None


def _request_modify(data: DataBlob, order: BrokerOrder, new: AlgoState,
                    action: AlgoAction) -> BrokerOrder:
    """``MODIFY_REQUESTED`` with the new algo state (``PENDING_UPDATE``); the modify is sent
    by :func:`_finish_modify` once this is committed."""
    stack, now = data.order_stack("broker"), data.now()
    return stack.apply_event(order, E.MODIFY_REQUESTED, now, f"algo {new.algo}: {action.reason}",
                             {"algo_state": new.to_doc()})


def _finish_modify(data: DataBlob, order: BrokerOrder, result: WorkResult) -> None:
    """Send the modify recorded in the order's algo state and record the outcome (also after a
    crash that left the order ``PENDING_UPDATE``)."""
    stack, now = data.order_stack("broker"), data.now()
    price = AlgoState.from_doc(order.algo_state).limit_price
    try:
        data.broker.modify_order(order.broker_order_id, limit_price=price)
    except BrokerError as exc:
        stack.apply_event(order, E.MODIFY_REJECTED, now, f"broker: {exc}")
        result.refused[order.order_id] = str(exc)
        return
    stack.apply_event(order, E.MODIFIED, now, f"limit {price:g}", {"limit_price": price})
    result.modified.append(order.order_id)


def _cancel(data: DataBlob, order: BrokerOrder, new: AlgoState, action: AlgoAction,
            result: WorkResult) -> None:
    try:
        data.broker.cancel_order(order.broker_order_id)
    except BrokerError as exc:  # finished meanwhile: the status sync will tell
        result.refused[order.order_id] = str(exc)
        return
    data.order_stack("broker").apply_event(order, E.CANCEL_REQUESTED, data.now(),
                                           f"algo {new.algo}: {action.reason}",
                                           {"algo_state": new.to_doc()})
    result.cancelled.append(order.order_id)

