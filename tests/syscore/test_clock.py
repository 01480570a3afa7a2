"""Tests for syscore.clock."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from syscore.clock import (
    CLOCK_FILE_NAME,
    DEFAULT_SIMULATED_START,
    Clock,
    RealClock,
    SimulatedClock,
    clock_from_config,
)
from syscore.dates import aware_to_utc

REPO = Path(__file__).resolve().parents[2]


def test_real_clock_is_utc_and_current():
    before = pd.Timestamp.now(tz="UTC")
    now = RealClock().now()
    after = pd.Timestamp.now(tz="UTC")
    assert str(now.tzinfo) == "UTC"
    assert before <= now <= after
    assert isinstance(RealClock(), Clock)


def test_simulated_clock_starts_at_default_and_moves_only_when_told(tmp_path):
    clock = SimulatedClock(tmp_path)
    assert clock.now() == DEFAULT_SIMULATED_START
    assert clock.now() == clock.now()
    assert clock.advance(pd.Timedelta(minutes=90)) == DEFAULT_SIMULATED_START + pd.Timedelta(
        minutes=90
    )
    target = pd.Timestamp("2030-06-01 12:00", tz="Europe/London")
    assert clock.set(target) == target.tz_convert("UTC")
    assert str(clock.now().tzinfo) == "UTC"
    assert clock.now() == target


def test_simulated_clock_is_shared_by_instances_on_one_home(tmp_path):
    first = SimulatedClock(tmp_path, start=pd.Timestamp("2020-01-01", tz="UTC"))
    second = SimulatedClock(
        tmp_path, start=pd.Timestamp("1999-01-01", tz="UTC")
    )  # file exists: ignored
    assert second.now() == pd.Timestamp("2020-01-01", tz="UTC")
    first.advance(pd.Timedelta(days=1))
    assert second.now() == pd.Timestamp("2020-01-02", tz="UTC")
    assert (tmp_path / CLOCK_FILE_NAME).exists()
    assert not list(tmp_path.glob(".sim_clock.*.tmp"))


def test_simulated_clock_rejects_naive_and_negative(tmp_path):
    clock = SimulatedClock(tmp_path)
    with pytest.raises(ValueError):
        clock.set(pd.Timestamp("2020-01-01"))
    with pytest.raises(ValueError):
        clock.advance(pd.Timedelta(seconds=-1))
    with pytest.raises(ValueError):
        aware_to_utc("2020-01-01 00:00")


def test_concurrent_advances_from_processes_are_never_lost(tmp_path):
    start = pd.Timestamp("2021-03-01", tz="UTC")
    SimulatedClock(tmp_path, start=start)
    code = (
        "import sys, pandas as pd\n"
        "from syscore.clock import SimulatedClock\n"
        "c = SimulatedClock(sys.argv[1])\n"
        "for _ in range(40):\n"
        "    c.advance(pd.Timedelta(seconds=1))\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], cwd=REPO) for _ in range(3)
    ]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0]
    assert SimulatedClock(tmp_path).now() == start + pd.Timedelta(seconds=120)


def test_clock_from_config(tmp_path):
    assert isinstance(clock_from_config("real", tmp_path), RealClock)
    simulated = clock_from_config(" Simulated ", tmp_path)
    assert isinstance(simulated, SimulatedClock)
    assert simulated.path.parent == tmp_path
    with pytest.raises(ValueError, match="real' or 'simulated"):
        clock_from_config("fast", tmp_path)
