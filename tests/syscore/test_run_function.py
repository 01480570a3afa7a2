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
    function_help,
    function_parameters,
    parse_command_line,
    parse_value,
    resolve_function,
    run_callable,
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
    assert resolve_function("backup_db_to_csv.backup_db_to_csv").__module__ == \
        "sysproduction.backup_db_to_csv"
    found = resolve_function("test_run_py.describe", fallback_package="tests",
                             packages=("tests",))
    assert found.__module__ == "tests.test_run_py"
    with pytest.raises(UsageError, match="expected module.function"):
        resolve_function("justaname")
    with pytest.raises(UsageError, match="is not a function"):
        resolve_function("syscore.home")


@pytest.mark.parametrize("spec", ["os.system", "os.path.join", "subprocess.run",
                                  "sys.exit", "shutil.rmtree"])
def test_only_project_functions_can_be_run(spec):
    with pytest.raises(UsageError, match="only functions of the packages syscore"):
        resolve_function(spec)


def test_functions_imported_into_a_project_module_are_refused():
    # syscore.home imports Path and os: reachable by attribute, but not systrade functions
    with pytest.raises(UsageError, match="comes from pathlib"):
        resolve_function("syscore.home.Path")


def test_extra_packages_come_from_the_environment(monkeypatch):
    with pytest.raises(UsageError):
        resolve_function("tests.test_run_py.describe")
    monkeypatch.setenv("SYSTRADE_RUN_PACKAGES", "tests, other")
    assert resolve_function("tests.test_run_py.describe").__name__ == "describe"


def blob_user(instrument_code: str, data=None) -> str:
    return f"{instrument_code} with {data}"


def needs_blob(data) -> str:
    return "never"


def test_data_is_not_a_command_line_parameter():
    assert [p.name for p in function_parameters(blob_user)] == ["instrument_code"]
    with pytest.raises(UsageError, match="unknown parameter --data"):
        collect_arguments(blob_user, ["--instrument_code", "X", "--data", "x"], interactive=False)
    asked = []
    collect_arguments(blob_user, [], interactive=True, ask=lambda q: asked.append(q) or "X",
                      output=io.StringIO())
    assert asked == ["instrument_code (str): "]  # data is never prompted for
    out, err = io.StringIO(), io.StringIO()
    assert run_callable(blob_user, "blob_user", ["--instrument_code", "X"], stdout=out,
                        stderr=err) == 0
    assert out.getvalue() == "X with None\n"
    help_out = io.StringIO()
    run_callable(blob_user, "blob_user", ["--help"], stdout=help_out, stderr=err)
    assert "--data" not in help_out.getvalue()
    assert run_callable(needs_blob, "needs_blob", [], stdout=out, stderr=err) == 2
    assert "needs data (a data blob)" in err.getvalue()


def test_help_shows_defaults_as_typed_on_the_command_line():
    help_text = function_help("sample", sample)
    assert "--flag <bool> (default false)" in help_text
    assert "(default False)" not in help_text


class Verdict:
    def __init__(self, ok):
        self.ok = ok

    def __str__(self):
        return f"verdict ok={self.ok}"


def test_exit_code_follows_the_result_and_critical_records():
    import logging

    out, err = io.StringIO(), io.StringIO()
    assert run_callable(lambda: Verdict(True), "v", [], stdout=out, stderr=err) == 0
    assert run_callable(lambda: Verdict(False), "v", [], stdout=out, stderr=err) == 1

    def alerting():
        logging.getLogger("systrade.test").critical("the sky fell")
        return "done"

    out = io.StringIO()
    assert run_callable(alerting, "alerting", [], stdout=out, stderr=err) == 1
    assert out.getvalue().splitlines()[-1] == "alerting: 1 CRITICAL alert raised (see the log)"


def test_start_up_errors_exit_2_with_one_line():
    from syscore.exceptions import ConfigError, StartupError

    def bad_config():
        raise ConfigError("/h/private/private_config.yaml: key 'broker': expected sim or ib")

    def no_store():
        raise StartupError("update_fx_prices cannot start: cannot reach MongoDB at x\nmore")

    for function in (bad_config, no_store):
        out, err = io.StringIO(), io.StringIO()
        assert run_callable(function, function.__name__, [], stdout=out, stderr=err,
                            prog="update_fx_prices") == 2
        assert len(err.getvalue().splitlines()) == 1
        assert err.getvalue().startswith("update_fx_prices: error: ")
        assert "Traceback" not in err.getvalue() and out.getvalue() == ""


class FakeTty(io.StringIO):
    def isatty(self):
        return True


def test_run_function_in_process():
    out, err = io.StringIO(), io.StringIO()
    code = run_callable(resolve_function("tests.test_run_py.describe", packages=("tests",)),
                        "tests.test_run_py.describe", ["--count", "1"], stdin=FakeTty("/q\n"),
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


def test_a_folder_parameter_without_its_value_asks_for_a_folder_path():
    from sysproduction.backup_db_to_csv import backup_db_to_csv

    params = function_parameters(backup_db_to_csv)
    with pytest.raises(UsageError) as caught:
        parse_command_line(params, ["--destination"])
    assert str(caught.value) == "parameter --destination needs a folder path"
    assert parse_command_line(params, ["--destination", "/b"]) == {"destination": "/b"}
