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

The menu is a :class:`syscore.menu.Menu` whose options carry these codes
(:attr:`~syscore.menu.Option.key`), listed under the group headings above. Changes that move
money or positions ask for confirmation (y/n), sending broker orders (22) and netting (41)
included; deletions ask for a typed phrase. An action that fails shows one line and returns
to the menu; end of input ends the console.

    python run.py sysproduction.interactive_order_stack.interactive_order_stack
"""
from __future__ import annotations

from collections.abc import Callable

from syscontrol.host import host_name
from syscore.menu import Ask, Console, Menu, Option, Say, bound_to
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
from sysobjects.trading_state import TradingState
from sysproduction import order_stack_views as views
from sysproduction.process_helpers import run_console
from sysproduction.run_stack_handler import stack_handler_end_of_day
from sysproduction.trading_state_ops import set_trading_state, show_trading_state

PROCESS = "interactive_order_stack"


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


# --- console (prompts over syscore.menu; each handler takes the blob and the console) ----------

Handler = Callable[[DataBlob, Console], None]


def _int(console: Console, prompt: str, nonzero: bool = False) -> int:
    while True:
        value = console.integer(prompt)
        if nonzero and value == 0:
            console.say("must not be 0")
            continue
        return value


def _stack(console: Console) -> str:
    return console.choice("stack", STACKS)


def _view_order(data: DataBlob, console: Console) -> None:
    console.say(views.find_order_text(data, console.integer("order id")))


def _balance_trade(data: DataBlob, console: Console) -> None:
    console.say(views.position_breaks_text(data))
    strategy = console.text("strategy")
    code = console.text("instrument")
    contract = console.text("contract (YYYYMM)")
    quantity = _int(console, "quantity filled (signed)", nonzero=True)
    price = console.number("fill price")
    commission = console.optional_number("commission (instrument currency)") or 0.0
    reason = console.text("reason")
    if not console.confirm(f"book a fill of {quantity:+d} {code} {contract} at {price} for "
                           f"{strategy} WITHOUT executing it?"):
        console.say("nothing booked")
        return
    console.say(str(balance_trade(data, strategy, code, contract, quantity, price, reason,
                                  commission)))


def _balance_instrument_trade(data: DataBlob, console: Console) -> None:
    console.say(views.instrument_positions_text(data))
    strategy = console.text("strategy")
    code = console.text("instrument")
    quantity = _int(console, "quantity (signed)", nonzero=True)
    reason = console.text("reason")
    if not console.confirm(f"move the {strategy} position in {code} by {quantity:+d} (no "
                           f"contract position, nothing sent)?"):
        console.say("nothing booked")
        return
    seq = balance_instrument_trade(data, strategy, code, quantity, reason)
    console.say(f"booked (ledger record {seq}); {strategy} {code} now "
                f"{data.positions.get_strategy_position(strategy, code)}")


def _manual_trade(data: DataBlob, console: Console) -> None:
    strategy = console.text("strategy")
    code = console.text("instrument")
    contract = console.text("contract (YYYYMM; Enter: the stack handler chooses by roll "
                            "state)", allow_empty=True)
    if not contract:
        trade = _int(console, "trade (signed)", nonzero=True)
        limit = console.optional_number("limit price")
        reason = console.text("reason", default="manual trade")
        if not console.confirm(f"put a manual instrument order {strategy} {code} {trade:+d} "
                               f"on the stack?"):
            console.say("nothing done")
            return
        order_id = manual_instrument_trade(data, strategy, code, trade, limit, reason)
        console.say(f"manual trade: instrument order {order_id} (spawned by roll state)")
        return
    legs = [(contract, _int(console, "trade (signed)", nonzero=True))]
    if console.yes_no("a spread (a second leg)?", default=False):
        legs.append((console.text("second contract (YYYYMM)"),
                     _int(console, "second trade (signed)", nonzero=True)))
    algo = console.text("algo (Enter: default)", allow_empty=True)
    limit = console.optional_number("limit price")
    reason = console.text("reason", default="manual trade")
    text = ", ".join(f"{contract} {trade:+d}" for contract, trade in legs)
    if not console.confirm(f"put a manual trade {strategy} {code} {text} "
                           f"({'limit ' + str(limit) if limit is not None else 'market'}) on "
                           f"the stack?"):
        console.say("nothing done")
        return
    console.say(str(manual_trade(data, strategy, code, legs, algo, limit, reason)))


def _manual_fill(data: DataBlob, console: Console) -> None:
    level = _stack(console)
    order_id = console.integer("order id")
    console.say(views.order_text(data, level, order_id))
    legs = data.order_stack(level).get_order(order_id).contract_dates
    contract = legs[0] if len(legs) == 1 else console.text(f"which leg ({', '.join(legs)})")
    quantity = _int(console, "quantity filled (signed)", nonzero=True)
    price = console.number("fill price")
    reason = console.text("reason")
    if not console.confirm(f"book a fill of {quantity:+d} {contract} at {price} against "
                           f"{level} order {order_id}?"):
        console.say("nothing booked")
        return
    console.say(f"booked as "
                f"{manual_fill(data, level, order_id, quantity, price, reason, contract)}")


def _fx_trade(data: DataBlob, console: Console) -> None:
    ccy1 = console.text("currency to buy or sell (e.g. EUR)")
    ccy2 = console.text("against currency (e.g. USD)")
    quantity = console.number(f"amount of {ccy1.upper()} (positive buys, negative sells)")
    reason = console.text("reason", default="cash FX trade")
    if not console.confirm(f"{'buy' if quantity > 0 else 'sell'} {abs(quantity):,.2f} "
                           f"{ccy1.upper()} against {ccy2.upper()} at the broker now?"):
        console.say("nothing done")
        return
    record = cash_fx_trade(data, ccy1, ccy2, quantity, reason)
    console.say(f"done: {record['trade_id']} at {record['rate']}")


def _cancel_broker_order(data: DataBlob, console: Console) -> None:
    console.say(views.stack_text(data, "broker"))
    order_id = console.integer("broker order id (ours)")
    reason = console.text("reason")
    if not console.confirm(f"cancel broker order {order_id} at the broker?"):
        console.say("nothing done")
        return
    order = cancel_broker_order(data, order_id, reason)
    console.say(f"broker order {order_id}: {order.status.value}. Its contract order "
                f"{order.parent_id} gets a new broker order next loop unless you lock it (42) "
                f"or delete it (51).")


def _lock_order(data: DataBlob, console: Console) -> None:
    level = _stack(console)
    order_id = console.integer("order id")
    order = data.order_stack(level).get_order(order_id)
    reason = console.text("reason")
    if order.locked:
        if console.confirm(f"{level} order {order_id} is locked; unlock it?"):
            unlock_order(data, level, order_id, reason)
            console.say("unlocked")
        return
    if console.confirm(f"lock {level} order {order_id}?"):
        lock_order(data, level, order_id, reason)
        console.say("locked")


def _lock_instrument(data: DataBlob, console: Console) -> None:
    code = console.text("instrument")
    reason = data.locks.reason(code)
    if reason is not None:
        if console.confirm(f"{code} is locked ({reason or 'no reason'}); unlock it?"):
            unlock_instrument(data, code)
            console.say(f"{code} unlocked")
        return
    why = console.text("reason")
    if console.confirm(f"lock {code}?"):
        lock_instrument(data, code, why)
        console.say(f"{code} locked")


def _lock_all(data: DataBlob, console: Console) -> None:
    reason = console.text("reason")
    if console.confirm("lock every instrument in use?"):
        console.say(f"locked: {', '.join(lock_all_instruments(data, reason)) or 'none'}")


def _unlock_all(data: DataBlob, console: Console) -> None:
    if console.confirm("unlock every instrument (break locks come back while the break "
                       "lasts)?"):
        console.say(f"unlocked: {', '.join(unlock_all_instruments(data)) or 'none'}")


def _remove_algo_lock(data: DataBlob, console: Console) -> None:
    order_id = console.integer("contract order id")
    reason = console.text("reason")
    order = remove_algo_lock(data, order_id, reason)
    console.say(f"contract order {order.order_id}: algo lock removed")


def _delete_stack(data: DataBlob, console: Console) -> None:
    level = _stack(console)
    console.say(views.stack_text(data, level))
    if not console.confirm_phrase(f"Every {level} order is cancelled and completed (kept as "
                                  f"history).", f"DELETE {level.upper()} STACK"):
        console.say("nothing deleted")
        return
    console.say(str(delete_stack(data, level, console.text("reason"))))


def _delete_order(data: DataBlob, console: Console) -> None:
    level = _stack(console)
    order_id = console.integer("order id")
    console.say(views.order_text(data, level, order_id))
    if not console.confirm_phrase("The order is cancelled and completed (kept as history).",
                                  f"DELETE {order_id}"):
        console.say("nothing deleted")
        return
    order = delete_order(data, level, order_id, console.text("reason"))
    console.say(f"{level} order {order.order_id}: {order.status.value}")


def _end_of_day(data: DataBlob, console: Console) -> None:
    if not console.confirm("cancel every working order and complete the families (end of "
                           "day)?"):
        console.say("nothing done")
        return
    console.say(str(stack_handler_end_of_day(data)))


def _set_trading_state(data: DataBlob, console: Console) -> None:
    console.say(show_trading_state(data, 3))
    state = console.text("new state (ACTIVE, REDUCING, HALTED)")
    new = TradingState.parse(state)  # a bad state: one line before the reason is asked
    reason = console.text("reason")
    if not console.confirm(f"set the trading state to {new.value}?"):
        console.say("nothing changed")
        return
    change = set_trading_state(data, state, reason)
    console.say("nothing changed" if change is None else
                f"trading state {change.previous.value} -> {change.state.value}")


def _send_broker_orders(data: DataBlob, console: Console) -> None:
    console.say(views.stack_text(data, "contract"))
    if not console.confirm("send broker orders to the broker now for the contract orders "
                           "that need them?"):
        console.say("nothing sent")
        return
    console.say(create_and_execute_broker_orders(data))


def _net_instrument_orders(data: DataBlob, console: Console) -> None:
    console.say(views.stack_text(data, "instrument"))
    if not console.confirm("net the unspawned instrument orders (stop the stack handler "
                           "first: it may spawn an order while it is netted)?"):
        console.say("nothing netted")
        return
    # the handler's lease records process control's host name: read it under the same one
    console.say(str(net_instrument_orders(data, LeaseData(data.state, host=host_name()))))


def _mapped(mapping) -> str:
    """``key -> id, id; key -> id`` for people (``none`` when empty)."""
    return "; ".join(f"{key} -> {', '.join(map(str, ids))}" for key, ids in mapping.items()) \
        or "none"


def _show(view: Callable[[DataBlob], str]) -> Handler:
    return lambda data, console: console.say(view(data))


#: ``(group, code, label, handler)`` of every option, in menu order; the codes are
#: pysystemtrade's and stay fixed (operators know them).
OPTIONS: tuple[tuple[str, str, str, Handler], ...] = (
    ("view", "10", "an order, with its events", _view_order),
    ("view", "11", "instrument stack", _show(lambda data: views.stack_text(data, "instrument"))),
    ("view", "12", "contract stack", _show(lambda data: views.stack_text(data, "contract"))),
    ("view", "13", "broker stack", _show(lambda data: views.stack_text(data, "broker"))),
    ("view", "14", "orders and fills at the broker", _show(views.broker_orders_text)),
    ("view", "15", "position breaks and locks", _show(views.position_breaks_text)),
    ("view", "16", "positions", _show(views.all_positions_text)),
    ("create", "20", "spawn contract orders",
     _show(lambda data: "spawned (instrument order -> contract orders): "
           + _mapped(spawn_contract_orders(data)))),
    ("create", "21", "force-roll orders",
     _show(lambda data: "force-roll orders (instrument -> contract orders): "
           + _mapped(generate_force_roll_orders(data)))),
    ("create", "22", "create and execute broker orders", _send_broker_orders),
    ("create", "23", "balance trade", _balance_trade),
    ("create", "24", "balance instrument trade", _balance_instrument_trade),
    ("create", "25", "manual trade", _manual_trade),
    ("create", "26", "cash FX trade", _fx_trade),
    ("fills", "30", "book the broker's fills", _show(book_broker_fills)),
    ("fills", "31", "pass fills and cancels", _show(pass_fills_and_cancels)),
    ("fills", "32", "complete families",
     _show(lambda data: "completed instrument orders: "
           + (", ".join(map(str, complete_families(data))) or "none"))),
    ("fills", "33", "manual fill of a contract or broker order", _manual_fill),
    ("locks", "40", "cancel a broker order", _cancel_broker_order),
    ("locks", "41", "net instrument orders", _net_instrument_orders),
    ("locks", "42", "lock/unlock an order", _lock_order),
    ("locks", "43", "lock/unlock an instrument", _lock_instrument),
    ("locks", "44", "lock all instruments", _lock_all),
    ("locks", "45", "unlock all instruments", _unlock_all),
    ("locks", "46", "remove an algo lock", _remove_algo_lock),
    ("delete", "50", "delete a stack", _delete_stack),
    ("delete", "51", "delete an order", _delete_order),
    ("delete", "52", "end-of-day process", _end_of_day),
    ("state", "60", "show the trading state", _show(show_trading_state)),
    ("state", "61", "set the trading state", _set_trading_state),
)

#: code -> handler (``handler(data, console)``)
ACTIONS: dict[str, Handler] = {code: handler for _, code, _, handler in OPTIONS}


def order_stack_menu(data: DataBlob | None) -> Menu:
    """The console's menu: every option of :data:`OPTIONS` under its code and group."""
    on = bound_to(data)
    return Menu("Order stacks (times UTC)", tuple(
        Option(label, on(handler), key=code, group=group)
        for group, code, label, handler in OPTIONS))


#: the menu as the operator sees it
MENU = order_stack_menu(None).render(top=True)


def interactive_order_stack(data: DataBlob | None = None, ask: Ask = input,
                            out: Say = print) -> None:
    """Run the menu until ``0`` or end of input. ``ask`` reads an answer to a prompt (default
    :func:`input`), ``out`` shows text (default :func:`print`). An action that fails shows the
    error and returns to the menu."""
    run_console(data, PROCESS, order_stack_menu, ask, out)
