"""E-mail delivery of alerts: throttled by subject, capped against floods, never lost.

:func:`deliver_pending` goes through the undelivered alerts, oldest first:

- **Throttle by subject**: the first alert of a subject in ``throttle_hours`` (default 24) is
  e-mailed; later ones are stored as *suppressed* (listed by the diagnostics and counted by
  ``systrade status``). The first suppression of a subject in a window sends one short
  "suppressed" notice, so the operator knows more are waiting.
- **Flood cap**: at most ``max_per_hour`` e-mails (default 10; alerts, notices and digests
  alike) in any hour, counted across processes and deliveries. The last e-mail of the hour is
  kept for a **digest**: alerts beyond the budget go out together as one e-mail listing their
  subjects; once the hour's e-mails are spent they wait, stored, until a slot frees (the next
  ``deliver_alerts`` sends them as one digest). So a hundred CRITICALs in a minute, raised one
  by one, send at most ``max_per_hour`` e-mails that hour, not a hundred.
- **Failures**: an SMTP error marks the alert *failed* (with the error and an attempt count) and
  leaves it undelivered; the next delivery retries it. Nothing is dropped.
- **Back-off**: the first failed send ends the delivery, and no new attempt is made for
  ``backoff_minutes`` (default 5), so a flood of alerts with the mail server down costs one
  connection timeout (``timeout_seconds`` per SMTP step, default 10), not one each.
- **No double sends**: each alert is claimed atomically in the state store before it is sent, so
  two processes delivering at once never e-mail it twice.

The SMTP settings come from the private config (``email:`` host, port, user, password, sender,
to, use_tls, ssl): ``ssl`` (or port 465) means implicit TLS, otherwise STARTTLS when
``use_tls``; ``throttle_hours``, ``max_emails_per_hour``, ``backoff_minutes``.
"""
from __future__ import annotations

import os
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol

import pandas as pd

from syscore.exceptions import ConfigError, SystradeError
from sysdata.logs import AlertData


class EmailError(SystradeError):
    """An e-mail could not be sent (the alert stays undelivered and is retried)."""


class Sender(Protocol):
    def send(self, subject: str, body: str, html: str | None = None) -> None: ...


class SmtpSender:
    """Sends through an SMTP server (``smtplib``). ``ssl_context`` defaults to the system's
    trust store; tests pass one that trusts their own certificate authority."""

    def __init__(self, config: Any, timeout_seconds: float = 10.0,
                 ssl_context: ssl.SSLContext | None = None):
        if not config.host or not config.to:
            raise ConfigError("email: host and to are needed to send e-mail")
        self.config = config
        self.timeout = timeout_seconds
        self.ssl_context = ssl_context or ssl.create_default_context()

    def send(self, subject: str, body: str, html: str | None = None) -> None:
        """Send ``body`` as text; with ``html``, as multipart/alternative (text and HTML: a
        mail reader shows the HTML, with its figures, where it can)."""
        cfg = self.config
        message = EmailMessage()
        message["Subject"] = subject
        message["From"] = cfg.sender or cfg.user or f"systrade@{socket.gethostname()}"
        message["To"] = cfg.to
        message.set_content(body)
        if html is not None:
            message.add_alternative(html, subtype="html")
        try:
            if (cfg.ssl or cfg.port == 465):
                client = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=self.timeout,
                                          context=self.ssl_context)
            else:
                client = smtplib.SMTP(cfg.host, cfg.port, timeout=self.timeout)
            with client:
                if not (cfg.ssl or cfg.port == 465) and cfg.use_tls:
                    client.starttls(context=self.ssl_context)
                if cfg.user:
                    password = cfg.password.get_secret_value() if cfg.password else ""
                    client.login(cfg.user, password)
                client.send_message(message)
        except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            raise EmailError(f"cannot send e-mail via {cfg.host}:{cfg.port}: "
                             f"{type(exc).__name__}: {exc}") from None


@dataclass(frozen=True)
class DeliveryReport:
    sent: int = 0
    suppressed: int = 0
    digested: int = 0
    failed: int = 0
    notices: int = 0
    waiting: int = 0  #: alerts left for a later delivery (the hour's e-mail budget is spent)
    last_error: str = ""

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def __str__(self) -> str:
        text = (f"alert e-mails: {self.sent} sent, {self.notices} suppression notices, "
                f"{self.suppressed} suppressed, {self.digested} in a digest, "
                f"{self.failed} failed" + (f", {self.waiting} waiting for the hourly limit"
                                           if self.waiting else ""))
        return text + (f" ({self.last_error})" if self.last_error else "")


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def deliver_pending(alerts: AlertData, sender: Sender, now: Any, throttle_hours: float = 24.0,
                    max_per_hour: int = 10, backoff_minutes: float = 5.0,
                    ignore_backoff: bool = False) -> DeliveryReport:
    """Deliver every undelivered alert (see module docstring). ``now``: UTC."""
    now = pd.Timestamp(now)
    backoff = alerts.delivery_backoff_until()
    if backoff is not None and now < backoff and not ignore_backoff:
        return DeliveryReport(last_error=f"postponed until {backoff:%H:%M} UTC after a failure")
    report = _deliver(alerts, sender, now, throttle_hours, max_per_hour)
    alerts.set_delivery_backoff(now + pd.Timedelta(minutes=backoff_minutes)
                                if report.failed else None)
    return report


def _throttled(alerts: AlertData, subject: str, window_start: pd.Timestamp
               ) -> dict[str, Any] | None:
    """The last e-mail of ``subject`` when it was sent inside the throttle window, else None."""
    recent = alerts.last_sent(subject)
    if recent is not None and recent.get("sent_at") and \
            pd.Timestamp(recent["sent_at"]) >= window_start:
        return recent
    return None


def _deliver(alerts: AlertData, sender: Sender, now: pd.Timestamp, throttle_hours: float,
             max_per_hour: int) -> DeliveryReport:
    """One pass over the undelivered alerts.

    Every e-mail (alert, notice or digest) counts against ``max_per_hour`` over the last hour;
    the last e-mail of the hour is kept for the digest, so the alerts beyond the budget go out
    together as one e-mail, and once the hour's budget is spent they wait (undelivered,
    untouched) for the next delivery after a slot frees. The first send that fails ends the
    pass: the server is down or refusing, and every further attempt would cost another timeout.
    """
    window_start = now - pd.Timedelta(hours=throttle_hours)
    owner = _owner()
    budget = max_per_hour - alerts.emails_since(now - pd.Timedelta(hours=1))
    counts = {"sent": 0, "suppressed": 0, "digested": 0, "failed": 0, "notices": 0}
    last_error = ""
    overflow: list[dict[str, Any]] = []

    def send(subject: str, body: str, failing: list[int]) -> bool:
        nonlocal budget, last_error
        try:
            sender.send(subject, body)
        except EmailError as exc:
            last_error = str(exc)
            for alert_id in failing:
                alerts.set_delivery(alert_id, "failed", now, error=last_error)
            counts["failed"] += len(failing)
            return False
        alerts.record_email(now)
        budget -= 1
        return True

    for doc in alerts.undelivered():
        alert_id, subject = int(doc["alert_id"]), doc["subject"]
        recent = _throttled(alerts, subject, window_start) if throttle_hours > 0 else None
        if recent is None and budget <= 1:
            overflow.append(doc)  # claimed only when its digest goes out
            continue
        if not alerts.claim(alert_id, owner, now):
            continue
        if recent is None:
            if not send(subject, f"{doc['timestamp']}\n\n{doc.get('body', '')}", [alert_id]):
                break
            alerts.set_delivery(alert_id, "sent", now)
            counts["sent"] += 1
            continue
        notice_due = budget > 1 and not any(
            d.get("notice_sent") for d in alerts.suppressed_since(subject, recent["sent_at"]))
        if notice_due:
            until = pd.Timestamp(recent["sent_at"]) + pd.Timedelta(hours=throttle_hours)
            if not send(f"[suppressed] {subject}",
                        f"Further alerts '{subject}' are stored, not e-mailed, until "
                        f"{until:%Y-%m-%d %H:%M} UTC. See them with the diagnostics console "
                        f"or 'systrade status'.\n\nFirst suppressed:\n"
                        f"{doc['timestamp']}  {doc.get('body', '')}", [alert_id]):
                break
            counts["notices"] += 1
        alerts.set_delivery(alert_id, "suppressed", now, notice=notice_due)
        counts["suppressed"] += 1
    if overflow and budget >= 1 and not last_error:
        overflow = [d for d in overflow if alerts.claim(int(d["alert_id"]), owner, now)]
        ids = [int(d["alert_id"]) for d in overflow]
        if len(overflow) == 1:
            doc = overflow[0]
            if send(doc["subject"], f"{doc['timestamp']}\n\n{doc.get('body', '')}", ids):
                alerts.set_delivery(ids[0], "sent", now)
                counts["sent"] += 1
        elif overflow:
            lines = [f"{d['timestamp']}  {d['subject']}" for d in overflow]
            if send(f"[digest] {len(overflow)} more alerts",
                    "More alerts than the hourly e-mail limit; all are stored:\n\n"
                    + "\n".join(lines), ids):
                for alert_id in ids:
                    alerts.set_delivery(alert_id, "digested", now)
                counts["digested"] += len(ids)
        overflow = []
    return DeliveryReport(last_error=last_error, waiting=len(overflow), **counts)


def sender_from_config(config: Any) -> SmtpSender | None:
    """An SMTP sender when e-mail is configured (``email.host`` and ``email.to``), else None."""
    email = config.email
    if not email.host or not email.to:
        return None
    return SmtpSender(email)



def deliver_for_config(alerts: AlertData, config: Any, now: Any,
                       sender: Sender | None = None,
                       ignore_backoff: bool = False) -> DeliveryReport | None:
    """Deliver pending alerts with the settings of ``config`` (None when e-mail is not
    configured)."""
    sender = sender or sender_from_config(config)
    if sender is None:
        return None
    email = config.email
    return deliver_pending(alerts, sender, now, email.throttle_hours, email.max_emails_per_hour,
                           email.backoff_minutes, ignore_backoff)
