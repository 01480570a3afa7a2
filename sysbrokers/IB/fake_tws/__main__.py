"""Standalone fake TWS: ``python -m sysbrokers.IB.fake_tws --port 7497 [--home DIR]``.

With ``--home`` the server uses that systrade home's clock and simulated broker exactly as the
home's own processes build them from its configuration (``clock``: ``simulated`` is the
``sim_clock.json`` shared with every process of the home; the ``sim`` settings: seed, costs,
bad data, configured instruments; the book ``sim_broker/broker.sqlite``), so fills and quotes
agree with theirs; the home must exist and open. Its ``broker`` may be ``sim`` or ``ib`` (a
home whose processes reach this server through ib_async: the same simulated broker is built
from its ``sim`` settings). Also ``systrade fake-tws``. Without it, the server runs on the machine's
clock with a simulated broker in a temporary directory that it creates and removes on exit.

Prints ``fake TWS listening on HOST:PORT`` once ready (``--port 0`` picks a free port). Stops
cleanly on SIGINT/SIGTERM (exit 0). Exit 2: bad arguments or missing home; exit 1: cannot
listen (port in use). Exit 2 too when the home's configuration or stores cannot be opened
(one line on stderr).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from sysbrokers.IB.fake_tws.server import FakeTws, FakeTwsConfig
from sysbrokers.sim.broker import SimBroker
from sysbrokers.sim.market import default_market
from syscore.clock import RealClock
from syscore.exceptions import problem_line

EXIT_OK, EXIT_LISTEN, EXIT_USAGE = 0, 1, 2


def build_parser(prog: str = "python -m sysbrokers.IB.fake_tws") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="Fake TWS / IB Gateway (API server version 178) on the simulated market.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on [127.0.0.1]")
    p.add_argument("--port", type=int, default=7497, help="TCP port, 0 for any free port [7497]")
    p.add_argument("--home", type=Path, help="systrade home: its simulated clock and broker")
    p.add_argument("--account", default="DU1234567", help="managed account id [DU1234567]")
    p.add_argument("--tws-zone", default="UTC", help="TWS login time zone for bar/exec times [UTC]")
    p.add_argument("--log-level", default="WARNING", help="logging level [WARNING]")
    return p


async def _serve(args: argparse.Namespace, broker: SimBroker, clock) -> int:
    fake = FakeTws(
        broker.market,
        clock,
        broker,
        FakeTwsConfig(accounts=(args.account,), tws_zone=args.tws_zone),
    )
    try:
        port = await fake.start(args.host, args.port)
    except OSError as exc:
        broker.close()
        print(
            f"fake TWS: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return EXIT_LISTEN
    print(f"fake TWS listening on {args.host}:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await fake.stop()
        broker.close()
    return EXIT_OK


def main(argv: list[str] | None = None, prog: str = "python -m sysbrokers.IB.fake_tws") -> int:
    """Also ``systrade fake-tws`` (``prog`` names the command in usage messages)."""
    args = build_parser(prog).parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    if not 0 <= args.port <= 65535:
        print(f"fake TWS: --port must be 0..65535, got {args.port}", file=sys.stderr)
        return EXIT_USAGE
    if args.home is not None:
        if not args.home.is_dir():
            print(
                f"fake TWS: home {args.home} does not exist (create it with systrade init)",
                file=sys.stderr,
            )
            return EXIT_USAGE
        return _serve_home(args)
    scratch = Path(tempfile.mkdtemp(prefix="fake_tws_"))
    try:
        clock = RealClock()
        return asyncio.run(_serve(args, SimBroker(clock, scratch, default_market()), clock))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)  # created by us above


def _serve_home(args: argparse.Namespace) -> int:
    """Serve the clock of the home's data blob and the simulated broker its ``sim`` settings
    describe, whether the home's ``broker`` is ``sim`` (the book its processes share) or
    ``ib`` (its processes reach this book through ib_async and this server)."""
    from sysbrokers.factory import sim_broker_from_blob
    from sysdata.data_blob import DataBlob

    try:
        data = DataBlob.from_config(home=args.home, process_name="fake_tws",
                                    broker_factory=sim_broker_from_blob)
    except Exception as exc:  # configuration, home or a store unusable (any backend's errors)
        print(f"fake TWS: cannot open home {args.home}: {problem_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    try:
        try:
            broker, clock = data.broker, data.clock
        except Exception as exc:  # e.g. an unknown clock kind, an unusable broker book
            print(f"fake TWS: home {args.home}: {problem_line(exc)}", file=sys.stderr)
            return EXIT_USAGE
        return asyncio.run(_serve(args, broker, clock))
    finally:
        data.close()


if __name__ == "__main__":
    sys.exit(main())
