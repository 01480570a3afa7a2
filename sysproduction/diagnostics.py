"""Read-only diagnostics: the plain functions behind ``interactive_diagnostics`` (tests call them
too). Each returns text (or writes one file under ``$SYSTRADE_HOME/diagnostics/`` and returns its
path); none changes stored data except :func:`clear_stored_emails`.

Conventions: times UTC; prices in price points; capital in the base currency; positions in
contracts; ``rows`` is how many of the newest rows are shown (default 20).
"""
from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from syscore.config import load_control_config  # noqa: E402
from syscore.dates import to_utc  # noqa: E402
from syscore.exceptions import InvalidData, MissingData  # noqa: E402
from sysdata.data_blob import DataBlob  # noqa: E402
from sysdata.orders import STACKS  # noqa: E402
from syslogdiag.alerts import format_alerts, list_alerts  # noqa: E402
from syslogdiag.log_query import find_logs, format_logs  # noqa: E402
from sysproduction.reporting.render import figure_png, to_html, to_text  # noqa: E402
from sysproduction.reporting.reports import REPORTS  # noqa: E402
from sysproduction.update_system_backtests import (  # noqa: E402
    backtests_directory,
    list_strategy_backtests,
    load_strategy_backtest,
)

DEFAULT_ROWS = 20
CAPITAL_SERIES = ("total", "broker", "max", "acc_pnl", "margin")


def diagnostics_directory(data: DataBlob) -> Path:
    """``$SYSTRADE_HOME/diagnostics``: where HTML and plots are written (created on first use)."""
    folder = data.home / "diagnostics"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text))


def _write_new(path: Path, content: bytes) -> Path:
    """Write ``path`` via a temporary name and rename (a reader never sees half a file)."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(content)
    os.replace(temporary, path)
    return path


def _tail_text(frame: pd.DataFrame | pd.Series, rows: int, empty: str,
               float_format=None) -> str:
    if frame is None or len(frame) == 0:
        return empty
    return frame.tail(rows).to_string(float_format=float_format)


def _cash(value: float) -> str:
    """Cash as a trader reads it: 1,009,122.09 (never 1.009122e+06)."""
    return f"{value:,.2f}"


# --- backtests ---------------------------------------------------------------------------------

def backtest_strategies(data: DataBlob) -> list[str]:
    """Strategies configured (``strategy_list``) or with saved backtests, sorted."""
    names = set(load_control_config(data.home).strategy_list)
    folder = backtests_directory(data)
    if folder.is_dir():
        names |= {p.name for p in folder.iterdir() if p.is_dir()}
    return sorted(names)


def saved_backtests(data: DataBlob, strategy_name: str) -> list[str]:
    """Saved backtests of a strategy (``YYYYmmdd_HHMMSS``, UTC), oldest first."""
    return list_strategy_backtests(strategy_name, data=data)


def backtest_stages(data: DataBlob, strategy_name: str, which: str = "latest") -> list[str]:
    return load_strategy_backtest(strategy_name, which, data=data).stage_names


def backtest_instruments(data: DataBlob, strategy_name: str, which: str = "latest") -> list[str]:
    return load_strategy_backtest(strategy_name, which, data=data).instruments


def backtest_stage(data: DataBlob, strategy_name: str, stage: str, instrument_code: str,
                   which: str = "latest") -> pd.Series:
    """One stage of a saved backtest for one instrument (daily, UTC index)."""
    state = load_strategy_backtest(strategy_name, which, data=data)
    if instrument_code not in state.instruments:
        raise MissingData(f"{instrument_code} is not in the backtest of {strategy_name} "
                          f"({which}); instruments: {state.instruments}")
    frame = state.stage(stage)
    if instrument_code not in frame.columns:
        raise MissingData(f"stage {stage} has no column {instrument_code}")
    return frame[instrument_code].rename(f"{stage} {instrument_code}")


def backtest_stage_text(data: DataBlob, strategy_name: str, stage: str, instrument_code: str,
                        which: str = "latest", rows: int = DEFAULT_ROWS) -> str:
    series = backtest_stage(data, strategy_name, stage, instrument_code, which).dropna()
    return _tail_text(series, rows, f"{stage} {instrument_code}: no values")


def _stage_figure(series: pd.Series) -> Figure:
    figure = Figure(figsize=(8, 3.5))
    axes = figure.subplots()
    axes.plot(series.index, series.values)
    axes.set_title(str(series.name))
    figure.autofmt_xdate()
    return figure


def backtest_stage_plot(data: DataBlob, strategy_name: str, stage: str, instrument_code: str,
                        which: str = "latest") -> Path:
    """A PNG line plot of the stage, written under :func:`diagnostics_directory`."""
    series = backtest_stage(data, strategy_name, stage, instrument_code, which)
    name = _safe(f"{strategy_name}_{which}_{stage}_{instrument_code}") + ".png"
    return _write_new(diagnostics_directory(data) / name, figure_png(_stage_figure(series)))


def backtest_stage_html(data: DataBlob, strategy_name: str, stage: str, instrument_code: str,
                        which: str = "latest") -> Path:
    """An HTML page (plot and every value) of the stage, under :func:`diagnostics_directory`."""
    import base64
    import html

    series = backtest_stage(data, strategy_name, stage, instrument_code, which)
    image = base64.b64encode(figure_png(_stage_figure(series))).decode("ascii")
    title = html.escape(f"{strategy_name} ({which}): {stage} {instrument_code}")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head>"
            f"<body><h1>{title}</h1><img alt='plot' src='data:image/png;base64,{image}'>"
            f"{series.to_frame().to_html()}</body></html>")
    name = _safe(f"{strategy_name}_{which}_{stage}_{instrument_code}") + ".html"
    return _write_new(diagnostics_directory(data) / name, page.encode("utf-8"))


# --- reports -----------------------------------------------------------------------------------

def _report(data: DataBlob, name: str, start, end):
    if name not in REPORTS:
        raise InvalidData(f"unknown report {name!r}; known: {sorted(REPORTS)}")
    start, end = to_utc(start, "start"), to_utc(end, "end")
    if start >= end:
        raise InvalidData(f"report start {start} is not before end {end}")
    return REPORTS[name](data, start, end)


def report_text(data: DataBlob, name: str, start, end) -> str:
    """Report ``name`` over [start, end] (UTC) as text, as ``run_reports`` renders it."""
    return to_text(_report(data, name, start, end))


def report_html(data: DataBlob, name: str, start, end) -> Path:
    """Report ``name`` over [start, end] as HTML (with its plots) under
    :func:`diagnostics_directory`; returns the path."""
    report = _report(data, name, start, end)
    file = f"report_{_safe(name)}_{report.start:%Y%m%d%H%M}_{report.end:%Y%m%d%H%M}.html"
    return _write_new(diagnostics_directory(data) / file, to_html(report).encode("utf-8"))


# --- logs and stored e-mails ---------------------------------------------------------------------

def logs_text(data: DataBlob, lookback_days: float | None = 1.0, min_level: str | None = None,
              limit: int | None = 200, **attributes: str) -> str:
    """Stored log records of the last ``lookback_days`` days before the blob's clock, at or
    above ``min_level`` (e.g. ``WARNING``), matching every attribute exactly
    (``instrument_code="CORN"``, ``process_name="update_fx_prices"``); newest ``limit``."""
    attributes = {k: v for k, v in attributes.items() if v not in (None, "")}
    records = find_logs(data.logs, lookback_days, now=data.now(), min_level=min_level,
                        limit=limit, **attributes)
    return format_logs(records)


def stored_emails_text(data: DataBlob, lookback_days: float | None = None,
                       unsent_only: bool = False) -> str:
    """Stored alerts (e-mails sent, suppressed by the throttle, or waiting to be sent)."""
    return format_alerts(list_alerts(data.alerts, lookback_days, now=data.now(),
                                     unsent_only=unsent_only))


def clear_stored_emails(data: DataBlob) -> int:
    """Delete the alerts already dealt with (e-mailed, suppressed, digested); alerts still
    waiting to be sent are kept (never lost). Returns how many were deleted."""
    return data.alerts.clear_delivered()


# --- prices ------------------------------------------------------------------------------------

def contract_prices_text(data: DataBlob, instrument_code: str, contract_date: str,
                         frequency: str = "merged", rows: int = DEFAULT_ROWS) -> str:
    """Per-contract bars (``merged``, ``D`` daily or ``H`` hourly)."""
    frame = data.contract_prices.read(instrument_code, contract_date, frequency)
    return _tail_text(frame, rows, f"{instrument_code} {contract_date}: no prices")


def contracts_with_prices(data: DataBlob, instrument_code: str) -> list[str]:
    return [c.contract_date for c in data.contracts.for_instrument(instrument_code)
            if data.contract_prices.has(instrument_code, c.contract_date)]


def multiple_prices_text(data: DataBlob, instrument_code: str, rows: int = DEFAULT_ROWS) -> str:
    return _tail_text(data.multiple_prices.tail(instrument_code, rows), rows,
                      f"{instrument_code}: no multiple prices")


def adjusted_prices_text(data: DataBlob, instrument_code: str, rows: int = DEFAULT_ROWS) -> str:
    return _tail_text(data.adjusted_prices.read_tail(instrument_code, rows), rows,
                      f"{instrument_code}: no adjusted prices")


def fx_prices_text(data: DataBlob, fx_code: str, rows: int = DEFAULT_ROWS) -> str:
    """Spot FX (value in ``ccy2`` of one ``ccy1``)."""
    return _tail_text(data.fx_prices.read_series(fx_code), rows, f"{fx_code}: no FX prices")


# --- capital -----------------------------------------------------------------------------------

def strategy_capital_text(data: DataBlob, strategy_name: str, rows: int = DEFAULT_ROWS) -> str:
    return _tail_text(data.capital.strategy_capital(strategy_name), rows,
                      f"{strategy_name}: no capital", float_format=_cash)


def total_capital_series_text(data: DataBlob, column: str = "total",
                              rows: int = DEFAULT_ROWS) -> str:
    """One column of total capital: ``total``, ``broker`` (account value), ``max`` (high-water
    mark), ``acc_pnl`` (accumulated p&l) or ``margin``."""
    if column not in CAPITAL_SERIES:
        raise InvalidData(f"unknown capital series {column!r}; known: {list(CAPITAL_SERIES)}")
    return _tail_text(data.capital.total_capital()[column], rows, "no total capital",
                      float_format=_cash)


# --- positions and orders ------------------------------------------------------------------------

def _history_text(rows: list[dict], empty: str, count: int) -> str:
    if not rows:
        return empty
    frame = pd.DataFrame(rows)[["timestamp", "position", "quantity", "reason"]]
    return frame.tail(count).to_string(index=False)


def optimal_positions_text(data: DataBlob, strategy_name: str, instrument_code: str,
                           rows: int = DEFAULT_ROWS) -> str:
    return _tail_text(data.optimal_positions.history(strategy_name, instrument_code), rows,
                      f"{strategy_name}/{instrument_code}: no optimal positions")


def strategy_position_history_text(data: DataBlob, strategy_name: str, instrument_code: str,
                                   rows: int = DEFAULT_ROWS) -> str:
    """Every change of a strategy's position in an instrument (after it, the change, why)."""
    key = data.positions.strategy_key(strategy_name, instrument_code)
    return _history_text(data.positions.history("strategy_positions", key),
                         f"{key}: no position history", rows)


def contract_position_history_text(data: DataBlob, instrument_code: str,
                                   rows: int = DEFAULT_ROWS) -> str:
    """Position history of every contract of an instrument that ever had one."""
    known = [c.contract_date for c in data.contracts.for_instrument(instrument_code)]
    held = {c for (i, c) in data.positions.all_contract_positions() if i == instrument_code}
    unconfigured = sorted(held - set(known))  # a position in a contract not configured
    parts = []
    for contract_date in known + unconfigured:
        key = data.positions.contract_key(instrument_code, contract_date)
        history = data.positions.history("contract_positions", key)
        if history or contract_date in unconfigured:
            parts.append(f"{key}\n{_history_text(history, '', rows)}")
    return "\n\n".join(parts) if parts else f"{instrument_code}: no contract position history"


def orders_text(data: DataBlob, stack: str, instrument_code: str | None = None,
                completed: bool = True, rows: int = DEFAULT_ROWS) -> str:
    """Orders of a stack (``instrument``, ``contract``, ``broker``): historic (completed) ones by
    default, else the active ones; optionally one instrument's."""
    if stack not in STACKS:
        raise InvalidData(f"unknown order stack {stack!r}; known: {list(STACKS)}")
    where = {"instrument_code": instrument_code} if instrument_code else None
    orders_data = data.order_stack(stack)
    found = orders_data.historic_orders(where) if completed else orders_data.orders(where)
    if not found:
        return f"no {'historic' if completed else 'active'} {stack} orders"
    frame = pd.DataFrame([o.to_doc() for o in found]).set_index("order_id")
    return frame.tail(rows).to_string()


def order_detail_text(data: DataBlob, stack: str, order_id: int) -> str:
    """One order's fields and every event that built it."""
    if stack not in STACKS:
        raise InvalidData(f"unknown order stack {stack!r}; known: {list(STACKS)}")
    orders_data = data.order_stack(stack)
    order = orders_data.get_order(int(order_id))
    lines = [f"{stack} order {order.order_id}"]
    lines += [f"  {key}: {value}" for key, value in order.to_doc().items()]
    lines.append("events:")
    lines += [f"  #{e.number} {e.timestamp} {e.event.value} {e.reason}".rstrip()
              for e in orders_data.events(order.order_id)]
    return "\n".join(lines)


# --- configuration -----------------------------------------------------------------------------

def instrument_config_text(data: DataBlob, instrument_code: str) -> str:
    fields = dataclasses.asdict(data.instruments.get(instrument_code))
    return "\n".join([instrument_code] + [f"  {k}: {v}" for k, v in fields.items()])


def contract_config_text(data: DataBlob, instrument_code: str) -> str:
    """Roll parameters, roll state and every configured contract of an instrument."""
    lines = [instrument_code]
    try:
        params = data.roll_parameters.get(instrument_code)
        lines.append(f"  roll parameters: {params}")
    except MissingData:
        lines.append("  roll parameters: (none)")
    lines.append(f"  roll state: {data.roll_states.get(instrument_code)}")
    contracts = data.contracts.for_instrument(instrument_code)
    if not contracts:
        lines.append("  contracts: (none)")
    for contract in contracts:
        expiry = contract.expiry_date.isoformat() if contract.expiry_date else "unknown"
        lines.append(f"  {contract.contract_date}: expiry {expiry}"
                     f"{'' if contract.expiry_is_actual else ' (approximate)'}, sampling "
                     f"{'yes' if contract.sampling else 'no'}")
    return "\n".join(lines)
