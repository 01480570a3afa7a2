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

import importlib
import sys

from syscore.config import load_control_config
from syscore.exceptions import ConfigError
from sysdata.data_blob import DataBlob
from sysproduction.leases import process_leases
from sysproduction.process_helpers import ProcessReport, blob_for, each_item

METHODS = {
    "update_fx_prices": "sysproduction.update_fx_prices.update_fx_prices",
    "update_sampled_contracts": "sysproduction.update_sampled_contracts.update_sampled_contracts",
    "update_historical_prices": "sysproduction.update_historical_prices.update_historical_prices",
    "update_multiple_adjusted_prices":
        "sysproduction.update_multiple_adjusted_prices.update_multiple_adjusted_prices",
    "update_total_capital": "sysproduction.update_total_capital.update_total_capital",
    "update_strategy_capital": "sysproduction.update_strategy_capital.update_strategy_capital",
    "update_system_backtests": "sysproduction.update_system_backtests.update_system_backtests",
    "update_strategy_orders": "sysproduction.update_strategy_orders.update_strategy_orders",
    "stack_handler_pass": "sysproduction.run_stack_handler.stack_handler_pass",
    "backup_db_to_csv": "sysproduction.backup_db_to_csv.backup_db_to_csv",
    "backup_state_store": "sysproduction.backup_state_store.backup_state_store",
    "clean_truncate_backtest_states":
        "sysproduction.update_system_backtests.clean_truncate_backtest_states",
    "clean_truncate_log_files": "sysproduction.clean_truncate_log_files.clean_truncate_log_files",
    "deliver_alerts": "sysproduction.deliver_alerts.deliver_alerts",
    "write_reports": "sysproduction.run_reports.run_reports",
    "clean_truncate_echo_files":
        "sysproduction.clean_truncate_echo_files.clean_truncate_echo_files",
}


def method_function(name: str, function: str | None = None):
    """The function of method ``name``: the one at the dotted path ``function`` when the control
    config names one, else the registered method of that name (ConfigError otherwise)."""
    if function is not None:
        module, _, attribute = function.rpartition(".")
        try:
            return getattr(importlib.import_module(module), attribute)
        except (ImportError, AttributeError, ValueError) as exc:
            raise ConfigError(f"control config: method {name}: cannot load function "
                              f"{function!r}: {exc}") from None
    if name not in METHODS:
        raise ConfigError(f"control config: unknown method {name!r}; known: "
                          f"{', '.join(sorted(METHODS))}")
    module, _, attribute = METHODS[name].rpartition(".")
    return getattr(importlib.import_module(module), attribute)


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


def process_function(name: str):
    """The ``run_*`` console script's work: launch ``name`` under process control (it waits
    for its window, status and previous process; see :mod:`sysproduction.process_launcher`),
    as a function of the data blob alone (no command-line parameters)."""

    def process(data: DataBlob | None = None):
        from sysproduction.process_launcher import launch_process

        return launch_process(name, data=data)

    process.__name__ = process.__qualname__ = name
    process.__doc__ = (f"Launch the {name} process under process control (control config "
                       f"process_configuration.{name}); takes no parameters.")
    return process


def _runner(name: str):
    """The console script ``name``: refuses any argument, prints the report (its summary line
    last) and exits 0, 1 (an item failed, was held back or refused, or a CRITICAL alert was
    raised) or 2 (usage or start-up error); see docs/exit_codes.md."""

    def run() -> None:
        from sysproduction.process_launcher import launch_main

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
