"""Run any top-level function from the command line: ``python run.py module.function --p v``.

* The function is found by importing ``module``; if no such module exists, ``sysproduction.module``
  is tried (so ``run.py backup_db_to_csv.backup_db_to_csv`` works).
* ``--name value`` (or ``--name=value``; dashes and underscores are interchangeable) sets a
  parameter, converted by the function's type hint: ``int``, ``float``, ``bool``
  (``true/false/yes/no/y/n/on/off/1/0``; a bare ``--flag`` means true), ``str``, ``Path``,
  ``date`` (``YYYY-MM-DD``), ``datetime``/``pandas.Timestamp`` (ISO, naive means UTC), enums (by
  name or value), ``Literal[...]``, ``Optional[...]`` (``none`` or ``null`` for None), unions,
  and ``list``/``tuple``/``set`` of those as comma-separated text. Unannotated parameters are
  text.
* A required parameter that is not given is prompted for (type and re-prompt on bad input)
  when standard input is a terminal; otherwise (cron, CI) it is an error naming the parameter.
  Parameters with defaults are never prompted: their defaults are used unless given.
* Only functions of the project's own packages (:data:`PROJECT_PACKAGES`: ``syscore``,
  ``sysproduction``, ``sysinit``, ``systems`` ...) can be run, never ``os.system`` or another
  library's function; ``SYSTRADE_RUN_PACKAGES`` (comma-separated top-level package names) adds
  packages of your own.
* ``data`` (the data blob that top-level functions take) is internal: it is not a parameter, is
  never prompted for, and ``--data`` is an unknown parameter.
* Exit codes (see ``docs/exit_codes.md``): 0 success; 1 the function raised (one line on
  stderr; the whole traceback with ``--traceback``), or its result says it is not ok (an item
  failed, was held back by a spike or refused by a guard), or a CRITICAL record (an alert) was
  logged during the run; 2 a usage error (unknown function or parameter, bad or missing value)
  or a start-up error (configuration, home or store unusable: :class:`ConfigError`,
  :class:`StartupError`); 130 interrupted. The return value is printed to stdout when not
  None; when CRITICAL records were logged and the result does not report them, a last line
  says how many.
"""
from __future__ import annotations

import datetime as dt
import enum
import importlib
import inspect
import os
import sys
import traceback
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from syscore import PROJECT_PACKAGES
from syscore.critical_count import counting_critical
from syscore.exceptions import ConfigError, StartupError, SystradeError, first_line, one_line

FALLBACK_PACKAGE = "sysproduction"
#: environment variable naming more top-level packages to allow (comma-separated)
EXTRA_PACKAGES_ENV = "SYSTRADE_RUN_PACKAGES"
#: parameters supplied by the runner, never by the command line (the data blob)
HIDDEN_PARAMETERS = frozenset({"data"})
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
RUNNER_OPTIONS = ("--traceback", "--help", "-h")

TRUE_WORDS = frozenset({"true", "yes", "y", "on", "1"})
FALSE_WORDS = frozenset({"false", "no", "n", "off", "0"})
NONE_WORDS = frozenset({"none", "null"})

_EMPTY = inspect.Parameter.empty


class UsageError(SystradeError):
    """The command line is wrong (exit code 2); the message names what and why."""


class ParameterError(UsageError, ValueError):
    """A parameter value cannot be read as its declared type."""


# --- type descriptions and parsing ---------------------------------------------------------

def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def _union_members(annotation: Any) -> tuple[list[Any], bool]:
    members = list(typing.get_args(annotation))
    optional = type(None) in members
    return [m for m in members if m is not type(None)], optional


def describe_type(annotation: Any) -> str:
    """Readable type name for prompts and messages, e.g. ``int``, ``list of str``,
    ``one of 'a', 'b'``, ``Path or none``."""
    if annotation is _EMPTY or annotation is Any:
        return "str"
    if _is_union(annotation):
        members, optional = _union_members(annotation)
        text = " or ".join(describe_type(m) for m in members)
        return f"{text} or none" if optional else text
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(v) for v in typing.get_args(annotation))
    if origin in (list, tuple, set, frozenset, Sequence):
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        inner = describe_type(args[0]) if args else "str"
        return f"comma-separated list of {inner}"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "one of " + ", ".join(m.name for m in annotation)
    if annotation is dt.date:
        return "date YYYY-MM-DD"
    if annotation is dt.datetime or getattr(annotation, "__name__", "") == "Timestamp":
        return "datetime (ISO, UTC if no zone)"
    return getattr(annotation, "__name__", str(annotation))


def _parse_bool(text: str) -> bool:
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ParameterError(f"expected true/false, yes/no or 1/0, got {text!r}")


def _parse_mapping(text: str, annotation: Any) -> dict:
    """A mapping given as JSON (``{"US": "21:30"}``) or as ``key=value,key=value``."""
    import json

    args = typing.get_args(annotation)
    key_type, value_type = args if len(args) == 2 else (str, str)
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            raw = json.loads(stripped)
        except ValueError as exc:
            raise ParameterError(f"expected a JSON object, got {text!r} ({exc})") from None
        if not isinstance(raw, dict):
            raise ParameterError(f"expected a JSON object, got {text!r}")
        pairs = [(str(k), str(v)) for k, v in raw.items()]
    else:
        pairs = []
        for part in filter(None, (p.strip() for p in stripped.split(","))):
            if "=" not in part:
                raise ParameterError(f"expected key=value pairs separated by commas, got {part!r}")
            key, value = part.split("=", 1)
            pairs.append((key.strip(), value.strip()))
    return {parse_value(k, key_type): parse_value(v, value_type) for k, v in pairs}


def parse_value(text: str, annotation: Any) -> Any:
    """Convert command-line ``text`` to ``annotation``; :class:`ParameterError` if it can't."""
    if annotation is _EMPTY or annotation is Any or annotation is str:
        return text
    if _is_union(annotation):
        members, optional = _union_members(annotation)
        if optional and text.strip().lower() in NONE_WORDS | {""}:
            return None
        problems = []
        for member in members:
            try:
                return parse_value(text, member)
            except ParameterError as exc:
                problems.append(str(exc))
        raise ParameterError(f"expected {describe_type(annotation)}, got {text!r}")
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        for choice in typing.get_args(annotation):
            if str(choice) == text:
                return choice
            if not isinstance(choice, str):
                try:
                    if parse_value(text, type(choice)) == choice:
                        return choice
                except ParameterError:
                    pass
        raise ParameterError(f"expected {describe_type(annotation)}, got {text!r}")
    if origin in (list, tuple, set, frozenset, Sequence):
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        inner = args[0] if args else str
        items = [part.strip() for part in text.split(",")] if text.strip() else []
        values = [parse_value(item, inner) for item in items]
        container = list if origin is Sequence else origin
        return container(values)
    if origin is dict or annotation is dict:
        return _parse_mapping(text, annotation)
    if annotation is bool:
        return _parse_bool(text)
    if annotation is int:
        try:
            return int(text.strip())
        except ValueError:
            raise ParameterError(f"expected an integer, got {text!r}") from None
    if annotation is float:
        try:
            return float(text.strip())
        except ValueError:
            raise ParameterError(f"expected a number, got {text!r}") from None
    if isinstance(annotation, type) and issubclass(annotation, Path):
        if not text.strip():
            raise ParameterError("expected a path, got nothing")
        return annotation(text.strip()).expanduser()
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        for member in annotation:
            if text == member.name or text == str(member.value):
                return member
        raise ParameterError(f"expected {describe_type(annotation)}, got {text!r}")
    if annotation is dt.date:
        try:
            return dt.date.fromisoformat(text.strip())
        except ValueError:
            raise ParameterError(f"expected a date YYYY-MM-DD, got {text!r}") from None
    if annotation is dt.datetime or getattr(annotation, "__name__", "") == "Timestamp":
        from syscore.dates import to_utc

        try:
            stamp = to_utc(text.strip())
        except ValueError as exc:
            raise ParameterError(str(exc)) from None
        return stamp.to_pydatetime() if annotation is dt.datetime else stamp
    raise ParameterError(
        f"parameters of type {describe_type(annotation)} cannot be given on the command line"
    )


# --- finding the function and its parameters ------------------------------------------------

@dataclass(frozen=True)
class ValueText:
    """What a parameter's value is, in the operator's words, for help and messages:
    ``destination: Annotated[str | None, ValueText("a folder path")]`` makes a bare
    ``--destination`` say ``needs a folder path`` (instead of naming Python types)."""

    text: str


#: a folder given on the command line (``Annotated[str | None, FOLDER_PATH]``)
FOLDER_PATH = ValueText("a folder path")


@dataclass(frozen=True)
class Parameter:
    """One settable parameter of the function to run (``value_text``: from :class:`ValueText`)."""

    name: str
    annotation: Any
    default: Any = _EMPTY
    value_text: str | None = None

    @property
    def required(self) -> bool:
        return self.default is _EMPTY

    @property
    def option(self) -> str:
        return f"--{self.name}"

    @property
    def type_text(self) -> str:
        return self.value_text or describe_type(self.annotation)

    @property
    def missing_value_text(self) -> str:
        """What a bare ``--name`` lacks: ``a folder path``, else ``a value (<type>)``."""
        return self.value_text or f"a value ({describe_type(self.annotation)})"

    def describe(self) -> str:
        default = "" if self.required else f" (default {command_line_text(self.default)})"
        return f"{self.option} <{self.type_text}>{default}"


def command_line_text(value: Any) -> str:
    """``value`` as it is written on the command line: ``true``/``false``, ``none``, an enum's
    name, a comma-separated list, else its text (``'fast'`` for a Literal choice)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, (list, tuple, set, frozenset)):
        return ",".join(command_line_text(v) for v in value) or "''"
    if isinstance(value, str):
        return repr(value)
    return str(value)


def _not_found(exc: ModuleNotFoundError, module: str) -> bool:
    """True when ``exc`` says ``module`` itself (or a parent package) does not exist, not that
    something it imports is missing."""
    return exc.name is not None and (module == exc.name or module.startswith(exc.name + "."))


def allowed_packages(packages: Sequence[str] | None = None) -> tuple[str, ...]:
    """``packages``, or :data:`PROJECT_PACKAGES` plus those named in ``SYSTRADE_RUN_PACKAGES``."""
    if packages is not None:
        return tuple(packages)
    extra = os.environ.get(EXTRA_PACKAGES_ENV, "")
    return PROJECT_PACKAGES + tuple(p.strip() for p in extra.split(",") if p.strip())


def _top_level(name: str) -> str:
    return name.split(".", 1)[0]


def resolve_function(spec: str, fallback_package: str = FALLBACK_PACKAGE,
                     packages: Sequence[str] | None = None) -> Callable[..., Any]:
    """The callable named ``package.module.function``; tries ``fallback_package`` in front of
    the module when the module does not exist. Only modules of ``packages`` (default
    :func:`allowed_packages`) are imported, and only functions defined in them are returned.
    :class:`UsageError` when not found or not allowed."""
    module_name, _, function_name = spec.rpartition(".")
    if not module_name or not function_name:
        raise UsageError(f"expected module.function, got {spec!r}")
    allowed = allowed_packages(packages)
    candidates = [module_name]
    if fallback_package and not module_name.startswith(fallback_package + "."):
        candidates.append(f"{fallback_package}.{module_name}")
    candidates = [c for c in candidates if _top_level(c) in allowed]
    if not candidates:
        raise UsageError(f"{spec!r} is not a systrade function: only functions of the packages "
                         f"{', '.join(allowed)} can be run")
    module = None
    for candidate in candidates:
        try:
            module = importlib.import_module(candidate)
            break
        except ModuleNotFoundError as exc:
            if not _not_found(exc, candidate):
                raise
    if module is None:
        tried = " or ".join(repr(c) for c in candidates)
        rule = "" if _top_level(module_name) in allowed else \
            f"; only functions of the packages {', '.join(allowed)} can be run"
        raise UsageError(f"no module {tried} (from {spec!r}){rule}")
    function = getattr(module, function_name, None)
    if function is None:
        raise UsageError(f"module {module.__name__!r} has no function {function_name!r}")
    if isinstance(function, types.ModuleType) or not callable(function):
        raise UsageError(f"{module.__name__}.{function_name} is not a function")
    defined_in = getattr(function, "__module__", None) or ""
    if _top_level(defined_in) not in allowed:
        raise UsageError(f"{spec!r} is not a systrade function (it comes from "
                         f"{defined_in or 'elsewhere'}): only functions of the packages "
                         f"{', '.join(allowed)} can be run")
    return function


def function_parameters(function: Callable[..., Any]) -> list[Parameter]:
    """The function's named parameters with resolved type hints (``*args``/``**kwargs`` and
    :data:`HIDDEN_PARAMETERS` are not settable and are left out)."""
    signature = inspect.signature(function)
    try:
        hints = typing.get_type_hints(function, include_extras=True)
    except Exception:  # unresolvable forward references: fall back to raw annotations
        hints = {}
    out = []
    for param in signature.parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.name in HIDDEN_PARAMETERS:  # supplied by the function itself (the data blob)
            continue
        annotation = hints.get(param.name, param.annotation)
        value_text = None
        if typing.get_origin(annotation) is typing.Annotated:
            annotation, *extras = typing.get_args(annotation)
            value_text = next((e.text for e in extras if isinstance(e, ValueText)), None)
        if isinstance(annotation, str):
            annotation = _EMPTY
        out.append(Parameter(param.name, annotation, param.default, value_text))
    return out


def function_help(spec: str, function: Callable[..., Any], prog: str = "run.py") -> str:
    """Usage text: the command, each parameter with type and default, and the docstring."""
    command = f"{prog} {spec}" if prog in ("run.py", "systrade run") else prog
    lines = [f"usage: {command} [options]", ""]
    params = function_parameters(function)
    if params:
        lines.append("parameters:")
        lines.extend(f"  {p.describe()}{' (required)' if p.required else ''}" for p in params)
    else:
        lines.append("no parameters")
    doc = inspect.getdoc(function)
    if doc:
        lines += ["", doc]
    return "\n".join(lines)


# --- reading the command line -------------------------------------------------------------

def parse_command_line(params: list[Parameter], argv: Sequence[str],
                       spec: str = "function") -> dict[str, Any]:
    """Values given as ``--name value`` / ``--name=value``, converted to their types."""
    by_name = {p.name: p for p in params}
    given: dict[str, Any] = {}
    index = 0
    while index < len(argv):
        token = argv[index]
        if not token.startswith("--") or token == "--":
            raise UsageError(f"unexpected argument {token!r}; parameters are given as --name value")
        option, has_value, inline = token[2:].partition("=")
        name = option.replace("-", "_")
        param = by_name.get(name)
        if param is None:
            known = ", ".join(p.option for p in params) or "none"
            raise UsageError(f"unknown parameter --{option} for {spec} (parameters: {known})")
        if name in given:
            raise UsageError(f"parameter --{option} given twice")
        if has_value:
            text = inline
            index += 1
        elif index + 1 < len(argv) and not (argv[index + 1].startswith("--")
                                            and _is_bool(param.annotation)):
            text = argv[index + 1]
            index += 2
        elif _is_bool(param.annotation):
            text = "true"
            index += 1
        else:
            raise UsageError(f"parameter --{option} needs {param.missing_value_text}")
        try:
            given[name] = parse_value(text, param.annotation)
        except ParameterError as exc:
            raise ParameterError(f"parameter --{option}: {exc}") from None
    return given


def _is_bool(annotation: Any) -> bool:
    if _is_union(annotation):
        members, _ = _union_members(annotation)
        return members == [bool]
    return annotation is bool


def prompt_for(param: Parameter, ask: Callable[[str], str], output: TextIO) -> Any:
    """Ask for ``param`` until the answer parses; EOF is a :class:`UsageError`."""
    question = f"{param.name} ({param.type_text}): "
    while True:
        try:
            answer = ask(question)
        except EOFError:
            raise UsageError(f"no value given for required parameter {param.option}") from None
        try:
            if answer.strip() == "" and not _optional(param.annotation):
                raise ParameterError("a value is required")
            return parse_value(answer, param.annotation)
        except ParameterError as exc:
            output.write(f"  invalid {param.name}: {exc}; try again\n")
            output.flush()


def _optional(annotation: Any) -> bool:
    return _is_union(annotation) and type(None) in typing.get_args(annotation)


def collect_arguments(function: Callable[..., Any], argv: Sequence[str], interactive: bool,
                      ask: Callable[[str], str] = input, output: TextIO | None = None,
                      spec: str = "function") -> dict[str, Any]:
    """Keyword arguments for ``function`` from ``argv``; missing required parameters are
    prompted for when ``interactive``, otherwise a :class:`UsageError` names all of them."""
    params = function_parameters(function)
    values = parse_command_line(params, argv, spec)
    missing = [p for p in params if p.required and p.name not in values]
    if missing and not interactive:
        names = ", ".join(f"{p.option} ({p.type_text})" for p in missing)
        plural = "s" if len(missing) > 1 else ""
        raise UsageError(f"missing required parameter{plural} {names} for {spec}")
    for param in missing:
        values[param.name] = prompt_for(param, ask, output or sys.stdout)
    return values


# --- running -------------------------------------------------------------------------------

#: exceptions that mean the command could not start (exit code 2, message without type name);
#: a function may raise :class:`UsageError` itself for a parameter value it refuses (e.g. the
#: cleaners' ``--days -1``), before it has done anything
STARTUP_ERRORS = (ConfigError, StartupError, UsageError)


def _hidden_required(function: Callable[..., Any]) -> list[str]:
    signature = inspect.signature(function)
    return [p.name for p in signature.parameters.values()
            if p.name in HIDDEN_PARAMETERS and p.default is _EMPTY
            and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def result_exit_code(result: Any, critical: int) -> int:
    """0, or 1 when ``result.ok`` is false or ``critical`` CRITICAL records were logged."""
    if getattr(result, "ok", True) is False or critical:
        return EXIT_FAILED
    return EXIT_OK


def run_callable(function: Callable[..., Any], spec: str, argv: Sequence[str],
                 stdin: TextIO | None = None, stdout: TextIO | None = None,
                 stderr: TextIO | None = None, ask: Callable[[str], str] | None = None,
                 prog: str = "run.py", show_traceback: bool = False,
                 want_help: bool = False) -> int:
    """Run ``function`` with the parameters in ``argv`` (``--name value``); returns the exit
    code (module docstring). ``spec`` names the function in messages. Every entry point
    (``run.py``, ``systrade run``, the console scripts, the ``run_*`` processes) goes through
    here, so they share parameters, messages and exit codes."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    rest = list(argv)
    try:
        param_names = {p.name for p in function_parameters(function)}
        if "traceback" not in param_names and "--traceback" in rest:
            rest.remove("--traceback")
            show_traceback = True
        if "help" not in param_names and ({"--help", "-h"} & set(rest)):
            want_help = True
        if want_help:
            stdout.write(function_help(spec, function, prog) + "\n")
            return EXIT_OK
        hidden = _hidden_required(function)
        if hidden:
            raise UsageError(f"{spec} needs {', '.join(hidden)} (a data blob) and cannot be run "
                             "from the command line; run the top-level function instead")
        interactive = bool(getattr(stdin, "isatty", lambda: False)())
        if ask is None:
            def ask(question: str) -> str:
                stdout.write(question)
                stdout.flush()
                line = stdin.readline()
                if not line:
                    raise EOFError
                return line.rstrip("\r\n")
        kwargs = collect_arguments(function, rest, interactive, ask, stdout, spec)
    except UsageError as exc:
        stderr.write(f"{prog}: error: {exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        stderr.write(f"{prog}: interrupted\n")
        return EXIT_INTERRUPTED
    with counting_critical() as counter:
        try:
            result = function(**kwargs)
        except KeyboardInterrupt:
            stderr.write(f"{prog}: interrupted\n")
            return EXIT_INTERRUPTED
        except STARTUP_ERRORS as exc:
            if show_traceback:
                traceback.print_exc(file=stderr)
            stderr.write(f"{prog}: error: {first_line(exc)}\n")
            return EXIT_USAGE
        except Exception as exc:
            if show_traceback:
                traceback.print_exc(file=stderr)
            stderr.write(f"{prog}: {spec} failed: {one_line(exc)}\n")
            return EXIT_FAILED
    critical = counter.count
    note = getattr(result, "note_critical", None)
    if callable(note):
        note(critical)
    if result is not None:
        stdout.write(f"{result}\n")
    if critical and not callable(note):
        plural = "s" if critical > 1 else ""
        stdout.write(f"{getattr(function, '__name__', spec)}: {critical} CRITICAL "
                     f"alert{plural} raised (see the log)\n")
    stdout.flush()
    return result_exit_code(result, critical)


def run_function(argv: Sequence[str], stdin: TextIO | None = None,
                 stdout: TextIO | None = None, stderr: TextIO | None = None,
                 ask: Callable[[str], str] | None = None, prog: str = "run.py") -> int:
    """Run ``[runner options] module.function [--param value ...]``; returns the exit code.

    Runner options: ``--traceback`` (print the whole traceback on failure), ``--help``.
    Prompts happen only when ``stdin`` (default ``sys.stdin``) is a terminal.
    """
    stderr = stderr or sys.stderr
    args = list(argv)
    show_traceback = False
    want_help = False
    while args and args[0] in RUNNER_OPTIONS:
        option = args.pop(0)
        show_traceback |= option == "--traceback"
        want_help |= option in ("--help", "-h")
    if not args:
        stderr.write(f"usage: {prog} [--traceback] [--help] module.function [--param value ...]\n")
        return EXIT_OK if want_help else EXIT_USAGE
    spec, rest = args[0], args[1:]
    try:
        function = resolve_function(spec)
    except UsageError as exc:
        stderr.write(f"{prog}: error: {exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        stderr.write(f"{prog}: interrupted\n")
        return EXIT_INTERRUPTED
    except Exception as exc:  # the module failed to import
        if show_traceback:
            traceback.print_exc(file=stderr)
        stderr.write(f"{prog}: error: cannot load {spec}: {one_line(exc)}\n")
        return EXIT_FAILED
    return run_callable(function, spec, rest, stdin=stdin, stdout=stdout, stderr=stderr,
                        ask=ask, prog=prog, show_traceback=show_traceback, want_help=want_help)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``run.py``: runs ``sys.argv[1:]`` and returns the exit code."""
    return run_function(sys.argv[1:] if argv is None else argv)
