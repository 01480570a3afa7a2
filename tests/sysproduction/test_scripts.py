"""Every console script named in pyproject.toml resolves to a real top-level function."""
from __future__ import annotations

import importlib
import subprocess
import sys
import tomllib
from pathlib import Path

from sysproduction.scripts import FUNCTIONS

REPO = Path(__file__).resolve().parents[2]


def test_every_script_is_declared_and_resolves():
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    for name, path in FUNCTIONS.items():
        assert declared[name] == f"sysproduction.scripts:{name}"
        module, function = path.rsplit(".", 1)
        assert callable(getattr(importlib.import_module(module), function))
    for name, target in declared.items():  # run_* processes and systrade too
        module, attribute = target.split(":")
        assert callable(getattr(importlib.import_module(module), attribute)), name


def test_script_without_required_parameter_names_it(tmp_path):
    exe = Path(sys.executable).parent / "roll_adjusted_prices"
    if not exe.exists():  # installed before the script was declared: reinstall needed
        exe = None
    command = [str(exe)] if exe else [sys.executable, "-c",
                                      "import sys; from sysproduction.scripts import "
                                      "roll_adjusted_prices as f; sys.argv[0]='x'; f()"]
    result = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                            env={"SYSTRADE_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 2
    assert "instrument_code" in result.stderr
