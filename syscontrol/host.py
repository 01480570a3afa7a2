"""This machine's name as process control records it.

``SYSTRADE_HOST`` overrides the operating system's host name: set it when two machines share a
store and report the same name (cloned images), or to run two "hosts" on one machine in tests.
"""
from __future__ import annotations

import os
import socket

HOST_ENV = "SYSTRADE_HOST"


def host_name() -> str:
    return os.environ.get(HOST_ENV) or socket.gethostname()
