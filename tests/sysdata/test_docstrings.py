"""Every public class of sysdata says what it is (and, for the interfaces, units, time zone and
atomicity): a class without a docstring fails here."""
from __future__ import annotations

import ast
from pathlib import Path

SYSDATA = Path(__file__).resolve().parents[2] / "sysdata"


def public_classes_without_docstring() -> list[str]:
    missing = []
    for path in sorted(SYSDATA.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if (isinstance(node, ast.ClassDef) and not node.name.startswith("_")
                    and not (ast.get_docstring(node) or "").strip()):
                missing.append(f"{path.relative_to(SYSDATA.parent)}:{node.lineno} {node.name}")
    return missing


def test_every_public_sysdata_class_has_a_docstring():
    assert public_classes_without_docstring() == []


def test_the_interfaces_are_found():
    names = {path.stem for path in SYSDATA.glob("*.py")}
    assert {"data_blob", "ledger", "prices", "capital"} <= names
