"""Manual maintenance of total capital: a menu over plain functions that tests call directly.

Menu (each entry calls the function named; amounts in base currency, times UTC):

1. view the last rows                          :func:`total_capital_table`
2. initialise total capital                    :func:`initialise_total_capital`
3. deposit or withdrawal                       :func:`adjust_capital_for_cash_flow` (asks again
   when the broker's account value does not show the flow: :func:`cash_flow_contradiction`)
4. confirm a large change (re-polls broker)    :func:`confirm_large_capital_change`
5. delete values since a date                  :func:`delete_total_capital_since`
6. delete all total capital (typed phrase)     :func:`delete_all_total_capital`
7. modify the last row (shows changes, y/n)     :func:`modify_last_total_capital`
0. exit

Every change is one row appended or the history rewritten in one write (ArcticDB), stamped with
the data blob's clock. Strategy capital is derived: run ``update_strategy_capital`` after a
change here to re-split it.

    python run.py sysproduction.interactive_update_capital_manual.interactive_update_capital_manual
"""
from __future__ import annotations

import math

import pandas as pd

from syscore.dates import to_utc
from syscore.exceptions import ExistingData, InvalidData, MissingData
from syscore.formatting import format_timestamp
from syscore.menu import Ask, Console, Menu, Option, Say, bound_to
from sysdata.capital import TOTAL_COLUMNS
from sysdata.data_blob import DataBlob
from syslogdiag.context import get_logger
from sysobjects.capital import CapitalState, apply_cash_flow
from sysproduction.process_helpers import run_console
from sysproduction.update_total_capital import (
    BrokerCapital,
    TotalCapitalResult,
    apply_broker_capital,
    capital_state_from_row,
    has_total_capital,
    poll_broker_capital,
    preview_capital_update,
    write_capital_row,
)

PROCESS = "interactive_update_capital_manual"
DELETE_ALL_PHRASE = "DELETE ALL CAPITAL"


# --- actions (no console I/O) ----------------------------------------------------------------

def _finite(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidData(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _checked_row(total: float, broker: float, maximum: float, acc_pnl: float,
                 margin: float) -> dict[str, float]:
    row = {"total": _finite("total capital", total), "broker": _finite("broker value", broker),
           "max": _finite("maximum capital", maximum),
           "acc_pnl": _finite("accumulated p&l", acc_pnl), "margin": _finite("margin", margin)}
    if row["total"] < 0 or row["margin"] < 0:
        raise InvalidData("total capital and margin must be >= 0")
    if row["max"] < row["total"]:
        raise InvalidData(f"maximum capital (high-water mark) {row['max']:,.2f} is below total "
                          f"capital {row['total']:,.2f}")
    if row["broker"] <= 0:
        raise InvalidData(f"broker value must be > 0 (p&l is measured against it), got "
                          f"{row['broker']}")
    return row


def initialise_total_capital(data: DataBlob, total_capital: float, broker_account_value: float,
                             maximum_capital: float | None = None, accumulated_pandl: float = 0.0,
                             margin: float = 0.0, replace: bool = False) -> pd.Series:
    """Start the history with one row at the blob's clock; returns the row.

    ``maximum_capital`` defaults to ``total_capital`` and must not be below it;
    ``broker_account_value`` must be > 0. With history already stored this raises
    :class:`ExistingData` unless ``replace`` (which replaces the whole history by this row).
    """
    maximum = total_capital if maximum_capital is None else maximum_capital
    row = _checked_row(total_capital, broker_account_value, maximum, accumulated_pandl, margin)
    if has_total_capital(data) and not replace:
        raise ExistingData("total capital is already stored; delete it first or replace it")
    now = data.now()
    frame = pd.DataFrame({c: [row[c]] for c in TOTAL_COLUMNS}, index=pd.DatetimeIndex([now]))
    data.capital.write_total(frame)
    get_logger(PROCESS, type="capital").warning(
        "total capital initialised by hand: total %.2f, broker %.2f, max %.2f, acc_pnl %.2f, "
        "margin %.2f%s", row["total"], row["broker"], row["max"], row["acc_pnl"], row["margin"],
        " (history replaced)" if replace else "")
    return data.capital.last_total()


def cash_flow_contradiction(stored_broker: float, broker_now: float,
                            amount: float) -> str | None:
    """Why the broker's figure contradicts booking ``amount`` (base currency), or None (pure).

    A cash flow is booked once the broker's account value shows it, so the broker's change
    since the last stored row (``broker_now - stored_broker``) should be about ``amount``. It
    contradicts the flow when it has the other sign (or is zero), or differs from ``amount`` by
    more than half of ``amount`` (a flow not yet arrived, a digit too many, a deposit typed as a
    withdrawal)."""
    change = broker_now - stored_broker
    if change == 0 or (change > 0) != (amount > 0) or abs(change - amount) > abs(amount) / 2:
        return (f"the broker's account value {broker_now:,.2f} has changed by {change:+,.2f} "
                f"since the last stored value {stored_broker:,.2f}, which does not show a "
                f"{'deposit' if amount > 0 else 'withdrawal'} of {abs(amount):,.2f}")
    return None


def adjust_capital_for_cash_flow(data: DataBlob, amount: float,
                                 broker_value: float | None = None,
                                 confirmed: bool = False) -> CapitalState:
    """Book a deposit (``amount`` > 0) or withdrawal (< 0) as a new row; returns the new state.

    Broker value, total capital and the high-water mark move by ``amount`` (total and maximum
    floored at 0); accumulated p&l and margin are carried over. Book it once the broker's account
    value shows the flow, before the next ``update_total_capital`` (which would otherwise count
    it as p&l, or refuse it as a large change). A withdrawal that leaves the stored broker value
    at or below 0 is refused (:class:`InvalidData`); :class:`MissingData` if nothing is stored.
    ``broker_value`` (the broker's account value now, base currency), when given, is checked
    against the flow (:func:`cash_flow_contradiction`): a contradiction is refused
    (:class:`InvalidData`, nothing written) unless ``confirmed``.
    """
    amount = _finite("cash flow", amount)
    if amount == 0:
        raise InvalidData("a cash flow of 0 changes nothing")
    last = data.capital.last_total()
    if broker_value is not None:
        reason = cash_flow_contradiction(float(last["broker"]),
                                         _finite("broker value", broker_value), amount)
        if reason is not None and not confirmed:
            raise InvalidData(f"{reason}; nothing written (confirm to book it anyway)")
        if reason is not None:
            get_logger(PROCESS, type="capital").warning("cash flow booked against the broker's "
                                                        "figure, confirmed by hand: %s", reason)
    state = apply_cash_flow(capital_state_from_row(last), amount)
    if state.broker_account_value <= 0:
        raise InvalidData(f"a withdrawal of {-amount:,.2f} leaves a broker value of "
                          f"{state.broker_account_value:,.2f}; nothing written")
    write_capital_row(data, data.now(), state, float(last["margin"]))
    get_logger(PROCESS, type="capital").warning(
        "%s of %.2f booked: total capital %.2f, broker %.2f, max %.2f",
        "deposit" if amount > 0 else "withdrawal", abs(amount), state.total_capital,
        state.broker_account_value, state.maximum_capital)
    return state


def confirm_large_capital_change(data: DataBlob,
                                 broker: BrokerCapital | None = None) -> TotalCapitalResult:
    """Apply the broker value with any large change confirmed (a refused update, re-done).

    ``broker`` is the figure the operator saw (default: poll the broker now). With no capital
    stored this initialises it, as ``update_total_capital`` does.
    """
    if broker is None:
        broker = poll_broker_capital(data)
    return apply_broker_capital(data, broker, confirm_large_change=True)


def delete_total_capital_since(data: DataBlob, since) -> int:
    """Delete every row at or after ``since`` (naive means UTC); returns rows deleted.
    :class:`MissingData` if nothing is stored."""
    since = to_utc(since)
    frame = data.capital.total_capital()
    doomed = int((frame.index >= since).sum())
    if doomed:
        data.capital.delete_total_since(since)
        get_logger(PROCESS, type="capital").warning(
            "deleted %d total capital rows from %s", doomed, since)
    return doomed


def delete_all_total_capital(data: DataBlob) -> int:
    """Delete the whole total-capital history; returns rows deleted (0 if none).
    The next ``update_total_capital`` re-initialises from the broker."""
    try:
        rows = len(data.capital.total_capital())
    except MissingData:
        return 0
    data.capital.delete_all_total()
    get_logger(PROCESS, type="capital").warning("deleted all %d total capital rows", rows)
    return rows


def modify_last_total_capital(data: DataBlob, total: float | None = None,
                              broker: float | None = None, maximum: float | None = None,
                              acc_pnl: float | None = None,
                              margin: float | None = None) -> pd.Series:
    """Change values of the last row in place (``None`` keeps a value); returns the new row.

    The row keeps its timestamp. Checks as :func:`initialise_total_capital` (maximum not below
    total, broker > 0, all finite). :class:`MissingData` if nothing is stored.
    """
    frame = data.capital.total_capital()
    if frame.empty:
        raise MissingData("total capital has no values to modify")
    old = frame.iloc[-1]
    new = _checked_row(
        old["total"] if total is None else total,
        old["broker"] if broker is None else broker,
        old["max"] if maximum is None else maximum,
        old["acc_pnl"] if acc_pnl is None else acc_pnl,
        old["margin"] if margin is None else margin,
    )
    frame = frame.copy()
    for column in TOTAL_COLUMNS:
        frame.iloc[-1, frame.columns.get_loc(column)] = new[column]
    data.capital.write_total(frame)
    changes = {c: (float(old[c]), new[c]) for c in TOTAL_COLUMNS if float(old[c]) != new[c]}
    get_logger(PROCESS, type="capital").warning(
        "last total capital row (%s) modified by hand: %s", format_timestamp(frame.index[-1]),
        changes)
    return data.capital.last_total()


def total_capital_table(data: DataBlob, rows: int = 10) -> str:
    """The last ``rows`` rows as text (base currency, UTC), or a note when nothing is stored."""
    try:
        frame = data.capital.total_capital()
    except MissingData:
        frame = pd.DataFrame()
    if frame.empty:
        return "No total capital stored."
    shown = frame.tail(rows)
    shown.index = [format_timestamp(stamp) for stamp in shown.index]
    return shown.to_string(float_format=lambda v: f"{v:,.2f}")


# --- console (syscore.menu) --------------------------------------------------------------------


def _poll_or_none(data: DataBlob, console: Console) -> BrokerCapital | None:
    try:
        return poll_broker_capital(data)
    except Exception as exc:  # the console still works without a broker
        console.say(f"could not read the broker account value: {exc}")
        return None


def _console_view(data: DataBlob, console: Console) -> None:
    console.say(total_capital_table(data))


def _console_initialise(data: DataBlob, console: Console) -> None:
    replace = False
    if has_total_capital(data):
        console.say(total_capital_table(data, 3))
        if not console.confirm_phrase("Total capital is already stored: initialising replaces "
                                      "ALL of it.", DELETE_ALL_PHRASE):
            console.say("not initialised")
            return
        replace = True
    broker = _poll_or_none(data, console)
    broker_value = console.number("broker account value",
                                  broker.net_liquidation if broker else None)
    total = console.number("total capital", broker_value)
    maximum = console.number("maximum capital (high-water mark)", total)
    acc_pnl = console.number("accumulated p&l", 0.0)
    margin = console.number("margin", broker.margin_used if broker else 0.0)
    row = initialise_total_capital(data, total, broker_value, maximum, acc_pnl, margin, replace)
    console.say(f"initialised:\n{row.to_string()}")


def _console_cash_flow(data: DataBlob, console: Console) -> None:
    last = data.capital.last_total()
    console.say(f"stored: total {last['total']:,.2f}, broker {last['broker']:,.2f}")
    broker = _poll_or_none(data, console)
    if broker is not None:
        console.say(f"broker now: {broker.net_liquidation:,.2f} (difference "
                    f"{broker.net_liquidation - last['broker']:,.2f})")
    amount = console.number("amount (deposit > 0, withdrawal < 0)")
    if not console.confirm(f"book a cash flow of {amount:,.2f}?"):
        console.say("nothing booked")
        return
    confirmed = False
    if broker is not None and amount != 0:
        reason = cash_flow_contradiction(float(last["broker"]), broker.net_liquidation, amount)
        if reason is not None:
            console.say(f"WARNING: {reason}")
            if not console.confirm("book it anyway?"):
                console.say("nothing booked")
                return
            confirmed = True
    state = adjust_capital_for_cash_flow(
        data, amount, broker.net_liquidation if broker is not None else None, confirmed)
    console.say(f"booked: total {state.total_capital:,.2f}, broker "
                f"{state.broker_account_value:,.2f}, max {state.maximum_capital:,.2f}")


def _console_confirm(data: DataBlob, console: Console) -> None:
    broker = poll_broker_capital(data)
    if not has_total_capital(data):
        console.say(f"no total capital stored; the broker value {broker.net_liquidation:,.2f} "
                    f"would initialise it")
    else:
        update, large = preview_capital_update(data, broker.net_liquidation)
        console.say(f"broker value now {broker.net_liquidation:,.2f}: p&l {update.pandl:,.2f}, "
                    f"total capital would be {update.state.total_capital:,.2f} (max "
                    f"{update.state.maximum_capital:,.2f})"
                    + ("" if large else "; within the limit, no confirmation needed"))
    if not console.confirm("apply it?"):
        console.say("nothing written")
        return
    console.say(str(confirm_large_capital_change(data, broker)))


def _console_delete_since(data: DataBlob, console: Console) -> None:
    # free text read by to_utc: a bad date is an error shown by the menu (as before)
    since = to_utc(console.answer("delete rows at or after (YYYY-MM-DD[ HH:MM], UTC): "))
    frame = data.capital.total_capital()
    count = int((frame.index >= since).sum())
    if count == 0:
        console.say(f"no rows at or after {since}")
        return
    if not console.confirm(f"delete {count} rows from {since}?"):
        console.say("nothing deleted")
        return
    console.say(f"deleted {delete_total_capital_since(data, since)} rows")


def _console_delete_all(data: DataBlob, console: Console) -> None:
    if not console.confirm_phrase("This deletes the whole total capital history.",
                                  DELETE_ALL_PHRASE):
        console.say("nothing deleted")
        return
    console.say(f"deleted {delete_all_total_capital(data)} rows")


def _console_modify(data: DataBlob, console: Console) -> None:
    last = data.capital.last_total()
    console.say(f"last row at {format_timestamp(last.name)} (Enter keeps a value)")
    values = {column: console.number(column, float(last[column])) for column in TOTAL_COLUMNS}
    changes = [f"{c} {float(last[c]):,.2f} -> {values[c]:,.2f}" for c in TOTAL_COLUMNS
               if float(last[c]) != values[c]]
    if not changes:
        console.say("nothing changed")
        return
    if not console.confirm(f"modify the last row ({'; '.join(changes)})?"):
        console.say("nothing modified")
        return
    row = modify_last_total_capital(data, values["total"], values["broker"], values["max"],
                                    values["acc_pnl"], values["margin"])
    console.say(f"modified:\n{row.to_string()}")


def capital_menu(data: DataBlob) -> Menu:
    """The console's menu over ``data`` (module docstring lists what each option calls)."""
    bound = bound_to(data)
    return Menu("Total capital (base currency, UTC)", (
        Option("view the last rows", bound(_console_view)),
        Option("initialise total capital", bound(_console_initialise)),
        Option("deposit or withdrawal", bound(_console_cash_flow)),
        Option("confirm a large change (re-polls the broker)", bound(_console_confirm)),
        Option("delete values since a date", bound(_console_delete_since)),
        Option("delete ALL total capital", bound(_console_delete_all)),
        Option("modify the last row", bound(_console_modify)),
    ))


def interactive_update_capital_manual(data: DataBlob | None = None, ask: Ask = input,
                                      out: Say = print) -> None:
    """Run the menu until ``0`` or end of input. ``ask`` reads an answer to a prompt (default
    :func:`input`), ``out`` shows text (default :func:`print`). An action that fails shows the
    error and returns to the menu."""
    run_console(data, PROCESS, capital_menu, ask, out)
