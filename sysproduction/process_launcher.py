"""Launch a ``run_*`` process under process control.

``launch_process("run_capital_update")`` reads the process's window, previous process and
methods from the control config and runs them through :class:`syscontrol.runner.ProcessRunner`:
it waits for its window, its status and its previous process, refuses to start when the same
process runs already (on any host sharing the store), repeats methods by ``frequency`` up to
``max_executions``, and stops at its stop time, on STOP/SIGTERM, or when every method is done,
running its completion methods. With the simulated clock, waiting advances the shared simulated
time instead of sleeping.
"""
from __future__ import annotations

import datetime as dt
import functools
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import psutil

from syscontrol.control import ProcessControl
from syscontrol.host import host_name
from syscontrol.method_timer import MethodSchedule
from syscontrol.run_window import RunWindow
from syscontrol.runner import (
    SIMULATED_EVERY_LOOP,
    ProcessRunner,
    RunnerSettings,
    RunOutcome,
    interruptible_sleep,
)
from syscore.clock import SimulatedClock
from syscore.config import load_control_config
from syscore.exceptions import ConfigError
from sysdata.data_blob import DataBlob
from sysproduction.entry_points import method_function
from sysproduction.process_helpers import blob_for


def default_sleep(clock) -> Callable[[float], None]:
    """A signal-interruptible real sleep for a real clock; advancing the shared simulated time for a simulated
    one (every process on the home sees the same time)."""
    if isinstance(clock, SimulatedClock):
        return lambda seconds: clock.advance(dt.timedelta(seconds=seconds))
    return interruptible_sleep


def default_settings(clock) -> RunnerSettings:
    """The runner's defaults; on a simulated clock a frequency-0 method runs every
    :data:`~syscontrol.runner.SIMULATED_EVERY_LOOP` of simulated time."""
    if isinstance(clock, SimulatedClock):
        return RunnerSettings(every_loop=SIMULATED_EVERY_LOOP)
    return RunnerSettings()


def _is_failure(result) -> bool:
    return getattr(result, "ok", True) is False


def build_runner(process_name: str, data: DataBlob, sleep: Callable[[float], None] | None = None,
                 settings: RunnerSettings | None = None,
                 on_result: Callable[[str, Any], None] | None = None) -> ProcessRunner:
    """The runner of ``process_name`` on ``data`` (ConfigError for an unknown process, an
    unknown method or an unknown previous process)."""
    processes = load_control_config(data.home).process_configuration
    if process_name not in processes:
        raise ConfigError(f"control config: no process {process_name!r}; "
                          f"configured: {', '.join(sorted(processes))}")
    config = processes[process_name]
    if config.previous_process and config.previous_process not in processes:
        raise ConfigError(f"control config: {process_name}.previous_process "
                          f"{config.previous_process!r} is not a configured process")
    window = RunWindow.from_text(config.start_time, config.end_time, config.timezone,
                                 config.run_on_weekends)
    schedules = {name: MethodSchedule(name, m.frequency, m.max_executions,
                                      m.run_on_completion_only)
                 for name, m in config.methods.items()}
    methods = {name: functools.partial(method_function(name, m.function), data=data, **m.arguments)
               for name, m in config.methods.items()}
    return ProcessRunner(process_name, window, schedules, methods,
                         ProcessControl(data.process_control), data.clock,
                         sleep or default_sleep(data.clock), host_name(), os.getpid(),
                         psutil.pid_exists, previous_process=config.previous_process,
                         settings=settings or default_settings(data.clock), log=data.log,
                         is_failure=_is_failure, on_result=on_result)


def launch_process(process_name: str, data: DataBlob | None = None,
                   sleep: Callable[[float], None] | None = None) -> RunOutcome:
    """Run ``process_name`` under process control (see module docstring)."""
    with blob_for(data, process_name) as blob:
        return build_runner(process_name, blob, sleep).run()


def process_function(name: str):
    """The ``run_*`` console script's work: launch ``name`` under process control (it waits
    for its window, status and previous process; see :mod:`sysproduction.process_launcher`),
    as a function of the data blob alone (no command-line parameters)."""

    def process(data: DataBlob | None = None):
        return launch_process(name, data=data)

    process.__name__ = process.__qualname__ = name
    process.__doc__ = (f"Launch the {name} process under process control (control config "
                       f"process_configuration.{name}); takes no parameters.")
    return process


def launch_main(process_name: str, argv: Sequence[str] = ()) -> None:
    """Body of the ``run_*`` console scripts (:func:`sysproduction.run_process._runner`):
    launch through :func:`syscore.run_function.run_callable` (no parameters accepted), print
    the summary line, exit 0 (ran cleanly, or did not need to start), 1 (already running
    elsewhere, or a method failed), 2 (configuration or a store unusable: one line on
    stderr); see docs/operations.md."""
    from syscore.run_function import run_callable

    sys.exit(run_callable(process_function(process_name), process_name, list(argv),
                          prog=process_name))
