"""The component names that ``logging.component_levels`` may name (no logging, no imports of the
packages named: the source tree is read).

A component is the name of a logger, with or without the ``systrade.`` prefix:

* a module or package of the project (``sysdata``, ``sysdata.prices``, ``sysbrokers.sim``);
* a process: a module of ``sysproduction``/``sysinit``/``syscontrol`` (``update_fx_prices``),
  a top-level function of those packages (``clean_truncate_backtest_states``), or any
  ``run_<name>`` process (process names are user-definable in the control config);
* one of the other loggers the package uses (:data:`OTHER_LOGGERS`) or a third-party library held
  at WARNING unless named (:data:`QUIET_LIBRARIES`).

Anything else is a typo that would silently change nothing, so the configuration refuses it.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from syscore import PROJECT_PACKAGES

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROCESS_PACKAGES = ("sysproduction", "sysinit", "syscontrol")
#: third-party libraries whose loggers are held at WARNING unless a component level names them
QUIET_LIBRARIES = ("pymongo", "arcticdb", "urllib3", "asyncio", "ib_async", "aiosmtpd")
#: logger names used by the package that are not module or process names
OTHER_LOGGERS = ("systrade", "alerts", "backup", "sysinit.import", "demo")
_RUN_PROCESS = re.compile(r"^run_[A-Za-z0-9_]+$")
_TOP_LEVEL_DEF = re.compile(r"^def ([A-Za-z][A-Za-z0-9_]*)\(", re.MULTILINE)


@lru_cache(maxsize=1)
def known_components() -> frozenset[str]:
    """Every fixed component name (``run_<name>`` processes are accepted by pattern)."""
    names = set(QUIET_LIBRARIES) | set(OTHER_LOGGERS)
    for package in PROJECT_PACKAGES:
        folder = PROJECT_ROOT / package
        if not (folder / "__init__.py").is_file():
            continue
        for path in folder.rglob("*.py"):
            parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            names.add(".".join(parts))
            if package in PROCESS_PACKAGES and parts[-1:] and not parts[-1].startswith("_"):
                names.add(parts[-1])
                try:
                    names.update(_TOP_LEVEL_DEF.findall(path.read_text(encoding="utf-8")))
                except (OSError, UnicodeDecodeError):
                    continue
    return frozenset(names)


def is_known_component(name: str) -> bool:
    """Whether ``name`` (optionally prefixed ``systrade.``) is a component a level can apply to."""
    text = str(name)
    if text.startswith("systrade."):
        text = text[len("systrade."):]
    return text in known_components() or bool(_RUN_PROCESS.match(text))
