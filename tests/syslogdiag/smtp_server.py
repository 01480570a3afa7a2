"""A real SMTP server (aiosmtpd) on 127.0.0.1 for tests: plain, STARTTLS or implicit TLS,
optionally requiring a login; certificates from a test CA (trustme)."""
from __future__ import annotations

import ssl
import threading

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.mongo_server import free_port

USER, PASSWORD = "trader", "s3cret-pass"


class Inbox:
    def __init__(self):
        self.messages: list = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        from email import message_from_bytes

        with self.lock:
            self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def subjects(self) -> list[str]:
        with self.lock:
            return [str(m["Subject"]) for m in self.messages]


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == USER
          and auth_data.password.decode() == PASSWORD)
    return AuthResult(success=ok)


class SmtpTestServer:
    """``mode``: "plain", "starttls" (login required over TLS) or "ssl" (implicit TLS)."""

    def __init__(self, mode: str = "plain"):
        self.inbox = Inbox()
        self.port = free_port()
        self.ca = trustme.CA()
        cert = self.ca.issue_cert("127.0.0.1", "localhost")
        server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(server_context)
        self.client_context = ssl.create_default_context()
        self.ca.configure_trust(self.client_context)
        kwargs = {}
        if mode == "starttls":
            kwargs = dict(tls_context=server_context, require_starttls=True,
                          authenticator=_authenticator, auth_require_tls=True)
        elif mode == "ssl":
            kwargs = dict(ssl_context=server_context, authenticator=_authenticator,
                          auth_require_tls=False)
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port,
                                     server_hostname="127.0.0.1", **kwargs)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()
