"""E-mail the alerts that are still undelivered (retries after a mail-server failure).

    python run.py sysproduction.deliver_alerts.deliver_alerts

Alerts are e-mailed as they are raised; this catches up those that failed (the mail server was
down) or waited for the hourly e-mail limit, and runs from process control every few minutes
(``run_capital_update`` in the shipped control config). Without ``email.host``/``email.to`` in
the private config it does nothing. A failed send makes the run not ok (exit code 1 from
``run.py``; a failed method for process control); the alert stays stored and is retried.
"""
from __future__ import annotations

from dataclasses import dataclass

from sysdata.data_blob import DataBlob
from syslogdiag.email_delivery import DeliveryReport, deliver_for_config
from sysproduction.process_helpers import blob_for


@dataclass(frozen=True)
class DeliverAlertsResult:
    """What one run did: the delivery report, or None when e-mail is not configured."""

    report: DeliveryReport | None

    @property
    def ok(self) -> bool:
        return self.report is None or self.report.ok

    def __str__(self) -> str:
        if self.report is None:
            return "deliver_alerts: e-mail is not configured (email.host, email.to)"
        return f"deliver_alerts: {self.report}"


def deliver_alerts(retry_now: bool = False, data: DataBlob | None = None
                   ) -> DeliverAlertsResult:
    """Deliver pending alerts; ``retry_now`` ignores the back-off after a failure."""
    with blob_for(data, "deliver_alerts") as blob:
        result = DeliverAlertsResult(deliver_for_config(blob.alerts, blob.config, blob.now(),
                                                        ignore_backoff=retry_now))
        if not result.ok:
            blob.log.error("%s", result)
        return result
