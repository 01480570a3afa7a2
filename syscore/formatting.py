"""How values are written where a person reads them (reports, alerts, log lines, prompts).

* prices: to the instrument's tick when known (``4500.25`` for a 0.25 tick), else to 10
  significant digits, so float noise such as ``2748.6000000000004`` never shows;
* contract ids: ``YYYYMM`` for a month, ``YYYYMMDD`` when the contract has a day; stores may keep
  pysystemtrade's ``YYYYMM00``, people never see it;
* timestamps: ``YYYY-MM-DD`` for a UTC midnight, else ``YYYY-MM-DD HH:MM[:SS] UTC``;
* command-line values: ``true``/``false``, ``none`` (what a user types after ``--name``).
"""
from __future__ import annotations

import decimal
import math
from typing import Any

import pandas as pd

SIGNIFICANT_DIGITS = 10


def tick_decimals(tick: float) -> int:
    """Decimal places of a tick size: 0.25 -> 2, 0.005 -> 3, 1 -> 0, 1e-05 -> 5."""
    exponent = decimal.Decimal(repr(float(tick))).normalize().as_tuple().exponent
    return max(0, -int(exponent))


def format_price(value: Any, tick: float | None = None) -> str:
    """``value`` rounded to ``tick`` (shown with the tick's decimals) or, without a usable
    tick, to :data:`SIGNIFICANT_DIGITS` significant digits; ``nan``/``inf`` as such."""
    number = float(value)
    if not math.isfinite(number):
        return str(number)
    if tick is not None and tick > 0 and math.isfinite(tick):
        rounded = round(number / tick) * tick
        return f"{rounded:.{tick_decimals(tick)}f}"
    return f"{number:.{SIGNIFICANT_DIGITS}g}"


def format_contract_id(contract_date: Any) -> str:
    """``YYYYMM`` for a month-only contract (``YYYYMM00`` and ``YYYYMM`` alike), ``YYYYMMDD``
    when it has a day; anything else unchanged."""
    text = str(contract_date).strip()
    if text.endswith(".0"):  # read back from a float column
        text = text[:-2]
    if len(text) == 8 and text.isdigit() and text.endswith("00"):
        return text[:6]
    return text


def format_timestamp(stamp: Any) -> str:
    """A UTC timestamp for people: the date alone at midnight, else date and time ``UTC``."""
    ts = pd.Timestamp(stamp)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC")
    if ts == ts.normalize():
        return ts.strftime("%Y-%m-%d")
    pattern = "%Y-%m-%d %H:%M" if ts.second == 0 and ts.microsecond == 0 else "%Y-%m-%d %H:%M:%S"
    return ts.strftime(pattern) + " UTC"


def command_line_value(value: Any) -> str:
    """``value`` as typed after ``--name`` on the command line: ``true``/``false``, ``none``,
    else its text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    return str(value)


def option(name: str, value: Any = True) -> str:
    """``--name value`` as a user types it, e.g. ``option("confirm")`` -> ``--confirm true``."""
    return f"--{name} {command_line_value(value)}"


def text_table(header, rows, indent: str = "") -> list[str]:
    """Lines of a plain-text table: ``header`` then ``rows`` (cells shown with ``str``, None as
    ``-``), each column left-aligned to its widest cell, two spaces apart, trailing blanks cut,
    every line prefixed by ``indent``."""
    lines = [tuple("-" if cell is None else str(cell) for cell in row) for row in [header, *rows]]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return [(indent + "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)))
            .rstrip() for line in lines]
