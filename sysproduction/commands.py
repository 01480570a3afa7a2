"""``systrade`` subcommands provided by sysproduction (loaded by ``syscore.cli``)."""
from __future__ import annotations

import argparse

from syscore.cli import register_command


def _configure_demo(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--days", type=int, default=3,
                        help="simulated business days to run (default 3)")


@register_command("demo", help="run the end-to-end demo on the simulated market",
                  configure=_configure_demo)
def _demo(args: argparse.Namespace) -> int:
    from sysproduction.demo import run_demo

    run_demo(days=args.days)
    return 0
