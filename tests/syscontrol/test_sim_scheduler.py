import datetime as dt

import pytest

from syscontrol.sim_scheduler import SimulatedScheduler

UTC = dt.timezone.utc
T0 = dt.datetime(2024, 3, 7, 0, 0, tzinfo=UTC)


class Clock:
    def __init__(self):
        self.current = T0
        self.history = []

    def now(self):
        return self.current

    def set(self, ts):
        assert ts >= self.current, "the clock moved backwards"
        self.current = ts
        self.history.append(ts)


def at(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


def test_interleaves_processes_in_time_order():
    clock = Clock()
    scheduler = SimulatedScheduler(clock)
    log = []

    def process(name, every_hours, times):
        def work():
            for _ in range(times):
                log.append((name, clock.now()))
                scheduler.sleep(every_hours * 3600)
            return name
        return work

    scheduler.launch("hourly", at(1), process("hourly", 1, 4))
    scheduler.launch("evening", at(2.5), process("evening", 0.25, 3))
    done = scheduler.run()
    assert {launch.name: launch.result for launch in done} == {"hourly": "hourly", "evening": "evening"}
    assert log == [("hourly", at(1)), ("hourly", at(2)), ("evening", at(2.5)),
                   ("evening", at(2.75)), ("hourly", at(3)), ("evening", at(3)),
                   ("hourly", at(4))]


def test_until_stops_and_resumes():
    clock = Clock()
    scheduler = SimulatedScheduler(clock)
    seen = []

    def work():
        for _ in range(3):
            seen.append(clock.now())
            scheduler.sleep(3600)

    launch = scheduler.launch("p", at(1), work)
    scheduler.run(until=at(2))
    assert seen == [at(1), at(2)] and not launch.done
    scheduler.run()
    assert seen == [at(1), at(2), at(3)] and launch.done


def test_errors_are_kept_and_others_go_on():
    clock = Clock()
    scheduler = SimulatedScheduler(clock)

    def bad():
        scheduler.sleep(60)
        raise ValueError("boom")

    bad_launch = scheduler.launch("bad", at(1), bad)
    good = scheduler.launch("good", at(2), lambda: "fine")
    scheduler.run()
    assert isinstance(bad_launch.error, ValueError) and good.result == "fine"


def test_sleep_outside_a_launch_is_refused():
    with pytest.raises(RuntimeError, match="outside a launched process"):
        SimulatedScheduler(Clock()).sleep(1)


def test_runaway_bounded():
    clock = Clock()
    scheduler = SimulatedScheduler(clock, max_wakes=50)

    def forever():
        while True:
            scheduler.sleep(1)

    scheduler.launch("forever", at(0), forever)
    with pytest.raises(RuntimeError, match="more than 50 wake-ups"):
        scheduler.run()


def test_process_runners_share_a_simulated_day(tmp_path):
    """Two real runners on one store: the dependent one waits for the other to finish."""
    import pandas as pd

    from syscontrol.control import ProcessControl
    from syscontrol.method_timer import MethodSchedule
    from syscontrol.process_status import RunState
    from syscontrol.run_window import RunWindow
    from syscontrol.runner import ProcessRunner
    from syscore.clock import SimulatedClock
    from sysdata.process_control import ProcessControlData
    from sysdata.state.sqlite_store import SqliteStateStore

    clock = SimulatedClock(tmp_path, start=pd.Timestamp("2024-03-07 00:00", tz="UTC"))
    store = SqliteStateStore(tmp_path / "state.sqlite")
    control = ProcessControl(ProcessControlData(store))
    scheduler = SimulatedScheduler(clock)
    calls = []

    def method(name, minutes):
        def call():
            calls.append((name, clock.now().strftime("%H:%M")))
            scheduler.sleep(minutes * 60)  # the method takes simulated time
        return call

    def runner(name, window, schedules, previous=None):
        return ProcessRunner(name, RunWindow.from_text(*window),
                             {s.name: s for s in schedules},
                             {s.name: method(s.name, 30) for s in schedules}, control, clock,
                             scheduler.sleep, "host", 1, lambda pid: pid == 1,
                             previous_process=previous)

    prices = runner("run_prices", ("20:00", "23:59"), [MethodSchedule("prices",
                                                                      max_executions=1)])
    capital = runner("run_capital", ("01:00", "23:59"), [MethodSchedule("capital", frequency=240,
                                                                        max_executions=6)])
    systems = runner("run_systems", ("19:00", "23:59"), [MethodSchedule("systems",
                                                                        max_executions=1)],
                     previous="run_prices")
    scheduler.launch("run_capital", at(1), capital.run)
    scheduler.launch("run_systems", at(19), systems.run)
    scheduler.launch("run_prices", at(20), prices.run)
    done = scheduler.run()
    assert all(launch.error is None and launch.result.ok for launch in done)
    assert calls == [("capital", "01:00"), ("capital", "05:00"), ("capital", "09:00"),
                     ("capital", "13:00"), ("capital", "17:00"), ("prices", "20:00"),
                     ("systems", "20:30"), ("capital", "21:00")]  # prices took 30 minutes
    assert {name: r.run_state for name, r in control.records().items()} == {
        "run_capital": RunState.FINISHED, "run_prices": RunState.FINISHED,
        "run_systems": RunState.FINISHED}
    store.close()
