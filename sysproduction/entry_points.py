"""The one registry of sysproduction's entry points.

* :data:`METHODS`: a method name of the control config (``process_configuration.<process>.
  methods``) -> the dotted path of its top-level function; :func:`method_function` resolves
  one (used by :func:`sysproduction.run_process.run_process` and
  :mod:`sysproduction.process_launcher`);
* :data:`RUN_PROCESSES`: the ``run_*`` console scripts (:mod:`sysproduction.run_process`);
* :data:`SCRIPT_FUNCTIONS`: the function console scripts (:mod:`sysproduction.scripts`),
  the operator consoles (:data:`CONSOLES`) included;
* :func:`console_scripts`: ``[project.scripts]`` of pyproject.toml as it must read;
* :func:`shell_scripts`: the ``linux/scripts`` wrappers (``systrade schedule scripts``).

``tests/sysproduction/test_entry_point_registry.py`` checks that pyproject.toml, the modules'
attributes and ``linux/scripts`` agree with this registry.
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
    "stack_handler_end_of_day": "sysproduction.run_stack_handler.stack_handler_end_of_day",
    "backup_db_to_csv": "sysproduction.backup_db_to_csv.backup_db_to_csv",
    "backup_state_store": "sysproduction.backup_state_store.backup_state_store",
    "backup_offsystem": "sysproduction.backup_offsystem.backup_offsystem",
    "check_ledger": "sysproduction.check_ledger.check_ledger",
    "clean_truncate_backtest_states":
        "sysproduction.update_system_backtests.clean_truncate_backtest_states",
    "clean_truncate_log_files": "sysproduction.clean_truncate_log_files.clean_truncate_log_files",
    "deliver_alerts": "sysproduction.deliver_alerts.deliver_alerts",
    "write_reports": "sysproduction.run_reports.run_reports",
    "clean_truncate_echo_files":
        "sysproduction.clean_truncate_echo_files.clean_truncate_echo_files",
    "auto_update_roll_status": "sysproduction.roll_status.auto_update_roll_status",
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


# --- console scripts and the linux/scripts wrappers ----------------------------------------

#: The ``run_*`` console scripts: each launches the process of that name under process control
#: (``sysproduction.run_process:<name>``).
RUN_PROCESSES: tuple[str, ...] = (
    "run_daily_prices_updates",
    "run_capital_update",
    "run_systems",
    "run_backups",
    "run_cleaners",
    "run_daily_fx_and_contract_updates",
    "run_reports",
    "run_stack_handler",
    "run_strategy_order_generator",
    "run_daily_update_multiple_adjusted_prices",
    "run_auto_roll_status",
)

#: Console scripts running one top-level function with ``--param value`` arguments
#: (``sysproduction.scripts:<name>``): name -> dotted path of the function.
SCRIPT_FUNCTIONS: dict[str, str] = {
    "backup_db_to_csv": "sysproduction.backup_db_to_csv.backup_db_to_csv",
    "backup_state_store": "sysproduction.backup_state_store.backup_state_store",
    "restore_db_from_csv": "sysproduction.restore_db_from_csv.restore_db_from_csv",
    "update_fx_prices": "sysproduction.update_fx_prices.update_fx_prices",
    "update_sampled_contracts": "sysproduction.update_sampled_contracts.update_sampled_contracts",
    "update_historical_prices": "sysproduction.update_historical_prices.update_historical_prices",
    "update_multiple_adjusted_prices":
        "sysproduction.update_multiple_adjusted_prices.update_multiple_adjusted_prices",
    "roll_adjusted_prices": "sysproduction.roll_adjusted_prices.roll_adjusted_prices",
    "import_pysystemtrade_csv": "sysinit.import_pysystemtrade_csv.import_pysystemtrade_csv",
    "init_from_sim_universe": "sysinit.init_from_sim_universe.init_from_sim_universe",
}

#: The operator consoles (``interactive_*``, menus on :mod:`syscore.menu`): each is a console
#: script and a linux/scripts wrapper of the same name (name -> dotted path of the function).
CONSOLES: dict[str, str] = {
    name: f"sysproduction.{name}.{name}" for name in (
        "interactive_order_stack",
        "interactive_diagnostics",
        "interactive_update_roll_status",
        "interactive_update_capital_manual",
        "interactive_manual_check_historical_prices",
        "interactive_manual_check_fx_prices",
        "interactive_controls",
    )
}
SCRIPT_FUNCTIONS.update(CONSOLES)

#: Functions with a linux/scripts wrapper besides the methods (name -> (path, comment)).
EXTRA_SHELL_FUNCTIONS: dict[str, tuple[str, str]] = {
    "startup": ("sysproduction.startup.startup",
                "run once at boot: close this host's dead processes, release client ids"),
    **{name: (path, f"operator console {name} (docs/consoles.md)")
       for name, path in CONSOLES.items()},
}


def console_scripts() -> dict[str, str]:
    """``[project.scripts]`` of pyproject.toml as it must read: ``systrade``, the ``run_*``
    processes and the function scripts (name -> ``module:attribute``)."""
    scripts = {"systrade": "syscore.cli:main"}
    scripts.update({name: f"sysproduction.run_process:{name}" for name in RUN_PROCESSES})
    scripts.update({name: f"sysproduction.scripts:{name}" for name in SCRIPT_FUNCTIONS})
    return scripts


_SHELL_HEAD = ('#!/bin/sh\n# systrade: {comment}\n'
               '# SYSTRADE_VENV: the virtualenv (default $HOME/systrade/.venv); '
               'SYSTRADE_HOME: the home.\nVENV="${{SYSTRADE_VENV:-$HOME/systrade/.venv}}"\n')


def shell_scripts() -> dict[str, str]:
    """The ``linux/scripts`` wrappers (name -> text): one per ``run_*`` process (its console
    script), one per method of :data:`METHODS` and :data:`EXTRA_SHELL_FUNCTIONS` (``systrade
    run``), and ``p`` (``systrade run`` with the arguments given)."""
    scripts: dict[str, str] = {}
    for name in RUN_PROCESSES:
        scripts[name] = _SHELL_HEAD.format(
            comment=f"launch the {name} process (waits for its window and status)") + \
            f'exec "$VENV/bin/{name}" "$@"\n'
    functions = {name: (path, f"run {path} once") for name, path in METHODS.items()}
    functions.update(EXTRA_SHELL_FUNCTIONS)
    for name, (path, comment) in functions.items():
        scripts[name] = _SHELL_HEAD.format(comment=comment) + \
            f'exec "$VENV/bin/systrade" run {path} "$@"\n'
    scripts["p"] = _SHELL_HEAD.format(
        comment="shortcut for 'python run.py': p module.function --param value") + \
        'exec "$VENV/bin/systrade" run "$@"\n'
    return dict(sorted(scripts.items()))
