"""``systrade`` subcommands provided by sysinit (loaded by ``syscore.cli``): ``systrade demo``.

The demo initialises a sandbox home (sysinit) and then runs sysproduction's processes on it, so
it lives at the top of ARCHITECTURE.md's table, here, not in sysproduction.
"""
from __future__ import annotations

import argparse

from syscore.cli import register_command


def _configure_demo(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--days", type=int, default=5,
                        help="simulated business days to run (default 5)")
    parser.add_argument("--stop-before", metavar="PROCESS",
                        help="on the last day, stop just before this process is launched")
    parser.add_argument("--instruments", metavar="CODES",
                        help="a new home only: comma-separated instrument codes, or ALL for the "
                             "30-instrument universe (default: 8 instruments)")
    parser.add_argument("--broker", choices=("sim", "ib"), default="sim",
                        help="sim: the simulated broker directly (default); ib: through "
                             "ib_async and a fake TWS process started for the run")


@register_command("demo", help="run the end-to-end demo on the simulated market",
                  configure=_configure_demo)
def _demo(args: argparse.Namespace) -> int:
    from sysinit.demo import run_demo

    result = run_demo(days=args.days, stop_before=args.stop_before,
                      instruments=args.instruments, broker=args.broker)
    return 0 if result.ok else 1
