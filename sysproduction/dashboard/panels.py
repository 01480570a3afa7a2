"""What each dashboard page shows, read from the stores: plain data, no HTML.

Every figure comes from a function the tests call too: :func:`collect_status` and
:func:`working_orders` (``systrade status``), the report figures of
:mod:`sysproduction.reporting.data`, :meth:`sysdata.logs.LogData.latest`, and the report files
``run_reports`` wrote. Nothing here writes to a store.

A panel that cannot be read (no broker connection, no capital stored, a bug) becomes a
:class:`PanelError` in its place, with one line for the page; the traceback goes to the log, so
every page still answers. Times are tz-aware UTC; cash in the base currency; positions in
contracts.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from syscore.dates import to_utc
from syscore.exceptions import MissingData, SystradeError, first_line, one_line
from sysproduction.reporting import data as figures
from sysproduction.system_status import collect_status, working_orders

log = logging.getLogger("systrade.dashboard")

#: report folders are ``<home>/reports/YYYY-MM-DD`` (sysproduction.run_reports)
REPORT_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
REPORT_FILE = re.compile(r"^[A-Za-z0-9_]+\.(html|txt)$")


@dataclass(frozen=True)
class DashboardSettings:
    """``refresh_seconds``: pages reload themselves this often; ``curve_days``: account curve
    over the last so many days; ``alert_days``: alerts of the last so many days;
    ``log_lines``: the most recent log lines shown (INFO and above)."""

    refresh_seconds: int = 60
    curve_days: int = 365
    alert_days: int = 7
    log_lines: int = 50


@dataclass(frozen=True)
class PanelError:
    """A panel that could not be read: ``message`` is one line."""

    message: str


def panel(name: str, read: Callable[[], Any]) -> Any:
    """``read()``, or a :class:`PanelError` (logged with its traceback) if it fails."""
    try:
        return read()
    except MissingData as exc:
        return PanelError(first_line(exc))
    except Exception as exc:  # a page must answer even when one panel cannot be read
        log.warning("dashboard panel %s not read: %s", name, exc, exc_info=True)
        return PanelError(first_line(exc) if isinstance(exc, SystradeError) else one_line(exc))


def _part(status: dict[str, Any], key: str) -> Any:
    """A part of :func:`collect_status`'s result; its error dict becomes a PanelError."""
    value = status[key]
    if isinstance(value, dict) and set(value) == {"error"}:
        return PanelError(value["error"])
    return value


def break_count(status: dict[str, Any]) -> int | None:
    """Breaks in a status: contracts where ours differ from the broker's plus instruments where
    the strategies' total differs from the contracts' total (None if positions not read)."""
    positions = status["positions"]
    if "error" in positions:
        return None
    return len(positions["breaks"]) + len(positions.get("internal_breaks", []))


def position_rows(status: dict[str, Any]) -> list[dict[str, Any]]:
    """Per instrument: optimal range per strategy, strategy, contract and broker positions,
    today's orders and fills (as in ``systrade status``), and whether it is in a break."""
    positions, optimal, trades = status["positions"], status["optimal"], status["trades"]
    ranges = {} if "error" in optimal else optimal
    counts = {} if "error" in trades else trades["instruments"]
    rows = {r["instrument"]: r for r in positions["instruments"]}
    broken = ({b["instrument"] for b in positions["breaks"]}
              | {b["instrument"] for b in positions.get("internal_breaks", [])})
    out = []
    for code in sorted(set(rows) | set(ranges) | set(counts)):
        r = rows.get(code, {"strategies": {}, "contracts": {}, "broker": {}})
        n = counts.get(code, {"orders": 0, "fills": 0, "filled": 0})
        out.append({
            "instrument": code,
            "optimal": " ".join(f"{s}: {lo:.2f}..{hi:.2f}"
                                for s, (lo, hi) in ranges.get(code, {}).items()) or "-",
            "strategies": " ".join(f"{s}: {q}" for s, q in r["strategies"].items()) or "-",
            "contracts": " ".join(f"{k}: {q}" for k, q in r["contracts"].items()) or "-",
            "broker": " ".join(f"{k}: {q}" for k, q in r["broker"].items()) or "-",
            "orders": n["orders"], "fills": n["fills"], "filled": f"{n['filled']:+d}",
            "break": code in broken,
        })
    return out


def overview(data, settings: DashboardSettings) -> dict[str, Any]:
    """The front page: key numbers (capital, breaks, working orders, processes not well,
    undelivered alerts, oldest price), the account curve, and the process table."""
    now = to_utc(data.now())
    status = collect_status(data)
    processes = _part(status, "processes")
    orders = _part(status, "working_orders")
    prices = panel("last prices", lambda: figures.last_price_times(data, now))
    return {
        "now": now, "status": status,
        "capital": _part(status, "capital"),
        "breaks": break_count(status),
        "broker_error": (status["positions"].get("broker_error")
                         if "error" not in status["positions"] else None),
        "working": sum(orders.values()) if isinstance(orders, dict) else orders,
        "processes": processes,
        "crashed": (sorted(p["name"] for p in processes if p["run_state"] == "crashed")
                    if isinstance(processes, list) else []),
        "alerts": _part(status, "alerts"),
        "locks": _part(status, "locks"),
        "oldest_price_hours": (float(prices["age_hours"].max())
                               if isinstance(prices, pd.DataFrame) and not prices.empty
                               else None),
        "curve": panel("account curve", lambda: account_curve(data, now, settings)),
    }


def account_curve(data, now: pd.Timestamp, settings: DashboardSettings) -> pd.Series:
    """Accumulated p&l per UTC day over the last ``curve_days`` days (the account-curve
    report's figure); :class:`MissingData` when no total capital is stored."""
    return figures.account_curve(data, now - pd.Timedelta(days=settings.curve_days), now)


def positions(data, settings: DashboardSettings) -> dict[str, Any]:
    """Positions vs the broker with the breaks, and optimal (buffers) vs actual."""
    now = to_utc(data.now())
    status = collect_status(data)
    pos = _part(status, "positions")
    return {
        "now": now, "positions": pos,
        "rows": position_rows(status) if not isinstance(pos, PanelError) else [],
        "breaks": break_count(status),
        "since": status["trades"].get("since"),
        "optimal": panel("optimal vs actual", lambda: figures.optimal_vs_actual(data)),
        "locks": _part(status, "locks"),
    }


def orders(data, settings: DashboardSettings) -> dict[str, Any]:
    """Working orders per stack."""
    return {"now": to_utc(data.now()),
            "orders": panel("working orders", lambda: working_orders(data))}


def capital(data, settings: DashboardSettings) -> dict[str, Any]:
    """Total capital's last row, the account curve and the daily account p&l."""
    now = to_utc(data.now())
    start = now - pd.Timedelta(days=settings.curve_days)
    status = collect_status(data)
    return {
        "now": now, "capital": _part(status, "capital"),
        "base": data.config.base_currency,
        "curve": panel("account curve", lambda: account_curve(data, now, settings)),
        "daily": panel("daily p&l", lambda: figures.daily_account_pandl(data, start, now)),
        "start": start,
    }


def rolls(data, settings: DashboardSettings) -> dict[str, Any]:
    """Roll state, priced and forward contracts, days to expiry and volumes per instrument."""
    now = to_utc(data.now())
    return {"now": now, "rolls": panel("roll status", lambda: figures.roll_table(data, now))}


def prices(data, settings: DashboardSettings) -> dict[str, Any]:
    """The last adjusted price time per instrument and its age (hours)."""
    now = to_utc(data.now())
    return {"now": now,
            "prices": panel("last prices", lambda: figures.last_price_times(data, now))}


def activity(data, settings: DashboardSettings) -> dict[str, Any]:
    """Alerts of the last ``alert_days`` days and the latest ``log_lines`` log lines."""
    now = to_utc(data.now())
    start = now - pd.Timedelta(days=settings.alert_days)
    status = collect_status(data)
    return {
        "now": now, "start": start,
        "alerts": panel("alerts", lambda: figures.alerts_table(data, start, now)),
        "undelivered": _part(status, "alerts"),
        "logs": panel("log lines", lambda: data.logs.latest(settings.log_lines,
                                                            min_level=logging.INFO)),
    }


def processes(data, settings: DashboardSettings) -> dict[str, Any]:
    """Every process-control record as ``systrade status`` shows it."""
    status = collect_status(data)
    return {"now": to_utc(data.now()), "processes": _part(status, "processes")}


def report_path(home: Path, date: str, name: str) -> Path | None:
    """The report file ``<home>/reports/<date>/<name>``, resolved, or None when the names are
    not a report's, the file is not a regular file, or it lies outside the reports folder once
    symbolic links are followed (a link to the private config or the state store is never
    served). The reports folder itself may be a link (to another disk)."""
    if not REPORT_DATE.fullmatch(date) or not REPORT_FILE.fullmatch(name):
        return None
    root = (Path(home) / "reports").resolve()
    path = (root / date / name).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


def report_files(home: Path, dates: int = 10) -> list[tuple[str, list[str]]]:
    """The report folders ``run_reports`` wrote, newest first (at most ``dates``): ``(date,
    [file names])`` with the names sorted; only files :func:`report_path` would serve."""
    root = Path(home) / "reports"
    if not root.is_dir():
        return []
    folders = sorted((p for p in root.iterdir() if p.is_dir() and REPORT_DATE.fullmatch(p.name)
                      and p.resolve().is_relative_to(root.resolve())),
                     key=lambda p: p.name, reverse=True)[:dates]
    return [(folder.name, sorted(f.name for f in folder.iterdir()
                                 if report_path(home, folder.name, f.name) is not None))
            for folder in folders]
