"""Unit tests of the function runner: type parsing, command-line reading, prompting."""
from __future__ import annotations

import datetime as dt
import enum
import io
from pathlib import Path
from typing import Literal, Optional

import pandas as pd
import pytest

from syscore.run_function import (
    ParameterError,
    UsageError,
    collect_arguments,
    describe_type,
    function_parameters,
    parse_command_line,
    parse_value,
    resolve_function,
    run_function,
)


class Colour(enum.Enum):
    RED = "r"
    BLUE = "b"


@pytest.mark.parametrize("text, annotation, expected", [
    ("42", int, 42),
    (" -7 ", int, -7),
    ("2.5", float, 2.5),
    ("1e-3", float, 0.001),
    ("yes", bool, True), ("TRUE", bool, True), ("1", bool, True), ("on", bool, True),
    ("no", bool, False), ("False", bool, False), ("0", bool, False),
    ("hello world", str, "hello world"),
    ("~/data", Path, Path("~/data").expanduser()),
    ("none", Optional[int], None), ("", int | None, None), ("5", int | None, 5),
    ("slow", Literal["fast", "slow"], "slow"),
    ("2", Literal[1, 2], 2),
    ("a, b,c", list[str], ["a", "b", "c"]),
    ("1,2", list[int], [1, 2]),
    ("", list[str], []),
    ("1,2", tuple[int, ...], (1, 2)),
    ("RED", Colour, Colour.RED), ("b", Colour, Colour.BLUE),
    ("2024-03-01", dt.date, dt.date(2024, 3, 1)),
    ("2024-03-01 10:00", pd.Timestamp, pd.Timestamp("2024-03-01 10:00", tz="UTC")),
    ("7", int | str, 7), ("seven", int | str, "seven"),
])
def test_parse_value(text, annotation, expected):
    assert parse_value(text, annotation) == expected


@pytest.mark.parametrize("text, annotation, message", [
    ("x", int, "expected an integer, got 'x'"),
    ("1.5", int, "expected an integer"),
    ("abc", float, "expected a number"),
    ("maybe", bool, "expected true/false"),
    ("medium", Literal["fast", "slow"], "one of 'fast', 'slow'"),
    ("1,x", list[int], "expected an integer, got 'x'"),
    ("GREEN", Colour, "one of RED, BLUE"),
    ("2024-13-01", dt.date, "expected a date"),
    ("x", int | None, "expected int or none"),
    ("", Path, "expected a path"),
    ("x", io.StringIO, "cannot be given on the command line"),
])
def test_parse_value_errors(text, annotation, message):
    with pytest.raises(ParameterError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_value(text, annotation)


def test_describe_type():
    assert describe_type(int) == "int"
    assert describe_type(Path | None) == "Path or none"
    assert describe_type(list[str]) == "comma-separated list of str"
    assert describe_type(Literal["a", "b"]) == "one of 'a', 'b'"


def sample(path: Path, count: int, flag: bool = False, *args, label: str = "x", **kwargs):
    return path, count, flag, label


def test_function_parameters_resolve_string_annotations():
    params = function_parameters(sample)
    assert [(p.name, p.annotation, p.required) for p in params] == [
        ("path", Path, True), ("count", int, True), ("flag", bool, False), ("label", str, False)]


def test_parse_command_line_forms_and_errors():
    params = function_parameters(sample)
    assert parse_command_line(params, ["--path=/a", "--count", "3", "--flag", "--label", "y"]) == {
        "path": Path("/a"), "count": 3, "flag": True, "label": "y"}
    assert parse_command_line(params, ["--flag", "no"]) == {"flag": False}
    with pytest.raises(UsageError, match="unknown parameter --size"):
        parse_command_line(params, ["--size", "3"])
    with pytest.raises(UsageError, match="given twice"):
        parse_command_line(params, ["--count", "1", "--count", "2"])
    with pytest.raises(UsageError, match="needs a value"):
        parse_command_line(params, ["--count"])
    with pytest.raises(UsageError, match="unexpected argument 'oops'"):
        parse_command_line(params, ["oops"])


def test_collect_arguments_prompts_only_for_missing_required():
    answers = iter(["", "three", "3"])
    asked = []

    def ask(question):
        asked.append(question)
        return next(answers)

    out = io.StringIO()
    values = collect_arguments(sample, ["--path", "/p"], interactive=True, ask=ask, output=out)
    assert values == {"path": Path("/p"), "count": 3}
    assert asked == ["count (int): "] * 3
    assert out.getvalue().count("invalid count") == 2
    with pytest.raises(UsageError, match="missing required parameter --count"):
        collect_arguments(sample, ["--path", "/p"], interactive=False)
    with pytest.raises(UsageError, match=r"parameters --path \(Path\), --count \(int\) for"):
        collect_arguments(sample, [], interactive=False)


def test_resolve_function_with_fallback_package():
    assert resolve_function("os.path.join").__name__ == "join"
    found = resolve_function("test_run_py.describe", fallback_package="tests")
    assert found.__module__ == "tests.test_run_py"
    with pytest.raises(UsageError, match="expected module.function"):
        resolve_function("justaname")
    with pytest.raises(UsageError, match="is not a function"):
        resolve_function("os.path")


class FakeTty(io.StringIO):
    def isatty(self):
        return True


def test_run_function_in_process():
    out, err = io.StringIO(), io.StringIO()
    code = run_function(["tests.test_run_py.describe", "--count", "1"], stdin=FakeTty("/q\n"),
                        stdout=out, stderr=err)
    assert code == 0, err.getvalue()
    assert out.getvalue().startswith("destination (Path): destination=/q")
    assert run_function([], stdout=out, stderr=err) == 2


def test_dict_parameters_from_json_or_pairs():
    from syscore.run_function import ParameterError, parse_value

    assert parse_value('{"US": "16:30", "EMEA": "17:45"}', dict[str, str]) == {
        "US": "16:30", "EMEA": "17:45"}
    assert parse_value("US=16:30,EMEA=17:45", dict[str, str] | None) == {"US": "16:30", "EMEA": "17:45"}
    assert parse_value("none", dict[str, str] | None) is None
    with pytest.raises(ParameterError, match="key=value"):
        parse_value("US16:30", dict[str, str])
