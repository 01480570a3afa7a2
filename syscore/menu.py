"""A small console framework: nested numbered menus and typed prompts over injectable I/O.

Every console (``sysproduction.interactive_*``) is a :class:`Menu` of :class:`Option` s run by
:func:`run_menu` on a :class:`Console`, which reads answers with ``ask(prompt) -> str`` (default
:func:`input`) and shows text with ``say(text)`` (default :func:`print`). Tests pass a scripted
``ask`` (a list of answers) and collect what was said, so every path runs without a terminal.

Rules every console gets from here:

* options are numbered ``1..n`` in the order given (or chosen by fixed codes,
  :attr:`Option.key`, listed under :attr:`Option.group` headings: the order-stack console's
  two-digit codes); ``0`` (or Enter in a sub-menu) goes back,
  ``0`` at the top exits; an unknown choice says ``unknown choice 'x'`` and shows the menu again;
* typed prompts (:meth:`Console.integer`, :meth:`~Console.number`, :meth:`~Console.date`,
  :meth:`~Console.choice`, :meth:`~Console.yes_no`) re-ask on bad input after one clear line;
  ``default`` is taken on Enter and shown in brackets;
* destructive actions ask :meth:`Console.confirm` (y/n) or :meth:`Console.confirm_phrase` (a typed
  phrase) before anything is written;
* end of input (EOF: no terminal, CI, cron, Ctrl-D) raises :class:`ConsoleExit` from any prompt,
  and :func:`run_menu` returns quietly: no traceback;
* an action that raises :class:`~syscore.exceptions.SystradeError` or ``ValueError`` shows
  ``error: <message>`` and the menu goes on (nothing else is swallowed).

Only the standard library, pandas (dates) and :mod:`syscore` are used, so any layer's console
can be built on it.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from syscore.exceptions import SystradeError

Ask = Callable[[str], str]
Say = Callable[[str], None]

YES = frozenset({"y", "yes"})
NO = frozenset({"n", "no"})


class ConsoleExit(SystradeError):
    """End of input (EOF) at a prompt: the console ends without a traceback."""


class PromptCancelled(SystradeError):
    """The operator answered ``0`` (or Enter, where there is no default) to a choice: the
    option is abandoned, nothing written, and the menu is shown again."""


@dataclass
class Console:
    """Prompts over ``ask``/``say``. ``now`` (a callable returning a UTC timestamp, e.g. a data
    blob's ``now``) lets :meth:`date` read ``Nd`` as N days before now."""

    ask: Ask = input
    say: Say = print
    now: Callable[[], pd.Timestamp] | None = None

    # --- raw answers ---------------------------------------------------------------------

    def answer(self, prompt: str) -> str:
        """One answer, stripped; :class:`ConsoleExit` at end of input."""
        try:
            return self.ask(prompt).strip()
        except EOFError:
            raise ConsoleExit("end of input") from None

    def text(self, prompt: str, default: str | None = None, allow_empty: bool = False) -> str:
        """Free text; Enter takes ``default`` (when given) or is refused unless
        ``allow_empty``."""
        shown = f" [{default}]" if default is not None else ""
        while True:
            value = self.answer(f"{prompt}{shown}: ")
            if value:
                return value
            if default is not None:
                return default
            if allow_empty:
                return ""
            self.say("an answer is needed")

    # --- typed prompts ---------------------------------------------------------------------

    def integer(self, prompt: str, default: int | None = None, minimum: int | None = None,
                maximum: int | None = None) -> int:
        """A whole number within [minimum, maximum] (inclusive, when given)."""
        shown = f" [{default}]" if default is not None else ""
        while True:
            value = self.answer(f"{prompt}{shown}: ").replace(",", "")
            if not value and default is not None:
                return int(default)
            try:
                number = int(value)
            except ValueError:
                self.say(f"not a whole number: {value!r}")
                continue
            if (minimum is not None and number < minimum) or \
                    (maximum is not None and number > maximum):
                self.say(f"out of range: {number} (allowed {_range_text(minimum, maximum)})")
                continue
            return number

    def number(self, prompt: str, default: float | None = None, minimum: float | None = None,
               maximum: float | None = None) -> float:
        """A finite number (commas allowed as thousands separators) within the bounds."""
        shown = f" [{_number_text(default)}]" if default is not None else ""
        while True:
            value = self.answer(f"{prompt}{shown}: ")
            if not value and default is not None:
                return float(default)
            number = self._checked_number(value, minimum, maximum)
            if number is not None:
                return number

    def optional_number(self, prompt: str, minimum: float | None = None,
                        maximum: float | None = None) -> float | None:
        """As :meth:`number`, or None when the operator just presses Enter (e.g. no limit
        price)."""
        while True:
            value = self.answer(f"{prompt} (Enter: none): ")
            if not value:
                return None
            number = self._checked_number(value, minimum, maximum)
            if number is not None:
                return number

    def _checked_number(self, value: str, minimum: float | None,
                        maximum: float | None) -> float | None:
        """The number ``value`` says, or None after one line saying what is wrong."""
        value = value.replace(",", "")
        try:
            number = float(value)
        except ValueError:
            self.say(f"not a number: {value!r}")
            return None
        if not math.isfinite(number):
            self.say(f"not a finite number: {value!r}")
            return None
        if (minimum is not None and number < minimum) or \
                (maximum is not None and number > maximum):
            self.say(f"out of range: {number:g} (allowed {_range_text(minimum, maximum)})")
            return None
        return number

    def date(self, prompt: str, default: pd.Timestamp | None = None) -> pd.Timestamp:
        """A UTC timestamp: ``YYYY-MM-DD``, ``YYYY-MM-DD HH:MM`` (naive means UTC), or, when
        the console has ``now``, ``Nd`` for N days before now."""
        shown = f" [{default:%Y-%m-%d %H:%M}]" if default is not None else ""
        hint = "YYYY-MM-DD[ HH:MM] UTC" + (" or Nd (days back)" if self.now else "")
        while True:
            value = self.answer(f"{prompt} ({hint}){shown}: ")
            if not value and default is not None:
                return _utc(default)
            parsed = self._parse_date(value)
            if parsed is None:
                self.say(f"not a date: {value!r} (expected {hint})")
                continue
            return parsed

    def _parse_date(self, value: str) -> pd.Timestamp | None:
        if self.now is not None and value[:-1].isdigit() and value[-1:].lower() == "d":
            return _utc(self.now()) - pd.Timedelta(days=int(value[:-1]))
        if not value or not value[0].isdigit():
            return None
        try:
            stamp = pd.Timestamp(value)
        except (TypeError, ValueError):
            return None
        return None if stamp is pd.NaT else _utc(stamp)

    def choice(self, prompt: str, options: Sequence[str], default: str | None = None) -> str:
        """One of ``options``, by its number (1..n) or its exact text; the options are listed
        before the first question. ``0``, or Enter without a default, cancels
        (:class:`PromptCancelled`: the menu is shown again)."""
        if not options:
            raise SystradeError(f"{prompt}: nothing to choose from")
        for index, option in enumerate(options, start=1):
            self.say(f"  {index} {option}")
        self.say("  0 cancel")
        shown = f" [{default}]" if default is not None else ""
        while True:
            value = self.answer(f"{prompt}{shown}: ")
            if not value and default is not None:
                return default
            if value in options:
                return value
            if value in ("", "0"):
                raise PromptCancelled("cancelled")
            if value.isdigit() and 1 <= int(value) <= len(options):
                return options[int(value) - 1]
            self.say(f"not one of the {len(options)} choices: {value!r} "
                     f"(a number 1-{len(options)} or the text)")

    def yes_no(self, prompt: str, default: bool | None = None) -> bool:
        """``y``/``yes`` or ``n``/``no`` (any case); anything else is asked again."""
        shown = {None: "(y/n)", True: "(Y/n)", False: "(y/N)"}[default]
        while True:
            value = self.answer(f"{prompt} {shown}: ").lower()
            if value in YES:
                return True
            if value in NO:
                return False
            if not value and default is not None:
                return default
            self.say(f"please answer y or n, not {value!r}")

    def confirm(self, prompt: str) -> bool:
        """A y/n confirmation before a destructive change (no default: Enter asks again)."""
        return self.yes_no(prompt)

    def confirm_phrase(self, warning: str, phrase: str) -> bool:
        """Say ``warning``, then True only when the operator types ``phrase`` exactly (for the
        most destructive actions: deleting a whole history)."""
        self.say(f"{warning} Type {phrase} to go on.")
        return self.answer("> ") == phrase


def _utc(value) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _number_text(value: float) -> str:
    """A default as it is taken: two decimals with thousands separators when that is exact
    (``1,250.50``), else enough significant digits (``0.0125``, not ``0.01``)."""
    return f"{value:,.2f}" if round(value, 2) == value else f"{value:,.10g}"


def _range_text(minimum, maximum) -> str:
    if minimum is not None and maximum is not None:
        return f"{minimum} to {maximum}"
    return f">= {minimum}" if minimum is not None else f"<= {maximum}"


# --- menus -------------------------------------------------------------------------------------

Action = Callable[[Console], None]


@dataclass(frozen=True)
class Option:
    """A menu line: ``label`` and either an ``action`` (called with the console) or a nested
    :class:`Menu`. ``help`` is one line for ``docs/consoles.md``-style listings.

    ``key``: the code the operator types for it (e.g. ``"22"``), for a menu whose codes must
    stay fixed as options are added (operators learn them); when a menu's options have keys,
    every one must, and they replace the numbering. ``group``: a heading the keyed options
    are listed under (a new heading each time it changes)."""

    label: str
    action: Action | Menu
    help: str = ""
    key: str = ""
    group: str = ""


@dataclass(frozen=True)
class Menu:
    """A titled list of options, numbered from 1 in the order given, or chosen by their
    :attr:`Option.key` when they have keys."""

    title: str
    options: tuple[Option, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        keys = [option.key for option in self.options]
        if any(keys):
            if not all(keys):
                raise ValueError(f"menu {self.title!r}: either every option has a key or none")
            if len(set(keys)) != len(keys) or "0" in keys or "" in keys:
                raise ValueError(f"menu {self.title!r}: keys must be unique and not 0")

    @property
    def keyed(self) -> bool:
        return bool(self.options) and bool(self.options[0].key)

    def keys(self) -> list[str]:
        """What the operator types for each option, in order (``1..n`` or the keys)."""
        return [option.key or str(i) for i, option in enumerate(self.options, start=1)]

    def render(self, top: bool) -> str:
        lines = ["", self.title]
        group = None
        for key, option in zip(self.keys(), self.options, strict=True):
            if self.keyed and option.group != group:
                group = option.group
                lines.append(f" {group}")
            lines.append(f"  {key} {option.label}")
        lines.append(f"  0 {'exit' if top else 'back'}")
        return "\n".join(lines)

    def option(self, choice: str) -> Option | None:
        for key, option in zip(self.keys(), self.options, strict=True):
            if choice == key:
                return option
        return None

    def walk(self, prefix: str = "") -> list[tuple[str, Option]]:
        """Every option with its key path (``"3.2"``: option 2 of sub-menu 3), depth first."""
        found = []
        for own, option in zip(self.keys(), self.options, strict=True):
            key = f"{prefix}{own}"
            found.append((key, option))
            if isinstance(option.action, Menu):
                found.extend(option.action.walk(f"{key}."))
        return found


def bound_to(data: object) -> Callable[..., Action]:
    """``on = bound_to(data)``: ``on(action, *args)`` is an option action that calls
    ``action(data, console, *args)`` (every console's handlers take the data blob first)."""
    def on(action: Callable[..., None], *args: object) -> Action:
        return lambda console: action(data, console, *args)

    return on


RECOVERABLE: tuple[type[BaseException], ...] = (SystradeError, ValueError)


def run_menu(menu: Menu, console: Console, top: bool = True) -> bool:
    """Show ``menu`` and run the chosen options until ``0`` (or Enter in a sub-menu).

    Returns False when input ended (EOF; the caller ends too), True when the operator went
    back. Errors of an action (:data:`RECOVERABLE`) are shown as ``error: ...`` and the menu is
    shown again."""
    while True:
        console.say(menu.render(top))
        try:
            choice = console.answer("choice: ")
        except ConsoleExit:
            return False
        if choice == "0" or (choice == "" and not top):
            return True
        if choice == "":  # a stray Enter at the top shows the menu again
            continue
        option = menu.option(choice)
        if option is None:
            console.say(f"unknown choice {choice!r}")
            continue
        if isinstance(option.action, Menu):
            if not run_menu(option.action, console, top=False):
                return False
            continue
        try:
            option.action(console)
        except ConsoleExit:
            return False
        except PromptCancelled:
            console.say("cancelled: nothing done")
        except RECOVERABLE as exc:
            console.say(f"error: {exc}")
