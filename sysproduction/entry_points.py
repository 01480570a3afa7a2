"""The registry of sysproduction's entry points: the methods a ``run_*`` process can run.

:data:`METHODS` maps a method name of the control config (``process_configuration.<process>.
methods``) to the dotted path of its top-level function; :func:`method_function` resolves one.
Both :func:`sysproduction.run_process.run_process` and :mod:`sysproduction.process_launcher`
read them from here (neither imports the other for it).
"""
from __future__ import annotations

import importlib

from syscore.exceptions import ConfigError

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
