"""``systrade`` subcommands provided by sysproduction (loaded by ``syscore.cli``); ``systrade
demo`` is in :mod:`sysinit.commands` (the demo initialises a home with sysinit)."""
from __future__ import annotations

import argparse
from pathlib import Path

from syscore.cli import register_command

PROCESS_ACTIONS = ("list", "go", "stop", "no-run", "pause", "mark-close", "mark-dead")


def _configure_process(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=PROCESS_ACTIONS,
                        help="list; go|stop|no-run|pause NAME|ALL; mark-close NAME|ALL; "
                             "mark-dead")
    parser.add_argument("name", nargs="?", help="process name, or ALL")


@register_command("process", help="process control: list, go/stop/no-run/pause, mark-close, "
                                  "mark-dead", configure=_configure_process)
def _process(args: argparse.Namespace) -> int:
    import sys

    from syscore.exceptions import SystradeError
    from sysproduction import process_control_ops as ops
    from sysproduction.blob import production_blob

    needs_name = args.action not in ("list", "mark-dead")
    if needs_name and not args.name:
        sys.stderr.write(f"systrade process {args.action}: give a process name or ALL\n")
        return 2
    try:
        with production_blob(process_name="process_control") as data:
            if args.action == "list":
                print(format_process_rows(ops.list_processes(data)))
            elif args.action == "mark-dead":
                marked = ops.mark_dead_processes(data)
                print(f"marked crashed: {', '.join(marked) if marked else 'none'}")
            elif args.action == "mark-close":
                print(f"marked closed: {', '.join(ops.mark_process_close(data, args.name))}")
            else:
                names = ops.set_process_status(data, args.name, args.action)
                print(f"status {args.action.upper()}: {', '.join(names)}")
    except SystradeError as exc:
        sys.stderr.write(f"systrade process {args.action}: {exc}\n")
        return 2
    return 0


def format_process_rows(rows) -> str:
    """A plain table of :class:`~sysproduction.process_control_ops.ProcessRow` (UTC times)."""
    def when(value):
        return "-" if value is None else f"{value:%Y-%m-%d %H:%M}"

    header = ("process", "status", "state", "alive", "pid", "host", "last start", "last end",
              "heartbeat")
    lines = [header] + [(r.name, r.status, r.run_state, "yes" if r.alive else "no",
                         str(r.pid or "-"), r.host or "-", when(r.last_start), when(r.last_end),
                         when(r.heartbeat)) for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
                     for line in lines)


TRADING_STATE_ACTIONS = ("show", "set")


def _configure_trading_state(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=TRADING_STATE_ACTIONS,
                        help="show; set ACTIVE|REDUCING|HALTED --reason TEXT")
    parser.add_argument("state", nargs="?", help="ACTIVE, REDUCING or HALTED (set)")
    parser.add_argument("--reason", help="why (set; required: it is the audit record)")
    parser.add_argument("--history", type=int, default=10,
                        help="changes to show (show; default 10)")


@register_command("trading-state", help="global trading state: show, or set ACTIVE / "
                                        "REDUCING / HALTED with a reason",
                  configure=_configure_trading_state)
def _trading_state(args: argparse.Namespace) -> int:
    """Exit 0 done (also when the state already was the one asked), 2 on a usage error or a
    store that cannot be opened (one line on stderr)."""
    import sys

    from syscore.exceptions import SystradeError
    from sysobjects.trading_state import TradingState
    from sysproduction.blob import production_blob
    from sysproduction.trading_state_ops import set_trading_state, show_trading_state

    if args.action == "set":
        if not args.state:
            sys.stderr.write("systrade trading-state set: give ACTIVE, REDUCING or HALTED\n")
            return 2
        if not args.reason or not args.reason.strip():
            sys.stderr.write("systrade trading-state set: give --reason (it is recorded)\n")
            return 2
    try:
        if args.action == "set":
            state = TradingState.parse(args.state)  # before opening any store
        with production_blob(process_name="trading_state") as data:
            if args.action == "show":
                print(show_trading_state(data, args.history))
                return 0
            change = set_trading_state(data, state, args.reason)
            if change is None:
                print(f"trading state already {state.value}: nothing changed")
            else:
                print(f"trading state {change.previous.value} -> {change.state.value}: "
                      f"{change.reason}")
    except SystradeError as exc:
        sys.stderr.write(f"systrade trading-state {args.action}: {exc}\n")
        return 2
    return 0


SCHEDULE_KINDS = ("crontab", "supervisor", "systemd", "scripts")


def _configure_schedule(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=SCHEDULE_KINDS)
    parser.add_argument("--output", help="folder to write the files to (default: print)")
    parser.add_argument("--bin-dir", help="the virtualenv's bin folder (default: this Python's)")
    parser.add_argument("--echo-dir", help="echo files folder (default: $SYSTRADE_HOME/echos)")
    parser.add_argument("--working-dir", help="working directory (default: $SYSTRADE_HOME)")
    parser.add_argument("--cron-timezone", default="UTC",
                        help="the machine's cron time zone (default UTC)")


@register_command("schedule", help="write crontab, supervisor or systemd files from the "
                                   "control config, or the linux/scripts wrappers",
                  configure=_configure_schedule)
def _schedule(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from syscore.exceptions import SystradeError
    from syscore.home import systrade_home
    from sysproduction.schedule import schedule_files

    home = systrade_home(create=False)
    try:
        files = schedule_files(args.kind, home, bin_dir=args.bin_dir, echo_dir=args.echo_dir,
                               working_dir=args.working_dir, cron_timezone=args.cron_timezone)
        if not args.output:
            for name, text in files.items():
                if len(files) > 1:
                    print(f"# ---- {name}")
                sys.stdout.write(text)
            return 0
        from sysproduction.schedule import write_schedule_files

        for path in write_schedule_files(files, Path(args.output)):
            print(f"wrote {path}")
    except SystradeError as exc:
        sys.stderr.write(f"systrade schedule: {exc}\n")
        return 2
    return 0


def _configure_exo(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("check", "backfill", "install", "view"))
    parser.add_argument("--product", help="only this product's EXOs (backfill)")
    parser.add_argument("--start", help="first day, YYYY-MM-DD (backfill; default 2020-01-02)")
    parser.add_argument("--end", help="last day, YYYY-MM-DD (backfill; default today)")


@register_command("exo", help="EXO settings check and resumable backfill",
                  configure=_configure_exo)
def _exo(args: argparse.Namespace) -> int:
    import sys

    from syscore.exceptions import SystradeError
    from syscore.home import private_dir, systrade_home
    from sysexo.settings import SETTINGS_FILE, load_exo_settings

    try:
        home = systrade_home(create=False)
        if args.action == "check":
            load_exo_settings(private_dir(home) / SETTINGS_FILE)
            return 0
        if args.action == "view":
            from sysproduction.exo_backfill import exo_viewer

            print(f"wrote {exo_viewer()}")
            return 0
        if args.action == "install":
            from sysproduction.exo_install import install_exo_processes

            target = install_exo_processes(
                home, load_exo_settings(private_dir(home) / SETTINGS_FILE))
            print(f"wrote {target}; generate launch files with 'systrade schedule crontab' "
                  f"(or supervisor, systemd)")
            return 0
        from sysproduction.exo_backfill import exo_backfill

        def progress(name: str, done: int, total: int) -> None:
            sys.stderr.write(f"\r{name}: {done}/{total} days")
            if done == total:
                sys.stderr.write("\n")

        report = exo_backfill(product=args.product, start=args.start, end=args.end,
                              progress=progress)
        print(report)
        return 0 if report.ok else 1
    except SystradeError as exc:
        sys.stderr.write(f"systrade exo {args.action}: {exc}\n")
        return 2


def status_lines(home: Path) -> list[tuple[str, str]]:
    """``(label, value)`` pairs describing the configuration of ``home``; no secret values."""
    from syscore.config import load_config
    from syscore.store_urls import resolve_state_store, resolve_timeseries_uri
    from syslogdiag.logging_setup import log_directory
    from syslogdiag.redaction import redact_url

    config = load_config(home)
    state = resolve_state_store(config.state_store, home).url
    timeseries = resolve_timeseries_uri(config.timeseries_store, home)
    logging_config = config.logging
    outputs = [name for name in ("console", "file") if getattr(logging_config, name)]
    if logging_config.store:
        outputs.append(f"store at {logging_config.store_level}")
    email = config.email
    if email.host:
        email_text = (f"{email.host}:{email.port} to {email.to or '(no recipient)'}, password "
                      f"{'set' if email.password else 'not set'}")
    else:
        email_text = "not configured"
    ib = config.ib
    return [
        ("home", str(home)),
        ("state store", redact_url(state)),
        ("time series", redact_url(timeseries)),
        ("broker", config.broker),
        ("clock", config.clock),
        ("base currency", config.base_currency),
        ("logging", f"{logging_config.level} ({', '.join(outputs) or 'off'}); "
                    f"files in {log_directory(home)}"),
        ("e-mail", email_text),
        ("IB gateway", f"{ib.host}:{ib.port}, account {'set' if ib.account else 'not set'}"),
    ]


def _configure_status(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true",
                        help="print the whole status as JSON (for monitoring)")
    parser.add_argument("--config-only", action="store_true",
                        help="only the configuration summary (no stores opened)")


@register_command("status", help="the home's state: configuration, processes, positions and "
                                 "breaks, locks, orders, capital, prices, alerts",
                  configure=_configure_status)
def _status(args: argparse.Namespace) -> int:
    """Exit 0 when the home exists, its configuration can run and its state could be read;
    1 when the state shows a position break (ours vs the broker's, or strategies vs contracts;
    everything is still printed, and one line naming the breaks goes to stderr, so cron and
    monitoring see it); 2 when the home does not exist, the configuration is invalid, a store
    cannot be opened, or the configuration names a broker that cannot be reached (what can be
    shown is shown)."""
    import json
    import sys

    from syscore.exceptions import ConfigError, SystradeError
    from syscore.home import HOME_ENV, systrade_home

    home = systrade_home(create=False)
    if not home.is_dir():
        sys.stderr.write(f"systrade status: no systrade home at {home}: set {HOME_ENV} or "
                         f"--home to an existing home, or create one with 'systrade init' "
                         f"(docs/installation.md)"
                         f"\n")
        return 2
    try:
        lines = status_lines(home)
    except ConfigError as exc:
        sys.stderr.write(f"systrade status: configuration error: {exc}\n")
        return 2
    state = None
    problem = ""
    if not args.config_only:
        from sysproduction.blob import production_blob
        from sysproduction.system_status import collect_status

        try:
            with production_blob(home, process_name="status") as data:
                state = collect_status(data)
        except SystradeError as exc:
            problem = f"systrade status: cannot read the stores: {exc}"
        else:
            unreachable = (state.get("positions") or {}).get("broker_unreachable")
            if unreachable:  # docs/installation.md: a broker that cannot be reached is exit 2
                problem = f"systrade status: {unreachable}"
    if args.json:
        print(json.dumps({"configuration": dict(lines), "state": state,
                          "problem": problem or None}, indent=2, default=str))
    else:
        width = max(len(label) for label, _ in lines) + 1
        for label, value in lines:
            print(f"{label + ':':<{width}} {value}")
        if state is not None:
            from sysproduction.system_status import format_status

            print()
            print(format_status(state))
    if problem:
        sys.stderr.write(problem + "\n")
        return 2
    summary = _break_summary(state)
    if summary:
        sys.stderr.write(f"systrade status: {summary}\n")
        return 1
    return 0


def _break_summary(state: dict | None) -> str:
    """One line naming the position breaks in ``state`` (``collect_status``'s result), or ''
    when there are none (or the positions could not be read: that is reported apart)."""
    positions = (state or {}).get("positions") or {}
    if "error" in positions:
        return ""
    items = [f"{b['instrument']} {b['contract']}: ours {b['ours']}, broker {b['broker']}"
             for b in positions.get("breaks", [])]
    items += [f"{b['instrument']}: strategies {b['strategies']}, contracts {b['contracts']}"
              for b in positions.get("internal_breaks", [])]
    if not items:
        return ""
    return (f"{len(items)} position break{'s' if len(items) > 1 else ''}: {'; '.join(items)} "
            f"(docs/execution.md, 'Recovering from a position break')")


def _configure_init(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--force", action="store_true",
        help="re-initialise a home whose stores are missing or empty: create them empty and "
             "record them (stores that still hold data are kept as they are)")


@register_command("init", help="create the home's stores and record the home as initialised",
                  configure=_configure_init)
def _init(args: argparse.Namespace) -> int:
    import sys

    from syscore.config import load_config
    from syscore.exceptions import ConfigError, ExistingData, StoreError
    from syscore.home import systrade_home
    from sysdata.home_record import initialise_home

    home = systrade_home()
    try:
        config = load_config(home)
    except ConfigError as exc:  # a start-up error: exit 2 like every command (exit_codes.md)
        sys.stderr.write(f"systrade init: error: {exc}\n")
        return 2
    try:
        opened = initialise_home(home, config, force=args.force)
    except (ExistingData, StoreError, ConfigError) as exc:
        sys.stderr.write(f"systrade init: {exc}\n")
        return 1
    try:
        lines = list(opened.actions) or [
            f"systrade home {home} recorded as initialised (its stores were already this home's)"]
        for line in lines:
            print(line)
        record = opened.record
        if record is not None:
            print(f"home {home}: id {record.home_id}, initialised {record.created}; state store "
                  f"{record.state_store}; time-series store {record.timeseries_store}")
    finally:
        opened.state.close()
        opened.timeseries.close()
    return 0


def _configure_dashboard(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int,
                        help="port to listen on (default dashboard.port, 8050; 0 picks a free one)")
    parser.add_argument("--host",
                        help="address to listen on (default dashboard.host, 127.0.0.1; another "
                             "address needs a password)")
    parser.add_argument("--password-file", type=Path,
                        help="require HTTP basic authentication with the password on this "
                             "file's first line (default: dashboard.password or "
                             "SYSTRADE_DASHBOARD_PASSWORD; none: no authentication)")
    parser.add_argument("--refresh", type=int, dest="refresh_seconds",
                        help="seconds between page reloads (default dashboard.refresh_seconds)")


@register_command("dashboard", help="serve a read-only web dashboard of the home "
                                    "(127.0.0.1 by default)", configure=_configure_dashboard)
def _dashboard(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C or SIGTERM (exit 0). A home that is not initialised, an invalid
    configuration, a port in use or an unsafe host: one line, exit 2 (docs/dashboard.md)."""
    from syscore.exceptions import StartupError
    from syscore.home import systrade_home
    from sysproduction.dashboard.server import ServeOptions, serve

    if args.port is not None and not 0 <= args.port <= 65535:
        raise StartupError(f"--port must be 0..65535, got {args.port}")
    if args.refresh_seconds is not None and args.refresh_seconds < 5:
        raise StartupError(f"--refresh must be at least 5 seconds, got {args.refresh_seconds}")
    serve(systrade_home(create=False),
          ServeOptions(host=args.host, port=args.port, password_file=args.password_file,
                       refresh_seconds=args.refresh_seconds))
    return 0


@register_command("fake-tws", help="a fake TWS / IB Gateway on the simulated market, for a "
                                   "home's ib_async processes (--home DIR --port N)",
                  passthrough=True)
def _fake_tws(args: argparse.Namespace) -> int:
    """``systrade fake-tws [--home DIR] [--port N] ...``: see ``sysbrokers.IB.fake_tws``
    (exit 0 stopped by a signal, 1 cannot listen, 2 bad arguments or home). Without its own
    ``--home`` it serves the home every other command uses (``systrade --home DIR`` or
    ``SYSTRADE_HOME``); with neither, a throwaway simulated broker."""
    import os

    from sysbrokers.IB.fake_tws.__main__ import main
    from syscore.home import HOME_ENV

    rest = list(args.rest)
    has_home = any(w == "--home" or w.startswith("--home=") for w in rest)
    if not has_home and os.environ.get(HOME_ENV):
        rest = ["--home", os.environ[HOME_ENV], *rest]
    return main(rest, prog="systrade fake-tws")
