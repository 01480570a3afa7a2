"""The ``systrade`` command: a registry of subcommands.

Built in: ``systrade run module.function --param value`` (as ``run.py``), ``systrade home``
(print the home directory); ``systrade status`` and the other commands are registered by
:data:`PLUGIN_MODULES` (``sysproduction.commands``, ``sysinit.commands``).
``systrade --home DIR <command>`` sets ``SYSTRADE_HOME`` for the command.

Adding a command (e.g. ``systrade demo``) from another package::

    from syscore.cli import register_command

    @register_command("demo", help="run the simulated demo", configure=lambda p: p.add_argument(
        "--days", type=int, default=5))
    def demo(args) -> int:
        ...
        return 0

The module must be imported before the parser is built: list it in :data:`PLUGIN_MODULES`
(imported when present), or declare it in the ``systrade.commands`` entry-point group (the entry
point's object is loaded; if callable it is called with :func:`register_command`).
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from syscore.home import HOME_ENV, systrade_home

ENTRY_POINT_GROUP = "systrade.commands"
#: Modules imported (when they exist) so their ``register_command`` calls take effect.
PLUGIN_MODULES: tuple[str, ...] = ("sysproduction.commands", "sysinit.commands")

Handler = Callable[[argparse.Namespace], int]


@dataclass(frozen=True)
class Command:
    """A subcommand: ``handler(args)`` returns the exit code. ``configure(parser)`` adds its
    arguments. A ``passthrough`` command receives every word after its name unparsed, as the
    list ``args.rest``."""

    name: str
    help: str
    handler: Handler
    configure: Callable[[argparse.ArgumentParser], None] | None = None
    passthrough: bool = False


_REGISTRY: dict[str, Command] = {}


def register_command(name: str, help: str,
                     configure: Callable[[argparse.ArgumentParser], None] | None = None,
                     passthrough: bool = False) -> Callable[[Handler], Handler]:
    """Decorator registering ``handler`` as ``systrade <name>``; a name can be registered once
    (re-registering the same function, e.g. on re-import, is allowed)."""

    def decorate(handler: Handler) -> Handler:
        existing = _REGISTRY.get(name)
        if existing is not None and existing.handler.__qualname__ != handler.__qualname__:
            raise ValueError(f"systrade command {name!r} is already registered")
        _REGISTRY[name] = Command(name, help, handler, configure, passthrough)
        return handler

    return decorate


def commands() -> dict[str, Command]:
    """Registered commands by name (after loading plugins)."""
    load_plugins()
    return dict(_REGISTRY)


_plugins_loaded = False


def load_plugins() -> None:
    """Import :data:`PLUGIN_MODULES` that exist and load ``systrade.commands`` entry points.
    A plugin that fails to load is reported on stderr and skipped."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for module in PLUGIN_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name is None or not (module == exc.name or module.startswith(exc.name + ".")):
                sys.stderr.write(f"systrade: cannot load commands from {module}: {exc}\n")
        except Exception as exc:
            sys.stderr.write(f"systrade: cannot load commands from {module}: {exc}\n")
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = entry.load()
            if callable(loaded):
                loaded(register_command)
        except Exception as exc:
            sys.stderr.write(f"systrade: cannot load command plugin {entry.name}: {exc}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="systrade", description="systrade command line")
    parser.add_argument("--home", help=f"systrade home directory (sets {HOME_ENV})")
    sub = parser.add_subparsers(dest="command", metavar="command")
    for command in sorted(commands().values(), key=lambda c: c.name):
        child = sub.add_parser(command.name, help=command.help, description=command.help,
                               add_help=not command.passthrough)
        if command.configure is not None:
            command.configure(child)
    return parser


def _split_passthrough(words: list[str]) -> tuple[list[str], str, list[str]] | None:
    """``(global options, command, rest)`` when the command is a passthrough one, else None
    (argparse would try to read the passed-through ``--options`` itself)."""
    index = 0
    while index < len(words):
        word = words[index]
        if word == "--home":
            index += 2
        elif word.startswith("--home="):
            index += 1
        else:
            break
    if index < len(words):
        command = _REGISTRY.get(words[index])
        if command is not None and command.passthrough:
            return words[:index], command.name, words[index + 1:]
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``systrade`` console script; returns the exit code."""
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    split = _split_passthrough(words)
    if split is not None:
        global_words, name, rest = split
        args = parser.parse_args([*global_words, name])
        args.rest = rest
    else:
        args = parser.parse_args(words)
    if args.home:
        os.environ[HOME_ENV] = str(Path(args.home).expanduser().resolve())
    if not args.command:
        parser.print_help(sys.stderr)
        return 2
    return run_command(_REGISTRY[args.command], args)


def run_command(command: Command, args: argparse.Namespace) -> int:
    """Call the command's handler; a start-up or configuration error it lets through is one
    line on stderr and exit 2, any other exception one line and exit 1 (never a traceback;
    ``systrade run --traceback`` shows it for ``run``)."""
    from syscore.exceptions import ConfigError, StartupError, first_line, problem_line

    try:
        return command.handler(args)
    except KeyboardInterrupt:
        sys.stderr.write(f"systrade {command.name}: interrupted\n")
        return 130
    except (ConfigError, StartupError) as exc:
        sys.stderr.write(f"systrade {command.name}: error: {first_line(exc)}\n")
        return 2
    except OSError as exc:
        sys.stderr.write(f"systrade {command.name}: error: {problem_line(exc)}\n")
        return 2
    except Exception as exc:
        sys.stderr.write(f"systrade {command.name}: failed: {type(exc).__name__}: "
                         f"{first_line(exc)}\n")
        return 1


# --- built-in commands ------------------------------------------------------------------------

@register_command("run", help="run a function: systrade run module.function --param value ...",
                  passthrough=True)
def _run(args: argparse.Namespace) -> int:
    from syscore.run_function import run_function

    if os.getcwd() not in sys.path:  # like ``python run.py``: modules in the current directory
        sys.path.append(os.getcwd())
    return run_function(args.rest, prog="systrade run")


@register_command("home", help="print the systrade home directory")
def _home(args: argparse.Namespace) -> int:
    print(systrade_home(create=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
