"""Put each strategy's instrument orders on the instrument stack (``run_strategy_order_generator``).

For every strategy and instrument with an optimal position (``data.optimal_positions``):

1. the strategy's generator (default: classic buffering, see
   :mod:`sysexecution.strategy_order_generators`) gives the wanted trade from the strategy
   position (a projection of the ledger);
2. overrides (strategy, instrument, strategy/instrument multipliers; 0 closes) are combined and
   applied;
3. position limits (instrument: on the instrument's total position over all strategies;
   strategy/instrument: on the strategy's) cut the trade towards zero, the most conservative
   wins; a reducing trade always passes;
4. the trade is netted against the unfilled remainder of the strategy's instrument orders
   already on the stack (roll orders excluded): nothing when they already cover it, a top-up
   order for a shortfall in the same direction, otherwise the working orders are cancelled
   (an unspawned order at once, a spawned one by a cancel request the stack handler carries
   out) and the new order waits for the next run, once the cancels are confirmed. While any
   order of the strategy and instrument is pending a cancel nothing new is placed. Never a
   duplicate: a rerun after a crash finds the order it placed and does nothing.

Each new order is a ``best`` instrument order carrying the optimal position's reference price
and contract, added through the ledger (``data.order_stack("instrument")``). An option leg
(an option code, :mod:`sysobjects.option_instruments`) whose option has expired gets no order
(``option expired: nothing to trade``): the stack handler has taken its position out of the
ledger at expiry, and an optimal position left in it must not buy it again.

``generators``: ``{strategy: dotted class path}`` for strategies not using the classic
generator, given in the control config as the method's ``arguments``. One instance of this
process runs at a time (process control); two concurrent runs could each add an order.

    python run.py sysproduction.update_strategy_orders.update_strategy_orders
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sysbrokers.errors import NotSupportedByBroker
from sysbrokers.objects import OptionContract
from sysdata.data_blob import DataBlob
from sysexecution.strategy_order_generators import DEFAULT_GENERATOR, load_generator
from sysexecution.trade_arithmetic import (
    NetAction,
    Override,
    apply_position_limits,
    combine_overrides,
    net_against_working,
)
from sysobjects.option_instruments import parse_option_code
from sysobjects.orders.orders import InstrumentOrder, InstrumentOrderType
from sysobjects.orders.status import OrderEventType, OrderStatus
from sysproduction.process_helpers import ProcessReport, blob_for, each_item

PROCESS = "update_strategy_orders"
#: statuses whose unfilled remainder may still trade
WORKING_STATUSES = (OrderStatus.INITIALIZED, OrderStatus.WORKING)


@dataclass(frozen=True)
class StrategyOrderResult:
    """What one strategy/instrument got: the wanted trade after overrides and limits, the
    unfilled working quantity, the action and the new order's id (if any)."""

    position: int
    wanted_trade: int
    working_unfilled: int
    action: str
    new_order_id: int | None = None
    cancelled: tuple[int, ...] = ()

    def __str__(self) -> str:
        text = (f"position {self.position}, trade {self.wanted_trade:+d}, working "
                f"{self.working_unfilled:+d}: {self.action}")
        if self.new_order_id is not None:
            text += f" (order {self.new_order_id})"
        if self.cancelled:
            text += f" (cancel {list(self.cancelled)})"
        return text


def update_strategy_orders(data: DataBlob | None = None,
                           generators: Mapping[str, str] | None = None) -> ProcessReport:
    """Generate instrument orders for every strategy/instrument with an optimal position."""
    with blob_for(data, PROCESS) as blob:
        loaded = {}

        def generator_for(strategy: str):
            path = (generators or {}).get(strategy, DEFAULT_GENERATOR)
            if path not in loaded:
                loaded[path] = load_generator(path)
            return loaded[path]

        keys = sorted(blob.optimal_positions.list_keys())
        # the orders in few commits: each is independent and a crash loses only orders not
        # yet committed, which the next run generates again (docs/execution.md)
        with blob.batch():
            return each_item(blob, PROCESS, keys, lambda key: f"{key[0]}/{key[1]}",
                             lambda key: update_one(blob, key[0], key[1], generator_for(key[0])))


def update_one(data: DataBlob, strategy_name: str, instrument_code: str,
               generator) -> StrategyOrderResult:
    """Decide and act for one strategy and instrument (see module docstring)."""
    optimal = data.optimal_positions.current(strategy_name, instrument_code)
    position = data.positions.get_strategy_position(strategy_name, instrument_code)
    if option_expired(data, instrument_code):
        return StrategyOrderResult(position, 0, 0, "option expired: nothing to trade")
    raw = int(generator.required_trade(strategy_name, instrument_code, position, optimal))
    trade = strategy_override(data, strategy_name, instrument_code).apply(position, raw)
    trade = apply_position_limits(trade, position_limits(data, strategy_name, instrument_code,
                                                         position))
    stack = data.order_stack("instrument")
    mine = [o for o in stack.orders({"strategy_name": strategy_name,
                                     "instrument_code": instrument_code})
            if not o.roll_order]
    if any(o.status is OrderStatus.PENDING_CANCEL for o in mine):
        return StrategyOrderResult(position, trade, 0, "waiting for cancels to be confirmed")
    working = [o for o in mine if o.status in WORKING_STATUSES]
    unfilled = sum(o.trade - o.filled for o in working)
    netting = net_against_working(trade, unfilled)
    now = data.now()
    if netting.action is NetAction.NOTHING:
        return StrategyOrderResult(position, trade, unfilled, "no trade needed")
    if netting.action is NetAction.NEW:
        order = InstrumentOrder(
            order_id=stack.new_order_id(), strategy_name=strategy_name,
            instrument_code=instrument_code, trade=netting.quantity,
            order_type=InstrumentOrderType.BEST, generated_datetime=now,
            reference_price=float(optimal["reference_price"]),
            reference_contract=str(optimal["reference_contract"]),
            reference_datetime=optimal["reference_date"])
        stack.add_order(order, now, reason=f"{PROCESS}: position {position}, wanted "
                                           f"{trade:+d}, working {unfilled:+d}")
        return StrategyOrderResult(position, trade, unfilled, "new order", order.order_id)
    cancelled = []
    for order in working:
        if order.status is OrderStatus.INITIALIZED and not order.children:
            event = OrderEventType.CANCELLED  # never spawned: nothing can fill it
        else:
            event = OrderEventType.CANCEL_REQUESTED  # the stack handler cancels its children
        stack.apply_event(order, event, now,
                          reason=f"{PROCESS}: wanted {trade:+d}, working {unfilled:+d}")
        cancelled.append(order.order_id)
    return StrategyOrderResult(position, trade, unfilled, netting.action.value,
                               cancelled=tuple(cancelled))


def option_expired(data: DataBlob, instrument_code: str) -> bool:
    """Whether ``instrument_code`` is an option leg whose option no longer trades: after its
    expiry date (from the code itself), or on that date once the broker reports it expired
    (a broker without options: never, from the broker)."""
    series = parse_option_code(instrument_code)
    if series is None:
        return False
    today = data.now().date()
    if today > series.expiry:
        return True
    if today < series.expiry:
        return False
    try:
        return data.broker.get_option_expiry(OptionContract(
            series.product, series.future, series.right, series.strike, series.expiry,
            series.option_code)) is not None
    except NotSupportedByBroker:
        return False


def strategy_override(data: DataBlob, strategy_name: str, instrument_code: str) -> Override:
    """The combined multiplier of the strategy, instrument and strategy/instrument overrides."""
    overrides = data.overrides
    return combine_overrides(
        Override.multiplier(overrides.get("strategy", strategy_name)),
        Override.multiplier(overrides.get("instrument", instrument_code)),
        Override.multiplier(overrides.get("strategy_instrument",
                                          f"{strategy_name}/{instrument_code}")))


def position_limits(data: DataBlob, strategy_name: str, instrument_code: str,
                    position: int) -> list[tuple[int, int | None]]:
    """``(position, limit)`` pairs: the instrument's total over strategies with the instrument
    limit, the strategy's with the strategy/instrument limit."""
    total = sum(data.positions.all_strategy_positions(instrument_code).values())
    limits = data.position_limits
    return [(total, limits.get_limit(instrument_code)),
            (position, limits.get_limit(instrument_code, strategy_name))]
