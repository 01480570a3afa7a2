"""Simulated days through real process control on a real home (SQLite, LMDB, simulated clock)."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import yaml

from syscontrol.run_window import RunWindow
from syscore.clock import SimulatedClock
from sysproduction.simulated_days import all_closed, run_simulated_days, session_start

UTC = dt.timezone.utc


@pytest.mark.parametrize("window,day,expected", [
    (("20:00", "23:59", "UTC"), dt.date(2024, 3, 7), "2024-03-07 20:00"),
    (("22:00", "06:00", "UTC"), dt.date(2024, 3, 7), "2024-03-07 22:00"),
    (("09:00", "17:00", "Europe/London"), dt.date(2024, 7, 1), "2024-07-01 08:00"),
    (("20:00", "23:59", "UTC"), dt.date(2024, 3, 9), None),  # Saturday
])
def test_session_start(window, day, expected):
    start = session_start(RunWindow.from_text(*window), day)
    assert start == (None if expected is None else pd.Timestamp(expected, tz="UTC"))


def test_days_run_every_process_in_its_window_and_close(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "private").mkdir()
    (home / "private" / "private_config.yaml").write_text("clock: simulated\n")
    SimulatedClock(home, start=pd.Timestamp("2024-03-06 23:00", tz="UTC"))
    control = {"process_configuration": {
        "run_a": {"start_time": "06:00", "end_time": "23:00",
                  "methods": {"tick": {"function": "tests.sysproduction.test_simulated_days.tick",
                                       "frequency": 360, "max_executions": 3,
                                       "arguments": {"label": "a"}}}},
        "run_b": {"start_time": "20:00", "end_time": "23:59", "previous_process": "run_a",
                  "methods": {"tick": {"function": "tests.sysproduction.test_simulated_days.tick",
                                       "max_executions": 1, "arguments": {"label": "b"}}}},
    }}
    (home / "private" / "private_control_config.yaml").write_text(yaml.safe_dump(control))
    TICKS.clear()
    lines = []
    launches = run_simulated_days(home, 2, out=lines.append, processes=["run_a", "run_b"])
    assert [launch.ok for launch in launches] == [True] * 4
    assert TICKS == [("a", "2024-03-07 06:00"), ("a", "2024-03-07 12:00"),
                     ("a", "2024-03-07 18:00"), ("b", "2024-03-07 20:00"),
                     ("a", "2024-03-08 06:00"), ("a", "2024-03-08 12:00"),
                     ("a", "2024-03-08 18:00"), ("b", "2024-03-08 20:00")]
    assert lines[0] == "2024-03-07 06:00 UTC run_a: all methods done (tick x3)"
    assert all_closed(home) == {"run_a": "finished", "run_b": "finished"}


TICKS: list[tuple[str, str]] = []


def tick(data, label: str) -> str:
    TICKS.append((label, f"{data.now():%Y-%m-%d %H:%M}"))
    return label


def test_stop_before_leaves_the_clock_just_before(tmp_path):
    home = tmp_path / "home"
    (home / "private").mkdir(parents=True)
    (home / "private" / "private_config.yaml").write_text("clock: simulated\n")
    SimulatedClock(home, start=pd.Timestamp("2024-03-06 23:00", tz="UTC"))
    control = {"process_configuration": {
        "run_a": {"start_time": "06:00", "end_time": "23:00", "methods": {"tick": {
            "function": "tests.sysproduction.test_simulated_days.tick", "max_executions": 1,
            "arguments": {"label": "a"}}}},
        "run_b": {"start_time": "20:00", "end_time": "23:59", "methods": {"tick": {
            "function": "tests.sysproduction.test_simulated_days.tick", "max_executions": 1,
            "arguments": {"label": "b"}}}}}}
    (home / "private" / "private_control_config.yaml").write_text(yaml.safe_dump(control))
    TICKS.clear()
    run_simulated_days(home, 2, out=lambda line: None, stop_before="run_b")
    assert TICKS == [("a", "2024-03-07 06:00"), ("b", "2024-03-07 20:00"),
                     ("a", "2024-03-08 06:00")]
    assert SimulatedClock(home).now() == pd.Timestamp("2024-03-08 19:59", tz="UTC")
