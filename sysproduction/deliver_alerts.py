"""E-mail the alerts that are still undelivered (retries after a mail-server failure).

    python run.py sysproduction.deliver_alerts.deliver_alerts

Alerts are e-mailed as they are raised; this catches up those that failed (the mail server was
down) and runs from process control every few minutes (``run_capital_update`` in the shipped
control config). Without ``email.host``/``email.to`` in the private config it does nothing.
"""
from __future__ import annotations

from sysdata.data_blob import DataBlob
from syslogdiag.email_delivery import DeliveryReport, deliver_for_config
from sysproduction.process_helpers import blob_for


def deliver_alerts(retry_now: bool = False, data: DataBlob | None = None) -> str:
    """Deliver pending alerts; ``retry_now`` ignores the back-off after a failure."""
    with blob_for(data, "deliver_alerts") as blob:
        report: DeliveryReport | None = deliver_for_config(blob.alerts, blob.config, blob.now(),
                                                           ignore_backoff=retry_now)
        if report is None:
            return "deliver_alerts: e-mail is not configured (email.host, email.to)"
        if report.failed:
            blob.log.error("deliver_alerts: %s", report)
        return f"deliver_alerts: {report}"
