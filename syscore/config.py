"""Loading and validating configuration.

The shipped defaults (``sysproduction/config/defaults.yaml`` and ``control_config.yaml``) are
deep-merged with the user's overrides in ``$SYSTRADE_HOME/private/private_config.yaml`` and
``private_control_config.yaml``. The result is validated against the typed models in
:mod:`syscore.config_models`. Any problem raises :class:`ConfigError` whose message names the file,
the key, what was expected and what was found; a found value is shown with credentials masked
(URL passwords and secret parameters as ``***``; the value of any key naming a password,
account, secret or token, and anything under the ``ib`` and ``email`` sections, as ``<hidden>``,
so a credential given flat, ``ib: U7654321``, is not echoed).
"""
from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from syscore.config_models import ControlConfig, SystradeConfig
from syscore.exceptions import ConfigError
from syscore.home import private_dir, systrade_home
from syscore.redaction import HIDDEN, redact_value

PACKAGE_CONFIG_DIR = Path(__file__).resolve().parent.parent / "sysproduction" / "config"
DEFAULTS_FILE = PACKAGE_CONFIG_DIR / "defaults.yaml"
CONTROL_DEFAULTS_FILE = PACKAGE_CONFIG_DIR / "control_config.yaml"
PRIVATE_CONFIG_NAME = "private_config.yaml"
PRIVATE_CONTROL_CONFIG_NAME = "private_control_config.yaml"

#: Environment variables that set a secret instead of the private config file (they win over it).
SECRET_ENVIRONMENT = {
    "SYSTRADE_IB_ACCOUNT": ("ib", "account"),
    "SYSTRADE_EMAIL_PASSWORD": ("email", "password"),
    "SYSTRADE_DASHBOARD_PASSWORD": ("dashboard", "password"),
}


def environment_overrides(environ: dict[str, str] | None = None
                          ) -> list[tuple[Path, dict[str, Any]]]:
    """One ``(source name, override mapping)`` per secret set (non-empty) in the environment,
    e.g. ``SYSTRADE_IB_ACCOUNT=U1234567`` gives ``{"ib": {"account": "U1234567"}}``."""
    environ = os.environ if environ is None else environ
    out = []
    for variable, (section, key) in SECRET_ENVIRONMENT.items():
        value = environ.get(variable)
        if value:
            out.append((Path(f"environment variable {variable}"), {section: {key: value}}))
    return out


MAX_CONFIG_BYTES = 2**20
"""Largest configuration file read (1 MB; systrade's own are a few KB)."""


def read_yaml_file(path: Path, required: bool = True) -> dict[str, Any]:
    """Read a YAML mapping; a missing optional file is an empty mapping."""
    path = Path(path)
    if not path.exists():
        if required:
            raise ConfigError(f"{path}: file not found")
        return {}
    if path.is_dir():
        raise ConfigError(f"{path}: is a directory, expected a YAML file")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not path.is_file():  # a FIFO would block the read for ever, a device never end
        raise ConfigError(f"{path}: not a regular file, expected a YAML file")
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: {size / 2**20:.0f} MB, too large for a configuration file "
                          f"(at most {MAX_CONFIG_BYTES // 2**20} MB): is it the right file?")
    try:
        text = path.read_text(encoding="utf-8")
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, expected a YAML file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") \
            from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f": line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())  # one line
        raise ConfigError(f"{path}{where}: malformed YAML: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: expected a mapping of keys to values at the top level, "
            f"found {type(data).__name__}"
        )
    return data


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into a copy of ``base``; nested mappings merge key by key."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


_MISSING = object()


def _lookup(data: Any, path: tuple) -> Any:
    """The value at ``path`` in nested mappings (and lists, by index), or ``_MISSING``."""
    for part in path:
        if isinstance(data, list) and str(part).isdigit() and int(part) < len(data):
            data = data[int(part)]
            continue
        if not (isinstance(data, dict) and part in data):
            return _MISSING
        data = data[part]
    return data


#: What a pydantic error type expected, in the words of our other config errors.
_EXPECTED = {
    "bool_type": "true or false", "bool_parsing": "true or false",
    "int_type": "int", "int_from_float": "int", "int_parsing": "int",
    "float_type": "float", "float_parsing": "float", "string_type": "str",
    "dict_type": "a mapping", "list_type": "a list", "missing": "a value (required)",
}


def _item_text(value: Any) -> str:
    """A value inside a list or mapping as YAML writes it: ``true``, ``null``, bare text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (dict, list, tuple)):
        return f"[{found_text(value)}]" if not isinstance(value, dict) else \
            f"{{{found_text(value)}}}"
    return str(value)


def found_text(value: Any) -> str:
    """A configuration value as the operator wrote it in YAML terms: a list as comma-separated
    items (``CORN, GOLD``), a mapping as ``key: value`` pairs (``update_fx_pricse: DEBUG``), a
    single value as before (quoted text, so blanks show)."""
    if isinstance(value, dict):
        return ", ".join(f"{_item_text(k)}: {_item_text(v)}" for k, v in value.items()) or \
            "an empty mapping"
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(_item_text(v) for v in value) or "an empty list"
    return repr(value)


def validation_message(exc: ValidationError, source: str | Path, data: Any) -> str:
    """One line for a model validated from the mapping ``data`` read from ``source``: each
    problem as ``<source>: key '<a.b>': expected <what>; found <value>`` (or ``unknown key``),
    joined by ``; `` -- the form every config error takes."""
    messages = []
    for error in exc.errors():
        path = tuple(str(p) for p in error["loc"])
        key = ".".join(path)
        if error["type"] == "extra_forbidden":
            messages.append(f"{source}: unknown key '{key}'")
            continue
        expected = _EXPECTED.get(error["type"], error["msg"])
        if expected.startswith("Value error, "):
            expected = expected[len("Value error, "):]
        if not path:  # a rule over several keys: its own words
            messages.append(f"{source}: {expected}")
            continue
        found = _lookup(data, path)
        shown = "<missing>" if found is _MISSING else found_text(redact_value(found, key))
        if expected.startswith("expected "):
            expected = expected[len("expected "):]
        messages.append(f"{source}: key '{key}': expected {expected}; found {shown}")
    return "; ".join(messages)


def validate_config(
    model: type[BaseModel],
    merged: dict[str, Any],
    sources: list[tuple[Path, dict[str, Any]]],
) -> BaseModel:
    """Validate ``merged`` against ``model``; blame the last source file that set a bad key."""
    try:
        return model.model_validate(merged)
    except ValidationError as exc:
        messages = []
        for error in exc.errors():
            path = tuple(str(p) for p in error["loc"])
            key = ".".join(path)
            blamed = sources[0][0]
            for source_path, data in sources:
                if _lookup(data, path) is not _MISSING:
                    blamed = source_path
            if error["type"] == "extra_forbidden":
                messages.append(f"{blamed}: unknown key '{key}'")
                continue
            found = _lookup(merged, path)
            found = None if found is _MISSING else found
            expected = error["msg"]
            if error["type"] in ("model_type", "dict_type"):  # a value where a section belongs
                expected = (f"expected a section of keys (indented 'name: value' lines under "
                            f"'{path[-1] if path else key}:')")
            if expected.startswith("Value error, "):
                expected = expected[len("Value error, "):]
            shown = found_text(redact_value(found, key))
            if shown == repr(HIDDEN):
                shown = HIDDEN
            messages.append(f"{blamed}: key '{key}': {expected}; found {shown}")
        raise ConfigError("; ".join(messages)) from None


def _load(model: type[BaseModel], defaults_file: Path, private_name: str, home: Path | None,
          extra: list[tuple[Path, dict[str, Any]]],
          before_private: list[tuple[Path, dict[str, Any]]] | None = None) -> BaseModel:
    """Defaults, then ``before_private``, then ``private/<private_name>`` (optional), then
    ``extra``, merged in that order and validated against ``model``."""
    home = home or systrade_home()
    private_file = private_dir(home) / private_name
    sources = [(defaults_file, read_yaml_file(defaults_file)), *(before_private or []),
               (private_file, read_yaml_file(private_file, required=False)), *extra]
    merged: dict[str, Any] = {}
    for _, data in sources:
        merged = deep_merge(merged, data)
    return validate_config(model, merged, sources)


def load_config(home: Path | None = None) -> SystradeConfig:
    """Load and validate the main configuration for the home directory (default: current).

    The secrets named in :data:`SECRET_ENVIRONMENT` (``SYSTRADE_IB_ACCOUNT``,
    ``SYSTRADE_EMAIL_PASSWORD``), when set, override the private config file."""
    return _load(SystradeConfig, DEFAULTS_FILE, PRIVATE_CONFIG_NAME, home,
                 environment_overrides())  # type: ignore[return-value]


#: Generated control config (``systrade exo install``): merged after the shipped defaults and
#: before ``private_control_config.yaml``, so the operator's own file always wins.
GENERATED_CONTROL_CONFIG_NAME = "generated_control_config.yaml"


def load_control_config(home: Path | None = None) -> ControlConfig:
    """Load and validate the process-control configuration: shipped defaults, then the
    generated file (if any), then ``private_control_config.yaml``."""
    home = home or systrade_home()
    generated = private_dir(home) / GENERATED_CONTROL_CONFIG_NAME
    return _load(ControlConfig, CONTROL_DEFAULTS_FILE, PRIVATE_CONTROL_CONFIG_NAME, home, [],
                 before_private=[(generated, read_yaml_file(generated, required=False))]
                 )  # type: ignore[return-value]
