"""Log records and stored alerts, in the state store.

A log record has ``timestamp`` (ISO UTC), ``level`` (name), ``levelno``, ``logger``, ``message``
and any context attributes (``type``, ``component``, ``instrument_code``, ``contract_date``,
``strategy_name``, ``order_id``, ...). Records are keyed by an increasing id.
"""
from __future__ import annotations

from typing import Any

from syscore.dates import iso_utc
from syscore.exceptions import MissingData
from sysdata.state.base import Delete, StateStore

LOGS = "log_records"
ALERTS = "alerts"


class LogData:
    def __init__(self, store: StateStore):
        self.store = store

    def add(self, record: dict[str, Any]) -> int:
        seq = self.store.next_id("log_record")
        self.store.insert(LOGS, f"{seq:015d}", record)
        return seq

    def find(self, since=None, min_level: int | None = None, limit: int | None = None,
             **attributes: Any) -> list[dict[str, Any]]:
        """Records matching every attribute, at or above ``min_level``, newer than ``since``
        (UTC), oldest first."""
        where: dict[str, Any] = dict(attributes)
        if since is not None:
            where["timestamp"] = {"$gte": iso_utc(since)}
        if min_level is not None:
            where["levelno"] = {"$gte": int(min_level)}
        return [doc for _, doc in self.store.find(LOGS, where, limit=limit)]

    def delete_before(self, timestamp) -> int:
        keys = self.store.keys(LOGS, {"timestamp": {"$lt": iso_utc(timestamp)}})
        for start in range(0, len(keys), 500):
            self.store.apply([Delete(LOGS, k) for k in keys[start:start + 500]])
        return len(keys)


class AlertData:
    """Alerts (CRITICAL events with a subject) kept for delivery and listing."""

    def __init__(self, store: StateStore):
        self.store = store

    def add(self, subject: str, body: str, timestamp, context: dict[str, Any] | None = None) -> int:
        seq = self.store.next_id("alert")
        self.store.insert(ALERTS, f"{seq:012d}", {
            "alert_id": seq, "subject": subject, "body": body, "timestamp": iso_utc(timestamp),
            "context": context or {}, "sent": False, "sent_at": None,
        })
        return seq

    def get(self, alert_id: int) -> dict[str, Any]:
        doc = self.store.get(ALERTS, f"{alert_id:012d}")
        if doc is None:
            raise MissingData(f"no alert {alert_id}")
        return doc

    def mark_sent(self, alert_id: int, timestamp) -> None:
        self.get(alert_id)
        stamp = iso_utc(timestamp)
        self.store.update(ALERTS, f"{alert_id:012d}",
                          lambda doc: None if doc is None else {**doc, "sent": True, "sent_at": stamp})

    def unsent(self) -> list[dict[str, Any]]:
        return [doc for _, doc in self.store.find(ALERTS, {"sent": False})]

    def all(self, since=None) -> list[dict[str, Any]]:
        where = {"timestamp": {"$gte": iso_utc(since)}} if since is not None else None
        return [doc for _, doc in self.store.find(ALERTS, where)]

    def last_sent(self, subject: str) -> dict[str, Any] | None:
        rows = self.store.find(ALERTS, {"subject": subject, "sent": True},
                               order_by="sent_at", descending=True, limit=1)
        return rows[0][1] if rows else None
