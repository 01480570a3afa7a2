"""Alert e-mails against a real SMTP server (aiosmtpd) on 127.0.0.1."""
from __future__ import annotations

import pandas as pd
import pytest

from syscore.config_models import EmailConfig, SystradeConfig
from sysdata.logs import AlertData
from syslogdiag.alerts import alert
from syslogdiag.email_delivery import EmailError, SmtpSender, deliver_pending
from tests.blob_helpers import FixedClock, make_blob
from tests.mongo_server import free_port
from tests.syslogdiag.smtp_server import PASSWORD, USER, SmtpTestServer

T0 = pd.Timestamp("2024-03-07 14:00", tz="UTC")


@pytest.fixture
def smtp():
    server = SmtpTestServer("plain")
    yield server
    server.stop()


@pytest.fixture
def alerts(state_store):
    return AlertData(state_store)


def config_for(server, **extra) -> EmailConfig:
    return EmailConfig(host="127.0.0.1", port=server.port, to="ops@example.com",
                       sender="systrade@example.com", use_tls=False, **extra)


def test_first_of_a_subject_sent_later_ones_suppressed_with_one_notice(alerts, smtp):
    sender = SmtpSender(config_for(smtp))
    for minute in range(4):
        alerts.add("Price spike in CORN", f"spike {minute}", T0 + pd.Timedelta(minutes=minute))
        report = deliver_pending(alerts, sender, T0 + pd.Timedelta(minutes=minute))
        assert report.ok
    assert smtp.inbox.subjects() == ["Price spike in CORN", "[suppressed] Price spike in CORN"]
    states = [a.get("delivery") for a in alerts.all()]
    assert states == ["sent", "suppressed", "suppressed", "suppressed"]
    # after the throttle window the subject is e-mailed again
    later = T0 + pd.Timedelta(hours=25)
    alerts.add("Price spike in CORN", "next day", later)
    deliver_pending(alerts, sender, later)
    assert smtp.inbox.subjects()[-1] == "Price spike in CORN"


def test_a_flood_sends_a_handful(alerts, smtp):
    sender = SmtpSender(config_for(smtp))
    for n in range(100):
        alerts.add(f"Position break in INSTR{n:03d}", "break", T0 + pd.Timedelta(seconds=n / 2))
    report = deliver_pending(alerts, sender, T0 + pd.Timedelta(minutes=1), max_per_hour=10)
    assert (report.sent, report.digested) == (9, 91)
    subjects = smtp.inbox.subjects()  # the digest is one of the hour's ten e-mails
    assert len(subjects) == 10 and subjects[-1] == "[digest] 91 more alerts"
    digest = smtp.inbox.messages[-1].get_payload()
    assert "INSTR099" in digest and "INSTR009" in digest
    assert alerts.undelivered() == []


def test_a_flood_raised_one_by_one_sends_at_most_the_hourly_limit(alerts, smtp):
    """Each alert is delivered as it is raised (as alert() does): the cap counts e-mails over
    the hour, so single-alert digests cannot add up to a hundred e-mails."""
    sender = SmtpSender(config_for(smtp))
    for n in range(100):
        when = T0 + pd.Timedelta(seconds=n / 2)
        alerts.add(f"Position break in INSTR{n:03d}", "break", when)
        assert deliver_pending(alerts, sender, when, max_per_hour=10).ok
    subjects = smtp.inbox.subjects()
    assert len(subjects) == 10
    assert subjects[:9] == [f"Position break in INSTR{n:03d}" for n in range(9)]
    assert subjects[9] == "Position break in INSTR009"  # the hour's last slot: alone, no digest
    waiting = alerts.undelivered()
    assert len(waiting) == 90 and {a.get("delivery") for a in waiting} == {None}
    # an hour later the budget is free again: nine alone, the rest in the hour's last e-mail
    report = deliver_pending(alerts, sender, T0 + pd.Timedelta(minutes=61), max_per_hour=10)
    assert (report.sent, report.digested, report.waiting) == (9, 81, 0)
    assert len(smtp.inbox.subjects()) == 20
    assert smtp.inbox.subjects()[-1] == "[digest] 81 more alerts"
    assert alerts.undelivered() == []


class _DownSender:
    """A mail server that never answers (each attempt would cost a connection timeout)."""

    def __init__(self):
        self.attempts = 0

    def send(self, subject: str, body: str) -> None:
        self.attempts += 1
        raise EmailError("cannot send e-mail via mail.example.com:587: TimeoutError")


def test_the_first_failure_ends_the_delivery(alerts):
    for n in range(5):
        alerts.add(f"Subject {n}", "x", T0)
    down = _DownSender()
    report = deliver_pending(alerts, down, T0)
    assert down.attempts == 1 and report.failed == 1  # one timeout, not one per alert
    assert [a.get("delivery") for a in alerts.all()] == ["failed", None, None, None, None]
    assert len(alerts.undelivered()) == 5  # nothing dropped: all retried later


def test_failures_are_stored_backed_off_and_retried(alerts):
    down = SmtpSender(EmailConfig(host="127.0.0.1", port=free_port(), to="ops@example.com",
                                  use_tls=False), timeout_seconds=2.0)
    alerts.add("Process run_systems crashed", "pid 12", T0)
    report = deliver_pending(alerts, down, T0)
    assert report.failed == 1 and "cannot send e-mail via 127.0.0.1" in report.last_error
    stored = alerts.all()[0]
    assert (stored["delivery"], stored["attempts"], stored["sent"]) == ("failed", 1, False)
    alerts.add("Another", "x", T0 + pd.Timedelta(minutes=1))
    postponed = deliver_pending(alerts, down, T0 + pd.Timedelta(minutes=1))
    assert postponed.failed == 0 and "postponed" in postponed.last_error
    server = SmtpTestServer("plain")
    try:
        up = SmtpSender(config_for(server))
        report = deliver_pending(alerts, up, T0 + pd.Timedelta(minutes=6))
        assert report.sent == 2 and report.ok
        assert sorted(server.inbox.subjects()) == ["Another", "Process run_systems crashed"]
    finally:
        server.stop()
    assert alerts.delivery_backoff_until() is None


def test_no_alert_is_sent_twice_by_two_deliverers(alerts, smtp):
    sender = SmtpSender(config_for(smtp))
    alerts.add("Capital guard", "10% move", T0)
    assert alerts.claim(1, "other-host:7", T0)  # another process is sending it right now
    assert deliver_pending(alerts, sender, T0 + pd.Timedelta(seconds=30)).sent == 0
    assert smtp.inbox.subjects() == []
    # a claim older than 5 minutes is stale (its process died): taken over
    assert deliver_pending(alerts, sender, T0 + pd.Timedelta(minutes=6)).sent == 1
    assert smtp.inbox.subjects() == ["Capital guard"]


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_tls_and_login(alerts, mode):
    server = SmtpTestServer(mode)
    try:
        config = EmailConfig(host="127.0.0.1", port=server.port, to="ops@example.com",
                             user=USER, password=PASSWORD, use_tls=(mode == "starttls"),
                             ssl=(mode == "ssl"))
        alerts.add("Expired key contract in GOLD", "roll overdue", T0)
        report = deliver_pending(alerts, SmtpSender(config, ssl_context=server.client_context),
                                 T0)
        assert report.sent == 1, report.last_error
        assert server.inbox.subjects() == ["Expired key contract in GOLD"]
        # a wrong password is a failure kept for retry, with the reason
        alerts.add("Second", "x", T0)
        bad = EmailConfig(**{**config.model_dump(), "password": "wrong"})
        failed = deliver_pending(alerts, SmtpSender(bad, timeout_seconds=3.0,
                                                    ssl_context=server.client_context), T0)
        assert failed.failed == 1 and failed.last_error.startswith("cannot send e-mail")
        assert PASSWORD not in failed.last_error and "wrong" not in failed.last_error
        assert alerts.all()[-1]["delivery"] == "failed"
    finally:
        server.stop()


def test_alert_on_a_blob_with_email_config_is_mailed_at_once(tmp_path, smtp):
    blob = make_blob(tmp_path / "home", clock=FixedClock("2024-03-07 14:00"))
    blob.config = SystradeConfig(email=config_for(smtp).model_dump())
    alert(blob, "Position break in CORN", "ours 2, broker 3")
    assert smtp.inbox.subjects() == ["Position break in CORN"]
    assert blob.alerts.all()[0]["delivery"] == "sent"
    blob.close()


def test_deliver_alerts_function(tmp_path, smtp):
    from sysproduction.deliver_alerts import deliver_alerts

    blob = make_blob(tmp_path / "home", clock=FixedClock("2024-03-07 14:00"))
    unconfigured = deliver_alerts(data=blob)
    assert unconfigured.ok and "not configured" in str(unconfigured)
    blob.alerts.add("Stored while mail was down", "x", T0)
    blob.config = SystradeConfig(email=config_for(smtp).model_dump())
    result = deliver_alerts(data=blob)
    assert result.ok and str(result).startswith("deliver_alerts: alert e-mails: 1 sent")
    assert smtp.inbox.subjects() == ["Stored while mail was down"]
    blob.close()


def test_deliver_alerts_is_not_ok_when_a_send_fails(tmp_path):
    """A failed delivery must not exit 0 (run.py and process control read ``ok``)."""
    from sysproduction.deliver_alerts import deliver_alerts

    blob = make_blob(tmp_path / "home", clock=FixedClock("2024-03-07 14:00"))
    blob.alerts.add("Stored while mail was down", "x", T0)
    blob.config = SystradeConfig(email=EmailConfig(
        host="127.0.0.1", port=free_port(), to="ops@example.com", use_tls=False).model_dump())
    result = deliver_alerts(data=blob)
    assert result.ok is False and "1 failed" in str(result)
    assert blob.alerts.undelivered()[0]["delivery"] == "failed"
    blob.close()
