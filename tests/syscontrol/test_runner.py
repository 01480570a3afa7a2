"""ProcessRunner through whole lifecycles in simulated time on a real SQLite state store."""
import datetime as dt
import logging

import pandas as pd
import pytest

from syscontrol.control import ProcessControl
from syscontrol.method_timer import MethodSchedule
from syscontrol.process_status import ProcessStatus, RunState
from syscontrol.run_window import RunWindow
from syscontrol.runner import ProcessRunner, RunnerSettings
from syscore.clock import SimulatedClock
from sysdata.process_control import ProcessControlData
from sysdata.state.sqlite_store import SqliteStateStore

HOST, PID = "host-a", 4242
THURSDAY_1950 = pd.Timestamp("2024-03-07 19:50", tz="UTC")


class World:
    """A store, a simulated clock whose sleep advances it, and hooks fired at given times."""

    def __init__(self, tmp_path, start=THURSDAY_1950):
        self.store = SqliteStateStore(tmp_path / "state.sqlite")
        self.control = ProcessControl(ProcessControlData(self.store))
        self.clock = SimulatedClock(tmp_path, start=start)
        self.calls: list[tuple[str, pd.Timestamp]] = []
        self.hooks: list[tuple[pd.Timestamp, callable]] = []
        self.sleeps = 0

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        assert self.sleeps < 100_000, "runner loops without end"
        self.clock.advance(dt.timedelta(seconds=seconds))
        due = [h for h in self.hooks if h[0] <= self.clock.now()]
        for hook in due:
            self.hooks.remove(hook)
            hook[1]()

    def method(self, name, effect=None):
        def call():
            self.calls.append((name, self.clock.now()))
            if effect is not None:
                effect()
        return call

    def runner(self, schedules, methods=None, window=("20:00", "23:59"), previous=None,
               name="run_test", **kwargs):
        methods = methods or {s.name: self.method(s.name) for s in schedules}
        return ProcessRunner(name, RunWindow.from_text(*window),
                             {s.name: s for s in schedules}, methods, self.control, self.clock,
                             self.sleep, HOST, PID, lambda pid: pid == PID,
                             previous_process=previous, **kwargs)

    def times(self, name):
        return [t.strftime("%H:%M") for n, t in self.calls if n == name]


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path)
    yield w
    w.store.close()


def test_waits_for_window_runs_once_then_completion(world):
    outcome = world.runner([MethodSchedule("a", max_executions=1),
                            MethodSchedule("z", run_on_completion_only=True)]).run()
    assert outcome.started and outcome.ok and outcome.reason == "all methods done"
    assert world.times("a") == ["20:00"] and world.times("z") == ["20:00"]
    assert [n for n, _ in world.calls] == ["a", "z"]
    record = world.control.record("run_test")
    assert (record.run_state, record.pid) == (RunState.FINISHED, None)
    assert world.control.method_runs("run_test")["a"].executions == 1


def test_frequency_and_max_executions(world):
    outcome = world.runner([MethodSchedule("a", frequency=60, max_executions=3)]).run()
    assert world.times("a") == ["20:00", "21:00", "22:00"]
    assert outcome.executions == {"a": 3}


def test_unlimited_method_stops_at_end_of_window(world):
    outcome = world.runner([MethodSchedule("a", frequency=30),
                            MethodSchedule("z", run_on_completion_only=True)]).run()
    assert outcome.reason == "end of its window"
    assert world.times("a") == ["20:00", "20:30", "21:00", "21:30", "22:00", "22:30", "23:00",
                                "23:30"]
    assert world.times("z") == ["23:59"]


def test_every_loop_method_in_simulated_time_runs_every_every_loop(world):
    """Frequency 0 under simulated settings: every 15 simulated minutes, not every half second
    (which made a simulated day of a stack handler ~170,000 passes)."""
    outcome = world.runner([MethodSchedule("a"), MethodSchedule("b", frequency=10)],
                           window=("20:00", "21:00"),
                           settings=RunnerSettings(every_loop=dt.timedelta(minutes=15))).run()
    assert outcome.reason == "end of its window"
    assert world.times("a") == ["20:00", "20:15", "20:30", "20:45"]
    assert world.times("b") == ["20:00", "20:10", "20:20", "20:30", "20:40", "20:50"]


def test_every_loop_method_in_real_time_loops_at_once(world):
    world.runner([MethodSchedule("a")], window=("20:00", "20:01")).run()
    assert len(world.times("a")) == 120  # every half second of the minute


def test_stop_is_graceful(world):
    stop = lambda: world.control.set_status("run_test", ProcessStatus.STOP)  # noqa: E731
    methods = {"a": world.method("a", stop), "b": world.method("b"),
               "z": world.method("z")}
    outcome = world.runner([MethodSchedule("a", frequency=10), MethodSchedule("b", frequency=10),
                            MethodSchedule("z", run_on_completion_only=True)], methods).run()
    assert outcome.reason == "status STOP"
    assert [n for n, _ in world.calls] == ["a", "z"]  # b skipped, completion ran
    assert world.control.record("run_test").run_state is RunState.FINISHED


def test_pause_skips_methods_until_go(world):
    world.control.set_status("run_test", ProcessStatus.PAUSE)
    world.hooks.append((pd.Timestamp("2024-03-07 21:00", tz="UTC"),
                        lambda: world.control.set_status("run_test", ProcessStatus.GO)))
    world.runner([MethodSchedule("a", frequency=30, max_executions=2)]).run()
    assert world.times("a") == ["21:00", "21:30"]


def test_no_run_waits_and_stop_refuses(world):
    world.control.set_status("run_test", ProcessStatus.NO_RUN)
    world.hooks.append((pd.Timestamp("2024-03-07 20:30", tz="UTC"),
                        lambda: world.control.set_status("run_test", ProcessStatus.GO)))
    world.runner([MethodSchedule("a", max_executions=1)]).run()
    assert world.times("a") == ["20:30"]
    world.control.set_status("run_test", ProcessStatus.STOP)
    outcome = world.runner([MethodSchedule("a", max_executions=1)]).run()
    assert not outcome.started and "status STOP" in outcome.reason and outcome.ok


def test_second_instance_refused(world):
    world.control.claim_start("run_test", HOST, PID, world.clock.now().to_pydatetime(),
                              lambda pid: True)
    other = ProcessRunner("run_test", RunWindow.from_text("00:00", "00:00"),
                          {"a": MethodSchedule("a")}, {"a": world.method("a")}, world.control,
                          world.clock, world.sleep, HOST, PID + 1, lambda pid: pid == PID)
    outcome = other.run()
    assert not outcome.started and outcome.refused_running and not outcome.ok
    assert f"already running: pid {PID} on host {HOST}" in outcome.reason
    assert world.calls == []


def test_waits_for_previous_process(world):
    def finish_previous():
        now = world.clock.now().to_pydatetime()
        world.control.claim_start("run_prices", HOST, 7, now, lambda pid: True)
        world.control.finish("run_prices", HOST, 7, now)

    world.hooks.append((pd.Timestamp("2024-03-07 21:10", tz="UTC"), finish_previous))
    world.runner([MethodSchedule("a", max_executions=1)], previous="run_prices").run()
    assert world.times("a") == ["21:10"]


def test_launched_after_window_refused(tmp_path):
    world = World(tmp_path, start=pd.Timestamp("2024-03-08 00:30", tz="UTC"))
    outcome = world.runner([MethodSchedule("a", max_executions=1)]).run()
    assert not outcome.started and "next opens 2024-03-08 20:00" in outcome.reason
    assert world.control.record("run_test").run_state is RunState.NEVER_RAN
    world.store.close()


def test_failing_method_is_counted_and_others_run(world, caplog):
    def boom():
        raise RuntimeError("broker said no")

    methods = {"a": boom, "b": world.method("b")}
    with caplog.at_level(logging.ERROR):
        outcome = world.runner([MethodSchedule("a", max_executions=1),
                                MethodSchedule("b", max_executions=1)], methods).run()
    assert outcome.failures == ("a",) and not outcome.ok
    assert world.times("b") == ["20:00"]
    assert "method a failed: broker said no" in caplog.text
    assert world.control.record("run_test").run_state is RunState.FINISHED


def test_taken_over_runner_stops_without_touching_record(world):
    def operator_marks_close():
        world.control.mark_close("run_test", world.clock.now().to_pydatetime())

    methods = {"a": world.method("a", operator_marks_close), "z": world.method("z")}
    outcome = world.runner([MethodSchedule("a", frequency=5),
                            MethodSchedule("z", run_on_completion_only=True)], methods).run()
    assert outcome.reason.startswith("the process record was taken")
    assert world.times("z") == []
    assert world.control.record("run_test").run_state is RunState.FINISHED


def test_heartbeat_written_while_running(world):
    seen = []
    methods = {"a": world.method("a", lambda: seen.append(
        world.control.record("run_test").heartbeat))}
    world.runner([MethodSchedule("a", frequency=30, max_executions=3)], methods,
                 settings=RunnerSettings(heartbeat_every=dt.timedelta(minutes=1))).run()
    assert [h.strftime("%H:%M") for h in seen] == ["20:00", "20:30", "21:00"]
