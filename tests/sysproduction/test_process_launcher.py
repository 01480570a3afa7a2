"""launch_process on a real home with a simulated clock (SQLite, LMDB)."""
from __future__ import annotations

import pandas as pd
import yaml

from syscore.clock import SimulatedClock
from sysdata.data_blob import DataBlob
from sysproduction.process_launcher import launch_process

TICKS: list[str] = []


def tick(data) -> None:
    TICKS.append(f"{data.now():%H:%M:%S}")


def test_every_loop_method_on_a_simulated_clock_runs_every_15_simulated_minutes(tmp_path):
    """A frequency-0 method on a simulated clock: without a loop length, a launched process
    advanced the shared clock half a second per pass (3,600 passes for this half hour)."""
    home = tmp_path / "home"
    (home / "private").mkdir(parents=True)
    (home / "private" / "private_config.yaml").write_text("clock: simulated\n")
    SimulatedClock(home, start=pd.Timestamp("2024-03-07 05:59", tz="UTC"))
    control = {"process_configuration": {"run_x": {
        "start_time": "06:00", "end_time": "06:30",
        "methods": {"tick": {"function": "tests.sysproduction.test_process_launcher.tick"}}}}}
    (home / "private" / "private_control_config.yaml").write_text(yaml.safe_dump(control))
    TICKS.clear()
    with DataBlob.from_config(home, process_name="run_x") as data:
        outcome = launch_process("run_x", data=data)
    assert outcome.ok and outcome.reason == "end of its window"
    assert TICKS == ["06:00:00", "06:15:00"]
