"""The systrade home directory.

``SYSTRADE_HOME`` (default ``~/.systrade``) holds the private configuration (``private/``), the
embedded stores (``state.sqlite``, ``arctic/``), logs, backups and the simulated broker's own
store. One machine can run several independent systems (paper and live) with different homes.
"""
from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "SYSTRADE_HOME"
DEFAULT_HOME = "~/.systrade"


def systrade_home(create: bool = True) -> Path:
    """Return the home directory, creating it (and ``private/``) when ``create`` is true."""
    home = Path(os.environ.get(HOME_ENV) or DEFAULT_HOME).expanduser().resolve()
    if create:
        (home / "private").mkdir(parents=True, exist_ok=True)
    return home


def private_dir(home: Path | None = None) -> Path:
    return (home or systrade_home()) / "private"
