"""Serve the dashboard of a home with waitress (a production WSGI server, pure Python).

:func:`serve` opens the home read-only in intent (it only calls reading functions), builds the
Flask app, listens on ``host:port`` (default 127.0.0.1:8050; port 0 picks a free port), prints
``systrade dashboard: serving <home> at http://host:port/`` on stdout, and serves until
SIGINT or SIGTERM, then closes the stores.

Refused (:class:`~syscore.exceptions.StartupError`, one line, exit code 2): a folder that is not
an initialised home (the dashboard never creates or adopts stores), a host that is not a
loopback address without a password, an empty password file.
"""
from __future__ import annotations

import ipaddress
import logging
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from syscore.config import load_config
from syscore.config_models import SystradeConfig
from syscore.exceptions import StartupError
from syscore.home import HOME_ENV
from sysdata.home_record import marker_path, read_home_record
from sysproduction.dashboard.panels import DashboardSettings

PROCESS = "dashboard"
log = logging.getLogger("systrade.dashboard")


@dataclass(frozen=True)
class ServeOptions:
    """Command-line overrides of the ``dashboard`` config section (None: use the config)."""

    host: str | None = None
    port: int | None = None
    password_file: Path | None = None
    refresh_seconds: int | None = None


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_password_file(path: Path) -> str:
    """The first line of ``path`` (without its line end); :class:`StartupError` if the file
    cannot be read or the line is empty."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise StartupError(f"cannot read the password file {path}: {exc}") from None
    lines = text.splitlines()
    password = lines[0] if lines else ""
    if not password:
        raise StartupError(f"the password file {path} is empty: write the password on its "
                           f"first line")
    return password


def resolve_password(config: SystradeConfig, options: ServeOptions) -> str | None:
    """``--password-file`` if given, else ``dashboard.password`` (private config, or
    ``SYSTRADE_DASHBOARD_PASSWORD``), else None (no authentication)."""
    if options.password_file is not None:
        return read_password_file(options.password_file)
    secret = config.dashboard.password
    value = secret.get_secret_value() if secret is not None else ""
    return value or None


def check_home(home: Path) -> None:
    """:class:`StartupError` unless ``home`` is an initialised home (it has its marker): the
    dashboard must never create stores where none are."""
    if not home.is_dir():
        raise StartupError(f"no systrade home at {home}: set {HOME_ENV} or --home to an "
                           f"existing home")
    if read_home_record(home) is None:
        raise StartupError(f"{home} is not an initialised systrade home (no "
                           f"{marker_path(home).name}); the dashboard only reads a home: "
                           f"create it with 'systrade init', or run 'systrade status' once on "
                           f"a home from before home markers")


def serve(home: Path, options: ServeOptions = ServeOptions(), out: TextIO | None = None
          ) -> None:
    """Serve the dashboard of ``home`` until SIGINT/SIGTERM (module docstring)."""
    from waitress import create_server

    from syslogdiag.logging_setup import setup_logging, teardown_logging
    from sysproduction.blob import production_blob
    from sysproduction.dashboard.app import create_app

    out = out or sys.stdout
    check_home(home)
    config = load_config(home)
    settings_config = config.dashboard
    host = options.host or settings_config.host
    port = settings_config.port if options.port is None else options.port
    password = resolve_password(config, options)
    if password is None and not is_loopback(host):
        raise StartupError(f"refusing to serve on {host} without a password: set "
                           f"dashboard.password (or SYSTRADE_DASHBOARD_PASSWORD, or "
                           f"--password-file), or keep the default 127.0.0.1 and use an SSH "
                           f"tunnel")
    settings = DashboardSettings(
        refresh_seconds=options.refresh_seconds or settings_config.refresh_seconds,
        curve_days=settings_config.curve_days, alert_days=settings_config.alert_days,
        log_lines=settings_config.log_lines)
    # console and file only: a store handler would write log records into the home
    setup_logging(config, home, PROCESS, secrets=[password] if password else ())
    logging.getLogger("waitress").setLevel(logging.WARNING)
    # the blob is opened, used and closed on the one thread that reads (see .app)
    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dashboard-read")
    data = reader.submit(production_blob, home, process_name=PROCESS, config=config).result()
    try:
        app = create_app(data, settings, user=settings_config.user, password=password,
                         reader=reader)
        try:
            server = create_server(app, host=host, port=port, threads=4,
                                   ident="systrade-dashboard")
        except OSError as exc:
            raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror or exc}"
                               ) from None
        def stop(signum, frame):
            raise SystemExit(0)

        previous = signal.signal(signal.SIGTERM, stop)  # before the address is announced
        shown = f"[{host}]" if ":" in host else host
        out.write(f"systrade dashboard: serving {home} at "
                  f"http://{shown}:{server.effective_port}/ (read-only"
                  f"{', password required' if password else ''}; Ctrl-C stops)\n")
        out.flush()
        log.info("dashboard serving %s on %s:%s", home, host, server.effective_port)
        try:
            server.run()  # returns on SystemExit / KeyboardInterrupt
        finally:
            signal.signal(signal.SIGTERM, previous)
            server.close()
        log.info("dashboard stopped")
    finally:
        reader.submit(data.close).result()
        reader.shutdown()
        teardown_logging()
