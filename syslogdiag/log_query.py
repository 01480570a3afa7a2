"""Finding and rendering stored log records, for consoles and reports."""
from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from syscore.dates import to_utc, utc_now
from syslogdiag.handlers import StateStoreHandler, context_text

DEFAULT_LOOKBACK_DAYS = 1.0
_NOT_CONTEXT = set(StateStoreHandler.CORE_FIELDS)


def find_logs(log_data: Any, lookback_days: float | None = DEFAULT_LOOKBACK_DAYS,
              now: Any = None, min_level: int | str | None = None, limit: int | None = None,
              **attributes: Any) -> list[dict[str, Any]]:
    """Stored records of the last ``lookback_days`` days (``None``: all) before ``now`` (UTC,
    default wall clock), at or above ``min_level`` (number or name), matching every attribute
    exactly (e.g. ``instrument_code="SOFR"``, ``process_name="run_daily_prices"``), oldest first.
    ``limit`` keeps the newest ``limit`` records."""
    since = None
    if lookback_days is not None:
        since = to_utc(now if now is not None else utc_now()) - pd.Timedelta(days=lookback_days)
    if isinstance(min_level, str):
        min_level = logging.getLevelNamesMapping()[min_level.upper()]
    rows = log_data.find(since=since, min_level=min_level, **attributes)
    if limit is not None:
        rows = rows[-int(limit):] if limit > 0 else []
    return rows


def format_log_record(record: dict[str, Any]) -> str:
    """``timestamp LEVEL process logger [context] message`` (+ indented exception lines)."""
    context = {k: v for k, v in record.items() if k not in _NOT_CONTEXT}
    line = (f"{record.get('timestamp')} {record.get('level')} {record.get('process_name')} "
            f"{record.get('logger')}{context_text(context)} {record.get('message')}")
    exception = record.get("exception")
    if exception:
        line += "\n" + "\n".join(f"    {part}" for part in str(exception).splitlines())
    return line


def format_logs(records: list[dict[str, Any]]) -> str:
    """All records, one per line (``"No log records."`` when empty)."""
    if not records:
        return "No log records."
    return "\n".join(format_log_record(record) for record in records)
