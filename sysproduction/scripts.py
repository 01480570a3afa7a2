"""Console scripts for top-level functions (declared in ``pyproject.toml``).

Each script takes the function's parameters as ``--name value`` exactly like
``python run.py module.function --name value``; a missing parameter is prompted for at a
terminal and is an error naming it under cron. Exit codes as ``run.py``
(``docs/exit_codes.md``): 0 ok, 1 an item failed / was held back / a CRITICAL alert was raised,
2 a usage or start-up error (one line on stderr, never a traceback).
"""
from __future__ import annotations

import sys
from collections.abc import Callable

from syscore.run_function import run_function
from sysproduction.entry_points import SCRIPT_FUNCTIONS

#: name -> dotted path of the function (the registry: :mod:`sysproduction.entry_points`)
FUNCTIONS = SCRIPT_FUNCTIONS


def _script(name: str) -> Callable[[], None]:
    def script() -> None:
        sys.exit(run_function([FUNCTIONS[name], *sys.argv[1:]], prog=name))

    script.__name__ = name
    script.__doc__ = f"Console script: run {FUNCTIONS[name]} with --param value arguments."
    return script


backup_db_to_csv = _script("backup_db_to_csv")
backup_state_store = _script("backup_state_store")
restore_db_from_csv = _script("restore_db_from_csv")
update_fx_prices = _script("update_fx_prices")
update_sampled_contracts = _script("update_sampled_contracts")
update_historical_prices = _script("update_historical_prices")
update_multiple_adjusted_prices = _script("update_multiple_adjusted_prices")
roll_adjusted_prices = _script("roll_adjusted_prices")
import_pysystemtrade_csv = _script("import_pysystemtrade_csv")
init_from_sim_universe = _script("init_from_sim_universe")
interactive_order_stack = _script("interactive_order_stack")
interactive_diagnostics = _script("interactive_diagnostics")
interactive_update_roll_status = _script("interactive_update_roll_status")
interactive_update_capital_manual = _script("interactive_update_capital_manual")
interactive_manual_check_historical_prices = _script("interactive_manual_check_historical_prices")
interactive_manual_check_fx_prices = _script("interactive_manual_check_fx_prices")
interactive_controls = _script("interactive_controls")
