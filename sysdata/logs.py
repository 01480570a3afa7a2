"""Log records and stored alerts, in the state store.

A log record has ``timestamp`` (ISO UTC), ``level`` (name), ``levelno``, ``logger``, ``message``
and any context attributes (``type``, ``component``, ``instrument_code``, ``contract_date``,
``strategy_name``, ``order_id``, ...). Records are keyed by an increasing id.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from syscore.dates import iso_utc
from syscore.exceptions import InvalidData, MissingData
from sysdata.state.base import Delete, StateStore

LOGS = "log_records"
ALERTS = "alerts"


class LogData:
    """Log records in the state store (collection ``log_records``), keyed by an increasing id.

    ``timestamp`` is ISO UTC text; ``since``/``timestamp`` arguments are converted to UTC.
    Each :meth:`add` is one insert (atomic); :meth:`delete_before` deletes in batches of 500,
    each atomic, so an interrupted clean leaves only whole older records behind."""

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

    def latest(self, limit: int, min_level: int | None = None) -> list[dict[str, Any]]:
        """The ``limit`` most recently added records at or above ``min_level``, oldest first."""
        where = {} if min_level is None else {"levelno": {"$gte": int(min_level)}}
        found = self.store.find(LOGS, where, descending=True, limit=int(limit))
        return [doc for _, doc in reversed(found)]

    def delete_before(self, timestamp) -> int:
        keys = self.store.keys(LOGS, {"timestamp": {"$lt": iso_utc(timestamp)}})
        for start in range(0, len(keys), 500):
            self.store.apply([Delete(LOGS, k) for k in keys[start:start + 500]])
        return len(keys)


ALERT_DELIVERY = "alert_delivery"


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

    # --- e-mail delivery state (see syslogdiag.email_delivery) ------------------------------
    def undelivered(self) -> list[dict[str, Any]]:
        """Alerts neither e-mailed nor suppressed nor digested, oldest first."""
        return [doc for _, doc in self.store.find(ALERTS, {"sent": False})
                if doc.get("delivery") not in ("suppressed", "digested")]

    def claim(self, alert_id: int, owner: str, timestamp, stale_after_seconds: float = 300.0
              ) -> bool:
        """Atomically mark an undelivered alert as being sent by ``owner``; False when another
        process holds a fresh claim or it was delivered meanwhile (so no alert is e-mailed
        twice by two processes)."""
        stamp = iso_utc(timestamp)
        cutoff = iso_utc(pd.Timestamp(stamp) - pd.Timedelta(seconds=stale_after_seconds))
        won = []

        def change(doc):
            won.clear()
            if doc is None or doc.get("sent") or doc.get("delivery") in ("suppressed",
                                                                         "digested"):
                return doc
            claimed_at = doc.get("claimed_at")
            if doc.get("delivery") == "sending" and claimed_at and claimed_at > cutoff \
                    and doc.get("claimed_by") != owner:
                return doc
            won.append(True)
            return {**doc, "delivery": "sending", "claimed_by": owner, "claimed_at": stamp}

        self.store.update(ALERTS, f"{alert_id:012d}", change)
        return bool(won)

    def set_delivery(self, alert_id: int, state: str, timestamp, error: str | None = None,
                     notice: bool = False) -> None:
        """Record a delivery outcome: ``sent``, ``suppressed``, ``digested`` or ``failed``
        (failed ones stay undelivered and are retried; ``attempts`` counts tries)."""
        if state not in ("sent", "suppressed", "digested", "failed"):
            raise InvalidData(f"unknown delivery state {state!r}")
        stamp = iso_utc(timestamp)

        def change(doc):
            if doc is None:
                return None
            done = {**doc, "delivery": state, "claimed_by": None, "claimed_at": None,
                    "attempts": int(doc.get("attempts", 0)) + (state in ("sent", "failed"))}
            if state in ("sent", "digested"):
                done.update(sent=True, sent_at=stamp)
            if error is not None:
                done["last_error"] = error
            if notice:
                done["notice_sent"] = True
            return done

        self.store.update(ALERTS, f"{alert_id:012d}", change)

    def suppressed_since(self, subject: str, since) -> list[dict[str, Any]]:
        return [doc for _, doc in self.store.find(
            ALERTS, {"subject": subject, "delivery": "suppressed",
                     "timestamp": {"$gte": iso_utc(since)}})]

    def delivery_backoff_until(self) -> pd.Timestamp | None:
        doc = self.store.get(ALERT_DELIVERY, "smtp")
        return pd.Timestamp(doc["until"]) if doc and doc.get("until") else None

    def set_delivery_backoff(self, until) -> None:
        """No e-mail attempt before ``until`` (UTC); None lifts the back-off."""
        if until is None:
            self.store.delete(ALERT_DELIVERY, "smtp")
        else:
            self.store.put(ALERT_DELIVERY, "smtp", {"until": iso_utc(until)})

    def record_email(self, timestamp, keep_hours: float = 24.0) -> None:
        """Note that one alert e-mail (alert, notice or digest) was sent at ``timestamp``
        (UTC); times older than ``keep_hours`` are forgotten."""
        stamp = iso_utc(timestamp)
        cutoff = iso_utc(pd.Timestamp(stamp) - pd.Timedelta(hours=keep_hours))

        def change(doc):
            times = [t for t in (doc or {}).get("times", []) if t >= cutoff]
            return {"times": [*times, stamp]}

        self.store.update(ALERT_DELIVERY, "emails", change)

    def emails_since(self, since) -> int:
        """How many alert e-mails were sent at or after ``since`` (UTC)."""
        doc = self.store.get(ALERT_DELIVERY, "emails") or {}
        start = iso_utc(since)
        return sum(1 for t in doc.get("times", []) if t >= start)

    def clear_delivered(self) -> int:
        """Delete every alert that was e-mailed, suppressed or digested; returns how many."""
        gone = [key for key, doc in self.store.find(ALERTS)
                if doc.get("sent") or doc.get("delivery") in ("suppressed", "digested")]
        for key in gone:
            self.store.delete(ALERTS, key)
        return len(gone)

    def all(self, since=None) -> list[dict[str, Any]]:
        where = {"timestamp": {"$gte": iso_utc(since)}} if since is not None else None
        return [doc for _, doc in self.store.find(ALERTS, where)]

    def last_sent(self, subject: str) -> dict[str, Any] | None:
        rows = self.store.find(ALERTS, {"subject": subject, "sent": True},
                               order_by="sent_at", descending=True, limit=1)
        return rows[0][1] if rows else None
