"""The order-stack console: view and operate the three order stacks by hand.

Every option calls a plain function that tests call too (no business logic here): the views of
:mod:`sysproduction.order_stack_views`, the operations of :mod:`sysexecution.manual_orders` and
:mod:`sysexecution.stack_operations`, the stack handler's steps (:mod:`sysexecution`), the
trading state (:mod:`sysproduction.trading_state_ops`) and the end of day
(:func:`sysproduction.run_stack_handler.stack_handler_end_of_day`). Options, as in
pysystemtrade's ``interactive_order_stack``:

====  ==========================================================================
10    view one order (any stack, active or history) with its events
11    view the instrument stack       12  the contract stack    13  the broker stack
14    orders and executions as the broker reports them
15    position breaks (ours vs the broker's) and instrument locks
16    positions: optimal, instrument (strategy), contract, broker
20    spawn contract orders           21  create force-roll orders
22    create and execute broker orders (through the pre-trade gate, trading state as stored)
23    balance trade                   24  balance instrument trade
25    manual trade (outright or spread; optional algo and limit; or the instrument order
      alone, spawned by roll state)
26    cash FX trade
30    book the broker's fills         31  pass fills and cancels through the families
32    complete finished families      33  manual fill (a trade done by hand)
40    cancel a broker order           41  net instrument orders
42    lock / unlock an order          43  lock / unlock an instrument
44    lock all instruments            45  unlock all instruments
46    remove an algo lock
50    delete a whole stack (typed confirmation)
51    delete an order (typed confirmation)
52    end-of-day process
60    show the trading state          61  set the trading state
0     exit (also: end of input)
====  ==========================================================================

Changes that move money or positions ask for confirmation (y/n), sending broker orders (22) and
netting (41) included; deletions ask for a typed
phrase. An action that fails shows one line and returns to the menu.

    python run.py sysproduction.interactive_order_stack.interactive_order_stack
"""
from __future__ import annotations

import math
from collections.abc import Callable

from syscontrol.host import host_name
from syscore.exceptions import SystradeError
from sysdata.data_blob import DataBlob
from sysdata.leases import LeaseData
from sysdata.orders import STACKS
from sysexecution.broker_fills import book_events, book_executions
from sysexecution.broker_orders import create_broker_orders
from sysexecution.manual_orders import (
    balance_instrument_trade,
    balance_trade,
    cash_fx_trade,
    manual_fill,
    manual_instrument_trade,
    manual_trade,
)
from sysexecution.order_completion import complete_families, pass_statuses
from sysexecution.roll_orders import generate_force_roll_orders
from sysexecution.spawn_orders import spawn_contract_orders
from sysexecution.stack_operations import (
    cancel_broker_order,
    delete_order,
    delete_stack,
    lock_all_instruments,
    lock_instrument,
    lock_order,
    net_instrument_orders,
    remove_algo_lock,
    unlock_all_instruments,
    unlock_instrument,
    unlock_order,
)
from sysproduction import order_stack_views as views
from sysproduction.process_helpers import blob_for
from sysproduction.run_stack_handler import stack_handler_end_of_day
from sysproduction.trading_state_ops import set_trading_state, show_trading_state

PROCESS = "interactive_order_stack"

Ask = Callable[[str], str]
Out = Callable[[str], None]


# --- actions (no console I/O) ----------------------------------------------------------------

def book_broker_fills(data: DataBlob) -> str:
    """Book the broker's executions and commissions (drained events, then every execution the
    broker reports), once per execution id."""
    drained = book_events(data, data.broker.drain_events())
    late = book_executions(data, data.broker.get_executions())
    return (f"{len(drained.booked) + len(late.booked)} fills booked, "
            f"{len(late.duplicates)} already booked, {len(late.unknown)} not ours")


def pass_fills_and_cancels(data: DataBlob) -> str:
    """Broker statuses from the broker, then fills and cancels through the families."""
    return f"{pass_statuses(data)} order events"


def create_and_execute_broker_orders(data: DataBlob) -> str:
    """Broker orders for the contract orders that need them, through the pre-trade gate with
    the stored trading state."""
    state = data.trading_state.current()
    result = create_broker_orders(data, state)
    denied = "; ".join(f"{k}: {v}" for k, v in result.denied.items()) or "none"
    return (f"trading state {state.value}: {len(result.sent)} sent, {len(result.adopted)} "
            f"adopted; denied: {denied}")


# --- console ---------------------------------------------------------------------------------

MENU = """
Order stacks (times UTC)
 view    10 an order   11 instrument stack   12 contract stack   13 broker stack
         14 orders and fills at the broker   15 position breaks and locks   16 positions
 create  20 spawn contract orders   21 force-roll orders   22 create and execute broker orders
         23 balance trade   24 balance instrument trade   25 manual trade   26 cash FX trade
 fills   30 book the broker's fills   31 pass fills and cancels   32 complete families
         33 manual fill of a contract or broker order
 locks   40 cancel a broker order   41 net instrument orders   42 lock/unlock an order
         43 lock/unlock an instrument   44 lock all instruments   45 unlock all instruments
         46 remove an algo lock
 delete  50 delete a stack   51 delete an order   52 end-of-day process
 state   60 show the trading state   61 set the trading state
         0 exit"""


class _QuitError(SystradeError):
    """End of input (EOF) at a prompt."""


def _answer(ask: Ask, prompt: str) -> str:
    try:
        return ask(prompt).strip()
    except EOFError:
        raise _QuitError("end of input") from None


def _text(ask: Ask, out: Out, prompt: str, default: str | None = None) -> str:
    shown = f" [{default}]" if default else ""
    while True:
        text = _answer(ask, f"{prompt}{shown}: ")
        if text:
            return text
        if default:
            return default
        out("an answer is needed")


def _int(ask: Ask, out: Out, prompt: str, nonzero: bool = False) -> int:
    while True:
        text = _answer(ask, f"{prompt}: ")
        try:
            value = int(text)
        except ValueError:
            out(f"not a whole number: {text!r}")
            continue
        if nonzero and value == 0:
            out("must not be 0")
            continue
        return value


def _float(ask: Ask, out: Out, prompt: str, optional: bool = False) -> float | None:
    while True:
        text = _answer(ask, f"{prompt}{' (Enter: none)' if optional else ''}: ")
        if not text and optional:
            return None
        try:
            value = float(text.replace(",", ""))
        except ValueError:
            out(f"not a number: {text!r}")
            continue
        if math.isfinite(value):
            return value
        out(f"not a finite number: {text!r}")


def _yes(ask: Ask, prompt: str) -> bool:
    return _answer(ask, f"{prompt} (y/n): ").lower() in ("y", "yes")


def _stack(ask: Ask, out: Out) -> str:
    while True:
        level = _answer(ask, f"stack ({'/'.join(STACKS)}): ").lower()
        if level in STACKS:
            return level
        out(f"unknown stack {level!r}")


def _view_order(data, ask, out):
    out(views.find_order_text(data, _int(ask, out, "order id")))


def _balance_trade(data, ask, out):
    out(views.position_breaks_text(data))
    strategy = _text(ask, out, "strategy")
    code = _text(ask, out, "instrument")
    contract = _text(ask, out, "contract (YYYYMM)")
    quantity = _int(ask, out, "quantity filled (signed)", nonzero=True)
    price = _float(ask, out, "fill price")
    commission = _float(ask, out, "commission (instrument currency)", optional=True) or 0.0
    reason = _text(ask, out, "reason")
    if not _yes(ask, f"book a fill of {quantity:+d} {code} {contract} at {price} for "
                     f"{strategy} WITHOUT executing it?"):
        out("nothing booked")
        return
    out(str(balance_trade(data, strategy, code, contract, quantity, price, reason,
                          commission)))


def _balance_instrument_trade(data, ask, out):
    out(views.instrument_positions_text(data))
    strategy = _text(ask, out, "strategy")
    code = _text(ask, out, "instrument")
    quantity = _int(ask, out, "quantity (signed)", nonzero=True)
    reason = _text(ask, out, "reason")
    if not _yes(ask, f"move the {strategy} position in {code} by {quantity:+d} (no contract "
                     f"position, nothing sent)?"):
        out("nothing booked")
        return
    seq = balance_instrument_trade(data, strategy, code, quantity, reason)
    out(f"booked (ledger record {seq}); {strategy} {code} now "
        f"{data.positions.get_strategy_position(strategy, code)}")


def _manual_trade(data, ask, out):
    strategy = _text(ask, out, "strategy")
    code = _text(ask, out, "instrument")
    contract = _answer(ask, "contract (YYYYMM; Enter: the stack handler chooses by roll "
                            "state): ")
    if not contract:
        trade = _int(ask, out, "trade (signed)", True)
        limit = _float(ask, out, "limit price", optional=True)
        reason = _text(ask, out, "reason", "manual trade")
        if not _yes(ask, f"put a manual instrument order {strategy} {code} {trade:+d} on the "
                         f"stack?"):
            out("nothing done")
            return
        order_id = manual_instrument_trade(data, strategy, code, trade, limit, reason)
        out(f"manual trade: instrument order {order_id} (spawned by roll state)")
        return
    legs = [(contract, _int(ask, out, "trade (signed)", True))]
    if _yes(ask, "a spread (a second leg)?"):
        legs.append((_text(ask, out, "second contract (YYYYMM)"),
                     _int(ask, out, "second trade (signed)", True)))
    algo = _answer(ask, "algo (Enter: default): ")
    limit = _float(ask, out, "limit price", optional=True)
    reason = _text(ask, out, "reason", "manual trade")
    text = ", ".join(f"{contract} {trade:+d}" for contract, trade in legs)
    if not _yes(ask, f"put a manual trade {strategy} {code} {text} "
                     f"({'limit ' + str(limit) if limit is not None else 'market'}) on the "
                     f"stack?"):
        out("nothing done")
        return
    out(str(manual_trade(data, strategy, code, legs, algo, limit, reason)))


def _manual_fill(data, ask, out):
    level = _stack(ask, out)
    order_id = _int(ask, out, "order id")
    out(views.order_text(data, level, order_id))
    legs = data.order_stack(level).get_order(order_id).contract_dates
    contract = legs[0] if len(legs) == 1 else _text(ask, out, f"which leg ({', '.join(legs)})")
    quantity = _int(ask, out, "quantity filled (signed)", nonzero=True)
    price = _float(ask, out, "fill price")
    reason = _text(ask, out, "reason")
    if not _yes(ask, f"book a fill of {quantity:+d} {contract} at {price} against {level} "
                     f"order {order_id}?"):
        out("nothing booked")
        return
    out(f"booked as {manual_fill(data, level, order_id, quantity, price, reason, contract)}")


def _fx_trade(data, ask, out):
    ccy1 = _text(ask, out, "currency to buy or sell (e.g. EUR)")
    ccy2 = _text(ask, out, "against currency (e.g. USD)")
    quantity = _float(ask, out, f"amount of {ccy1.upper()} (positive buys, negative sells)")
    reason = _text(ask, out, "reason", "cash FX trade")
    if not _yes(ask, f"{'buy' if quantity > 0 else 'sell'} {abs(quantity):,.2f} "
                     f"{ccy1.upper()} against {ccy2.upper()} at the broker now?"):
        out("nothing done")
        return
    record = cash_fx_trade(data, ccy1, ccy2, quantity, reason)
    out(f"done: {record['trade_id']} at {record['rate']}")


def _cancel_broker_order(data, ask, out):
    out(views.stack_text(data, "broker"))
    order_id = _int(ask, out, "broker order id (ours)")
    reason = _text(ask, out, "reason")
    if not _yes(ask, f"cancel broker order {order_id} at the broker?"):
        out("nothing done")
        return
    order = cancel_broker_order(data, order_id, reason)
    out(f"broker order {order_id}: {order.status.value}. Its contract order "
        f"{order.parent_id} gets a new broker order next loop unless you lock it (42) or "
        f"delete it (51).")


def _lock_order(data, ask, out):
    level = _stack(ask, out)
    order_id = _int(ask, out, "order id")
    order = data.order_stack(level).get_order(order_id)
    reason = _text(ask, out, "reason")
    if order.locked:
        if _yes(ask, f"{level} order {order_id} is locked; unlock it?"):
            unlock_order(data, level, order_id, reason)
            out("unlocked")
        return
    if _yes(ask, f"lock {level} order {order_id}?"):
        lock_order(data, level, order_id, reason)
        out("locked")


def _lock_instrument(data, ask, out):
    code = _text(ask, out, "instrument")
    reason = data.locks.reason(code)
    if reason is not None:
        if _yes(ask, f"{code} is locked ({reason or 'no reason'}); unlock it?"):
            unlock_instrument(data, code)
            out(f"{code} unlocked")
        return
    why = _text(ask, out, "reason")
    if _yes(ask, f"lock {code}?"):
        lock_instrument(data, code, why)
        out(f"{code} locked")


def _lock_all(data, ask, out):
    reason = _text(ask, out, "reason")
    if _yes(ask, "lock every instrument in use?"):
        out(f"locked: {', '.join(lock_all_instruments(data, reason)) or 'none'}")


def _unlock_all(data, ask, out):
    if _yes(ask, "unlock every instrument (break locks come back while the break lasts)?"):
        out(f"unlocked: {', '.join(unlock_all_instruments(data)) or 'none'}")


def _remove_algo_lock(data, ask, out):
    order_id = _int(ask, out, "contract order id")
    reason = _text(ask, out, "reason")
    order = remove_algo_lock(data, order_id, reason)
    out(f"contract order {order.order_id}: algo lock removed")


def _delete_stack(data, ask, out):
    level = _stack(ask, out)
    out(views.stack_text(data, level))
    phrase = f"DELETE {level.upper()} STACK"
    out(f"Every {level} order is cancelled and completed (kept as history). Type {phrase} "
        f"to go on.")
    if _answer(ask, "> ") != phrase:
        out("nothing deleted")
        return
    out(str(delete_stack(data, level, _text(ask, out, "reason"))))


def _delete_order(data, ask, out):
    level = _stack(ask, out)
    order_id = _int(ask, out, "order id")
    out(views.order_text(data, level, order_id))
    phrase = f"DELETE {order_id}"
    out(f"The order is cancelled and completed (kept as history). Type {phrase} to go on.")
    if _answer(ask, "> ") != phrase:
        out("nothing deleted")
        return
    order = delete_order(data, level, order_id, _text(ask, out, "reason"))
    out(f"{level} order {order.order_id}: {order.status.value}")


def _end_of_day(data, ask, out):
    if not _yes(ask, "cancel every working order and complete the families (end of day)?"):
        out("nothing done")
        return
    out(str(stack_handler_end_of_day(data)))


def _set_trading_state(data, ask, out):
    out(show_trading_state(data, 3))
    state = _text(ask, out, "new state (ACTIVE, REDUCING, HALTED)")
    reason = _text(ask, out, "reason")
    change = set_trading_state(data, state, reason)
    out("nothing changed" if change is None else
        f"trading state {change.previous.value} -> {change.state.value}")


def _send_broker_orders(data, ask, out):
    out(views.stack_text(data, "contract"))
    if not _yes(ask, "send broker orders to the broker now for the contract orders that need "
                     "them?"):
        out("nothing sent")
        return
    out(create_and_execute_broker_orders(data))


def _net_instrument_orders(data, ask, out):
    out(views.stack_text(data, "instrument"))
    if not _yes(ask, "net the unspawned instrument orders (stop the stack handler first: it "
                     "may spawn an order while it is netted)?"):
        out("nothing netted")
        return
    # the handler's lease records process control's host name: read it under the same one
    out(str(net_instrument_orders(data, LeaseData(data.state, host=host_name()))))


def _mapped(mapping) -> str:
    """``key -> id, id; key -> id`` for people (``none`` when empty)."""
    return "; ".join(f"{key} -> {', '.join(map(str, ids))}" for key, ids in mapping.items()) \
        or "none"


def _show(view: Callable[[DataBlob], str]) -> Callable[[DataBlob, Ask, Out], None]:
    return lambda data, ask, out: out(view(data))


ACTIONS: dict[str, Callable[[DataBlob, Ask, Out], None]] = {
    "10": _view_order,
    "11": _show(lambda data: views.stack_text(data, "instrument")),
    "12": _show(lambda data: views.stack_text(data, "contract")),
    "13": _show(lambda data: views.stack_text(data, "broker")),
    "14": _show(views.broker_orders_text),
    "15": _show(views.position_breaks_text),
    "16": _show(views.all_positions_text),
    "20": _show(lambda data: "spawned (instrument order -> contract orders): "
                + _mapped(spawn_contract_orders(data))),
    "21": _show(lambda data: "force-roll orders (instrument -> contract orders): "
                + _mapped(generate_force_roll_orders(data))),
    "22": _send_broker_orders,
    "23": _balance_trade,
    "24": _balance_instrument_trade,
    "25": _manual_trade,
    "26": _fx_trade,
    "30": _show(book_broker_fills),
    "31": _show(pass_fills_and_cancels),
    "32": _show(lambda data: "completed instrument orders: "
                + (", ".join(map(str, complete_families(data))) or "none")),
    "33": _manual_fill,
    "40": _cancel_broker_order,
    "41": _net_instrument_orders,
    "42": _lock_order,
    "43": _lock_instrument,
    "44": _lock_all,
    "45": _unlock_all,
    "46": _remove_algo_lock,
    "50": _delete_stack,
    "51": _delete_order,
    "52": _end_of_day,
    "60": _show(show_trading_state),
    "61": _set_trading_state,
}


def interactive_order_stack(data: DataBlob | None = None, ask: Ask = input,
                            out: Out = print) -> None:
    """Run the menu until ``0`` or end of input. ``ask`` reads an answer to a prompt (default
    :func:`input`), ``out`` shows text (default :func:`print`). An action that fails shows the
    error and returns to the menu."""
    with blob_for(data, PROCESS) as blob:
        while True:
            out(MENU)
            try:
                choice = _answer(ask, "choice: ")
            except _QuitError:
                return
            if choice == "0":
                return
            if choice == "":  # a stray Enter shows the menu again
                continue
            action = ACTIONS.get(choice)
            if action is None:
                out(f"unknown choice {choice!r}")
                continue
            try:
                action(blob, ask, out)
            except _QuitError:
                return
            except (SystradeError, ValueError) as exc:
                out(f"error: {exc}")
