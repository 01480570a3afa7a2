"""``interactive_diagnostics``: a read-only console over :mod:`sysproduction.diagnostics`.

Menus (each option asks its inputs with typed prompts and calls the function named):

1. Backtest objects: print a stage (:func:`~sysproduction.diagnostics.backtest_stage_text`),
   write a plot (``backtest_stage_plot``) or HTML (``backtest_stage_html``); each asks the
   strategy, the saved backtest (latest first), the stage and the instrument.
2. Reports: any report ad hoc over a date range, as text (``report_text``) or HTML with its plots
   (``report_html``).
3. Logs: stored log records filtered by look-back, minimum level, process, instrument, type
   (``logs_text``).
4. Stored e-mails: view (``stored_emails_text``), clear those already dealt with
   (``clear_stored_emails``, confirmed).
5. Prices: per contract, multiple, adjusted, FX.
6. Capital: a strategy's, and total / broker / max / accumulated p&l.
7. Positions and orders: optimal positions, strategy and contract position history, historic
   orders of a stack, one order with its events.
8. Configuration: instrument, contracts and roll parameters.

Only "clear stored e-mails" changes anything. End of input (no terminal) ends the console.

    python run.py sysproduction.interactive_diagnostics.interactive_diagnostics
"""
from __future__ import annotations

import pandas as pd

from syscore.exceptions import MissingData
from syscore.menu import Ask, Console, Menu, Option, Say, bound_to
from sysdata.data_blob import DataBlob
from sysdata.orders import STACKS
from sysproduction import diagnostics as diag
from sysproduction.process_helpers import run_console
from sysproduction.reporting.reports import REPORTS

PROCESS = "interactive_diagnostics"
OUTPUTS = ("print", "plot", "html")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


# --- shared questions ----------------------------------------------------------------------------

def _instrument(data: DataBlob, console: Console) -> str:
    code = console.text("instrument code").upper()
    data.instruments.require(code)
    return code


def _priced_instrument(data: DataBlob, console: Console, codes: list[str], what: str) -> str:
    if not codes:
        raise MissingData(f"no instrument has {what}")
    return console.choice(f"instrument ({what})", sorted(codes))


def _backtest(data: DataBlob, console: Console) -> tuple[str, str, str, str]:
    strategy = console.choice("strategy", diag.backtest_strategies(data))
    saved = list(reversed(diag.saved_backtests(data, strategy)))
    if not saved:
        raise MissingData(f"no saved backtests for strategy {strategy!r}")
    which = console.choice("saved backtest (newest first)", saved, default=saved[0])
    stage = console.choice("stage", diag.backtest_stages(data, strategy, which))
    instrument = console.choice("instrument", diag.backtest_instruments(data, strategy, which))
    return strategy, which, stage, instrument


def _rows(console: Console) -> int:
    return console.integer("rows", default=diag.DEFAULT_ROWS, minimum=1)


# --- actions -------------------------------------------------------------------------------------

def _backtest_output(data: DataBlob, console: Console) -> None:
    strategy, which, stage, instrument = _backtest(data, console)
    output = console.choice("output", OUTPUTS, default="print")
    if output == "print":
        console.say(diag.backtest_stage_text(data, strategy, stage, instrument, which,
                                             rows=_rows(console)))
    elif output == "plot":
        path = diag.backtest_stage_plot(data, strategy, stage, instrument, which)
        console.say(f"plot written: {path}")
    else:
        path = diag.backtest_stage_html(data, strategy, stage, instrument, which)
        console.say(f"HTML written: {path}")


def _report(data: DataBlob, console: Console, html: bool) -> None:
    name = console.choice("report", list(REPORTS))
    end = console.date("end", default=data.now())
    start = console.date("start", default=end - pd.Timedelta(days=1))
    if html:
        console.say(f"HTML written: {diag.report_html(data, name, start, end)}")
    else:
        console.say(diag.report_text(data, name, start, end))


def _logs(data: DataBlob, console: Console) -> None:
    days = console.number("look back (days)", default=1.0, minimum=0)
    level = console.choice("minimum level", LEVELS, default="INFO")
    process = console.text("process name (Enter: any)", allow_empty=True)
    instrument = console.text("instrument code (Enter: any)", allow_empty=True).upper()
    kind = console.text("type, e.g. capital, fx (Enter: any)", allow_empty=True)
    console.say(diag.logs_text(data, days, level, process_name=process,
                               instrument_code=instrument, type=kind))


def _view_emails(data: DataBlob, console: Console) -> None:
    unsent = console.yes_no("only those not sent yet?", default=False)
    console.say(diag.stored_emails_text(data, unsent_only=unsent))


def _clear_emails(data: DataBlob, console: Console) -> None:
    if not console.confirm("delete every stored alert already e-mailed or suppressed "
                           "(waiting ones are kept)?"):
        console.say("nothing deleted")
        return
    console.say(f"deleted {diag.clear_stored_emails(data)} stored alerts")


def _contract_prices(data: DataBlob, console: Console) -> None:
    code = _instrument(data, console)
    contract = console.choice("contract", diag.contracts_with_prices(data, code))
    frequency = console.choice("frequency", ("merged", "D", "H"), default="merged")
    console.say(diag.contract_prices_text(data, code, contract, frequency, _rows(console)))


def _multiple(data: DataBlob, console: Console) -> None:
    code = _priced_instrument(data, console, data.multiple_prices.list_codes(),
                              "multiple prices")
    console.say(diag.multiple_prices_text(data, code, _rows(console)))


def _adjusted(data: DataBlob, console: Console) -> None:
    code = _priced_instrument(data, console, data.adjusted_prices.list_codes(),
                              "adjusted prices")
    console.say(diag.adjusted_prices_text(data, code, _rows(console)))


def _fx(data: DataBlob, console: Console) -> None:
    code = _priced_instrument(data, console, data.fx_prices.list_codes(), "FX prices")
    console.say(diag.fx_prices_text(data, code, _rows(console)))


def _strategy_capital(data: DataBlob, console: Console) -> None:
    strategies = data.capital.strategies()
    if not strategies:
        raise MissingData("no strategy capital stored")
    strategy = console.choice("strategy", sorted(strategies))
    console.say(diag.strategy_capital_text(data, strategy, _rows(console)))


def _total_capital(data: DataBlob, console: Console) -> None:
    column = console.choice("series", diag.CAPITAL_SERIES, default="total")
    console.say(diag.total_capital_series_text(data, column, _rows(console)))


def _strategy_and_instrument(data: DataBlob, console: Console,
                             keys: list[tuple[str, str]]) -> tuple[str, str]:
    if not keys:
        raise MissingData("nothing stored")
    strategy = console.choice("strategy", sorted({s for s, _ in keys}))
    instrument = console.choice("instrument", sorted({i for s, i in keys if s == strategy}))
    return strategy, instrument


def _optimal(data: DataBlob, console: Console) -> None:
    strategy, code = _strategy_and_instrument(data, console, data.optimal_positions.list_keys())
    console.say(diag.optimal_positions_text(data, strategy, code, _rows(console)))


def _strategy_positions(data: DataBlob, console: Console) -> None:
    strategy = console.text("strategy")
    code = _instrument(data, console)
    console.say(diag.strategy_position_history_text(data, strategy, code, _rows(console)))


def _contract_positions(data: DataBlob, console: Console) -> None:
    code = _instrument(data, console)
    console.say(diag.contract_position_history_text(data, code, _rows(console)))


def _historic_orders(data: DataBlob, console: Console) -> None:
    stack = console.choice("stack", STACKS)
    code = console.text("instrument code (Enter: all)", allow_empty=True).upper()
    console.say(diag.orders_text(data, stack, code or None, completed=True,
                                 rows=_rows(console)))


def _order(data: DataBlob, console: Console) -> None:
    stack = console.choice("stack", STACKS)
    order_id = console.integer("order id", minimum=1)
    console.say(diag.order_detail_text(data, stack, order_id))


def _instrument_config(data: DataBlob, console: Console) -> None:
    console.say(diag.instrument_config_text(data, _instrument(data, console)))


def _contract_config(data: DataBlob, console: Console) -> None:
    console.say(diag.contract_config_text(data, _instrument(data, console)))


# --- the menu ------------------------------------------------------------------------------------

def diagnostics_menu(data: DataBlob) -> Menu:
    on = bound_to(data)
    return Menu("Diagnostics (read-only; times UTC)", (
        Option("Backtest objects", Menu("Backtest objects", (
            Option("print, plot or HTML a stage for an instrument", on(_backtest_output)),
        ))),
        Option("Reports", Menu("Reports (ad hoc, any date range)", (
            Option("report as text", on(_report, False)),
            Option("report as HTML with plots", on(_report, True)),
        ))),
        Option("Logs", Menu("Logs", (
            Option("view log records (look-back, level, process, instrument, type)",
                   on(_logs)),
        ))),
        Option("Stored e-mails", Menu("Stored e-mails (alerts)", (
            Option("view stored e-mails", on(_view_emails)),
            Option("clear e-mails already sent or suppressed", on(_clear_emails)),
        ))),
        Option("Prices", Menu("Prices", (
            Option("per-contract prices", on(_contract_prices)),
            Option("multiple prices", on(_multiple)),
            Option("adjusted prices", on(_adjusted)),
            Option("FX prices", on(_fx)),
        ))),
        Option("Capital", Menu("Capital (base currency)", (
            Option("capital of a strategy", on(_strategy_capital)),
            Option("total, broker, max, accumulated p&l or margin", on(_total_capital)),
        ))),
        Option("Positions and orders", Menu("Positions and orders", (
            Option("optimal position history", on(_optimal)),
            Option("strategy position history (strategy, instrument)", on(_strategy_positions)),
            Option("contract position history (contracts of an instrument)",
                   on(_contract_positions)),
            Option("historic orders of a stack", on(_historic_orders)),
            Option("one order with its events", on(_order)),
        ))),
        Option("Configuration", Menu("Instrument and contract configuration", (
            Option("instrument configuration", on(_instrument_config)),
            Option("contracts and roll parameters", on(_contract_config)),
        ))),
    ))


def interactive_diagnostics(data: DataBlob | None = None, ask: Ask = input,
                            say: Say = print) -> None:
    """Run the diagnostics console until ``0`` or end of input (module docstring)."""
    run_console(data, PROCESS, diagnostics_menu, ask, say)
