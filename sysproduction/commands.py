"""``systrade`` subcommands provided by sysproduction (loaded by ``syscore.cli``)."""
from __future__ import annotations

import argparse

from syscore.cli import register_command


def _configure_demo(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--days", type=int, default=5,
                        help="simulated business days to run (default 5)")
    parser.add_argument("--stop-before", metavar="PROCESS",
                        help="on the last day, stop just before this process is launched")


@register_command("demo", help="run the end-to-end demo on the simulated market",
                  configure=_configure_demo)
def _demo(args: argparse.Namespace) -> int:
    from sysproduction.demo import run_demo

    result = run_demo(days=args.days, stop_before=args.stop_before)
    return 0 if result.ok else 1


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
    from sysdata.data_blob import DataBlob
    from sysproduction import process_control_ops as ops

    needs_name = args.action not in ("list", "mark-dead")
    if needs_name and not args.name:
        sys.stderr.write(f"systrade process {args.action}: give a process name or ALL\n")
        return 2
    try:
        with DataBlob.from_config(process_name="process_control") as data:
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


SCHEDULE_KINDS = ("crontab", "supervisor", "systemd")


def _configure_schedule(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=SCHEDULE_KINDS)
    parser.add_argument("--output", help="folder to write the files to (default: print)")
    parser.add_argument("--bin-dir", help="the virtualenv's bin folder (default: this Python's)")
    parser.add_argument("--echo-dir", help="echo files folder (default: $SYSTRADE_HOME/echos)")
    parser.add_argument("--working-dir", help="working directory (default: $SYSTRADE_HOME)")
    parser.add_argument("--cron-timezone", default="UTC",
                        help="the machine's cron time zone (default UTC)")


@register_command("schedule", help="write crontab, supervisor or systemd files from the "
                                   "control config", configure=_configure_schedule)
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
        opened = initialise_home(home, load_config(home), force=args.force)
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
