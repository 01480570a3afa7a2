"""Keep secrets out of log output, reports and status displays.

:func:`config_secrets` collects every secret value of a configuration: each ``SecretStr`` (e-mail
password, IB account, ...) and any password or key embedded in a store URL.
:class:`RedactingFilter`, attached to every handler by ``setup_logging``, replaces those values by
``***`` in the message, its arguments, exception text and context attributes before any handler
formats or stores the record. :func:`redact_url` (masking a URL's password and credential
parameters) is :func:`syscore.redaction.redact_url`, re-exported here.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, SecretStr

from syscore.redaction import MASK, redact_url, url_secrets
from syslogdiag.context import CONTEXT_ATTRIBUTE, CONTEXT_FIELDS, record_context

__all__ = ["MASK", "RedactingFilter", "config_secrets", "redact_url", "url_secrets"]

def config_secrets(config: BaseModel) -> list[str]:
    """Every secret value in a configuration model (``SecretStr`` fields, recursively, and
    credentials inside URL-valued strings), longest first; empty values are skipped."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name))
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)
        elif isinstance(value, str) and "://" in value:
            found.extend(url_secrets(value))

    walk(config)
    return sorted({s for s in found if s}, key=len, reverse=True)


class RedactingFilter(logging.Filter):
    """Replaces configured secret values by ``***`` in a record, in place.

    The message is rendered (``msg % args``) and redacted, exception and stack text are rendered
    and redacted, and string context values are redacted. Never drops a record.
    """

    def __init__(self, secrets: Iterable[str]):
        super().__init__()
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        """``text`` with this filter's secrets masked, longest first (sorted once in
        ``__init__``: this runs on every log record)."""
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep the raw text
            message = f"{record.msg} {record.args}"
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
            # the traceback text is final; formatters must not re-render the raw exception
            record.exc_info = None
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        context = record_context(record)
        if context:
            cleaned = {k: self.redact(v) if isinstance(v, str) else v for k, v in context.items()}
            setattr(record, CONTEXT_ATTRIBUTE, cleaned)
            for name in CONTEXT_FIELDS:
                if name in cleaned:
                    setattr(record, name, cleaned[name])
        return True
