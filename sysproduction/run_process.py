"""Run a ``run_*`` process.

The ``run_*`` console scripts (``run_systems``, ...) launch the process under process control
(:mod:`sysproduction.process_launcher`): window, status, previous process, method timers.
``run_process`` below is the single pass for running a process's methods by hand, now:

``run_process("run_systems")`` reads ``process_configuration.run_systems.methods`` from the
control config and calls each method's top-level function (with its ``arguments``) once, with a
shared data blob; a method that fails is logged and alerted and the others still run. It
ignores the window, the status and the timers.
While it runs it holds the lease ``process/<name>`` in the state store: a second
single pass of the same process started meanwhile is refused naming the first (owner, pid,
host, since when); a holder that died is taken over.

    run_systems            # under process control
    python run.py sysproduction.run_process.run_process --process_name run_systems   # now
"""
from __future__ import annotations

import sys

from syscore.config import load_control_config
from syscore.exceptions import ConfigError
from sysdata.data_blob import DataBlob
from sysproduction.entry_points import METHODS, method_function
from sysproduction.leases import process_leases
from sysproduction.process_helpers import ProcessReport, blob_for, each_item
from sysproduction.process_launcher import launch_main, process_function

__all__ = ["METHODS", "method_function", "process_function", "run_process"]

def run_process(process_name: str, data: DataBlob | None = None) -> ProcessReport:
    """Run every method of ``process_name`` once (see module docstring)."""
    with blob_for(data, process_name) as blob:
        processes = load_control_config(blob.home).process_configuration
        if process_name not in processes:
            raise ConfigError(f"control config: no process {process_name!r}; "
                              f"configured: {', '.join(sorted(processes))}")
        methods = processes[process_name].methods
        ordered = [m for m in methods if not methods[m].run_on_completion_only] + \
                  [m for m in methods if methods[m].run_on_completion_only]
        # resolve every function before running any
        functions = {name: method_function(name, methods[name].function) for name in ordered}
        with process_leases(blob, process_name):  # a second copy is refused (LeaseHeld)
            return each_item(blob, process_name, ordered, str,
                             lambda name: functions[name](data=blob, **methods[name].arguments))


def _runner(name: str):
    """The console script ``name``: refuses any argument, prints the report (its summary line
    last) and exits 0, 1 (an item failed, was held back or refused, or a CRITICAL alert was
    raised) or 2 (usage or start-up error); see docs/exit_codes.md."""

    def run() -> None:
        launch_main(name, sys.argv[1:])

    run.__name__ = name
    return run


run_daily_prices_updates = _runner("run_daily_prices_updates")
run_capital_update = _runner("run_capital_update")
run_systems = _runner("run_systems")
run_backups = _runner("run_backups")
run_cleaners = _runner("run_cleaners")
run_daily_fx_and_contract_updates = _runner("run_daily_fx_and_contract_updates")
run_reports = _runner("run_reports")
run_stack_handler = _runner("run_stack_handler")
run_strategy_order_generator = _runner("run_strategy_order_generator")
run_daily_update_multiple_adjusted_prices = _runner("run_daily_update_multiple_adjusted_prices")
run_auto_roll_status = _runner("run_auto_roll_status")
